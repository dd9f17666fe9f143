// End-to-end test of `weft serve --chat`, one server alone, in headless
// Chromium.
//
// Two people (ada on a desktop-sized page, bob on a phone-sized one) join
// and chat with multi-byte UTF-8; then the server is killed with SIGKILL,
// as in a crash. Both pages must show that they are reconnecting, and once
// the server is started again on the same port they must come back by
// themselves (no reload) and chat again both ways.
//
// A server alone keeps its history in memory: started again, it has a new
// epoch and an empty history. The pages ask to resume where they were
// (join with `since`); the welcome says the history could not be recovered
// (recovered: false), and each page must replace what it showed and say
// plainly that some messages may be missing. tests/browser/chat_cluster.test.mjs
// covers the recovery that succeeds, with several nodes sharing one Redis.
//
// The checks are on what a person sees: visibility, the status text and
// its colour, the newest message scrolled into view. Screenshots are saved
// under target/browser/. The helpers shared with the cluster test are in
// tests/browser/harness.mjs.
//
// Run from the repository root:
//   node tests/browser/chat.test.mjs
// Environment:
//   WEFT_BIN     the weft binary (default target/debug/weft)
//   CHROMIUM     the browser (default /usr/bin/chromium)
//   CHAT_ASSETS  serve the page's files from this directory instead of the
//                binary's (see harness.mjs)
// Exits non-zero on any failure.

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, OUT_DIR, WAIT_MS, Server, check, checkNewestInView, checkNoDuplicates,
  checkPrerequisites, checkSendForm, freePort, join, log, openPerson, run, say, screenshot, sleep,
  statusText, step, waitForColour, waitForMessage, waitForNotice, waitForOnline, waitForState,
  welcomeState, withTimeout,
} from './harness.mjs';

const RECONNECT_MS = 30_000;  // for both pages to be back after the restart
const DOWN_MS = 2_500;        // how long the server stays dead
const DEADLINE_MS = 120_000;  // the whole run, whatever happens

// ------------------------------------------------------------------ test

let server = null;

async function main() {
  checkPrerequisites();
  mkdirSync(OUT_DIR, { recursive: true });

  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  server = new Server(port);
  const problems = [];
  let browser = null;

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
      // A first join asks for no recovery; the welcome names the node.
      const { node, recovered } = await welcomeState(ada);
      check(node && recovered === '', `ada's page has data-node="${node}" and data-recovered="${recovered}"`);
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

    // The restarted server's history is new and empty: what the pages
    // showed cannot be continued, and they must say so.
    await step('the history was lost with the server: both pages reload it and say so', async () => {
      for (const person of [ada, bob]) {
        const { recovered } = await welcomeState(person);
        check(recovered === 'false', `${person.nick}'s page has data-recovered="${recovered}", expected "false"`);
        await waitForNotice(person, 'some messages may be missing');
        const before = await person.page.locator('#messages li.message').filter({ hasText: fromAda }).count();
        check(before === 0, `${person.nick} still shows "${fromAda}" from the lost history`);
      }
      await screenshot(bob, 'chat-bob-history-reloaded.png');
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

await run('chat', main, { deadlineMs: DEADLINE_MS, cleanUp: () => server?.killNow() });
