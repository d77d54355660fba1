#!/usr/bin/env bash
# Idle and peak RSS of a loop consumer (`redis-keda consume --concurrency 100`, no-op handler):
# idle = VmRSS after 3 s with no events; peak = VmHWM (the kernel's high-water mark) after a
# burst of N events (default 50000) pushed at once, once the list is drained.
# Usage: scripts/consumer-rss.sh <compiled cli.js> [events]   (needs redis-server, redis-cli, bc;
# NODE_FLAGS="--max-semi-space-size=2" passes flags to node)
set -euo pipefail
CLI=$1; EVENTS=${2:-50000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" --daemonize no >"$DIR/redis.log" 2>&1 &
REDIS=$!
trap 'kill $CONSUMER 2>/dev/null || true; kill $REDIS 2>/dev/null || true; rm -rf "$DIR"' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.05; done
LIST_NAME=rss REDIS_URL=redis://127.0.0.1:$PORT LOG_LEVEL=warn node $NODE_FLAGS "$CLI" consume --concurrency 100 --handler "$ROOT/bench/handlers/noop.js" --metrics-port 0 2>"$DIR/consumer.log" &
CONSUMER=$!
sleep 3
IDLE=$(awk '/VmRSS/ {print $2}' /proc/$CONSUMER/status)
python3 - "$PORT" "$EVENTS" <<'PY'
import socket, sys, json
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(('127.0.0.1', port))
def cmd(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out
buf = b''.join(cmd('LPUSH', 'rss', *[json.dumps({'id': 'e%d-%d' % (i, j), 'wait': 0}) for j in range(1000)]) for i in range(n // 1000))
s.sendall(buf)
got = 0; data = b''
while got < n // 1000:
    data += s.recv(65536); got = data.count(b'\r\n')
PY
until [ "$(redis-cli -p "$PORT" llen rss)" = 0 ] && [ "$(redis-cli -p "$PORT" zcard rss:inflight 2>/dev/null || echo 0)" = 0 ]; do sleep 0.1; done
PEAK=$(awk '/VmHWM/ {print $2}' /proc/$CONSUMER/status)
echo "{\"idleRssMb\": $(echo "scale=1; $IDLE/1024" | bc), \"peakRssMb\": $(echo "scale=1; $PEAK/1024" | bc), \"events\": $EVENTS}"
