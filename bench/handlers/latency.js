/**
 * Benchmark handler for `redis-keda consume --handler`: RPUSHes the event's end-to-end latency in
 * ms (`Date.now() - enqueuedAt`, taken as the handler starts) to the list BENCH_LATENCY_KEY on
 * REDIS_URL, so the benchmark reads every sample exactly afterwards.
 */
const Redis = require('ioredis');

let client;

module.exports = async function recordLatency(event) {
  const latencyMs = Date.now() - event.enqueuedAt;
  client = client || new Redis(process.env.REDIS_URL, { protocol: 2, maxRetriesPerRequest: 1, connectionName: 'bench-latency' });
  await client.rpush(process.env.BENCH_LATENCY_KEY, latencyMs);
};
