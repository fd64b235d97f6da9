// gatecast demo page: unread badge + sound, a company activity feed, the
// company's live online count, several tabs of one user. Served by the
// gateway at /demo/ (config demo.enabled); uses /gatecast.js.
//
// URL parameters: ?uid=alice&company=7 logs in at once; &ws=URL[,URL…] picks
// the gateway(s) (default: this page's origin); &backoff=MIN,MAX in ms.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var demo = (window.gatecastDemo = { gc: null, unread: 0, beeps: 0, messages: 0, activities: 0, online: null });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function time(d) {
    var t = d ? new Date(d) : new Date();
    if (isNaN(t)) t = new Date();
    return t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function prepend(list, item, max) {
    var empty = list.querySelector('.empty');
    if (empty) empty.remove();
    list.insertBefore(item, list.firstChild);
    while (list.children.length > max) list.lastChild.remove();
  }

  // ------------------------------------------------------------- sound
  // A two-tone beep made with WebAudio: no audio files. Browsers keep audio
  // off until the user clicks; the page offers that click when needed.
  var audio = null;
  function audioCtx() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!audio && AC) audio = new AC();
    return audio;
  }
  function beep() {
    var ctx = audioCtx();
    if (!ctx) return;
    if (ctx.state !== 'running') {
      ctx.resume().catch(function () {});
      if (ctx.state !== 'running') {
        $('sound').hidden = false;
        return;
      }
    }
    var t = ctx.currentTime;
    [880, 1320].forEach(function (f, i) {
      var o = ctx.createOscillator(), g = ctx.createGain();
      o.type = 'sine';
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + i * 0.13);
      g.gain.exponentialRampToValueAtTime(0.25, t + i * 0.13 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.13 + 0.12);
      o.connect(g).connect(ctx.destination);
      o.start(t + i * 0.13);
      o.stop(t + i * 0.13 + 0.13);
    });
    demo.beeps++;
    document.body.dataset.beeps = demo.beeps;
  }
  // Several tabs of one user get the same push; one beep is enough. The Web
  // Locks API (secure contexts: https, localhost) lets the first tab win.
  function beepOnce(uid) {
    if (!navigator.locks) return beep();
    navigator.locks.request('gatecast-demo-beep:' + uid, { ifAvailable: true }, function (lock) {
      if (!lock) return;
      beep();
      return new Promise(function (r) { setTimeout(r, 600); });
    });
  }
  document.addEventListener('click', function () {
    var ctx = audioCtx();
    if (ctx && ctx.state !== 'running') ctx.resume().then(function () { $('sound').hidden = true; }, function () {});
  });

  // ------------------------------------------------------------- badge
  var channel = null;
  function setUnread(n, fromOtherTab) {
    demo.unread = n;
    $('badge').textContent = n > 99 ? '99+' : String(n);
    $('badge').hidden = n === 0;
    $('unread-label').textContent = n ? n + ' unread' : '';
    document.title = (n ? '(' + n + ') ' : '') + 'gatecast demo';
    if (n === 0) document.querySelectorAll('#inbox .unread').forEach(function (li) { li.classList.remove('unread'); });
    if (n === 0 && !fromOtherTab && channel) channel.postMessage({ type: 'read' });
  }

  // --------------------------------------------------------- messages
  function onNewMsg(m) {
    demo.messages++;
    var li = el('li', 'unread');
    var head = el('div', 'head');
    head.appendChild(el('b', null, m.title || 'New message'));
    head.appendChild(el('time', null, time(m.date)));
    li.appendChild(head);
    if (m.content != null) li.appendChild(el('p', null, String(m.content)));
    if (m.from != null) li.appendChild(el('small', 'muted', 'from ' + m.from));
    prepend($('inbox'), li, 50);
    setUnread(demo.unread + 1);
    var bell = $('bell');
    bell.classList.remove('ring');
    void bell.offsetWidth; // restart the animation
    bell.classList.add('ring');
    beepOnce(demo.gc.uid || '');
  }

  function onActivity(m, raw) {
    demo.activities++;
    var li = el('li');
    var who = m && m.operator != null ? String(m.operator) : '';
    var av = el('span', 'avatar', (who || '•').slice(0, 2).toUpperCase());
    av.style.setProperty('--h', String([].reduce.call(who, function (h, c) { return (h * 31 + c.charCodeAt(0)) % 360; }, 200)));
    li.appendChild(av);
    var body = el('div');
    var head = el('div', 'head');
    var line = el('span');
    if (m && typeof m === 'object' && (m.title != null || who)) {
      line.appendChild(el('b', null, who || 'someone'));
      line.appendChild(document.createTextNode(' ' + (m.title || '')));
    } else {
      line.appendChild(el('code', null, typeof raw === 'string' ? raw : '(binary)'));
    }
    head.appendChild(line);
    head.appendChild(el('time', null, time(m && m.date)));
    body.appendChild(head);
    if (m && m.content != null) body.appendChild(el('p', null, String(m.content)));
    li.appendChild(body);
    prepend($('feed'), li, 50);
  }

  function onOnline(m) {
    demo.online = { count: m.count, connections: m.connections };
    $('online-count').textContent = m.count;
    $('online-conns').textContent = m.connections;
    $('online-tabs').textContent = m.connections === 1 ? 'tab' : 'tabs';
    var o = $('online');
    o.hidden = false;
    o.classList.remove('flash');
    void o.offsetWidth;
    o.classList.add('flash');
  }

  function notice(text, action) {
    var n = $('notice');
    n.textContent = text || '';
    n.hidden = !text;
    if (action) {
      var b = el('button', 'link', action.label);
      b.type = 'button';
      b.onclick = action.run;
      n.appendChild(document.createTextNode(' '));
      n.appendChild(b);
    }
  }

  var STATE_TEXT = { connecting: 'connecting…', open: 'live', reconnecting: 'reconnecting…', closed: 'disconnected' };

  // ------------------------------------------------------------ start
  function start(uid, company) {
    var group = 'company:' + company;
    localStorage.setItem('gatecast-demo', JSON.stringify({ uid: uid, company: company }));
    var q = new URLSearchParams(location.search);
    q.set('uid', uid);
    q.set('company', company);
    history.replaceState(null, '', '/demo/?' + q.toString());
    $('new-tab').href = location.href;
    $('login').hidden = true;
    $('app').hidden = false;
    $('bell').hidden = false;
    $('me-uid').textContent = uid;
    $('me-group').textContent = group;
    document.body.dataset.group = group;
    if (window.BroadcastChannel) {
      channel = new BroadcastChannel('gatecast-demo:' + uid);
      channel.onmessage = function (e) { if (e.data && e.data.type === 'read') setUnread(0, true); };
    }
    updateCurl();

    // The demo's own token endpoint: {"token": null} when auth.mode = none.
    function fetchToken() {
      return fetch('/demo/token?uid=' + encodeURIComponent(uid), { cache: 'no-store' }).then(function (r) {
        if (!r.ok) throw new Error('GET /demo/token: HTTP ' + r.status);
        return r.json();
      });
    }
    fetchToken().then(function (t) { return t; }, function (e) {
      console.warn(e.message + '; connecting with ?uid= (demo mode)');
      return { token: null };
    }).then(function (t) {
      var urls = (params.get('ws') || '').split(',').filter(Boolean);
      var b = (params.get('backoff') || '').split(',').map(Number);
      var opts = { groups: [group], backoff: { min: b[0] || undefined, max: b[1] || undefined } };
      if (t.token) {
        opts.token = t.token;
        opts.getToken = function () { return fetchToken().then(function (r) { return r.token; }); };
      } else {
        opts.uid = uid;
      }
      var gc = (demo.gc = new Gatecast(urls.length ? urls : null, opts));
      gc.on('state', function (s) {
        $('conn').dataset.state = s;
        $('conn').textContent = STATE_TEXT[s] || s;
        document.body.dataset.state = s;
      });
      gc.on('open', function (info) {
        $('me-client').textContent = 'via ' + new URL(info.url).host + (t.token ? ' · token' : ' · uid, no token') +
          (info.reconnect ? ' · reconnected' : '');
        notice('');
      });
      gc.on('close', function (c) {
        if (c.willReconnect) return;
        if (c.code === 4008) {
          notice('This tab was closed: too many tabs of ' + uid + ' are open (4008).', { label: 'Reconnect', run: function () { gc.open(); } });
        } else if (!c.byPage) {
          notice('Disconnected (' + c.code + (c.reason ? ': ' + c.reason : '') + ').', { label: 'Reconnect', run: function () { gc.open(); } });
        }
      });
      gc.on('error', function (e) {
        notice('Server says ' + e.error + ': ' + e.message + (e.group ? ' (' + e.group + ')' : ''));
      });
      gc.on('message', function (m, raw) {
        if (m && m.type === 'new_msg') onNewMsg(m);
        else if (m && m.type === 'online_count') { if (String(m.group) === group) onOnline(m); }
        else onActivity(m, raw);
      });
    });
  }

  // ------------------------------------------------------------- push
  // The Push button posts the command to the gateway's own POST /demo/push
  // (demo.enabled; same origin, so no CORS), which runs it like the HTTP API
  // would. A gateway without it answers 404/405 in plain text: then the page
  // shows the curl command to run on the server instead.
  var pushEndpoint = true;
  function pushCommand() {
    var f = $('push-form');
    var to = f.to.value;
    var data = { title: f.title.value, content: f.content.value, date: new Date().toISOString() };
    var me = demo.gc && demo.gc.uid ? demo.gc.uid : $('me-uid').textContent;
    if (to === 'group') {
      data = Object.assign({ type: 'activity', operator: me }, data);
      return { type: 'send_to_group', group: document.body.dataset.group, data: data };
    }
    data = Object.assign({ type: 'new_msg', from: me }, data);
    return { type: 'send_to_uid', uid: to === 'user' ? f.uid.value || me : me, data: data };
  }
  function updateCurl() {
    var f = $('push-form');
    f.uid.hidden = f.to.value !== 'user';
    var cmd = pushCommand();
    var type = cmd.type;
    delete cmd.type;
    delete cmd.data.date;
    var body = JSON.stringify(cmd).replace(/'/g, "'\\''");
    $('curl').textContent = 'curl -X POST localhost:2121/api/' + type + " \\\n  -d '" + body + "'";
  }
  $('push-form').addEventListener('input', updateCurl);
  $('push-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var cmd = pushCommand();
    var out = $('push-result');
    if (!pushEndpoint) {
      out.textContent = 'Run the command above on the server.';
      return;
    }
    out.textContent = 'pushing…';
    fetch('/demo/push', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(cmd) })
      .then(function (r) {
        var json = /json/.test(r.headers.get('Content-Type') || '');
        if (!json && (r.status === 404 || r.status === 405)) {
          pushEndpoint = false;
          $('push-how').textContent = 'This gateway has no /demo/push; push from the server, for example:';
          out.textContent = 'Run the command above on the server.';
          return;
        }
        return r.text().then(function (t) {
          out.textContent = (r.ok ? '' : 'HTTP ' + r.status + ': ') + t.trim();
          out.dataset.status = r.status;
        });
      })
      .catch(function (e) { out.textContent = String(e); });
  });
  $('copy').onclick = function () {
    navigator.clipboard && navigator.clipboard.writeText($('curl').textContent).then(function () {
      $('copy').textContent = 'Copied';
      setTimeout(function () { $('copy').textContent = 'Copy'; }, 1200);
    }, function () {});
  };

  // ------------------------------------------------------------ wiring
  $('bell').onclick = $('mark-read').onclick = function () { setUnread(0); };
  $('sound').onclick = function () { var c = audioCtx(); if (c) c.resume(); $('sound').hidden = true; };
  $('logout').onclick = function () {
    if (demo.gc) demo.gc.close();
    localStorage.removeItem('gatecast-demo');
    location.href = '/demo/';
  };
  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    audioCtx(); // created inside the click: sound allowed from now on
    start(this.uid.value.trim(), String(parseInt(this.company.value, 10)));
  });

  var uid = params.get('uid'), company = params.get('company');
  if (uid && company) {
    start(uid, company);
  } else {
    var saved = JSON.parse(localStorage.getItem('gatecast-demo') || 'null');
    if (saved) {
      $('login-form').uid.value = saved.uid;
      $('login-form').company.value = saved.company;
    }
    $('login').hidden = false;
  }
})();
