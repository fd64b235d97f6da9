// The demo page in a real browser (Debian's Chromium, driven by
// playwright-core) against a real cluster of 2 gateways and 2 workers with
// demo.enabled=on and gateway.presence_groups=company:*.
//
// Two tabs of alice and one of bob, all in company 7, each tab's WebSocket on
// a chosen gateway: pushes through the push port, and from the page's own
// push form (POST /demo/push), reach the badge, the feed and the online
// count of every tab; SIGKILL of gateway 0 makes its tabs
// reconnect (bob fails over to gateway 1, alice's first tab waits for
// gateway 0 to restart) and receive the next push. Screenshots go to
// $GATECAST_ARTIFACTS or <build>/meson-logs/browser-screenshots.
//
// Exit 77 (skipped) when Chromium is missing or playwright-core can't be
// installed. Run: node tests/browser/demo.test.mjs (GATECAST_BUILD = the
// meson build dir; default build/).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '..', '..');
const BUILD = resolve(process.env.GATECAST_BUILD || join(REPO, 'build'));
const SHOTS = resolve(process.env.GATECAST_ARTIFACTS || join(BUILD, 'meson-logs', 'browser-screenshots'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function skip(why) {
  console.log('SKIP: ' + why);
  process.exit(77);
}

// ------------------------------------------------------------- preflight
if (Number(process.versions.node.split('.')[0]) < 20) {
  skip(`Node ${process.versions.node}: playwright-core needs Node 20 or later ` +
       '(Debian 12 ships 18; install Node 20 or later to run it)');
}
if (!existsSync(CHROMIUM)) {
  skip(`no Chromium at ${CHROMIUM}: apt-get install chromium (scripts/deps.sh does), or set CHROMIUM`);
}
function installed() {
  // node_modules is there and matches package-lock.json (npm ci is idempotent but slow).
  try {
    const want = JSON.parse(readFileSync(join(HERE, 'package-lock.json'), 'utf8')).packages['node_modules/playwright-core'].version;
    return JSON.parse(readFileSync(join(HERE, 'node_modules', 'playwright-core', 'package.json'), 'utf8')).version === want;
  } catch {
    return false;
  }
}
if (!installed()) {
  console.log('browser test: installing playwright-core (npm ci in tests/browser)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, stdio: 'inherit', timeout: 180000 });
  if (r.status !== 0) {
    skip('`npm ci` in tests/browser failed (offline, or the npm registry unreachable?): ' +
      'playwright-core is needed to drive Chromium. Run it by hand when online.');
  }
}
const { chromium } = await import('playwright-core');
mkdirSync(SHOTS, { recursive: true });

// --------------------------------------------------------------- cluster
class Ctl {
  constructor(sets, env) {
    this.proc = spawn('python3', [join(HERE, 'cluster_ctl.py'), ...sets], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, GATECAST_BUILD: BUILD, PYTHONDONTWRITEBYTECODE: '1', ...env },
    });
    this.waiting = [];
    this.exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(JSON.parse(line));
    });
    this.proc.on('exit', () => this.waiting.splice(0).forEach((w) => w({ ok: false, error: 'cluster_ctl exited' })));
  }
  next() {
    return new Promise((r) => this.waiting.push(r));
  }
  async req(obj) {
    const p = this.next();
    this.proc.stdin.write(JSON.stringify(obj) + '\n');
    return p;
  }
  async push(gateway, req) {
    const r = await this.req({ cmd: 'push', gateway, req });
    assert.equal(r.ok, true, `push ${JSON.stringify(req)} -> ${JSON.stringify(r)}`);
    return r;
  }
  async stop() {
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    await this.req({ cmd: 'stop' });
    this.proc.stdin.end();
    return this.exited;
  }
}

async function startCluster(sets, env) {
  const ctl = new Ctl(sets, env);
  const info = await ctl.next();
  assert.equal(info.ok, true, 'cluster did not start: ' + JSON.stringify(info));
  Object.assign(ctl, info);
  return ctl;
}

// ------------------------------------------------------------------ page
const text = (page, sel) => page.locator(sel).first().textContent();

async function waitFor(page, what, fn, arg, timeout = 15000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch (e) {
    await page.screenshot({ path: join(SHOTS, 'FAILED-' + what.replace(/\W+/g, '-') + '.png') }).catch(() => {});
    const state = await page.evaluate(() => {
      const t = (id) => document.getElementById(id)?.textContent.replace(/\s+/g, ' ');
      const d = window.gatecastDemo;
      return {
        state: document.body.dataset.state, online: t('online'), badge: t('badge'), notice: t('notice'),
        demo: d && { unread: d.unread, beeps: d.beeps, online: d.online, url: d.gc && d.gc.url, gcState: d.gc && d.gc.state },
      };
    }).catch((x) => String(x));
    throw new Error(`${what}: not within ${timeout} ms; page: ${JSON.stringify(state)}`);
  }
}

const isOpen = (page, what) => waitFor(page, what + ' open', () => document.body.dataset.state === 'open');
const online = (page, what, count, conns) =>
  waitFor(page, `${what} online ${count}/${conns}`, ([c, n]) =>
    document.getElementById('online-count').textContent === String(c) &&
    document.getElementById('online-conns').textContent === String(n), [count, conns]);
const badge = (page, what, n) =>
  waitFor(page, `${what} badge ${n}`, (n) => {
    const b = document.getElementById('badge');
    return n === 0 ? b.hidden : !b.hidden && b.textContent === String(n);
  }, n);
const inInbox = (page, what, title) =>
  waitFor(page, `${what} inbox has ${title}`, (t) => [...document.querySelectorAll('#inbox li b')].some((b) => b.textContent === t), title);
const inFeed = (page, what, content) =>
  waitFor(page, `${what} feed has ${content}`, (c) => [...document.querySelectorAll('#feed li p')].some((p) => p.textContent === c), content);

// The demo's push form: fill it in, click Push (POST /demo/push), and wait
// for the answer it shows.
const pushFromForm = async (page, to, title, content, uid) => {
  await page.selectOption('#push-form [name=to]', to);
  if (uid) await page.fill('#push-form [name=uid]', uid);
  await page.fill('#push-form [name=title]', title);
  await page.fill('#push-form [name=content]', content);
  await page.evaluate(() => { document.getElementById('push-result').textContent = ''; });
  await page.click('#push-form button');
};
const pushResult = (page, what, re) =>
  waitFor(page, `${what} push result ${re}`, (src) => new RegExp(src).test(document.getElementById('push-result').textContent), re.source);

const newMsg = (title, content, from = 'backend') => JSON.stringify({ type: 'new_msg', title, content, from });
const activity = (operator, title, content) => JSON.stringify({ type: 'activity', operator, title, content });

let browser = null;
const clusters = [];
after(async () => {
  if (browser) await browser.close().catch(() => {});
  for (const c of clusters) await c.stop().catch(() => {});
});

async function launch() {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--autoplay-policy=no-user-gesture-required'],
    });
  }
  return browser.newContext({ viewport: { width: 1100, height: 780 } });
}

// ------------------------------------------------------------------ tests
test('demo page: badge, feed, online count in every tab; a killed gateway\'s tabs reconnect', { timeout: 240000 }, async (t) => {
  const ctl = await startCluster(['demo.enabled=on', 'gateway.presence_groups=company:*']);
  clusters.push(ctl);
  const [P0, P1] = ctl.ws_ports;
  const origin = `http://127.0.0.1:${P1}`; // pages come from gateway 1, which survives
  // The steps build on each other: after a failure the rest are skipped.
  let failed = false;
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (e) {
      failed = true;
      throw e;
    }
  });

  await step('the gateway serves /gatecast.js and /demo/', async () => {
    const lib = await fetch(`${origin}/gatecast.js`);
    assert.equal(lib.status, 200);
    assert.match(lib.headers.get('content-type'), /javascript/);
    assert.equal(await lib.text(), readFileSync(join(REPO, 'clients', 'js', 'gatecast.js'), 'utf8'));
    const page = await fetch(`${origin}/demo/`);
    assert.equal(page.status, 200, 'GET /demo/ (is demo.enabled served?)');
    assert.match(await page.text(), /gatecast demo/);
    const tok = await (await fetch(`${origin}/demo/token?uid=alice`)).json();
    assert.deepEqual(tok, { token: null, uid: 'alice' }); // auth.mode = none
  });

  const ctx = await launch();
  const consoleErrors = [];
  const open = async (name, query) => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => consoleErrors.push(`${name}: ${e.message}`));
    await page.goto(`${origin}/demo/?${query}`);
    return page;
  };
  const fast = 'backoff=200,1000';
  // alice's first tab: only gateway 0. Bob: gateway 0, else gateway 1.
  const a1 = await open('alice-1', `uid=alice&company=7&ws=ws://127.0.0.1:${P0}/&${fast}`);
  const a2 = await open('alice-2', `uid=alice&company=7&ws=ws://127.0.0.1:${P1}/&${fast}`);
  const b = await open('bob', `uid=bob&company=7&ws=ws://127.0.0.1:${P0}/,ws://127.0.0.1:${P1}/&${fast}`);
  const tabs = { 'alice-1': a1, 'alice-2': a2, bob: b };
  const shot = (page, name) => page.screenshot({ path: join(SHOTS, name + '.png'), animations: 'disabled' });

  await step('every tab logs in and sees 2 users, 3 tabs online in company:7', async () => {
    for (const [n, p] of Object.entries(tabs)) await isOpen(p, n);
    for (const [n, p] of Object.entries(tabs)) await online(p, n, 2, 3);
  });

  await step('new_msg to alice: badge 1 in both her tabs, one beep, nothing for bob', async () => {
    const r = await ctl.push(0, { type: 'send_to_uid', uid: 'alice', data: newMsg('Task assigned', 'Review the Q3 report') });
    assert.equal(r.delivered, 2);
    for (const p of [a1, a2]) {
      await badge(p, 'alice', 1);
      await inInbox(p, 'alice', 'Task assigned');
    }
    await badge(b, 'bob', 0);
    const beeps = async (p) => p.evaluate(() => window.gatecastDemo.beeps);
    const aliceBeeps = async () => (await beeps(a1)) + (await beeps(a2));
    // The beep comes (from whichever tab holds the lock)...
    const deadline = Date.now() + 15000;
    while ((await aliceBeeps()) < 1) {
      assert.ok(Date.now() < deadline, 'no beep in alice\'s tabs within 15 s');
      await a1.waitForTimeout(50);
    }
    // ...and a second one would come within 300 ms (an upper bound on a negative).
    await a1.waitForTimeout(300);
    const alice = await aliceBeeps();
    assert.equal(alice, 1, 'one beep across alice\'s tabs (Web Locks)');
    assert.equal(await beeps(b), 0);
    assert.equal(await a1.title(), '(1) gatecast demo');
  });

  await step('activity to company:7 reaches all three feeds', async () => {
    const r = await ctl.push(1, { type: 'send_to_group', group: 'company:7', data: activity('bob', 'created a task', 'Fix the login page') });
    assert.equal(r.delivered, 3);
    for (const [n, p] of Object.entries(tabs)) await inFeed(p, n, 'Fix the login page');
    // A plain string pushed to the group shows up as it is.
    await ctl.push(1, { type: 'send_to_group', group: 'company:7', data: 'deploy finished' });
    for (const [n, p] of Object.entries(tabs)) {
      await waitFor(p, n + ' raw feed item', () => [...document.querySelectorAll('#feed code')].some((c) => c.textContent === 'deploy finished'));
    }
    await ctl.push(0, { type: 'send_to_uid', uid: 'bob', data: newMsg('Hello Bob', 'Standup in 5 minutes', 'alice') });
    await badge(b, 'bob', 1);
    for (const [n, p] of Object.entries(tabs)) await shot(p, `1-${n}-live`);
  });

  await step('marking read in one of alice\'s tabs clears the other', async () => {
    await a2.click('#bell');
    await badge(a2, 'alice-2', 0);
    await badge(a1, 'alice-1', 0);
  });

  await step('SIGKILL gateway 0: bob fails over to gateway 1, alice-1 keeps retrying', async () => {
    const k = await ctl.req({ cmd: 'kill', gateway: 0 });
    assert.equal(k.ok, true);
    await waitFor(a1, 'alice-1 reconnecting', () => document.body.dataset.state === 'reconnecting');
    await isOpen(b, 'bob after failover');
    assert.equal(await b.evaluate(() => window.gatecastDemo.gc.url), `ws://127.0.0.1:${P1}/`);
    // The cluster forgets gateway 0's connections: alice (tab 2) and bob.
    for (const [n, p] of Object.entries({ 'alice-2': a2, bob: b })) await online(p, n, 2, 2);
    const r = await ctl.push(1, { type: 'send_to_uid', uid: 'bob', data: newMsg('After failover', 'still here') });
    assert.equal(r.delivered, 1);
    await inInbox(b, 'bob', 'After failover');
    await shot(a1, '2-alice-1-reconnecting');
    await shot(b, '2-bob-failed-over');
    assert.equal(await a1.evaluate(() => document.body.dataset.state), 'reconnecting');
  });

  await step('gateway 0 restarts: alice-1 reconnects, rejoins and gets the next pushes', async () => {
    const s = await ctl.req({ cmd: 'start', gateway: 0 });
    assert.equal(s.ok, true, JSON.stringify(s));
    await isOpen(a1, 'alice-1 after restart');
    assert.match(await text(a1, '#me-client'), /reconnected/);
    for (const [n, p] of Object.entries(tabs)) await online(p, n, 2, 3);
    const r = await ctl.push(0, { type: 'send_to_uid', uid: 'alice', data: newMsg('Back online', 'after the restart') });
    assert.equal(r.delivered, 2);
    for (const p of [a1, a2]) {
      await inInbox(p, 'alice', 'Back online');
      await badge(p, 'alice', 1);
    }
    const g = await ctl.push(0, { type: 'send_to_group', group: 'company:7', data: activity('alice', 'closed a task', 'Ship it') });
    assert.equal(g.delivered, 3);
    for (const [n, p] of Object.entries(tabs)) await inFeed(p, n, 'Ship it');
    for (const [n, p] of Object.entries(tabs)) await shot(p, `3-${n}-after-restart`);
  });

  // The form's Push button: POST /demo/push on the page's own gateway (1), the
  // same path as the HTTP API; the pushes reach the tabs on both gateways.
  await step('the push form: an activity to the company reaches every tab', async () => {
    await pushFromForm(a2, 'group', 'wrote from the form', 'Typed in a tab');
    await pushResult(a2, 'alice-2', /^\{"ok":true,"delivered":3\}$/);
    for (const [n, p] of Object.entries(tabs)) await inFeed(p, n, 'Typed in a tab');
    const item = await a1.evaluate(() => [...document.querySelectorAll('#feed li')].find((li) => li.textContent.includes('Typed in a tab')).textContent);
    assert.match(item, /alice wrote from the form/); // operator: the uid of the tab that pushed
    await shot(a2, '3-alice-2-push-form');
  });

  await step('the push form: a message to me, and to another user', async () => {
    await pushFromForm(a1, 'me', 'Note to self', 'from the form');
    await pushResult(a1, 'alice-1', /^\{"ok":true,"delivered":2,"offline":\[\]\}$/);
    for (const [n, p] of Object.entries({ 'alice-1': a1, 'alice-2': a2 })) await inInbox(p, n, 'Note to self');
    await pushFromForm(a1, 'user', 'Hi Bob', 'from alice\'s form', 'bob');
    await pushResult(a1, 'alice-1', /^\{"ok":true,"delivered":1,"offline":\[\]\}$/);
    await inInbox(b, 'bob', 'Hi Bob');
    assert.equal(await b.evaluate(() => [...document.querySelectorAll('#inbox li')].find((li) => li.textContent.includes('Hi Bob')).querySelector('small').textContent), 'from alice');
    await pushFromForm(a1, 'user', 'Nobody', 'home', 'zed');
    await pushResult(a1, 'alice-1', /"delivered":0,"offline":\["zed"\]/);
  });

  await step('the push form: its curl command works against the HTTP API', async () => {
    await a2.selectOption('#push-form [name=to]', 'group');
    await a2.fill('#push-form [name=title]', 'pushed');
    await a2.fill('#push-form [name=content]', 'from the form\'s curl');
    const curl = await text(a2, '#curl');
    const m = /^curl -X POST localhost:2121(\/api\/send_to_group) \\\n {2}-d '(.*)'$/s.exec(curl);
    assert.ok(m, 'curl command shape: ' + curl);
    const body = m[2].replaceAll("'\\''", "'");
    const r = await fetch(`http://127.0.0.1:${ctl.http_ports[0]}${m[1]}`, { method: 'POST', body });
    assert.deepEqual(await r.json(), { ok: true, delivered: 3 });
    for (const [n, p] of Object.entries(tabs)) await inFeed(p, n, "from the form's curl");
  });

  await step('closing a tab lowers the count in the others', async () => {
    await b.close();
    for (const [n, p] of Object.entries({ 'alice-1': a1, 'alice-2': a2 })) await online(p, n, 1, 2);
  });

  for (const [how, imp, expr] of [
    ['import { Gatecast } from \'/gatecast.mjs\'', "import { Gatecast } from '/gatecast.mjs';", 'Gatecast'],
    ['import \'/gatecast.js\' (by side effect)', "import '/gatecast.js';", 'globalThis.Gatecast'],
  ]) {
    await step('ES module: ' + how, async () => {
      // A same-origin document of the gateway's in which nothing ran yet (the
      // library's source shown as text), then an inline module script.
      const page = await ctx.newPage();
      await page.goto(`${origin}/gatecast.js`);
      assert.equal(await page.evaluate(() => typeof window.Gatecast), 'undefined');
      const uid = 'esm' + (imp.includes('mjs') ? 1 : 2);
      await page.addScriptTag({
        type: 'module',
        content: `${imp}
          const gc = new ${expr}(null, { uid: '${uid}', groups: ['company:7'] });
          gc.on('message', (m) => { document.title = 'got ' + m.n; });
          gc.on('open', (i) => { document.documentElement.dataset.open = i.uid; });`,
      });
      await waitFor(page, uid + ' open', (u) => document.documentElement.dataset.open === u, uid);
      await ctl.push(1, { type: 'send_to_uid', uid, data: { n: 42 } });
      await waitFor(page, uid + ' message', () => document.title === 'got 42');
      await page.close();
    });
  }

  await step('the login form', async () => {
    const page = await ctx.newPage();
    await page.goto(`${origin}/demo/`);
    await page.fill('#login-form [name=uid]', 'carol');
    await page.fill('#login-form [name=company]', '8');
    await shot(page, '0-login-form');
    await page.click('#login-form button');
    await isOpen(page, 'carol');
    await online(page, 'carol', 1, 1);
    assert.match(page.url(), /uid=carol&company=8/);
    await ctl.push(1, { type: 'send_to_group', group: 'company:8', data: activity('dave', 'commented', 'Looks good') });
    await inFeed(page, 'carol', 'Looks good');
    await page.close();
  });

  assert.deepEqual(consoleErrors, []);
  await ctx.close();
  assert.equal(await ctl.stop(), 0, 'cluster_ctl: a process died or a command failed');
});

test('token mode: the demo page logs in with a token from /demo/token; 4008 stops a tab', { timeout: 120000 }, async () => {
  const secret = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const ctl = await startCluster(['gateways=1', 'workers=1', 'auth.mode=token', 'demo.enabled=on',
    'gateway.presence_groups=company:*', 'gateway.max_connections_per_uid=1'], { GATECAST_AUTH_SECRET: secret });
  clusters.push(ctl);
  const origin = `http://127.0.0.1:${ctl.ws_ports[0]}`;
  const tok = await (await fetch(`${origin}/demo/token?uid=erin`)).json();
  assert.equal(tok.uid, 'erin');
  assert.match(tok.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  // Without a token, ?uid= is refused (HTTP 401 before the upgrade).
  const ctx = await launch();
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const sent = [];
  page.on('websocket', (ws) => {
    assert.doesNotMatch(ws.url(), /token=|uid=/); // the token travels in the login message
    ws.on('framesent', (f) => sent.push(String(f.payload)));
  });
  await page.goto(`${origin}/demo/?uid=erin&company=9`);
  await isOpen(page, 'erin');
  await online(page, 'erin', 1, 1);
  assert.ok(sent.some((f) => JSON.parse(f).type === 'login' && JSON.parse(f).token), 'a login message with the token');
  await ctl.push(0, { type: 'send_to_uid', uid: 'erin', data: newMsg('Signed', 'token mode works') });
  await badge(page, 'erin', 1);
  await ctl.push(0, { type: 'send_to_group', group: 'company:9', data: activity('frank', 'uploaded', 'Q3.pdf') });
  await inFeed(page, 'erin', 'Q3.pdf');
  // The push form in token mode: /demo/push asks for no push.secret.
  await pushFromForm(page, 'group', 'pushed', 'from erin\'s form');
  await pushResult(page, 'erin', /^\{"ok":true,"delivered":1\}$/);
  await inFeed(page, 'erin', 'from erin\'s form');
  await pushFromForm(page, 'me', 'To myself', 'signed in with a token');
  await pushResult(page, 'erin', /^\{"ok":true,"delivered":1,"offline":\[\]\}$/);
  await badge(page, 'erin', 2);
  await page.screenshot({ path: join(SHOTS, '4-token-mode.png'), animations: 'disabled' });

  // A second tab of erin goes over gateway.max_connections_per_uid = 1: the
  // server closes the older tab with 4008, and that tab stays closed (coming
  // back would close the other) until the user asks.
  const page2 = await ctx.newPage();
  await page2.goto(`${origin}/demo/?uid=erin&company=9`);
  await isOpen(page2, 'erin tab 2');
  await waitFor(page, 'erin tab 1 closed by 4008', () => document.body.dataset.state === 'closed');
  assert.match(await text(page, '#notice'), /too many tabs.*4008/);
  await page.waitForTimeout(2000);
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'closed');
  await page.screenshot({ path: join(SHOTS, '4-token-mode-4008.png'), animations: 'disabled' });
  await page.click('#notice button'); // Reconnect: now tab 2 is the older one
  await isOpen(page, 'erin tab 1 again');
  await waitFor(page2, 'erin tab 2 closed by 4008', () => document.body.dataset.state === 'closed');
  assert.deepEqual(errors, []);
  await ctx.close();
  assert.equal(await ctl.stop(), 0);
});
