// Unit tests of clients/js/gatecast.js with a fake WebSocket and mocked
// timers: login, rejoin, backoff, the close codes that stop it, getToken,
// the ping watchdog, the send queue. Run: node --test tests/browser/gatecast.test.mjs
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const GatecastCJS = require('../../clients/js/gatecast.js');
const { Gatecast, default: GatecastDefault } = await import('../../clients/js/gatecast.mjs');

class FakeWS {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    FakeWS.all.push(this);
  }
  send(d) {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(JSON.parse(d));
  }
  close(code) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // server side
  accept() {
    this.readyState = 1;
    this.onopen && this.onopen({});
  }
  push(obj) {
    this.onmessage && this.onmessage({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
  }
  login(uid = '42') {
    this.push({ type: 'login', ok: true, uid, client_id: 'c' + FakeWS.all.length });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose && this.onclose({ code, reason });
  }
  types() {
    return this.sent.map((m) => m.type + (m.group ? ':' + m.group : ''));
  }
}

const last = () => FakeWS.all[FakeWS.all.length - 1];
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function make(opts = {}, url = 'ws://gc.test/') {
  const gc = new Gatecast(url, { WebSocket: FakeWS, ...opts });
  const log = [];
  for (const ev of ['open', 'close', 'error', 'state', 'message']) gc.on(ev, (a) => log.push([ev, a]));
  return { gc, log, events: (name) => log.filter((e) => e[0] === name).map((e) => e[1]) };
}

beforeEach(() => {
  FakeWS.all = [];
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
});
afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

test('one file: CommonJS and ES module entry points give the same class', () => {
  assert.equal(typeof GatecastCJS, 'function');
  assert.equal(Gatecast, GatecastCJS);
  assert.equal(GatecastDefault, GatecastCJS);
  assert.equal(typeof Gatecast.version, 'string');
});

test('uid mode: ?uid=, open after the login reply, joins then queued sends', async () => {
  const { gc, events } = make({ uid: 'alice', groups: ['company:7'] });
  assert.equal(gc.state, 'connecting');
  assert.equal(gc.send({ type: 'ping' }), true); // queued
  await flush();
  const ws = last();
  assert.equal(ws.url, 'ws://gc.test/?uid=alice');
  ws.accept();
  assert.deepEqual(ws.sent, []); // nothing before the login reply
  ws.login('alice');
  assert.equal(gc.state, 'open');
  assert.equal(gc.uid, 'alice');
  assert.deepEqual(ws.types(), ['join:company:7', 'ping']);
  assert.deepEqual(events('open'), [{ uid: 'alice', clientId: 'c1', url: 'ws://gc.test/', reconnect: false }]);
  assert.deepEqual(events('state'), ['open']);
});

test('token mode: the token goes in the login message, not the URL', async () => {
  const { gc } = make({ token: 'T1' }, 'ws://gc.test/path?x=1');
  await flush();
  const ws = last();
  assert.equal(ws.url, 'ws://gc.test/path?x=1');
  ws.accept();
  ws.push({ type: 'welcome', client_id: 'abc' });
  assert.deepEqual(ws.sent, [{ type: 'login', token: 'T1' }]);
  assert.equal(gc.state, 'connecting');
  ws.login('7');
  assert.equal(gc.state, 'open');
});

test("tokenIn 'query' puts the token in the URL", async () => {
  make({ token: 'T1', tokenIn: 'query', uid: 'ignored' });
  await flush();
  assert.equal(last().url, 'ws://gc.test/?token=T1');
});

test('reconnects after a drop, logs in again and rejoins the current groups', async () => {
  const { gc, events } = make({ uid: 'u', groups: ['a', 'b'] });
  await flush();
  let ws = last();
  ws.accept();
  ws.login('u');
  gc.join('c');
  gc.leave('a');
  assert.deepEqual(ws.types(), ['join:a', 'join:b', 'join:c', 'leave:a']);
  ws.drop(1006);
  assert.equal(gc.state, 'reconnecting');
  const [close] = events('close');
  assert.equal(close.code, 1006);
  assert.equal(close.willReconnect, true);
  assert.ok(close.delay >= 0 && close.delay < 500, 'first delay in [0, min)');
  assert.equal(gc.send({ type: 'ping' }), true); // queued while reconnecting
  mock.timers.tick(500);
  await flush();
  assert.equal(FakeWS.all.length, 2);
  ws = last();
  ws.accept();
  ws.login('u');
  assert.equal(gc.state, 'open');
  assert.deepEqual(ws.types(), ['join:b', 'join:c', 'ping']);
  assert.equal(events('open')[1].reconnect, true);
  assert.deepEqual(events('state'), ['open', 'reconnecting', 'open']);
});

test('backoff: full jitter under min·2^n, capped at max', async () => {
  mock.method(Math, 'random', () => 0.999);
  const { events } = make({ uid: 'u', backoff: { min: 100, max: 1000 } });
  await flush();
  for (let i = 0; i < 6; i++) {
    last().drop(1006);
    mock.timers.tick(2000);
    await flush();
  }
  const delays = events('close').map((c) => c.delay);
  assert.deepEqual(delays, [99, 199, 399, 799, 999, 999]);
});

test('a connection that stayed open resets the backoff', async () => {
  mock.method(Math, 'random', () => 0.999);
  const { events } = make({ uid: 'u', backoff: { min: 100, max: 1000 }, pingInterval: 0 });
  await flush();
  for (let i = 0; i < 3; i++) {
    last().drop(1006);
    mock.timers.tick(2000);
    await flush();
  }
  last().accept();
  last().login('u');
  mock.timers.tick(10000);
  last().drop(1006);
  assert.deepEqual(events('close').map((c) => c.delay), [99, 199, 399, 99]);
});

for (const [code, why] of [[4008, 'too many tabs'], [1000, 'close_client']]) {
  test(`close ${code} (${why}) stops reconnecting`, async () => {
    const { gc, events } = make({ uid: 'u' });
    await flush();
    last().accept();
    last().login('u');
    last().drop(code, 'bye');
    assert.equal(gc.state, 'closed');
    assert.deepEqual(events('close'), [{ code, reason: 'bye', willReconnect: false, byPage: false }]);
    mock.timers.tick(120000);
    await flush();
    assert.equal(FakeWS.all.length, 1);
    assert.equal(gc.send({ type: 'ping' }), false);
    gc.open(); // the page may decide to come back
    await flush();
    assert.equal(FakeWS.all.length, 2);
    assert.equal(gc.state, 'reconnecting');
  });
}

test('4001 without getToken stops', async () => {
  const { gc, events } = make({ token: 'old' });
  await flush();
  last().accept();
  last().push({ type: 'error', error: 'unauthorized', message: 'token expired' });
  last().drop(4001, 'unauthorized');
  assert.equal(gc.state, 'closed');
  assert.equal(events('error')[0].error, 'unauthorized');
});

test('4001 with getToken: a fresh token, then login again', async () => {
  const tokens = ['new1', 'new2'];
  const getToken = mock.fn(async () => tokens.shift());
  const { gc } = make({ token: 'old', getToken, groups: ['g'] });
  await flush();
  assert.equal(getToken.mock.callCount(), 0); // it had a token
  let ws = last();
  ws.accept();
  assert.deepEqual(ws.sent, [{ type: 'login', token: 'old' }]);
  ws.push({ type: 'error', error: 'unauthorized', message: 'token expired' });
  ws.drop(4001, 'unauthorized');
  assert.equal(gc.state, 'reconnecting');
  mock.timers.tick(500);
  await flush();
  assert.equal(getToken.mock.callCount(), 1);
  ws = last();
  ws.accept();
  assert.deepEqual(ws.sent, [{ type: 'login', token: 'new1' }]);
  ws.login('9');
  assert.equal(gc.state, 'open');
  // An ordinary drop reuses the token.
  ws.drop(1001);
  mock.timers.tick(1000);
  await flush();
  assert.equal(getToken.mock.callCount(), 1);
  last().accept();
  assert.deepEqual(last().sent, [{ type: 'login', token: 'new1' }]);
});

test('getToken is asked first when there is no token; a failure is retried', async () => {
  let fail = true;
  const getToken = mock.fn(async () => {
    if (fail) throw new Error('backend down');
    return 'T';
  });
  const { gc, events } = make({ getToken });
  await flush();
  assert.equal(FakeWS.all.length, 0);
  assert.equal(events('error')[0].error, 'token');
  assert.equal(gc.state, 'reconnecting');
  fail = false;
  mock.timers.tick(500);
  await flush();
  last().accept();
  assert.deepEqual(last().sent, [{ type: 'login', token: 'T' }]);
});

test('ping watchdog: no frame after a ping means a dead link', async () => {
  const { gc, events } = make({ uid: 'u', pingInterval: 1000, pingTimeout: 500 });
  await flush();
  const ws = last();
  ws.accept();
  ws.login('u');
  mock.timers.tick(1000);
  assert.deepEqual(ws.types(), ['ping']);
  ws.push({ type: 'pong' });
  mock.timers.tick(1000); // second ping
  assert.deepEqual(ws.types(), ['ping', 'ping']);
  mock.timers.tick(499);
  assert.equal(gc.state, 'open');
  mock.timers.tick(1);
  assert.equal(gc.state, 'reconnecting');
  assert.equal(ws.closedWith, 1000); // abandoned, and closed by us
  assert.deepEqual(events('close')[0].reason, 'ping timeout');
  assert.equal(events('message').length, 0); // the pong is not a message
});

test('connect timeout: no login reply in time, try again', async () => {
  const { gc } = make({ uid: 'u', connectTimeout: 3000 });
  await flush();
  last().accept();
  mock.timers.tick(3000);
  assert.equal(gc.state, 'reconnecting');
  mock.timers.tick(500);
  await flush();
  assert.equal(FakeWS.all.length, 2);
});

test('several URLs: a failed attempt moves to the next one', async () => {
  make({ uid: 'u' }, ['ws://a/', 'ws://b/']);
  await flush();
  assert.equal(last().url, 'ws://a/?uid=u');
  last().drop(1006); // never opened
  mock.timers.tick(500);
  await flush();
  assert.equal(last().url, 'ws://b/?uid=u');
  last().accept();
  last().login('u');
  last().drop(1001); // was open: the same URL first
  mock.timers.tick(500);
  await flush();
  assert.equal(last().url, 'ws://b/?uid=u');
});

test('close() stops for good and drops the queue', async () => {
  const { gc, events } = make({ uid: 'u' });
  await flush();
  gc.send({ type: 'ping' });
  gc.close();
  assert.equal(gc.state, 'closed');
  assert.equal(events('close')[0].byPage, true);
  assert.equal(gc.send({ type: 'ping' }), false);
  mock.timers.tick(60000);
  await flush();
  assert.equal(FakeWS.all.length, 1);
  assert.equal(last().closedWith, 1000);
});

test('the send queue is bounded', async () => {
  const { gc, events } = make({ uid: 'u', queueLimit: 2 });
  assert.equal(gc.send({ type: 'ping' }), true);
  assert.equal(gc.send({ type: 'ping' }), true);
  assert.equal(gc.send({ type: 'ping' }), false);
  assert.equal(events('error')[0].error, 'queue_full');
});

test('a forbidden join names its group and is not retried', async () => {
  const { gc, events } = make({ token: 'T', groups: ['ok', 'nope'] });
  await flush();
  const ws = last();
  ws.accept();
  ws.login('1');
  ws.push({ type: 'join', ok: true, group: 'ok' });
  ws.push({ type: 'error', error: 'forbidden', message: 'the token does not allow this group' });
  assert.equal(events('error')[0].group, 'nope');
  assert.deepEqual(gc.groups(), ['ok']);
});

test('messages: pushes are delivered, protocol replies are not', async () => {
  const { events } = make({ uid: 'u' });
  await flush();
  const ws = last();
  ws.accept();
  ws.login('u');
  ws.push({ type: 'join', ok: true, group: 'g' });
  ws.push({ type: 'pong' });
  ws.push({ type: 'new_msg', content: 'hi' });
  ws.push({ type: 'join', user: 'bob' }); // an app message that looks like a reply
  ws.push('plain text');
  ws.push('{"type":"online_count","group":"g","count":2,"connections":3}');
  assert.deepEqual(events('message'), [
    { type: 'new_msg', content: 'hi' },
    { type: 'join', user: 'bob' },
    'plain text',
    { type: 'online_count', group: 'g', count: 2, connections: 3 },
  ]);
});

test('a listener that throws does not break the client', async () => {
  const { gc } = make({ uid: 'u' });
  const seen = [];
  gc.on('message', () => {
    throw new Error('app bug');
  });
  gc.on('message', (m) => seen.push(m));
  await flush();
  last().accept();
  last().login('u');
  last().push({ type: 'x' });
  assert.deepEqual(seen, [{ type: 'x' }]);
  assert.equal(gc.state, 'open');
});

test('relative and http URLs become ws URLs of the page origin', async () => {
  globalThis.location = { href: 'https://app.test:8443/demo/' };
  try {
    make({ uid: 'u' }, '/');
    make({ uid: 'u' }, 'http://x.test/');
    make({ uid: 'u' }, null);
    await flush();
    assert.deepEqual(FakeWS.all.map((w) => w.url), [
      'wss://app.test:8443/?uid=u',
      'ws://x.test/?uid=u',
      'wss://app.test:8443/?uid=u',
    ]);
  } finally {
    delete globalThis.location;
  }
});
