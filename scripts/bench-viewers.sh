#!/usr/bin/env bash
# Benchmark: what a room of viewers costs the dashboard (issue 6). Starts a practice
# cluster (the `parallel` scenario) and the dashboard as separate processes, then
# end2end/bench/viewers.mjs scales to 3, 100 and 1,000 pods and prints, for 1, 50 and
# 200 open streams: dashboard CPU idle and with one pod change per second, RSS, bytes
# per stream for one single-pod change, and the page's lag behind `kubectl get pods -w`.
#
#   bash scripts/bench-viewers.sh
#
# Environment: STSLAB_BIN / STSLAB_SITE_ROOT measure another build of the dashboard
# (e.g. an older revision's, for a before/after comparison); BENCH_PODS, BENCH_STREAMS,
# BENCH_CHANGES change the sizes (defaults 3,100,1000 / 1,50,200 / 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if [ -z "${STSLAB_BIN:-}" ]; then
  bash scripts/build-site.sh
fi
cargo build --release -q -p practice-cluster
BIN=${STSLAB_BIN:-$PWD/target/release/stslab}
SITE=${STSLAB_SITE_ROOT:-$PWD/target/site}
WORK=$PWD/target/bench-viewers
rm -rf "$WORK"; mkdir -p "$WORK"

# The practice cluster in its own process, so the dashboard's figures are its own.
# Parallel, so that 1,000 pods start in seconds.
target/release/practice-cluster --listen 127.0.0.1:16500 --scenario parallel \
  --kubeconfig "$WORK/kubeconfig" >"$WORK/cluster.log" 2>&1 &
CLUSTER_PID=$!
for _ in $(seq 1 120); do
  [ -s "$WORK/kubeconfig" ] && break
  sleep 0.5
done
LEPTOS_SITE_ROOT=$SITE "$BIN" --kubeconfig "$WORK/kubeconfig" --listen 127.0.0.1:3400 --state-dir "$WORK/state" \
  --statefulset web >"$WORK/dashboard.log" 2>&1 &
DASHBOARD_PID=$!
trap 'kill $DASHBOARD_PID $CLUSTER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs -o /dev/null http://127.0.0.1:3400/ && break
  sleep 0.5
done

echo "dashboard: $BIN ($(cd "$(dirname "$BIN")" && git rev-parse --short HEAD 2>/dev/null || echo '?')); $(nproc) cores"
(cd end2end && BENCH_PID=$DASHBOARD_PID BENCH_DASHBOARD=http://127.0.0.1:3400 KUBECONFIG="$WORK/kubeconfig" \
  node bench/viewers.mjs)
