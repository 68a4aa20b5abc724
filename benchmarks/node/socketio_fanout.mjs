// Socket.IO's fan-out on this machine, under the load of benchmarks/fanout.py:
// N clients (socket.io-client, WebSocket transport) in one room, events
// published at a paced rate from another process through Redis
// (@socket.io/redis-emitter -> @socket.io/redis-adapter), 1 or more server
// processes. Prints the same lines as fanout.py.
//
//   REDIS_URL=redis://… node socketio_fanout.mjs --clients 1000 --rate 100 --seconds 10 [--servers 2 --client-procs 2]
//
// (python -m config.devstack exec sets REDIS_URL to the embedded Redis.)
import { fork } from "node:child_process";
import { createServer } from "node:http";
import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const role = process.env.BENCH_ROLE || "main";

function redisOptions() {
  const url = process.env.REDIS_URL || "redis://127.0.0.1:6379/0";
  return url.startsWith("unix://") ? { socket: { path: url.slice("unix://".length).split("?")[0] } } : { url };
}

function cpuSeconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function procCpu(pid) {
  // user + system seconds of another process, from /proc (Linux)
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function server() {
  const { Server } = await import("socket.io");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pub = createClient(redisOptions());
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub), transports: ["websocket"] });
  io.on("connection", (socket) => socket.join("bench"));
  http.listen(Number(process.env.PORT), "127.0.0.1", () => process.send("listening"));
}

async function publisher() {
  const { Emitter } = await import("@socket.io/redis-emitter");
  const { createClient } = await import("redis");
  const client = createClient(redisOptions());
  await client.connect();
  const emitter = new Emitter(client);
  process.send("ready");
  process.once("message", async ({ rate, count }) => {
    const start = performance.now();
    for (let seq = 0; seq < count; seq++) {
      const wait = start + (seq * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      emitter.to("bench").emit("announcement", { text: JSON.stringify({ s: seq, t: Date.now() / 1000 }) });
    }
    process.send("done");
  });
}

async function clients() {
  const { io } = await import("socket.io-client");
  const { port, count, expected, sample } = JSON.parse(process.env.BENCH_ARGS);
  const latencies = [];
  let lastEventAt = 0;
  const sockets = [];
  const started = performance.now();
  for (let i = 0; i < count; i += 100) {
    const wave = [];
    for (let j = i; j < Math.min(count, i + 100); j++) {
      wave.push(new Promise((resolve, reject) => {
        const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false, forceNew: true });
        socket.events = 0;
        socket.on("announcement", (data) => {
          socket.events += 1;
          lastEventAt = Date.now() / 1000;
          if (socket.events % sample === 0) latencies.push(Date.now() / 1000 - JSON.parse(data.text).t);
        });
        socket.once("connect", () => resolve(socket));
        socket.once("connect_error", reject);
      }));
    }
    sockets.push(...(await Promise.all(wave)));
  }
  process.send({ connected: (performance.now() - started) / 1000 });
  await new Promise((resolve) => process.once("message", resolve));
  const cpuStart = cpuSeconds();
  let before = 0, lastChange = Date.now();
  while (sockets.some((socket) => socket.events < expected)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const total = sockets.reduce((sum, socket) => sum + socket.events, 0);
    if (total !== before) { before = total; lastChange = Date.now(); }
    else if (total && Date.now() - lastChange > 3000) break;
  }
  process.send({
    received: sockets.reduce((sum, socket) => sum + Math.min(socket.events, expected), 0),
    duplicated: sockets.reduce((sum, socket) => sum + Math.max(0, socket.events - expected), 0),
    latencies, lastEventAt, cpu: cpuSeconds() - cpuStart,
  });
  for (const socket of sockets) socket.disconnect();
  setTimeout(() => process.exit(0), 200);
}

function child(roleName, env = {}) {
  return fork(new URL(import.meta.url).pathname, [], { env: { ...process.env, BENCH_ROLE: roleName, ...env } });
}

const once = (proc) => new Promise((resolve) => proc.once("message", resolve));

async function main() {
  const { values } = parseArgs({ options: {
    clients: { type: "string", default: "1000" }, rate: { type: "string", default: "100" },
    seconds: { type: "string", default: "5" }, servers: { type: "string", default: "1" },
    "client-procs": { type: "string", default: "1" }, sample: { type: "string", default: "10" },
  } });
  const [nClients, rate, seconds, nServers, nProcs, sample] =
    ["clients", "rate", "seconds", "servers", "client-procs", "sample"].map((k) => Number(values[k]));
  const expected = rate * seconds;
  const servers = [];
  for (let i = 0; i < nServers; i++) {
    const proc = child("server", { PORT: String(18300 + i) });
    await once(proc);
    servers.push(proc);
  }
  const memBefore = servers.map((s) => Number(readFileSync(`/proc/${s.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]));
  const perProc = Math.floor(nClients / nProcs);
  const procs = [];
  for (let i = 0; i < nProcs; i++) {
    procs.push(child("clients", { BENCH_ARGS: JSON.stringify({ port: 18300 + (i % nServers), count: perProc, expected, sample }) }));
  }
  const connected = await Promise.all(procs.map(once));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const memAfter = servers.map((s) => Number(readFileSync(`/proc/${s.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)[1]));
  const pub = child("publisher");
  await once(pub);
  const serverCpu = servers.map((s) => procCpu(s.pid));
  const t0 = Date.now() / 1000;
  const results = procs.map(once);
  for (const proc of procs) proc.send("go");
  pub.send({ rate, count: expected });
  const done = await Promise.all(results);
  const serverSpent = servers.reduce((sum, s, i) => sum + procCpu(s.pid) - serverCpu[i], 0);
  const received = done.reduce((sum, r) => sum + r.received, 0);
  const duplicated = done.reduce((sum, r) => sum + r.duplicated, 0);
  const elapsed = Math.max(...done.map((r) => r.lastEventAt)) - t0;
  const latencies = done.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const clientCpu = done.reduce((sum, r) => sum + r.cpu, 0);
  const total = perProc * nProcs;
  console.log(`Socket.IO ${JSON.parse(readFileSync(new URL("node_modules/socket.io/package.json", import.meta.url))).version} fan-out: ` +
    `${total} clients, 1 room, ${rate} events/s for ${seconds} s, ${nServers} server process(es), ${nProcs} client process(es)`);
  console.log(`machine: ${cpus().length} cores, Node ${process.version}`);
  console.log(`connect: ${Math.max(...connected.map((c) => c.connected)).toFixed(2)} s for ${total} sockets`);
  console.log(`delivered: ${received} of ${total * expected} in ${elapsed.toFixed(2)} s -> ` +
    `${Math.round(received / elapsed).toLocaleString("en")} deliveries/s; lost ${total * expected - received}, duplicated ${duplicated}`);
  if (latencies.length) {
    console.log(`latency publish->receive: p50 ${(latencies[Math.floor(latencies.length / 2)] * 1000).toFixed(1)} ms, ` +
      `p99 ${(latencies[Math.floor(latencies.length * 0.99) - 1] * 1000).toFixed(1)} ms`);
  }
  console.log(`CPU during delivery: servers ${serverSpent.toFixed(2)} s (${(serverSpent / received * 1e6).toFixed(1)} µs per delivery), ` +
    `clients ${clientCpu.toFixed(2)} s (${(clientCpu / received * 1e6).toFixed(1)} µs per delivery)`);
  const perConn = memAfter.reduce((a, b) => a + b, 0) - memBefore.reduce((a, b) => a + b, 0);
  console.log(`server memory per idle connection: ${(perConn / total).toFixed(1)} KiB`);
  for (const proc of [...servers, pub, ...procs]) proc.kill();
  process.exit(0);
}

({ main, server, publisher, clients })[role]();
