// End-to-end test of `weft serve --chat` as a cluster, in headless
// Chromium: two nodes share one Redis and form one chat, behind nginx as a
// WebSocket reverse proxy that deals connections to them in turn (round
// robin), as a small deployment would.
//
// Two people (ada and bob) open the chat through nginx and land on
// different nodes (if both land on the same one, bob opens the page again,
// after one plain request through nginx moves its round robin on; at most
// a few times). They chat both ways, at the same time, and both pages must
// show the same messages in the same order (the same offsets).
//
// Then bob's node is killed with SIGKILL, as in a crash. While bob's page
// is reconnecting, ada says three things. Bob's page must come back by
// itself (no reload) through nginx to the surviving node, ask to resume
// where it was (join with `since`), be told that the history was recovered
// (data-recovered="true") and show the three messages exactly once, in
// order, right after the last one it had shown: the same offsets as ada's
// page. Left alone, the page would be back within half a second, before
// ada could say anything; so bob's browser is offline (Chromium's network
// emulation: open sockets stay open, new ones fail) from just before the
// kill until ada's messages are out, and the page then reconnects on its
// own. Once the dead node's presence has expired (--node-ttl), both pages
// must show ada and bob online, once each. Last, Redis is stopped: a
// message said then must come back as a "not sent:" error quoting it.
//
// Which node a page landed on: the page exposes the welcome's node in
// <body data-node>; nginx names the node that answered each handshake in
// an X-Upstream header, read from Chromium's DevTools protocol, which maps
// the node to its process (the one to kill).
//
// Screenshots are saved under target/browser/. Every process started
// (redis-server, the nodes, nginx) is stopped at the end, on failure too.
// tests/hub/redis.mjs and tests/hub/nginx.mjs start Redis and nginx;
// tests/browser/harness.mjs holds what this test shares with chat.test.mjs.
//
// Run from the repository root:
//   node tests/browser/chat_cluster.test.mjs
// Environment:
//   WEFT_BIN      the weft binary (default target/debug/weft)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   CHAT_ASSETS   serve the page's files from this directory instead of the
//                 binary's (see harness.mjs)
//   REDIS_SERVER  redis-server binary (default: on the PATH)
//   NGINX         nginx binary (default: on the PATH, or /usr/sbin/nginx)
// Exits non-zero on any failure.

import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { chromium } from 'playwright-core';

import { startNginx } from '../hub/nginx.mjs';
import { startRedis } from '../hub/redis.mjs';
import {
  CHROMIUM, CHROMIUM_ARGS, OUT_DIR, WAIT_MS, Server, check, checkNewestInView, checkNoDuplicates,
  checkPrerequisites, checkSendForm, freePort, join, log, onlineNames, openPerson, run, say,
  screenshot, shownMessages, sleep, statusText, step, waitForColour, waitForMessage, waitForNotice,
  waitForOnline, waitForState, welcomeState, withTimeout,
} from './harness.mjs';

const NODE_TTL_S = 3;         // how long a dead node's people stay online
const RECONNECT_MS = 30_000;  // for bob's page to be back after the kill
const LANDINGS = 4;           // how many times bob may open the page to land on the other node
const DEADLINE_MS = 150_000;  // the whole run, whatever happens

let redis = null;
const nodes = [];
let proxy = null;

function cleanUp() {
  if (proxy) proxy.killNow();
  for (const node of nodes) node.killNow();
  if (redis) redis.killNow();
}

// Records, for each WebSocket handshake of the person's page, which node
// nginx passed it to (from its X-Upstream header: after a refused
// connection, the addresses tried, the one that answered last).
async function trackUpstreams(person) {
  person.upstreams = [];
  const cdp = await person.context.newCDPSession(person.page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ response }) => {
    const header = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'x-upstream');
    if (response.status === 101 && header) person.upstreams.push(header[1].split(',').pop().trim());
  });
}

// The node that took the person's handshake number `count` (1-based).
async function upstreamOf(person, count) {
  const until = Date.now() + WAIT_MS;
  while (person.upstreams.length < count) {
    check(Date.now() < until, `${person.nick}: nginx named no node for handshake ${count}`);
    await sleep(50);
  }
  const address = person.upstreams[count - 1];
  const node = nodes.find((n) => n.addr === address);
  check(node, `${person.nick}: nginx names ${address}, not a node of ours`);
  return node;
}

// One plain request through nginx: its round robin moves on by one.
function plainRequest(origin) {
  return new Promise((resolve, reject) => {
    http.get(`${origin}/`, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode));
    }).once('error', reject);
  });
}

// Both pages show the same messages, in the same order, each with an
// offset of its own.
async function checkSameMessages(a, b) {
  const [shownA, shownB] = [await shownMessages(a), await shownMessages(b)];
  for (const [person, shown] of [[a, shownA], [b, shownB]]) {
    const offsets = shown.map((m) => m.offset);
    check(offsets.every((o) => typeof o === 'string' && o !== ''),
      `${person.nick} shows messages without an offset: ${JSON.stringify(shown)}`);
    check(new Set(offsets).size === offsets.length, `${person.nick} shows an offset twice: ${JSON.stringify(offsets)}`);
  }
  const show = (shown) => JSON.stringify(shown.map((m) => `${m.offset} ${m.nick}: ${m.text}`));
  check(JSON.stringify(shownA) === JSON.stringify(shownB),
    `${a.nick} shows ${show(shownA)} but ${b.nick} shows ${show(shownB)}`);
  return shownA;
}

async function main() {
  checkPrerequisites();
  mkdirSync(OUT_DIR, { recursive: true });
  const problems = [];
  let browser = null;

  try {
    await step('redis-server answers PING', async () => {
      redis = await startRedis();
      log(`redis at ${redis.url}`);
    });

    await step('two nodes share it', async () => {
      for (let i = 0; i < 2; i++) {
        const node = new Server(await freePort(),
          ['--redis', redis.url, '--any-origin', '--node-ttl', String(NODE_TTL_S)]);
        nodes.push(node);
        await node.start();
        log(`node ${i + 1} at ${node.addr}`);
      }
    });

    await step('nginx passes connections to both in turn', async () => {
      proxy = await startNginx({ upstreams: nodes.map((node) => node.addr) });
      log(`nginx at 127.0.0.1:${proxy.port}, files in ${proxy.dir}`);
    });
    const origin = `http://127.0.0.1:${proxy.port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000,
    });
    const open = async (nick, options) => {
      const person = await openPerson(browser, nick, options, origin, problems);
      await trackUpstreams(person);
      return person;
    };
    const ada = await open('ada', { viewport: { width: 1100, height: 720 } });
    let bob = null;
    let adaNode = null;
    let bobNode = null;

    const early = 'first! from ada, before bob — ünïcödé';
    await step('ada joins through nginx and speaks', async () => {
      await join(ada, `${origin}/`);
      await waitForOnline(ada, ['ada']);
      const { node, recovered } = await welcomeState(ada);
      check(node && recovered === '', `ada's page has data-node="${node}" and data-recovered="${recovered}"`);
      adaNode = await upstreamOf(ada, 1);
      log(`ada is on node ${node} (${adaNode.addr})`);
      await say(ada, early);
      await waitForMessage(ada, 'ada', early);
    });

    await step('bob joins through nginx, on the other node', async () => {
      const adaId = (await welcomeState(ada)).node;
      for (let attempt = 1; ; attempt++) {
        bob = await open('bob', { viewport: { width: 390, height: 640 }, isMobile: true, hasTouch: true });
        await join(bob, `${origin}/`);
        const { node, recovered } = await welcomeState(bob);
        check(node && recovered === '', `bob's page has data-node="${node}" and data-recovered="${recovered}"`);
        bobNode = await upstreamOf(bob, 1);
        // The node ids the welcomes give and the nodes nginx names agree.
        check((node === adaId) === (bobNode === adaNode),
          `ada is on ${adaId} (${adaNode.addr}), bob on ${node} (${bobNode.addr})`);
        if (node !== adaId) {
          log(`bob is on node ${node} (${bobNode.addr})`);
          break;
        }
        check(attempt < LANDINGS, `bob landed on ada's node ${LANDINGS} times`);
        log(`bob landed on ada's node too; moving nginx's round robin on and opening the page again`);
        await bob.context.close();
        await plainRequest(origin);
      }
      await waitForMessage(bob, 'ada', early);
      await waitForOnline(ada, ['ada', 'bob']);
      await waitForOnline(bob, ['ada', 'bob']);
    });

    const fromAda = ['héllo ✓ 🚀 from ada, 1', 'from ada, 2', 'from ada, 3'];
    const fromBob = ['ça marche ✓ 🚀 — bob, 1', 'bob, 2', 'bob, 3'];
    await step('they chat both ways at once, and both pages show the same messages in the same order', async () => {
      const sayAll = async (person, texts) => {
        for (const text of texts) await say(person, text);
      };
      await Promise.all([sayAll(ada, fromAda), sayAll(bob, fromBob)]);
      for (const person of [ada, bob]) {
        for (const text of fromAda) await waitForMessage(person, 'ada', text);
        for (const text of fromBob) await waitForMessage(person, 'bob', text);
      }
      const shown = await checkSameMessages(ada, bob);
      check(shown.length === 1 + fromAda.length + fromBob.length, `${shown.length} messages shown`);
      for (const person of [ada, bob]) {
        await checkNewestInView(person);
        await waitForColour(person, 'green');
      }
      await screenshot(ada, 'cluster-ada.png');
      await screenshot(bob, 'cluster-bob.png');
    });

    const whileAway = ['while bob is away, 1 ✓', 'while bob is away, 2 🚀', 'while bob is away, 3 — ñ'];
    let lastSeen = null;
    await step('bob\'s node is killed: bob\'s page reconnects, ada\'s stays connected', async () => {
      lastSeen = (await shownMessages(bob)).at(-1);
      // Keeps bob's page from coming back before ada has spoken: open
      // sockets stay open, new ones fail until the browser is online again.
      await bob.context.setOffline(true);
      await bobNode.kill();
      await waitForState(bob, 'reconnecting');
      check(/^Reconnecting/.test(await statusText(bob)), `bob's status reads "${await statusText(bob)}"`);
      await waitForColour(bob, 'amber');
      await checkSendForm(bob, false);
      check(await ada.page.locator('#status[data-state="open"]').isVisible(),
        `ada's status reads "${await statusText(ada)}"`);
      await screenshot(bob, 'cluster-bob-reconnecting.png');
    });

    await step('while bob is reconnecting, ada says three things', async () => {
      for (const text of whileAway) await say(ada, text);
      for (const text of whileAway) await waitForMessage(ada, 'ada', text);
      check(await bob.page.locator('#status[data-state="reconnecting"]').isVisible(),
        `bob's page is back too early: "${await statusText(bob)}"`);
    });

    await step('bob\'s page comes back by itself through nginx to the surviving node', async () => {
      const handshakes = bob.upstreams.length;
      await bob.context.setOffline(false);
      await waitForState(bob, 'open', RECONNECT_MS);
      check(/Connected/.test(await statusText(bob)), `bob's status reads "${await statusText(bob)}"`);
      await waitForColour(bob, 'green');
      await checkSendForm(bob, true);
      const now = await upstreamOf(bob, handshakes + 1);
      check(now === adaNode, `bob's page is back on ${now.addr}, not on the surviving node ${adaNode.addr}`);
      const { node } = await welcomeState(bob);
      check(node === (await welcomeState(ada)).node, `bob's page is on node ${node}, ada's on ${(await welcomeState(ada)).node}`);
    });

    await step('bob\'s page recovered what it missed: all three, once each, in order, no gap', async () => {
      const { recovered } = await welcomeState(bob);
      check(recovered === 'true', `bob's page has data-recovered="${recovered}", expected "true"`);
      await waitForNotice(bob, 'Reconnected');
      const missing = bob.page.locator('#messages li.notice').filter({ hasText: 'may be missing' });
      check(await missing.count() === 0, 'bob\'s page says that messages may be missing');
      for (const text of whileAway) await waitForMessage(bob, 'ada', text);
      await checkNoDuplicates(bob);
      const shown = await checkSameMessages(ada, bob);
      // Right after the last message bob had seen come the three he missed.
      const at = shown.findIndex((m) => m.offset === lastSeen.offset);
      check(at >= 0, `bob's page no longer shows ${JSON.stringify(lastSeen)}`);
      const after = shown.slice(at + 1).map((m) => m.text);
      check(JSON.stringify(after) === JSON.stringify(whileAway),
        `after ${lastSeen.offset} bob's page shows ${JSON.stringify(after)}, expected ${JSON.stringify(whileAway)}`);
      // The "Reconnected" notice follows what was recovered.
      const order = await bob.page.locator('#messages li').evaluateAll((items) => items.map((li) =>
        (li.classList.contains('message') ? `message ${li.querySelector('.text').textContent}` : li.textContent)));
      const notice = order.findLastIndex((line) => line.startsWith('Reconnected'));
      check(notice > order.indexOf(`message ${whileAway[2]}`),
        `bob's page shows "Reconnected" before what it recovered: ${JSON.stringify(order)}`);
      await checkNewestInView(bob);
      await screenshot(bob, 'cluster-bob-recovered.png');
    });

    const again = ['back ✓ — bob', 'welcome back — ada'];
    await step('they chat again both ways, on one node now', async () => {
      await say(bob, again[0]);
      await waitForMessage(ada, 'bob', again[0]);
      await say(ada, again[1]);
      await waitForMessage(bob, 'ada', again[1]);
      await checkSameMessages(ada, bob);
    });

    await step('once the dead node\'s presence has expired, both pages show ada and bob online, once each', async () => {
      await sleep(NODE_TTL_S * 1000 + 2_000);
      for (const person of [ada, bob]) {
        await waitForOnline(person, ['ada', 'bob']);
        const names = await onlineNames(person);
        check(JSON.stringify(names) === JSON.stringify(['ada', 'bob']),
          `${person.nick}'s page shows online: ${JSON.stringify(names)}`);
        const count = (await person.page.locator('#online-count').textContent()).trim();
        check(count === '2', `${person.nick}'s page says ${count} online`);
      }
      const notices = await ada.page.locator('#messages li.notice .text').allTextContents();
      log(`ada's notices: ${JSON.stringify(notices)}`);
      await screenshot(ada, 'cluster-ada-after.png');
    });

    await step('no script errors, no request elsewhere, no failed request', () => {
      check(problems.length === 0, problems.join('; '));
    });

    const lost = 'said while Redis is down';
    await step('with Redis down, a message comes back as "not sent:", quoting it', async () => {
      await redis.stop();
      await say(ada, lost);
      const notice = ada.page.locator('#messages li.notice.error').filter({ hasText: 'not sent:' }).last();
      try {
        await notice.waitFor({ state: 'visible' });
      } catch {
        const notices = await ada.page.locator('#messages li.notice .text').allTextContents();
        throw new Error(`ada's page shows no "not sent:" error; its notices: ${JSON.stringify(notices)}`);
      }
      const text = await notice.locator('.text').textContent();
      check(text.startsWith('not sent:') && text.includes(lost), `ada's page shows the error "${text}"`);
      check(await ada.page.locator('#messages li.message').filter({ hasText: lost }).count() === 0,
        `ada's page shows "${lost}" as sent`);
      await screenshot(ada, 'cluster-ada-not-sent.png');
    });
  } catch (e) {
    for (const [i, node] of nodes.entries()) {
      if (node.stderr.trim()) log(`node ${i + 1} (${node.addr}) stderr: ${node.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    throw e;
  } finally {
    if (browser) await withTimeout(browser.close(), 10_000).catch((e) => log(`closing the browser: ${e.message}`));
    if (proxy) await proxy.stop();
    for (const node of nodes) await node.kill();
    if (redis) await redis.stop();
  }
}

await run('chat cluster', main, { deadlineMs: DEADLINE_MS, cleanUp });
