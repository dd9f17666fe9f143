// Joins the chat of `weft serve --chat`, says something, prints what arrives
// until its own message comes back, then closes with 1000.
//
// Usage: node chat_client.mjs ws://127.0.0.1:8080/ws [NICK]
// Needs the ws package (npm install ws). Exits 1 after 5 s without its own
// message back, on an error from the server, or on an unclean close.
import WebSocket from 'ws';

const [url, nick = 'grace'] = process.argv.slice(2);
const text = 'hello from Node: héllo wörld ✓ 🚀 日本語';
let done = false;

const timer = setTimeout(() => {
  console.error('no echo of our message within 5 s');
  process.exit(1);
}, 5000);

const ws = new WebSocket(url);

ws.on('open', () => ws.send(JSON.stringify({ type: 'join', nick })));

ws.on('message', (data) => {
  const event = JSON.parse(data);
  switch (event.type) {
    case 'welcome':
      console.log(`joined as ${event.nick}, online: ${event.online.join(', ')}`);
      for (const old of event.history) {
        if (old.type === 'message') console.log(`(earlier) ${old.nick}: ${old.text}`);
      }
      ws.send(JSON.stringify({ type: 'say', text }));
      break;
    case 'message':
      console.log(`${event.nick}: ${event.text}`);
      if (event.nick === nick && event.text === text) {
        done = true; // our own message came back
        ws.close(1000);
      }
      break;
    case 'join':
    case 'leave':
      console.log(`* ${event.nick} ${event.type}`);
      break;
    case 'error':
      console.error(`the server says: ${event.text}`);
      process.exit(1);
  }
});

ws.on('close', (code) => {
  clearTimeout(timer);
  if (!done || code !== 1000) {
    console.error(`closed with ${code} before the chat was done`);
    process.exit(1);
  }
});

ws.on('error', (error) => {
  console.error(`chat failed: ${error.message}`);
  process.exit(1);
});
