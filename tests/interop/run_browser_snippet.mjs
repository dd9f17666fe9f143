// Runs a snippet written for the browser console in Node, with Node's own
// WebSocket (the WHATWG API that browsers have; `node --experimental-websocket`
// on Node 20) standing in for the browser's.
//
// Usage: node [--experimental-websocket] run_browser_snippet.mjs SNIPPET WS_URL
//
// `location` is set to the page that WS_URL belongs to (ws://HOST/ws ->
// http://HOST/), then SNIPPET runs as a classic script, as a console would
// run it. Exits 0 once every WebSocket the snippet opened has closed cleanly
// with 1000 and it logged no error; exits 1 otherwise, or after 5 s.
import { readFileSync } from 'node:fs';
import { runInThisContext } from 'node:vm';

const [snippet, wsUrl] = process.argv.slice(2);
if (!snippet || !wsUrl) {
  console.error('usage: run_browser_snippet.mjs SNIPPET WS_URL');
  process.exit(2);
}
if (typeof globalThis.WebSocket !== 'function') {
  console.error('this Node has no global WebSocket: run it with --experimental-websocket');
  process.exit(2);
}

const page = new URL(wsUrl);
page.protocol = page.protocol === 'wss:' ? 'https:' : 'http:';
page.pathname = '/';
globalThis.location = page;

let errors = 0;
const consoleError = console.error;
console.error = (...args) => {
  errors += 1;
  consoleError(...args);
};

function finish(code, reason) {
  if (reason) consoleError(`browser snippet: ${reason}`);
  process.exit(code);
}

const timer = setTimeout(() => finish(1, 'not done within 5 s'), 5000);

let open = 0;
let opened = 0;
const NativeWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    open += 1;
    opened += 1;
    // Node 20 fires no close event after a failed connect, only this one.
    this.addEventListener('error', () => finish(1, `WebSocket error on ${this.url}`));
    this.addEventListener('close', ({ code, wasClean }) => {
      open -= 1;
      if (code !== 1000 || !wasClean) finish(1, `closed with ${code}${wasClean ? '' : ', not cleanly'}`);
      if (errors > 0) finish(1, 'the snippet logged an error');
      if (open === 0) {
        clearTimeout(timer);
        // Let the snippet's own close handler run first.
        setImmediate(() => finish(0));
      }
    });
  }
};

runInThisContext(readFileSync(snippet, 'utf8'), { filename: snippet });
if (opened === 0) finish(1, 'the snippet opened no WebSocket');
