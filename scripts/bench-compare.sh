#!/usr/bin/env bash
# Old code against new, interleaved: checks REF (default main) out into a temporary git worktree
# (npm ci --prefer-offline there), then runs `npm run -s bench:queue` and `npm run -s bench:celery`
# alternately in the old and the new tree (this one), RUNS times each (default 5), and prints the
# median of every ratio and RSS figure of each side, and new/old. Each run's JSON is kept in OUT.
# Usage: scripts/bench-compare.sh [REF] [RUNS] [OUT]   (benches: BENCHES="queue celery")
set -euo pipefail
NEW=$(cd "$(dirname "$0")/.." && pwd)
REF=${1:-main}; RUNS=${2:-5}; OUT=${3:-$(mktemp -d)}
BENCHES=${BENCHES:-queue celery}
OLD=$(mktemp -d)/old
mkdir -p "$OUT"
git -C "$NEW" worktree add --detach "$OLD" "$REF" >/dev/null
trap 'git -C "$NEW" worktree remove --force "$OLD" >/dev/null 2>&1 || true' EXIT
(cd "$OLD" && npm ci --no-audit --no-fund --prefer-offline >/dev/null 2>&1)
# BullMQ (the queue benchmark's reference) is installed on first use into .bench/: share it.
if [ -d "$NEW/.bench" ]; then ln -s "$NEW/.bench" "$OLD/.bench"; fi
echo "comparing $REF ($(git -C "$OLD" rev-parse --short HEAD)) with $(git -C "$NEW" rev-parse --short HEAD) (+ working tree), $RUNS runs each, in $OUT" >&2
for i in $(seq 1 "$RUNS"); do
  for bench in $BENCHES; do
    for side in old new; do
      dir=$OLD; [ "$side" = new ] && dir=$NEW
      echo "run $i $bench $side: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      (cd "$dir" && npm run -s "bench:$bench" >"$OUT/$bench-$side-$i.json" 2>"$OUT/$bench-$side-$i.log") || echo "run $i $bench $side failed (see $OUT/$bench-$side-$i.log)" >&2
    done
  done
done
node "$NEW/scripts/bench-summary.js" "$OUT"
