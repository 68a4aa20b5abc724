// Load client of benchmarks/ydocs.py: many stock Yjs editors (yjs + y-websocket's WebsocketProvider,
// one Y.Doc each) in this one process, all in one document.
//   node ydoc_load.mjs   then one JSON line on stdin:
//   {"url": "ws://127.0.0.1:8000/ws/docs", "room": "<document id or name>", "host": "<Host header>",
//    "tickets": ["…", …] | null, "editors": 25, "first": 0, "total": 50, "rate": 10, "seconds": 30,
//    "samples": "/tmp/….f64", "quiet": 5, "insert": "end", "verify": false}
// Prints "ready <connect seconds>" once every editor has synced, waits for "go" on stdin, then each
// editor makes `rate` updates a second for `seconds` (open loop, editors evenly staggered). One
// update = one transaction: a short insert into the Y.Text `content` (at its end, or at a random
// place with "insert": "random") and the Y.Map `sent` entry "<editor>.<n>" = its send time (CLOCK_MONOTONIC in ms, the same clock in every process of
// the machine). Every other editor records, when the update is applied to its doc, now - send time.
// After the last send it waits until every editor has seen every other editor's updates (or
// nothing arrived for `quiet` s), writes the latencies (float64 ms) to `samples`, prints one JSON
// line, and on "quit" disconnects and exits. With "verify": true, one editor that syncs and prints
// {sha, length, keys} of what the server holds.
import crypto from "node:crypto";
import readline from "node:readline";
import WebSocket from "ws";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import fs from "node:fs";

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms, CLOCK_MONOTONIC
process.setMaxListeners(0); // y-websocket adds an exit listener per provider
const lines = readline.createInterface({ input: process.stdin });
const input = lines[Symbol.asyncIterator]();
const config = JSON.parse((await input.next()).value);
const next = async () => (await input.next()).value;

const { url, room, host, tickets, rate, seconds } = config;
const count = config.verify ? 1 : config.editors;
const perEditor = config.verify ? 0 : rate * seconds;

class HostedWebSocket extends WebSocket {
  constructor(address, protocols) {
    super(address, protocols, { headers: { Host: host } }); // the tenant host, like a browser on it
  }
}

const samples = [];
let lastSeen = now();
const editors = [];
const t0 = now();
for (let i = 0; i < count; i++) {
  const id = (config.first || 0) + i;
  const doc = new Y.Doc();
  const text = doc.getText("content");
  const sent = doc.getMap("sent");
  const provider = new WebsocketProvider(url, room, doc, {
    params: tickets ? { ticket: tickets[i] } : {},
    WebSocketPolyfill: HostedWebSocket,
    disableBc: true,
    maxBackoffTime: 600000, // a ticket opens one socket: a reconnect would be refused, so count closes
  });
  const editor = { id, doc, text, sent, provider, seen: 0, closes: {}, synced: null };
  provider.awareness.setLocalStateField("user", { name: `editor ${id}` });
  provider.on("connection-close", (event) => {
    const code = event ? event.code : "?";
    editor.closes[code] = (editor.closes[code] || 0) + 1;
  });
  editor.synced = new Promise((resolve) => provider.on("sync", (ok) => ok && resolve()));
  sent.observe((event, transaction) => {
    if (transaction.local) return;
    const at = now();
    for (const key of event.keysChanged) {
      samples.push(at - sent.get(key));
      editor.seen++;
    }
    lastSeen = at;
  });
  editors.push(editor);
}
await Promise.all(editors.map((e) => e.synced));

const digest = (e) => ({
  sha: crypto.createHash("sha256").update(e.text.toString(), "utf8").digest("hex"),
  length: e.text.length,
  keys: e.sent.size,
});

if (config.verify) {
  console.log(JSON.stringify(digest(editors[0])));
  editors[0].provider.destroy();
  setTimeout(() => process.exit(0), 100);
} else {
  console.log(`ready ${((now() - t0) / 1000).toFixed(3)}`);
  await next(); // "go"
  const cpu0 = process.cpuUsage();
  const start = now() + 20;
  const period = 1000 / rate;
  let late = 0;
  let sendsDone = 0;
  const allSent = new Promise((resolve) => {
    for (const editor of editors) {
      const offset = (editor.id / config.total) * period; // stagger the editors evenly
      let n = 0;
      const tick = () => {
        const due = start + offset + n * period;
        late = Math.max(late, now() - due);
        const key = `${editor.id}.${n}`;
        editor.doc.transact(() => {
          const at = config.insert === "end" ? editor.text.length : Math.floor(Math.random() * (editor.text.length + 1));
          editor.text.insert(at, `${key} `);
          editor.sent.set(key, now());
        });
        n++;
        if (n < perEditor) setTimeout(tick, Math.max(0, start + offset + n * period - now()));
        else if (++sendsDone === editors.length) resolve();
      };
      setTimeout(tick, Math.max(0, start + offset - now()));
    }
  });
  await allSent;
  const sendEnd = now();
  const expected = (config.total - 1) * perEditor;
  const deadline = now() + 120000;
  await new Promise((resolve) => {
    const check = () => {
      const done = editors.every((e) => e.seen >= expected);
      if (done || now() - lastSeen > config.quiet * 1000 || now() > deadline) resolve();
      else setTimeout(check, 50);
    };
    check();
  });
  const cpu = process.cpuUsage(cpu0);
  fs.writeFileSync(config.samples, Buffer.from(new Float64Array(samples).buffer));
  console.log(
    JSON.stringify({
      expected: expected * editors.length,
      seen: editors.reduce((a, e) => a + e.seen, 0),
      closes: editors.reduce((a, e) => {
        for (const [code, n] of Object.entries(e.closes)) a[code] = (a[code] || 0) + n;
        return a;
      }, {}),
      late_ms: late,
      send_s: (sendEnd - start) / 1000,
      last_seen_s: (lastSeen - start) / 1000,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      digests: editors.map(digest),
    }),
  );
  await next(); // "quit"
  for (const e of editors) e.provider.destroy();
  setTimeout(() => process.exit(0), 200);
}
