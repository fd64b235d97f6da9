/*! gatecast.js — browser client for the gatecast push server. MIT licence.
 *
 * One file, no dependencies. Works as a plain <script> (global `Gatecast`),
 * as a native ES module by side effect (`import '/gatecast.js'` defines
 * globalThis.Gatecast; gatecast.mjs next to it adds named/default exports),
 * and as CommonJS (`require`, bundlers, Node's `import` of a CJS file).
 *
 *   const gc = new Gatecast('wss://push.example.com/', { token, getToken, groups: ['company:7'] });
 *   gc.on('message', msg => console.log(msg));
 *
 * See gatecast.d.ts and docs/browser.md, "Browser library", for the API.
 */
(function (root, factory) {
  var Gatecast = factory();
  if (typeof module === 'object' && module && module.exports) {
    module.exports = Gatecast;
  } else {
    root.Gatecast = Gatecast;
  }
})(typeof globalThis !== 'undefined' ? globalThis : typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  var EVENTS = ['message', 'open', 'close', 'error', 'state'];
  var DEFAULTS = {
    backoff: { min: 500, max: 30000 },
    pingInterval: 25000, // ms between app-level pings; 0 = none
    pingTimeout: 10000, // ms to wait for the pong (any frame counts)
    connectTimeout: 10000, // ms from dialing to the login reply
    queueLimit: 100, // send() calls kept while not open
    stableAfter: 10000, // a connection open this long resets the backoff
    tokenIn: 'message', // or 'query'
  };

  // Replies to the browser protocol's own messages. Anything else, including
  // pushes whose "type" happens to be "join", is an application message.
  function isProtocolReply(m) {
    switch (m.type) {
      case 'welcome': return typeof m.client_id === 'string' && !('ok' in m) && Object.keys(m).length === 2;
      case 'login': return typeof m.ok === 'boolean' && 'client_id' in m;
      case 'logout': return typeof m.ok === 'boolean' && Object.keys(m).length === 2;
      case 'join':
      case 'leave': return typeof m.ok === 'boolean' && 'group' in m && Object.keys(m).length === 3;
      case 'pong': return Object.keys(m).length === 1;
      case 'error': return typeof m.error === 'string' && typeof m.message === 'string' && Object.keys(m).length === 3;
    }
    return false;
  }

  function wsUrl(url) {
    if (url == null || url === '') url = '/';
    if (/^wss?:\/\//i.test(url)) return url;
    var base = typeof location !== 'undefined' ? location.href : undefined;
    var u = new URL(url, base);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    return u.toString();
  }

  function later(fn) {
    return Promise.resolve().then(fn);
  }

  function Gatecast(url, options) {
    if (!(this instanceof Gatecast)) throw new TypeError("use 'new Gatecast(url, options)'");
    var o = options || {};
    this._urls = (Array.isArray(url) ? url : [url]).map(wsUrl);
    this._urlIndex = 0;
    this._opts = {};
    for (var k in DEFAULTS) this._opts[k] = o[k] !== undefined ? o[k] : DEFAULTS[k];
    this._opts.backoff = {
      min: (o.backoff && o.backoff.min) || DEFAULTS.backoff.min,
      max: (o.backoff && o.backoff.max) || DEFAULTS.backoff.max,
    };
    this._WS = o.WebSocket || (typeof WebSocket !== 'undefined' ? WebSocket : null);
    if (!this._WS) throw new Error('gatecast: no WebSocket here; pass options.WebSocket');
    this._token = o.token || null;
    this._uidOpt = o.uid != null && o.uid !== '' ? String(o.uid) : null;
    this._getToken = typeof o.getToken === 'function' ? o.getToken : null;
    this._handlers = {};
    for (var i = 0; i < EVENTS.length; i++) this._handlers[EVENTS[i]] = [];
    this._groups = new Set();
    (o.groups || []).forEach(function (g) { this._groups.add(String(g)); }, this);
    this._pendingJoins = [];
    this._queue = [];
    this._ws = null;
    this._ready = false;
    this._attempt = 0;
    this._timers = {};
    this._stopped = false;
    this._needToken = false;
    this._everOpen = false;
    this._openedAt = 0;
    this.state = 'connecting';
    this.uid = null;
    this.clientId = null;
    this.url = this._urls[0];
    var self = this;
    this._onOnline = function () {
      if (self.state === 'reconnecting' && self._timers.retry) {
        self._clear('retry');
        self._attempt = 0;
        self._dial();
      }
    };
    this._watchNetwork(true);
    // Connect after the caller's synchronous gc.on(...) calls.
    later(function () { if (!self._stopped) self._dial(); });
  }

  var P = Gatecast.prototype;

  /** Adds a listener; returns this. */
  P.on = function (event, fn) {
    if (!this._handlers[event]) throw new Error('gatecast: unknown event ' + event);
    this._handlers[event].push(fn);
    return this;
  };

  /** Removes one listener, or all of an event without fn; returns this. */
  P.off = function (event, fn) {
    var h = this._handlers[event];
    if (h) this._handlers[event] = fn ? h.filter(function (f) { return f !== fn; }) : [];
    return this;
  };

  /** Joins a group now (when open) and after every reconnect. */
  P.join = function (group) {
    group = String(group);
    this._groups.add(group);
    if (this._ready) this._sendJoin(group);
    return this;
  };

  /** Leaves a group; it is no longer joined after reconnects. */
  P.leave = function (group) {
    group = String(group);
    var had = this._groups.delete(group);
    if (this._ready && had) this._raw({ type: 'leave', group: group });
    return this;
  };

  /** The groups joined now and after reconnects. */
  P.groups = function () {
    return Array.from(this._groups);
  };

  /** Sends obj (JSON-encoded unless it is a string). While not open, keeps
   * it in a queue of options.queueLimit and sends it after the next login.
   * Returns false when refused: the queue is full or the client is closed. */
  P.send = function (obj) {
    var text = typeof obj === 'string' ? obj : JSON.stringify(obj);
    if (this.state === 'closed') return false;
    if (this._ready) return this._raw(text);
    if (this._queue.length >= this._opts.queueLimit) {
      this._emit('error', { type: 'error', error: 'queue_full', message: 'send() queue is full (' + this._opts.queueLimit + ') while not connected' });
      return false;
    }
    this._queue.push(text);
    return true;
  };

  /** Closes for good: no reconnect. Queued messages are dropped. */
  P.close = function (code, reason) {
    if (this.state === 'closed') return;
    this._stopped = true;
    this._stop(code || 1000, reason || 'closed by the page', true);
  };

  /** Connects again after close(), 4008 or another stop. */
  P.open = function () {
    if (this.state !== 'closed') return this;
    this._stopped = false;
    this._attempt = 0;
    this._watchNetwork(true);
    this._setState(this._everOpen ? 'reconnecting' : 'connecting');
    this._dial();
    return this;
  };

  // ------------------------------------------------------------ internals

  P._emit = function (event) {
    var args = Array.prototype.slice.call(arguments, 1);
    var list = this._handlers[event].slice();
    for (var i = 0; i < list.length; i++) {
      try {
        list[i].apply(this, args);
      } catch (e) {
        // A listener's bug must not break the connection; still show it.
        setTimeout(function () { throw e; });
      }
    }
  };

  P._setState = function (s) {
    if (this.state === s) return;
    var prev = this.state;
    this.state = s;
    this._emit('state', s, prev);
  };

  P._clear = function (name) {
    if (this._timers[name]) {
      clearTimeout(this._timers[name]);
      clearInterval(this._timers[name]);
      this._timers[name] = null;
    }
  };

  P._clearAll = function () {
    for (var k in this._timers) this._clear(k);
  };

  P._watchNetwork = function (on) {
    if (typeof window === 'undefined' || !window.addEventListener) return;
    window.removeEventListener('online', this._onOnline);
    if (on) window.addEventListener('online', this._onOnline);
  };

  P._raw = function (msg) {
    if (!this._ws || this._ws.readyState !== 1) return false;
    try {
      this._ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
      return true;
    } catch (e) {
      return false;
    }
  };

  P._sendJoin = function (group) {
    this._pendingJoins.push(group);
    this._raw({ type: 'join', group: group });
  };

  P._dial = function () {
    var self = this;
    this._clear('retry');
    if (this._stopped) return;
    // In 'query' mode the browser can't tell a refused token (HTTP 401) from
    // a network error, so every reconnect asks getToken() again.
    var wantToken = this._getToken &&
      (!this._token || this._needToken || (this._opts.tokenIn === 'query' && this._attempt > 0));
    if (wantToken) {
      var gen = (this._gen = (this._gen || 0) + 1);
      Promise.resolve()
        .then(function () { return self._getToken(); })
        .then(function (t) {
          if (self._stopped || gen !== self._gen) return;
          if (typeof t !== 'string' || !t) throw new Error('getToken() gave no token');
          self._token = t;
          self._needToken = false;
          self._open();
        }, function (e) { throw e; })
        .catch(function (e) {
          if (self._stopped || gen !== self._gen) return;
          self._emit('error', { type: 'error', error: 'token', message: 'getToken() failed: ' + (e && e.message || e) });
          self._retry(null, 'getToken failed');
        });
      return;
    }
    this._open();
  };

  P._open = function () {
    var self = this;
    var url = this._urls[this._urlIndex % this._urls.length];
    this.url = url;
    var q = null;
    if (this._token && this._opts.tokenIn === 'query') q = ['token', this._token];
    else if (!this._token && this._uidOpt) q = ['uid', this._uidOpt];
    if (q) {
      var u = new URL(url);
      u.searchParams.set(q[0], q[1]);
      url = u.toString();
    }
    var ws;
    try {
      ws = new this._WS(url);
    } catch (e) {
      this._emit('error', { type: 'error', error: 'socket', message: String(e && e.message || e) });
      this._retry(null, 'bad url');
      return;
    }
    ws.binaryType = 'arraybuffer';
    this._ws = ws;
    this._ready = false;
    this._pendingJoins = [];
    this._timers.connect = setTimeout(function () {
      self._lost(ws, 1006, 'connect timeout', true);
    }, this._opts.connectTimeout);
    ws.onopen = function () {
      if (self._token && self._opts.tokenIn !== 'query') {
        ws.send(JSON.stringify({ type: 'login', token: self._token }));
      }
    };
    ws.onmessage = function (ev) { self._onFrame(ws, ev.data); };
    ws.onclose = function (ev) { self._lost(ws, ev.code, ev.reason, false); };
    ws.onerror = function () {}; // the close event follows and says more
  };

  P._onFrame = function (ws, data) {
    if (ws !== this._ws) return;
    this._clear('pong'); // any frame proves the link is alive
    if (typeof data !== 'string') {
      this._emit('message', data, data);
      return;
    }
    var m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      this._emit('message', data, data);
      return;
    }
    if (!m || typeof m !== 'object' || Array.isArray(m) || !isProtocolReply(m)) {
      this._emit('message', m, data);
      return;
    }
    switch (m.type) {
      case 'welcome':
        this.clientId = m.client_id;
        if (!this._token && !this._uidOpt) this._becomeReady();
        return;
      case 'login':
        if (!m.ok) return;
        this.uid = m.uid == null ? null : String(m.uid);
        this.clientId = m.client_id;
        if (!this._ready) this._becomeReady();
        return;
      case 'logout':
        this.uid = null;
        return;
      case 'join':
        var i = this._pendingJoins.indexOf(String(m.group));
        if (i >= 0) this._pendingJoins.splice(i, 1);
        return;
      case 'leave':
      case 'pong':
        return;
      case 'error':
        return this._onServerError(ws, m);
    }
  };

  P._onServerError = function (ws, m) {
    var err = { type: 'error', error: m.error, message: m.message };
    if (m.error === 'unauthorized') {
      // A refused login; the server closes with 4001 next.
      if (this._getToken) this._needToken = true;
    } else if ((m.error === 'forbidden' || m.error === 'too_many_groups') && this._pendingJoins.length) {
      // Join errors come back in order and don't name the group.
      err.group = this._pendingJoins.shift();
      this._groups.delete(err.group);
    }
    this._emit('error', err);
    if (!this._ready && m.error === 'bad_request') {
      // A malformed ?uid=: retrying the same one can't help.
      this._stop(1008, m.message, false);
    } else if (!this._ready && (m.error === 'no_worker' || m.error === 'overloaded')) {
      this._lost(ws, 1013, m.error, true);
    }
  };

  P._becomeReady = function () {
    var self = this;
    this._clear('connect');
    this._ready = true;
    this._openedAt = Date.now();
    var reconnect = this._everOpen;
    this._everOpen = true;
    this._groups.forEach(function (g) { self._sendJoin(g); });
    var q = this._queue;
    this._queue = [];
    for (var i = 0; i < q.length; i++) this._raw(q[i]);
    if (this._opts.pingInterval > 0) {
      this._timers.ping = setInterval(function () { self._ping(); }, this._opts.pingInterval);
    }
    this._setState('open');
    this._emit('open', { uid: this.uid, clientId: this.clientId, url: this.url, reconnect: reconnect });
  };

  P._ping = function () {
    var self = this, ws = this._ws;
    if (!this._ready || this._timers.pong) return;
    this._raw({ type: 'ping' });
    this._timers.pong = setTimeout(function () {
      self._lost(ws, 1006, 'ping timeout', true);
    }, this._opts.pingTimeout);
  };

  function detach(ws, close) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (close) {
      try { ws.close(1000); } catch (e) { /* already closing */ }
    }
  }

  // The socket closed, or we gave up on it (abandon: close it ourselves).
  P._lost = function (ws, code, reason, abandon) {
    if (ws !== this._ws) return;
    detach(ws, abandon);
    this._ws = null;
    var wasReady = this._ready;
    this._ready = false;
    this._clearAll();
    if (!wasReady) this._urlIndex++; // try the next url (if several) next time
    if (this._openedAt && Date.now() - this._openedAt >= this._opts.stableAfter) this._attempt = 0;
    this._openedAt = 0;
    if (code === 4008) return this._stop(code, reason || 'too many connections for this uid', false);
    if (code === 1000) return this._stop(code, reason || 'closed by the application', false);
    if (code === 4001) {
      if (!this._getToken) return this._stop(code, reason || 'unauthorized', false);
      this._needToken = true;
    }
    this._retry(code, reason);
  };

  P._retry = function (code, reason) {
    var self = this;
    var b = this._opts.backoff;
    var cap = Math.min(b.max, b.min * Math.pow(2, this._attempt));
    var delay = Math.floor(Math.random() * cap); // full jitter
    this._attempt++;
    this._setState('reconnecting');
    this._timers.retry = setTimeout(function () { self._dial(); }, delay);
    if (code != null) {
      this._emit('close', { code: code, reason: reason || '', willReconnect: true, delay: delay });
    }
  };

  // No more reconnects: close(), 4008, 1000, 4001 without getToken.
  P._stop = function (code, reason, byPage) {
    if (this._ws) detach(this._ws, true);
    this._ws = null;
    this._ready = false;
    this._gen = (this._gen || 0) + 1; // forget a pending getToken()
    this._clearAll();
    this._queue = [];
    this._stopped = true;
    this._watchNetwork(false);
    this._setState('closed');
    this._emit('close', { code: code, reason: reason || '', willReconnect: false, byPage: !!byPage });
  };

  Gatecast.prototype.constructor = Gatecast;
  Gatecast.version = '0.1.0';
  return Gatecast;
});
