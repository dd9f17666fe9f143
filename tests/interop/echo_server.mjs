// A Node `ws` echo server, for tests/interop/run.sh.
//
// Usage: node echo_server.mjs --deflate on|off
//
// Listens on 127.0.0.1 on a free port and prints `listening on ws://ADDR`
// once ready. Echoes every message with its type (text as text, binary as
// binary). When a connection ends it prints one line:
//
//     closed code=1000 extensions=permessage-deflate
//
// the close code received from the client (`none` without a close frame)
// and the Sec-WebSocket-Extensions it answered with (`none` if it agreed to
// no extension). Runs until SIGTERM or SIGINT.

import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({ options: { deflate: { type: 'string' } } });
if (!['on', 'off'].includes(values.deflate)) {
  console.error('usage: echo_server.mjs --deflate on|off');
  process.exit(2);
}

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: values.deflate === 'on',
});

// The extensions header of each response, kept until its connection ends.
const agreed = new WeakMap();
server.on('headers', (headers, request) => {
  const line = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
  agreed.set(request, line ? line.slice(line.indexOf(':') + 1).trim() : 'none');
});

server.on('connection', (ws, request) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {}); // reported through the close code below
  ws.on('close', (code) => {
    // ws reports 1005 when the close frame had no code and 1006 when none came.
    const received = code === 1006 ? 'none' : code;
    console.log(`closed code=${received} extensions=${agreed.get(request)}`);
  });
});

server.on('listening', () => {
  const { address, port } = server.address();
  console.log(`listening on ws://${address}:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    for (const client of server.clients) client.terminate();
    server.close(() => process.exit(0));
  });
}
