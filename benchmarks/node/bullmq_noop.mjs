// BullMQ's side of benchmarks/jobs.py: no-op jobs, concurrency 8, on the profile's Redis.
//
//   node benchmarks/node/bullmq_noop.mjs --n 20000 --rate 100 --seconds 10
//   (REDIS_URL from the launcher; benchmarks/jobs.py runs it for you)
//
// - throughput: N jobs added with addBulk (1,000 per call) while the worker is not
//   running, then one Worker (concurrency 8) drains them; jobs/s from the first job's
//   processedOn to the last job's finishedOn (both stamped by BullMQ in the job hash).
//   Completed jobs and their return values are kept (removeOnComplete: false):
//   results recorded, as ours are.
// - latency: jobs added one at a time (queue.add) at a paced rate while the worker
//   runs; enqueue -> start is processedOn - timestamp, enqueue -> finish finishedOn -
//   timestamp (ms, BullMQ's own stamps).
// The last line printed is JSON for benchmarks/jobs.py. A run takes ~20 s at the defaults.
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const BULLMQ_VERSION = require('bullmq/package.json').version;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const N = arg('n', 20000);
const RATE = arg('rate', 100);
const SECONDS = arg('seconds', 10);
const CONCURRENCY = arg('concurrency', 8);
const URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const NAME = 'bench-noop';

const connection = new IORedis(URL, { maxRetriesPerRequest: null });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function worker() {
  return new Worker(NAME, async (job) => ({ value: job.data.value }), {
    connection, concurrency: CONCURRENCY, autorun: false,
    removeOnComplete: false, removeOnFail: false,  // keep every job and its result (the default)
  });
}

async function completedJobs(queue, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while ((await queue.getCompletedCount()) < expected) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expected} completed jobs`);
    await sleep(50);
  }
  const jobs = [];
  for (let start = 0; start < expected; start += 5000) {
    jobs.push(...await queue.getJobs(['completed'], start, Math.min(expected, start + 5000) - 1, true));
  }
  return jobs;
}

async function throughput(queue) {
  await queue.obliterate({ force: true });
  const t0 = Date.now();
  for (let start = 0; start < N; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) batch.push({ name: 'noop', data: { value: i } });
    await queue.addBulk(batch);
  }
  const enqueueS = (Date.now() - t0) / 1000;
  const w = worker();
  w.run();
  const jobs = await completedJobs(queue, N, 600_000);
  await w.close();
  const first = Math.min(...jobs.map((j) => j.processedOn));
  const last = Math.max(...jobs.map((j) => j.finishedOn));
  const withResult = jobs.filter((j) => j.returnvalue && j.returnvalue.value === j.data.value).length;
  return { n: N, completed: withResult, reruns: jobs.filter((j) => j.attemptsMade > 1).length,
           enqueue_s: enqueueS, span_s: (last - first) / 1000, wall_s: (Date.now() - t0) / 1000 };
}

async function latency(queue) {
  await queue.obliterate({ force: true });
  const w = worker();
  w.run();
  await w.waitUntilReady();
  await sleep(200);
  const count = Math.round(RATE * SECONDS);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const delay = t0 + (i * 1000) / RATE - performance.now();
    if (delay > 0) await sleep(delay);
    await queue.add('noop', { value: i });
  }
  const paceS = (performance.now() - t0) / 1000;
  const jobs = await completedJobs(queue, count, 120_000);
  await w.close();
  return { count, completed: jobs.length, pace_s: paceS,
           start: jobs.map((j) => (j.processedOn - j.timestamp) / 1000),
           finish: jobs.map((j) => (j.finishedOn - j.timestamp) / 1000) };
}

const queue = new Queue(NAME, { connection });
await queue.waitUntilReady();
const tp = await throughput(queue);
console.log(`BullMQ ${BULLMQ_VERSION}: ${tp.completed} of ${tp.n} completed with results in ${tp.span_s.toFixed(2)} s`
            + ` -> ${Math.round(tp.completed / tp.span_s)} jobs/s`);
const lat = await latency(queue);
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
console.log(JSON.stringify({ name: `BullMQ ${BULLMQ_VERSION} (ioredis)`,
  config: `one Worker, concurrency ${CONCURRENCY}, addBulk x1000 then drain; removeOnComplete: false (results kept)`,
  throughput: tp, latency: lat }));
