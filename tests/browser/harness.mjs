// What the browser tests of `weft serve --chat` share: TAP-ish reporting,
// the weft server as a child process, and a person's page with the checks
// made on it (what a person sees: visibility, text, colours, scrolling).
//
// Environment:
//   WEFT_BIN     the weft binary (default target/debug/weft)
//   CHROMIUM     the browser (default /usr/bin/chromium)
//   CHAT_ASSETS  a directory holding chat.js and chat.css: the pages get
//                these files instead of the ones built into the binary (to
//                try the page's code against a binary built before it
//                changed); unset by default. The page itself still comes
//                from the server: a document that Chromium did not load from
//                the loopback address may not open WebSockets to it (its
//                Local Network Access checks).

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';

export const WEFT_BIN = path.resolve(process.env.WEFT_BIN || 'target/debug/weft');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const OUT_DIR = path.resolve('target/browser');
const CHAT_ASSETS = process.env.CHAT_ASSETS ? path.resolve(process.env.CHAT_ASSETS) : null;

export const WAIT_MS = 15_000;   // any single wait for the page or a server

// Without the background-networking flags Chromium keeps trying to reach
// Google's services, which only fails on a closed network.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// ------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Runs one step; the first failure stops the run (later steps depend on it).
export async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}`);
    throw new Error(`${name}: ${e.message.split('\n')[0]}`, { cause: e });
  }
  passed += 1;
  console.log(`ok - ${name}`);
}

export function log(message) {
  console.log(`# ${message}`);
}

// Runs `main` within `deadlineMs` and prints the summary line
// "NAME: N passed, M failed"; sets the exit code. `cleanUp` must end every
// process started, synchronously (it also runs from the 'exit' handler,
// and on SIGINT and SIGTERM).
export async function run(name, main, { deadlineMs, cleanUp }) {
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => { cleanUp(); process.exit(1); });
  }
  const watchdog = setTimeout(() => {
    console.log(`not ok - the run took more than ${deadlineMs / 1000} s`);
    console.log(`${name}: ${passed} passed, ${failed + 1} failed`);
    process.exit(1);   // the 'exit' handler ends the processes
  }, deadlineMs);

  const started = Date.now();
  try {
    await main();
    console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${name}: ${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  } catch (e) {
    console.error(`${name} test failed: ${e.message}`);
    console.log(`${name}: ${passed} passed, ${Math.max(failed, 1)} failed`);
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
}

// ------------------------------------------------------------- processes

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Settles as `promise` does, or fails after `ms`; leaves no timer behind.
export function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// `weft serve --chat 127.0.0.1:PORT ...options`, ready once it has printed
// its listening line.
export class Server {
  constructor(port, options = []) {
    this.port = port;
    this.addr = `127.0.0.1:${port}`;
    this.args = ['serve', '--chat', this.addr, ...options];
    this.child = null;
    this.stderr = '';
  }

  // retryMs: how long to keep trying when the server fails to start, as it
  // may when started again on the port of one just killed.
  async start(retryMs = 0) {
    const until = Date.now() + retryMs;
    for (;;) {
      try {
        await this.#startOnce();
        return;
      } catch (e) {
        if (Date.now() >= until) throw e;
        log(`${e.message}; trying again`);
        await sleep(300);
      }
    }
  }

  #startOnce() {
    const expected = `listening on ws://${this.addr}`;
    const command = `${WEFT_BIN} ${this.args.join(' ')}`;
    const child = spawn(WEFT_BIN, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.stderr = '';
    child.stderr.setEncoding('utf8');
    // The last few kB, for the report of a failure.
    child.stderr.on('data', (chunk) => { this.stderr = (this.stderr + chunk).slice(-4000); });
    return new Promise((resolve, reject) => {
      const fail = (why) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${command}: ${why}${this.stderr ? `; stderr: ${this.stderr.trim()}` : ''}`));
      };
      const timer = setTimeout(() => fail(`no "${expected}" line within ${WAIT_MS} ms`), WAIT_MS);
      child.once('error', (e) => fail(e.message));
      child.once('exit', (code, signal) => fail(`exited (${signal || code}) before listening`));
      // Keeps reading stdout for as long as the server runs, so that it never blocks on a full pipe.
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.trim() === expected) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.removeAllListeners('error');
          resolve();
        }
      });
    });
  }

  get running() {
    const child = this.child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  // SIGKILL, as in a crash; resolves once the process is gone.
  async kill() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  killNow() {
    if (this.child) this.child.kill('SIGKILL');
  }
}

// ----------------------------------------------------------------- pages

const ASSET_TYPES = {
  '/chat.js': ['chat.js', 'text/javascript; charset=utf-8'],
  '/chat.css': ['chat.css', 'text/css; charset=utf-8'],
};

// A person's page in a browser context of its own (own storage, own cookies).
export async function openPerson(browser, nick, contextOptions, origin, problems) {
  const context = await browser.newContext(contextOptions);
  if (CHAT_ASSETS) {
    await context.route((url) => url.origin === origin && url.pathname in ASSET_TYPES, (route) => {
      const [file, contentType] = ASSET_TYPES[new URL(route.request().url()).pathname];
      return route.fulfill({ status: 200, contentType, body: readFileSync(path.join(CHAT_ASSETS, file)) });
    });
  }
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (e) => problems.push(`${nick}: script error: ${e.message}`));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) {
      problems.push(`${nick}: request to another origin: ${url}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${nick}: ${response.status()} for ${response.url()}`);
  });
  page.on('websocket', (ws) => {
    if (ws.url() !== `${origin.replace(/^http/, 'ws')}/ws`) problems.push(`${nick}: WebSocket to ${ws.url()}`);
  });
  return { nick, context, page };
}

export function checkPrerequisites() {
  check(existsSync(WEFT_BIN), `no weft binary at ${WEFT_BIN} (set WEFT_BIN)`);
  check(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (tests/browser/run.sh installs Debian's chromium)`);
  if (CHAT_ASSETS) log(`the page's files come from ${CHAT_ASSETS}, not from the binary`);
}

function status(person) {
  return person.page.locator('#status');
}

export async function waitForState(person, state, timeout = WAIT_MS) {
  await person.page.locator(`#status[data-state="${state}"]`).waitFor({ state: 'visible', timeout });
}

export async function statusText(person) {
  return (await status(person).textContent()).trim();
}

function parseRgb(css) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  check(m, `cannot read the colour ${css}`);
  return m.slice(1, 4).map(Number);
}

const COLOURS = {
  green: ([r, g, b]) => g > r + 30 && g > b + 30,
  amber: ([r, g, b]) => r > g + 20 && g > b + 30,
};

// Waits (past any colour transition) for the status text to be the given
// colour; returns the text and background colours seen.
export async function waitForColour(person, name) {
  const until = Date.now() + WAIT_MS;
  let seen;
  for (;;) {
    seen = await status(person).evaluate((el) => {
      const style = getComputedStyle(el);
      return { color: style.color, background: style.backgroundColor };
    });
    if (COLOURS[name](parseRgb(seen.color))) return seen;
    check(Date.now() < until, `${person.nick}'s status is ${seen.color}, not ${name}`);
    await sleep(100);
  }
}

export async function join(person, url) {
  const { page } = person;
  await page.goto(url);
  const form = page.locator('#nick-form');
  await form.waitFor({ state: 'visible' });
  check(await status(person).isVisible(), `${person.nick}: no visible #status`);
  check(!(await page.locator('#messages').isVisible()), `${person.nick}: messages shown before joining`);
  await page.locator('#nick').fill(person.nick);
  await form.locator('button[type="submit"]').click();
  await waitForState(person, 'open');
  check(/Connected/.test(await statusText(person)), `${person.nick}'s status reads "${await statusText(person)}"`);
  await page.locator('#messages').waitFor({ state: 'visible' });
  await page.locator('#send-form').waitFor({ state: 'visible' });
  check(!(await form.isVisible()), `${person.nick}: the nickname form is still shown`);
}

export async function say(person, text) {
  const input = person.page.locator('#text');
  await input.fill(text);
  await input.press('Enter');
  // The box empties once the message is on its way.
  await person.page.waitForFunction(() => document.getElementById('text').value === '');
}

// Waits for a message from `nick` reading exactly `text` to be shown.
export async function waitForMessage(person, nick, text) {
  const item = person.page.locator('#messages li.message').filter({ hasText: text }).last();
  try {
    await item.waitFor({ state: 'visible' });
  } catch {
    throw new Error(`${person.nick} never showed "${text}" from ${nick}`);
  }
  const shownNick = (await item.locator('.nick').textContent()).trim();
  const shownText = await item.locator('.text').textContent();
  check(shownNick === nick && shownText === text,
    `${person.nick} shows ${JSON.stringify({ nick: shownNick, text: shownText })}, expected ${JSON.stringify({ nick, text })}`);
  check(await item.locator('.nick').isVisible() && await item.locator('.text').isVisible(),
    `${person.nick}: the nick or the text of "${text}" is not visible`);
  check(await item.locator('time').isVisible(), `${person.nick}: "${text}" shows no time`);
}

export async function waitForNotice(person, words, timeout = WAIT_MS) {
  const item = person.page.locator('#messages li.notice').filter({ hasText: words }).last();
  try {
    await item.waitFor({ state: 'visible', timeout });
  } catch {
    throw new Error(`${person.nick} never showed a notice with "${words}"`);
  }
  return item;
}

export async function waitForOnline(person, nicks) {
  try {
    await person.page.waitForFunction((names) => {
      const online = document.getElementById('online').textContent;
      return names.every((name) => online.includes(name));
    }, nicks);
  } catch {
    const shown = await person.page.locator('#online').textContent();
    throw new Error(`${person.nick}'s #online shows "${shown.trim()}", expected ${nicks.join(', ')}`);
  }
  check(await person.page.locator('#online').isVisible(), `${person.nick}: #online is not visible`);
}

// The names in the online list, in the order shown.
export async function onlineNames(person) {
  return person.page.locator('#online li').allTextContents();
}

// The newest message must be on screen: inside the scrolled list and the window.
export async function checkNewestInView(person, { mustOverflow = false } = {}) {
  const view = await person.page.evaluate(() => {
    const list = document.getElementById('messages');
    const items = list.querySelectorAll('li.message');
    const last = items[items.length - 1];
    if (!last) return null;
    const r = last.getBoundingClientRect();
    const box = list.getBoundingClientRect();
    return {
      text: last.querySelector('.text').textContent,
      inList: r.top >= box.top - 1 && r.bottom <= box.bottom + 1,
      inWindow: r.top >= 0 && r.bottom <= window.innerHeight + 1,
      overflows: list.scrollHeight > list.clientHeight,
      scrolled: list.scrollTop > 0,
    };
  });
  check(view, `${person.nick}: no message shown`);
  check(view.inList && view.inWindow, `${person.nick}: the newest message "${view.text}" is not scrolled into view`);
  if (mustOverflow) {
    check(view.overflows && view.scrolled,
      `${person.nick}: the message list should overflow and be scrolled to its end (overflows: ${view.overflows}, scrolled: ${view.scrolled})`);
  }
}

export async function checkSendForm(person, enabled) {
  const { page } = person;
  const input = page.locator('#text');
  const button = page.locator('#send-form button');
  const state = { input: await input.isEnabled(), button: await button.isEnabled() };
  check(state.input === enabled && state.button === enabled,
    `${person.nick}: the send form should be ${enabled ? 'enabled' : 'disabled'} (${JSON.stringify(state)})`);
}

export async function checkNoDuplicates(person) {
  const texts = await person.page.locator('#messages li.message .text').allTextContents();
  const twice = texts.filter((t, i) => texts.indexOf(t) !== i);
  check(twice.length === 0, `${person.nick} shows messages twice: ${JSON.stringify(twice)}`);
}

// What the last welcome said, as the page exposes it on <body>.
export async function welcomeState(person) {
  return person.page.evaluate(() => ({
    node: document.body.dataset.node,
    recovered: document.body.dataset.recovered,
  }));
}

// The messages shown, in order: { offset, nick, text } each.
export async function shownMessages(person) {
  return person.page.locator('#messages li.message').evaluateAll((items) => items.map((li) => ({
    offset: li.dataset.offset,
    nick: li.querySelector('.nick').textContent,
    text: li.querySelector('.text').textContent,
  })));
}

export async function screenshot(person, name) {
  const file = path.join(OUT_DIR, name);
  await person.page.screenshot({ path: file });
  log(`screenshot ${path.relative(process.cwd(), file)}`);
}
