// End-to-end test of `weft serve --chat` in headless Chromium.
//
// Two people (ada on a desktop-sized page, bob on a phone-sized one) join
// and chat with multi-byte UTF-8; then the server is killed with SIGKILL,
// as in a crash. Both pages must show that they are reconnecting, and once
// the server is started again on the same port they must come back by
// themselves (no reload) and chat again both ways.
//
// The checks are on what a person sees: visibility, the status text and
// its colour, the newest message scrolled into view. Screenshots are saved
// under target/browser/.
//
// Run from the repository root:
//   node tests/browser/chat.test.mjs
// Environment:
//   WEFT_BIN   the weft binary (default target/debug/weft)
//   CHROMIUM   the browser (default /usr/bin/chromium)
// Exits non-zero on any failure.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const WEFT_BIN = path.resolve(process.env.WEFT_BIN || 'target/debug/weft');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT_DIR = path.resolve('target/browser');

const WAIT_MS = 15_000;       // any single wait for the page or the server
const RECONNECT_MS = 30_000;  // for both pages to be back after the restart
const DOWN_MS = 2_500;        // how long the server stays dead
const DEADLINE_MS = 120_000;  // the whole run, whatever happens

// Without the background-networking flags Chromium keeps trying to reach
// Google's services, which only fails on a closed network.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// ------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Runs one step; the first failure stops the run (later steps depend on it).
async function step(name, fn) {
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

function log(message) {
  console.log(`# ${message}`);
}

// ---------------------------------------------------------------- server

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// `weft serve --chat 127.0.0.1:PORT`, ready once it has printed its
// listening line.
class Server {
  constructor(port) {
    this.port = port;
    this.child = null;
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
    const addr = `127.0.0.1:${this.port}`;
    const expected = `listening on ws://${addr}`;
    const child = spawn(WEFT_BIN, ['serve', '--chat', addr], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    return new Promise((resolve, reject) => {
      const fail = (why) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${WEFT_BIN} serve --chat ${addr}: ${why}${stderr ? `; stderr: ${stderr.trim()}` : ''}`));
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

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Settles as `promise` does, or fails after `ms`; leaves no timer behind.
function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ----------------------------------------------------------------- pages

// A person's page in a browser context of its own (own storage, own cookies).
async function openPerson(browser, nick, contextOptions, origin, problems) {
  const context = await browser.newContext(contextOptions);
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

function status(person) {
  return person.page.locator('#status');
}

async function waitForState(person, state, timeout = WAIT_MS) {
  await person.page.locator(`#status[data-state="${state}"]`).waitFor({ state: 'visible', timeout });
}

async function statusText(person) {
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
async function waitForColour(person, name) {
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

async function join(person, url) {
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

async function say(person, text) {
  const input = person.page.locator('#text');
  await input.fill(text);
  await input.press('Enter');
  // The box empties once the message is on its way.
  await person.page.waitForFunction(() => document.getElementById('text').value === '');
}

// Waits for a message from `nick` reading exactly `text` to be shown.
async function waitForMessage(person, nick, text) {
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

async function waitForNotice(person, words) {
  const item = person.page.locator('#messages li.notice').filter({ hasText: words }).last();
  try {
    await item.waitFor({ state: 'visible' });
  } catch {
    throw new Error(`${person.nick} never showed a notice with "${words}"`);
  }
}

async function waitForOnline(person, nicks) {
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

// The newest message must be on screen: inside the scrolled list and the window.
async function checkNewestInView(person, { mustOverflow = false } = {}) {
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

async function checkSendForm(person, enabled) {
  const { page } = person;
  const input = page.locator('#text');
  const button = page.locator('#send-form button');
  const state = { input: await input.isEnabled(), button: await button.isEnabled() };
  check(state.input === enabled && state.button === enabled,
    `${person.nick}: the send form should be ${enabled ? 'enabled' : 'disabled'} (${JSON.stringify(state)})`);
}

async function checkNoDuplicates(person) {
  const texts = await person.page.locator('#messages li.message .text').allTextContents();
  const twice = texts.filter((t, i) => texts.indexOf(t) !== i);
  check(twice.length === 0, `${person.nick} shows messages twice: ${JSON.stringify(twice)}`);
}

async function screenshot(person, name) {
  const file = path.join(OUT_DIR, name);
  await person.page.screenshot({ path: file });
  log(`screenshot ${path.relative(process.cwd(), file)}`);
}

// ------------------------------------------------------------------ test

async function main() {
  check(existsSync(WEFT_BIN), `no weft binary at ${WEFT_BIN} (set WEFT_BIN)`);
  check(existsSync(CHROMIUM), `no browser at ${CHROMIUM} (tests/browser/run.sh installs Debian's chromium)`);
  mkdirSync(OUT_DIR, { recursive: true });

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const server = new Server(port);
  const problems = [];
  let browser = null;

  const cleanUp = () => server.killNow();
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => { cleanUp(); process.exit(1); });
  }

  try {
    await step(`the server listens on 127.0.0.1:${port}`, () => server.start());

    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000,
    });
    const ada = await openPerson(browser, 'ada', { viewport: { width: 1100, height: 720 } }, origin, problems);
    const bob = await openPerson(browser, 'bob', {
      viewport: { width: 390, height: 640 }, isMobile: true, hasTouch: true,
    }, origin, problems);

    await step('ada picks a nickname and is connected', async () => {
      await join(ada, `${origin}/`);
      await waitForOnline(ada, ['ada']);
    });

    await step('the nickname is remembered', async () => {
      const again = await ada.context.newPage();
      try {
        await again.goto(`${origin}/`);
        await again.locator('#nick-form').waitFor({ state: 'visible' });
        const value = await again.locator('#nick').inputValue();
        check(value === 'ada', `a new page of ada's offers the nickname "${value}"`);
      } finally {
        await again.close();
      }
    });

    const early = 'first! from ada, before bob — ünïcödé';
    await step('ada sees her own message echoed', async () => {
      await say(ada, early);
      await waitForMessage(ada, 'ada', early);
    });

    await step('bob joins, gets the history, and ada sees him join', async () => {
      await join(bob, `${origin}/`);
      await waitForMessage(bob, 'ada', early);
      await waitForNotice(ada, 'bob');
      await waitForOnline(ada, ['ada', 'bob']);
      await waitForOnline(bob, ['ada', 'bob']);
    });

    const fromAda = 'héllo ✓ 🚀 from ada';
    const fromBob = 'ça marche ✓ 🚀 — bob';
    await step('multi-byte messages both ways, with the sender\'s nick', async () => {
      // Enough lines to overflow bob's phone screen, so that scrolling shows.
      for (let i = 1; i <= 12; i++) await say(ada, `line ${i} of 12`);
      await say(ada, fromAda);
      await waitForMessage(bob, 'ada', fromAda);
      await say(bob, fromBob);
      await waitForMessage(ada, 'bob', fromBob);
      await waitForMessage(bob, 'bob', fromBob);
    });

    let openColour;
    await step('the newest message is in view and the status is green', async () => {
      await checkNewestInView(bob, { mustOverflow: true });
      await checkNewestInView(ada);
      openColour = await waitForColour(ada, 'green');
      await waitForColour(bob, 'green');
      await checkSendForm(ada, true);
      await screenshot(ada, 'chat-ada.png');
      await screenshot(bob, 'chat-bob.png');
    });

    await step('the server is killed: both pages show that they are reconnecting', async () => {
      await server.kill();
      const downSince = Date.now();
      for (const person of [ada, bob]) {
        await waitForState(person, 'reconnecting');
        check(/^Reconnecting/.test(await statusText(person)), `${person.nick}'s status reads "${await statusText(person)}"`);
        const colour = await waitForColour(person, 'amber');
        check(colour.background !== openColour.background,
          `${person.nick}'s status background stays ${colour.background} while reconnecting`);
        await checkSendForm(person, false);
        // Between attempts the page counts down to the next one.
        await person.page.waitForFunction(
          () => /^Reconnecting in \d+ s/.test(document.getElementById('status').textContent));
      }
      await screenshot(ada, 'chat-reconnecting-ada.png');
      await screenshot(bob, 'chat-reconnecting-bob.png');
      // Some failed attempts while the server is down.
      await sleep(Math.max(0, DOWN_MS - (Date.now() - downSince)));
      check(await ada.page.locator('#status[data-state="reconnecting"]').isVisible(), 'ada stopped reconnecting');
    });

    await step('the server is back on the same port: both pages reconnect by themselves', async () => {
      await server.start(WAIT_MS);
      for (const person of [ada, bob]) {
        await waitForState(person, 'open', RECONNECT_MS);
        check(/Connected/.test(await statusText(person)), `${person.nick}'s status reads "${await statusText(person)}"`);
        await waitForColour(person, 'green');
        await checkSendForm(person, true);
        await waitForOnline(person, ['ada', 'bob']);
      }
    });

    const againAda = 'back again ✓ 🚀 — ada';
    const againBob = 'me too: ñ ✓ 🚀 — bob';
    await step('after the reconnection they chat again both ways, nothing shown twice', async () => {
      await say(ada, againAda);
      await waitForMessage(bob, 'ada', againAda);
      await say(bob, againBob);
      await waitForMessage(ada, 'bob', againBob);
      for (const person of [ada, bob]) {
        await checkNoDuplicates(person);
        await checkNewestInView(person);
      }
      await screenshot(ada, 'chat-ada-reconnected.png');
      await screenshot(bob, 'chat-bob-reconnected.png');
    });

    // The snippet docs/interop.md gives for the browser's console, run in
    // bob's page as the console would run it: its messages show in ada's.
    await step('the console snippet of docs/interop.md chats from the page', async () => {
      const snippet = readFileSync(path.resolve('tests/interop/chat_client_browser.js'), 'utf8');
      const logged = [];
      const onConsole = (message) => logged.push(`${message.type()}: ${message.text()}`);
      bob.page.on('console', onConsole);
      try {
        await bob.page.evaluate(snippet);
        const deadline = Date.now() + WAIT_MS;
        while (!logged.some((line) => line.startsWith('log: closed with 1000')) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        bob.page.off('console', onConsole);
      }
      check(logged.some((line) => line === 'log: closed with 1000'), `the snippet logged: ${JSON.stringify(logged)}`);
      check(!logged.some((line) => line.startsWith('error')), `the snippet logged an error: ${JSON.stringify(logged)}`);
      await waitForMessage(ada, 'alan', 'hello from the browser: héllo wörld ✓ 🚀 日本語');
    });

    await step('no script errors, no request elsewhere, no failed request', () => {
      check(problems.length === 0, problems.join('; '));
    });
  } finally {
    if (browser) await withTimeout(browser.close(), 10_000).catch((e) => log(`closing the browser: ${e.message}`));
    await server.kill();
  }
}

const watchdog = setTimeout(() => {
  console.log(`not ok - the run took more than ${DEADLINE_MS / 1000} s`);
  console.log(`chat: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);   // the 'exit' handler kills the server
}, DEADLINE_MS);

const started = Date.now();
try {
  await main();
  console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`chat: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
} catch (e) {
  console.error(`chat test failed: ${e.message}`);
  console.log(`chat: ${passed} passed, ${Math.max(failed, 1)} failed`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
