// Benchmark handler for `redis-keda consume --handler`: does nothing, so what is measured is the queue.
module.exports = async function noop() {};
