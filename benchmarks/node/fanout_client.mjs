// Fan-out load client in Node (the `ws` package), as a cross-check of the
// Python client in benchmarks/_wsclient.py: same protocol, same counting.
// Input (stdin, one JSON line): {port, host, room, tickets, expected, sample, event?, field?}
// (event: the event name counted, "announcement" by default; field: the one of
// its data holding {"t": publish time}, "text" by default).
// Prints "ready <connect seconds>" once every socket is live, starts counting
// when it reads "go" on stdin, and prints one JSON line of results.
import { createInterface } from "node:readline";
import WebSocket from "ws";

const lines = createInterface({ input: process.stdin });
const input = await new Promise((resolve) => lines.once("line", (line) => resolve(JSON.parse(line))));
const { port, host, room, tickets, expected, sample } = input;
const event = input.event || "announcement", field = input.field || "text";
const marker = `"event":"${event}"`;
const latencies = [];
let lastEventAt = 0;

function open(ticket) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/?ticket=${ticket}`, { headers: { Host: host }, perMessageDeflate: false });
    ws.events = 0;
    ws.on("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"event"')) {
        if (!text.slice(0, 160).includes(marker)) return;
        ws.events += 1;
        lastEventAt = Date.now() / 1000;
        if (ws.events % sample === 0) latencies.push(Date.now() / 1000 - JSON.parse(JSON.parse(text).data[field]).t);
      } else if (text.startsWith('{"type":"welcome"')) {
        ws.send(JSON.stringify({ type: "subscribe", channel: `room:${room}` }));
        ws.send(JSON.stringify({ type: "ping" }));
      } else if (text.startsWith('{"type":"pong"')) {
        resolve(ws);
      }
    });
  });
}

const started = process.hrtime.bigint();
const sockets = [];
for (let i = 0; i < tickets.length; i += 100) {
  sockets.push(...(await Promise.all(tickets.slice(i, i + 100).map(open))));
}
console.log(`ready ${Number(process.hrtime.bigint() - started) / 1e9}`);
await new Promise((resolve) => lines.once("line", resolve));
const cpuStart = process.cpuUsage();
let before = 0, lastChange = Date.now();
const deadline = Date.now() + 60000 + expected * 100;
while (Date.now() < deadline && sockets.some((ws) => ws.events < expected)) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const total = sockets.reduce((sum, ws) => sum + ws.events, 0);
  if (total !== before) { before = total; lastChange = Date.now(); }
  else if (total && Date.now() - lastChange > 3000) break;
}
const cpu = process.cpuUsage(cpuStart);
const result = JSON.stringify({
  received: sockets.reduce((sum, ws) => sum + Math.min(ws.events, expected), 0),
  duplicated: sockets.reduce((sum, ws) => sum + Math.max(0, ws.events - expected), 0),
  latencies, last_event_at: lastEventAt, cpu: (cpu.user + cpu.system) / 1e6,
});
for (const ws of sockets) ws.terminate();
process.stdout.write(result + "\n", () => process.exit(0)); // a pipe is written asynchronously
