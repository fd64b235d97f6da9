// server.mjs — a WebSocket push server on Node + ws, written as a Node
// user would write one, with gatecast's interfaces so bench/gcload drives
// it exactly like gatecast (bench/compare.sh):
//   * browsers: ws://HOST:WS_PORT/?uid=U logs in at once and gets
//     {"type":"login","ok":true,...}; without a uid the server sends a
//     welcome and waits for {"type":"login","uid":U}; {"type":"join",
//     "group":G} joins a group; {"type":"ping"} gets a pong;
//   * backend: JSON lines on PUSH_PORT, one reply line per request, in
//     order: send_to_uid (uid or list), send_to_group, send_to_all, with
//     data (a string goes out as its text, anything else as JSON).
// One process (Node runs JavaScript on one thread). No auth, no limits:
// it is a reference point for speed and memory, not a product.
//
// Usage: node server.mjs [--host 127.0.0.1] [--ws-port 7273] [--push-port 8807]
import net from 'node:net';
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const host = opt('--host', '127.0.0.1');
const wsPort = Number(opt('--ws-port', 7273));
const pushPort = Number(opt('--push-port', 8807));

const byUid = new Map();   // uid -> Set of sockets
const byGroup = new Map(); // group -> Set of sockets
const all = new Set();
let nextId = 1;

function addTo(map, key, ws) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(ws);
}

function removeFrom(map, key, ws) {
  const set = map.get(key);
  if (set && set.delete(ws) && set.size === 0) map.delete(key);
}

function login(ws, uid) {
  if (ws.uid !== undefined) removeFrom(byUid, ws.uid, ws);
  ws.uid = String(uid);
  addTo(byUid, ws.uid, ws);
  ws.send(JSON.stringify({ type: 'login', ok: true, uid: ws.uid, client_id: ws.clientId }));
}

const wss = new WebSocketServer({ host, port: wsPort, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws, req) => {
  ws.clientId = (nextId++).toString(16).padStart(28, '0');
  ws.groups = new Set();
  all.add(ws);
  ws.on('close', () => {
    all.delete(ws);
    if (ws.uid !== undefined) removeFrom(byUid, ws.uid, ws);
    for (const g of ws.groups) removeFrom(byGroup, g, ws);
  });
  ws.on('error', () => {});
  ws.on('message', (raw) => {
    let m;
    try {
      m = JSON.parse(raw);
    } catch {
      ws.send('{"type":"error","error":"bad_json"}');
      return;
    }
    if (m.type === 'login' && m.uid !== undefined) login(ws, m.uid);
    else if (m.type === 'join' && m.group !== undefined) {
      ws.groups.add(String(m.group));
      addTo(byGroup, String(m.group), ws);
      ws.send(JSON.stringify({ type: 'join', ok: true, group: String(m.group) }));
    } else if (m.type === 'ping') ws.send('{"type":"pong"}');
    else ws.send('{"type":"error","error":"unknown_type"}');
  });
  const q = req.url.indexOf('?');
  const uid = q >= 0 ? new URLSearchParams(req.url.slice(q + 1)).get('uid') : null;
  if (uid) login(ws, uid);
  else ws.send(JSON.stringify({ type: 'welcome', client_id: ws.clientId }));
});

function sendSet(set, text) {
  let n = 0;
  if (set) for (const ws of set) { ws.send(text); n++; }
  return n;
}

function command(m) {
  const text = typeof m.data === 'string' ? m.data : JSON.stringify(m.data);
  switch (m.type) {
    case 'send_to_uid': {
      const uids = Array.isArray(m.uid) ? m.uid : [m.uid];
      let delivered = 0;
      const offline = [];
      for (const u of uids) {
        const n = sendSet(byUid.get(String(u)), text);
        if (n === 0) offline.push(String(u));
        delivered += n;
      }
      return { ok: true, delivered, offline };
    }
    case 'send_to_group': {
      const groups = Array.isArray(m.group) ? m.group : [m.group];
      let delivered = 0;
      for (const g of groups) delivered += sendSet(byGroup.get(String(g)), text);
      return { ok: true, delivered };
    }
    case 'send_to_all':
      return { ok: true, delivered: sendSet(all, text) };
    case 'get_all_client_count':
      return { ok: true, count: all.size };
    default:
      return { ok: false, error: 'unknown_type', message: 'unknown command' };
  }
}

net.createServer((sock) => {
  sock.setNoDelay(true);
  let pending = '';
  sock.on('data', (chunk) => {
    pending += chunk.toString('utf8');
    let out = '';
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() === '') continue;
      let reply;
      try {
        reply = command(JSON.parse(line));
      } catch {
        reply = { ok: false, error: 'bad_json', message: 'not JSON' };
      }
      out += JSON.stringify(reply) + '\n';
    }
    if (out) sock.write(out);
  });
  sock.on('error', () => {});
}).listen(pushPort, host, () => {
  console.log(`listening ws ${host}:${wsPort} push ${host}:${pushPort}`);
});
