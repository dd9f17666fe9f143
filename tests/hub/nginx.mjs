// nginx as a WebSocket reverse proxy in front of some servers on this
// machine, for tests: one process tree of its own, everything it writes
// (configuration, pid, logs, temporary files) in a temporary directory, so
// that it runs as root or not, without /var/lib/nginx or /var/log/nginx.
//
//   import { startNginx } from '../hub/nginx.mjs';
//   const proxy = await startNginx({ upstreams: ['127.0.0.1:9001', '127.0.0.1:9002'] });
//   // http://127.0.0.1:${proxy.port}/ reaches both, in turn (round robin)
//   await proxy.stop();
//
// Each response carries the address of the server that answered it in an
// X-Upstream header (the 101 of a WebSocket handshake too), so that a test
// can tell where a connection landed. One worker process, so that the
// round robin is one sequence: requests alternate between the servers in
// the order they arrive. A server that refuses a connection is skipped and
// the next one tried (nginx's proxy_next_upstream).
//
// Environment: NGINX, the nginx binary (default: nginx on the PATH, or
// /usr/sbin/nginx).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.mjs';

const START_MS = 10_000;   // for nginx to listen
const STOP_MS = 5_000;     // for it to exit on SIGTERM before it is killed

function nginxBinary() {
  if (process.env.NGINX) return process.env.NGINX;
  for (const dir of (process.env.PATH || '').split(':').concat('/usr/sbin')) {
    const candidate = path.join(dir || '.', 'nginx');
    if (existsSync(candidate)) return candidate;
  }
  return 'nginx';
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

// The modules this nginx was built without: their temporary paths are
// then unknown directives.
function modulesLeftOut(binary) {
  const version = spawnSync(binary, ['-V'], { encoding: 'utf8' });   // nginx -V writes to stderr
  const text = `${version.stdout || ''}${version.stderr || ''}`;
  return new Set([...text.matchAll(/--without-http_(\w+)_module/g)].map((m) => m[1]));
}

// The configuration: `dir` holds everything nginx writes.
export function nginxConfig({ port, upstreams, dir, leftOut = new Set() }) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .filter((name) => name === 'client_body' || name === 'proxy' || !leftOut.has(name))
    .map((name) => `  ${name}_temp_path ${path.join(dir, `${name}_temp`)};`);
  return `# Written by tests/hub/nginx.mjs for one test run.
daemon off;
worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} info;

events {
  worker_connections 512;
}

http {
  access_log ${path.join(dir, 'access.log')};
${temp.join('\n')}

  # Upgrade only what asks to be upgraded; anything else gets "close".
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }

  upstream weft {
${upstreams.map((address) => `    server ${address};`).join('\n')}
  }

  server {
    listen 127.0.0.1:${port};

    location / {
      proxy_pass http://weft;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      # A quiet chat may send nothing for a long while.
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
}

// Starts nginx in front of `upstreams` ("host:port" strings); resolves once
// it accepts connections, with its port, its directory and stop(). On
// failure the error quotes nginx's error log.
export async function startNginx({ upstreams, port = 0 }) {
  const binary = nginxBinary();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-nginx-'));
  const listenPort = port || await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ port: listenPort, upstreams, dir, leftOut: modulesLeftOut(binary) }));

  // A process group of its own: stopping it ends the workers too.
  const child = spawn(binary, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'], detached: true,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  let exited = null;
  const gone = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = signal || code;
    resolve();
  }));
  child.once('error', (e) => { stderr += e.message; });

  const errorLog = () => {
    try {
      return readFileSync(path.join(dir, 'error.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      return '';
    }
  };

  const killGroup = (signal) => {
    if (exited !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  const stop = async () => {
    if (exited === null) {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), STOP_MS);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const until = Date.now() + START_MS;
  for (;;) {
    if (exited !== null) {
      const why = `${stderr.trim()} ${errorLog()}`.trim();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx exited (${exited}) before listening on 127.0.0.1:${listenPort}: ${why}`);
    }
    if (await canConnect(listenPort)) break;
    if (Date.now() >= until) {
      const why = errorLog();
      await stop();
      throw new Error(`nginx not listening on 127.0.0.1:${listenPort} within ${START_MS} ms: ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    port: listenPort,
    dir,
    stop,
    // For an 'exit' handler, where nothing can be awaited.
    killNow: () => {
      killGroup('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
