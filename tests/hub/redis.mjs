// A throwaway redis-server for tests: on a free loopback port, nothing
// saved to disk, ready once it answers PING.
//
//   import { startRedis } from '../hub/redis.mjs';
//   const redis = await startRedis();   // redis.url: redis://127.0.0.1:PORT
//   await redis.stop();
//
// Environment: REDIS_SERVER, the binary (default redis-server on the PATH).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';

const START_MS = 10_000;   // for it to answer PING
const STOP_MS = 5_000;     // for it to exit on SIGTERM before it is killed

// PING over a plain TCP connection: true once the answer is +PONG.
function ping(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

export async function startRedis() {
  const binary = process.env.REDIS_SERVER || 'redis-server';
  const port = await freePort();
  // Its working directory: nothing is saved, but nothing can land elsewhere either.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-redis-'));
  const child = spawn(binary, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => { output = (output + chunk).slice(-4000); });
  }
  let exited = null;
  const gone = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = signal || code;
    resolve();
  }));
  child.once('error', (e) => { output += e.message; });

  const signal = (name) => {
    if (exited === null) child.kill(name);
  };
  const stop = async () => {
    if (exited === null) {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), STOP_MS);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const until = Date.now() + START_MS;
  while (!(await ping(port))) {
    if (exited !== null || Date.now() >= until) {
      const why = exited !== null ? `exited (${exited})` : `no PONG within ${START_MS} ms`;
      await stop();
      throw new Error(`${binary} on 127.0.0.1:${port}: ${why}: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    // For an 'exit' handler, where nothing can be awaited.
    killNow: () => {
      signal('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
