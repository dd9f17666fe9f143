// Paste into the browser console on the chat page (http://ADDR/ of
// `weft serve --chat ADDR`): joins, says something, logs what arrives until
// its own message comes back, then closes with 1000.
{
  const nick = 'alan';
  const text = 'hello from the browser: héllo wörld ✓ 🚀 日本語';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const chat = new WebSocket(`${scheme}://${location.host}/ws`);

  chat.onopen = () => chat.send(JSON.stringify({ type: 'join', nick }));

  chat.onmessage = ({ data }) => {
    const event = JSON.parse(data);
    if (event.type === 'welcome') {
      console.log(`joined as ${event.nick}, online: ${event.online.join(', ')}`);
      chat.send(JSON.stringify({ type: 'say', text }));
    } else if (event.type === 'message') {
      console.log(`${event.nick}: ${event.text}`);
      if (event.nick === nick && event.text === text) chat.close(1000);
    } else if (event.type === 'join' || event.type === 'leave') {
      console.log(`* ${event.nick} ${event.type}`);
    } else if (event.type === 'error') {
      console.error(`the server says: ${event.text}`);
      chat.close(1000);
    }
  };

  chat.onclose = ({ code, wasClean }) => console.log(`closed with ${code}${wasClean ? '' : ' (not cleanly)'}`);
}
