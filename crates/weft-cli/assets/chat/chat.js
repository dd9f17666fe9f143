// Weft chat: a browser client that reconnects by itself and recovers what
// it missed.
//
// One WebSocket at /ws carries JSON text messages:
//   to the server    {"type":"join","nick":"ada"}   first, on the first connection
//                    {"type":"join","nick":"ada","since":{"epoch","offset"}}   first, on a reconnection
//                    {"type":"say","text":"hello"}
//   from the server  {"type":"welcome","nick","node","epoch","offset","recovered","history":[item],"online":[nick]}
//                    items: {"type":"message","nick","text","time","offset"}   every message, our own too
//                           {"type":"join","nick","time","offset"}, {"type":"leave","nick","time","offset"}
//                    {"type":"error","text"}
//
// `time` is milliseconds since the Unix epoch. `offset` is an opaque string
// naming an item's place in the chat; offsets grow in the order the server
// sends items. `epoch` names one life of the chat's history: it changes
// when the history is reset (a server alone restarted, or the Redis the
// nodes share lost its data), and offsets of one epoch mean nothing in
// another. `node` names the server the page is connected to; a chat may be
// served by several nodes behind one address.
//
// Reconnection: when the connection drops (or the server closes it, for
// instance with 1012 because the history was reset), the page waits and
// tries again, with exponential backoff (0.5 s, 1 s, 2 s, ... up to 10 s)
// and jitter, so that many pages cut off together do not all come back at
// the same instant. The delay starts again from 0.5 s once a connection has
// stayed up for a while; a server that accepts and then drops at once is
// not hammered.
//
// Recovery: the page remembers the epoch of the last welcome and the
// offset of the last item it showed, and joins again with them as `since`.
// The welcome's `recovered` then says what its history is:
//   true   exactly the items after `since`, in order (maybe none): they are
//          appended to what is shown, so nothing is lost and nothing is
//          shown twice; a "Reconnected" notice follows them.
//   false  the gap could not be filled (it is older than the history the
//          server keeps, or the epoch changed): the history holds the most
//          recent items and replaces what is shown, and a notice says that
//          some messages may be missing.
//   null   no `since` was sent (the first join): the history, the most
//          recent items, replaces what is shown.
// The welcome's `offset` is the newest of the chat when it was made: the
// page resumes from it (or a later item's) even when it showed no item.
// The welcome's list of who is online replaces the page's; join and leave
// items in a recovered history are shown as notices but do not change it.
// Live join and leave items do.
//
// While disconnected the send form is disabled. What is being typed stays
// in the box and can be sent once connected again. Nothing is queued: a
// message is sent only on an open connection, and the server's echo of it
// is the confirmation that it arrived. One sent just as the connection
// drops and the server took is recovered on the reconnection; one the
// server could not pass on (with several nodes, when their Redis is down)
// comes back as an error "not sent: ..." that quotes it, shown as an error
// notice, so that it can be sent again.
//
// For tests, after each welcome <body> carries data-node (the node) and
// data-recovered ("true", "false", or "" for null), and each item shown
// from the server carries its offset in data-offset.
//
// User data is only ever inserted with textContent, never as HTML.

'use strict';

const MAX_NICK_CHARS = 32;
const MAX_TEXT_CHARS = 4000;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;
const STABLE_AFTER_MS = 5_000;    // an open connection this old resets the backoff
const NEAR_BOTTOM_PX = 80;        // closer than this to the end counts as "at the end"
const NICK_KEY = 'weft-chat.nick';

const ui = {
  status: document.getElementById('status'),
  joinView: document.getElementById('join-view'),
  nickForm: document.getElementById('nick-form'),
  nick: document.getElementById('nick'),
  nickError: document.getElementById('nick-error'),
  chatView: document.getElementById('chat-view'),
  messages: document.getElementById('messages'),
  online: document.getElementById('online'),
  onlineCount: document.getElementById('online-count'),
  sendForm: document.getElementById('send-form'),
  text: document.getElementById('text'),
  sendButton: document.querySelector('#send-form button'),
};

const chat = {
  nick: null,          // our nickname, once chosen
  socket: null,        // the current WebSocket, if any
  welcomed: false,     // the server accepted our join on the current socket
  everOpened: false,   // some connection has been open before (for the status text)
  retries: 0,          // failed attempts since the last stable connection
  retryAt: 0,          // when the next attempt is due (ms since the epoch)
  retryTimer: 0,
  countdownTimer: 0,
  stableTimer: 0,
  online: [],          // nicknames online; may repeat (one per connection)
  epoch: null,         // the history's epoch, from the last welcome
  offset: null,        // the offset of the last item shown from that epoch
  refocus: false,      // give the message box the focus when it is enabled again
};

// ---------------------------------------------------------------- status

const STATUS_TEXT = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Not connected',
};

// Shows the state and enables the send form only while connected. The
// message box loses the focus while disabled; it gets it back afterwards.
function setStatus(state, text = STATUS_TEXT[state]) {
  if (ui.status.dataset.state !== state) ui.status.dataset.state = state;
  if (ui.status.textContent !== text) ui.status.textContent = text;
  const connected = state === 'open';
  if (!connected && document.activeElement === ui.text) chat.refocus = true;
  ui.text.disabled = !connected;
  ui.sendButton.disabled = !connected;
  if (connected && chat.refocus && !ui.chatView.hidden) {
    chat.refocus = false;
    ui.text.focus();
  }
}

// ------------------------------------------------------------ connection

function socketUrl() {
  return (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws';
}

function connect() {
  clearRetry();
  setStatus(chat.everOpened || chat.retries > 0 ? 'reconnecting' : 'connecting');

  const socket = new WebSocket(socketUrl());
  chat.socket = socket;
  chat.welcomed = false;

  socket.addEventListener('open', () => {
    send(joinRequest());
  });

  socket.addEventListener('message', (event) => {
    if (chat.socket !== socket) return;   // late news from a socket let go of
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      console.warn('chat: ignoring a message that is not JSON', event.data);
      return;
    }
    handle(data);
  });

  // 'error' is always followed by 'close', which does the work.
  socket.addEventListener('close', () => {
    if (chat.socket !== socket) return;   // a socket let go of on purpose
    chat.socket = null;
    chat.welcomed = false;
    clearTimeout(chat.stableTimer);
    scheduleRetry();
  });
}

// The join: on a reconnection, with where the page is, so that the
// server sends what was missed.
function joinRequest() {
  const request = { type: 'join', nick: chat.nick };
  if (chat.everOpened && chat.epoch !== null && chat.offset !== null) {
    request.since = { epoch: chat.epoch, offset: chat.offset };
  }
  return request;
}

function send(message) {
  if (chat.socket && chat.socket.readyState === WebSocket.OPEN) {
    chat.socket.send(JSON.stringify(message));
    return true;
  }
  return false;
}

// The delay before attempt n (0-based): RETRY_FIRST_MS doubled n times, at
// most RETRY_MAX_MS, then a random point in its upper half.
function retryDelay(n) {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** n);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function scheduleRetry() {
  clearRetry();
  const delay = retryDelay(chat.retries);
  chat.retries += 1;
  chat.retryAt = Date.now() + delay;
  chat.retryTimer = setTimeout(connect, delay);
  showCountdown();
  chat.countdownTimer = setInterval(showCountdown, 250);
}

function showCountdown() {
  const seconds = Math.max(1, Math.ceil((chat.retryAt - Date.now()) / 1000));
  setStatus('reconnecting', `Reconnecting in ${seconds} s…`);
}

function clearRetry() {
  clearTimeout(chat.retryTimer);
  clearInterval(chat.countdownTimer);
  chat.retryTimer = 0;
  chat.countdownTimer = 0;
}

// Stops for good (the server refused our nickname): no more attempts.
function disconnect() {
  clearRetry();
  clearTimeout(chat.stableTimer);
  const socket = chat.socket;
  chat.socket = null;
  if (socket) socket.close();
  setStatus('closed');
}

// When the network comes back, do not wait for the rest of the delay.
window.addEventListener('online', () => {
  if (chat.retryTimer) connect();
});

// ---------------------------------------------------- messages from the server

function handle(data) {
  switch (data.type) {
    case 'welcome': {
      const again = chat.everOpened;
      chat.welcomed = true;
      chat.everOpened = true;
      chat.nick = data.nick || chat.nick;
      clearTimeout(chat.stableTimer);
      chat.stableTimer = setTimeout(() => { chat.retries = 0; }, STABLE_AFTER_MS);
      setStatus('open');
      const history = Array.isArray(data.history) ? data.history : [];
      const recovered = data.recovered === true || data.recovered === false ? data.recovered : null;
      chat.epoch = typeof data.epoch === 'string' ? data.epoch : null;
      if (recovered === true) {
        // Exactly what was missed: after what is shown.
        for (const item of history) addItem(chatItem(item));
      } else {
        chat.offset = null;
        showHistory(history);
      }
      // The newest offset of the chat when the welcome was made: where to
      // resume from even if no item came with it (an empty room).
      if (typeof data.offset === 'string') chat.offset = data.offset;
      setOnline(Array.isArray(data.online) ? data.online : []);
      document.body.dataset.node = typeof data.node === 'string' ? data.node : '';
      document.body.dataset.recovered = recovered === null ? '' : String(recovered);
      if (recovered === false) {
        addItem(noticeItem('Reconnected, but some messages may be missing: the history was reloaded',
          Date.now(), 'warning'), { force: true });
      } else if (again) {
        addItem(noticeItem('Reconnected', Date.now()), { force: true });
      }
      break;
    }
    case 'message':
      addItem(chatItem(data), { force: data.nick === chat.nick });
      break;
    case 'join':
      addItem(chatItem(data));
      setOnline([...chat.online, data.nick]);
      break;
    case 'leave': {
      addItem(chatItem(data));
      const i = chat.online.indexOf(data.nick);
      if (i >= 0) setOnline(chat.online.filter((_, j) => j !== i));
      break;
    }
    case 'error':
      if (chat.welcomed) {
        addItem(noticeItem(data.text, Date.now(), 'error'), { force: true });
      } else {
        // Before the welcome an error is about the join: back to the form.
        disconnect();
        showJoin(data.text || 'The server refused this nickname.');
      }
      break;
    default:
      console.warn('chat: ignoring a message of unknown type', data);
  }
}

// ------------------------------------------------------------ rendering

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function timeItem(time) {
  const date = new Date(Number.isFinite(time) ? time : Date.now());
  const node = el('time', 'time', date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  node.dateTime = date.toISOString();
  node.title = date.toLocaleString();
  return node;
}

// A stable hue for each nickname, so that a name keeps its colour.
function hue(nick) {
  let h = 0;
  for (const ch of String(nick)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function messageItem({ nick, text, time }) {
  const li = el('li', 'message');
  if (nick === chat.nick) li.classList.add('own');
  const name = el('span', 'nick', nick);
  name.style.setProperty('--hue', hue(nick));
  const meta = el('div', 'meta');
  meta.append(name, timeItem(time));
  li.append(meta, el('div', 'text', text));
  return li;
}

function noticeItem(text, time, kind) {
  const li = el('li', kind ? `notice ${kind}` : 'notice');
  li.append(el('span', 'text', text), ' ', timeItem(time));
  return li;
}

// An item of the chat (a message, or someone joining or leaving), from a
// welcome's history or live. Rendering it moves the page to its offset:
// items are rendered in the order they are shown.
function chatItem(item) {
  let li;
  if (item.type === 'join') {
    li = noticeItem(`${item.nick} joined`, item.time);
  } else if (item.type === 'leave') {
    li = noticeItem(`${item.nick} left`, item.time);
  } else {
    li = messageItem(item);
  }
  if (typeof item.offset === 'string') {
    li.dataset.offset = item.offset;
    chat.offset = item.offset;
  }
  return li;
}

function isNearBottom() {
  const list = ui.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
}

function scrollToEnd() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

// Appends an item and follows it, unless the reader has scrolled up to
// read older messages (force: follow anyway, as for our own messages).
function addItem(li, { force = false } = {}) {
  const follow = force || isNearBottom();
  ui.messages.append(li);
  if (follow) scrollToEnd();
}

function showHistory(history) {
  ui.messages.replaceChildren(...history.map(chatItem));
  scrollToEnd();
}

function setOnline(nicks) {
  chat.online = nicks;
  const names = [...new Set(nicks)].sort((a, b) => a.localeCompare(b));
  ui.online.replaceChildren(...names.map((nick) => el('li', nick === chat.nick ? 'me' : '', nick)));
  ui.onlineCount.textContent = String(names.length);
}

// ----------------------------------------------------------------- views

function showJoin(error) {
  ui.chatView.hidden = true;
  ui.joinView.hidden = false;
  ui.nickError.textContent = error || '';
  ui.nickError.hidden = !error;
  ui.nick.focus();
}

function showChat() {
  ui.joinView.hidden = true;
  ui.chatView.hidden = false;
  ui.messages.replaceChildren();
  chat.refocus = true;   // the box is enabled once the server welcomes us
}

function loadNick() {
  try {
    return localStorage.getItem(NICK_KEY) || '';
  } catch {
    return '';   // storage may be disabled
  }
}

function saveNick(nick) {
  try {
    localStorage.setItem(NICK_KEY, nick);
  } catch {
    // Not remembered then; the chat works all the same.
  }
}

ui.nickForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const nick = ui.nick.value.trim();
  const length = [...nick].length;
  if (length === 0 || length > MAX_NICK_CHARS) {
    showJoin(`A nickname has 1 to ${MAX_NICK_CHARS} characters.`);
    return;
  }
  saveNick(nick);
  chat.nick = nick;
  chat.retries = 0;
  chat.everOpened = false;
  chat.epoch = null;
  chat.offset = null;
  showChat();
  connect();
});

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  if (text.trim() === '') return;
  if ([...text].length > MAX_TEXT_CHARS) {
    addItem(noticeItem(`A message has at most ${MAX_TEXT_CHARS} characters.`, Date.now(), 'error'),
      { force: true });
    return;
  }
  if (send({ type: 'say', text })) {
    ui.text.value = '';
  }
  ui.text.focus();
});

ui.nick.value = loadNick();
setStatus('closed');
showJoin();
