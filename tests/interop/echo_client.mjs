// A Node `ws` client of an echo server, for tests/interop/run.sh.
//
// Usage: node echo_client.mjs URL --deflate on|off --expect-deflate yes|no
//
// Offers permessage-deflate or not, checks that the Sec-WebSocket-Extensions
// the server agreed to is what was expected, sends text (multi-byte UTF-8,
// empty, 100 KB) and binary (every byte value, empty, 1 MiB random)
// messages, checks that each echo comes back byte-exact and of the same
// type, then closes with 1000 and checks that the server answered with 1000.
// Prints nothing on success; exits 1 with the reason on stderr otherwise.

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const TIMEOUT_MS = 20_000;

function messages() {
  const every = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) every[i] = i;
  return [
    { binary: false, data: Buffer.from('héllo wörld ✓ 🚀 日本語') },
    { binary: false, data: Buffer.alloc(0) },
    { binary: false, data: Buffer.from('ascii only') },
    { binary: false, data: Buffer.from('0123456789abcdef ✓ '.repeat(6000).slice(0, 100_000)) },
    { binary: true, data: every },
    { binary: true, data: Buffer.alloc(0) },
    { binary: true, data: randomBytes(1 << 20) },
  ];
}

function describe({ binary, data }) {
  return `${binary ? 'binary' : 'text'} message of ${data.length} bytes`;
}

function fail(reason) {
  console.error(`ws client: ${reason}`);
  process.exit(1);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { deflate: { type: 'string' }, 'expect-deflate': { type: 'string' } },
});
const [url] = positionals;
if (!url || !['on', 'off'].includes(values.deflate) || !['yes', 'no'].includes(values['expect-deflate'])) {
  fail('usage: echo_client.mjs URL --deflate on|off --expect-deflate yes|no');
}
const expectDeflate = values['expect-deflate'] === 'yes';

const timer = setTimeout(() => fail(`no result within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);

const ws = new WebSocket(url, { perMessageDeflate: values.deflate === 'on' });
const queue = messages();
let expected = null;
let allEchoed = false;

function sendNext() {
  expected = queue.shift();
  if (expected === undefined) {
    allEchoed = true;
    ws.close(1000);
    return;
  }
  ws.send(expected.data, { binary: expected.binary });
}

ws.on('upgrade', (response) => {
  const agreed = response.headers['sec-websocket-extensions'];
  if (expectDeflate && !(agreed ?? '').trim().startsWith('permessage-deflate')) {
    fail(`expected permessage-deflate to be agreed, got ${JSON.stringify(agreed)}`);
  }
  if (!expectDeflate && agreed !== undefined) {
    fail(`expected no extension to be agreed, got ${JSON.stringify(agreed)}`);
  }
});

ws.on('open', sendNext);

ws.on('message', (data, isBinary) => {
  if (expected === null || expected === undefined) fail('a message arrived that was not an echo');
  const echo = { binary: isBinary, data };
  if (isBinary !== expected.binary) fail(`${describe(expected)}: the echo is a ${describe(echo)}`);
  if (!data.equals(expected.data)) fail(`${describe(expected)}: the echo differs (${describe(echo)})`);
  sendNext();
});

ws.on('close', (code) => {
  if (!allEchoed) fail(`the connection closed with ${code} before every echo came back`);
  if (code !== 1000) fail(`the server closed with ${code}, expected 1000`);
  clearTimeout(timer);
});

ws.on('error', (error) => fail(`${error.name}: ${error.message}`));
