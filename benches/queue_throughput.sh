#!/usr/bin/env bash
# Jobs per second through Redis Streams for trivial circuits, with 1, 2 and 4 workers
# (apt-get install redis-server). Bounded: JOBS jobs per worker count.
#
#   bash benches/queue_throughput.sh [JOBS] [WORKER_COUNTS...]
#
# Builds the release binary, starts its own redis-server on a free loopback port, writes JOBS
# Bell-pair circuits, and for each worker count starts that many `qroute worker`s (one job at
# a time each) and times `qroute run --redis` over the circuits (routing, enqueueing, the
# workers' executor round trips, results). Prints jobs/s per worker count.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-500}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 2 4)
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 2; }
cargo build --release --quiet
# Mesa's Vulkan loader (the local GPU backend's probe) wants a runtime directory.
[ -n "${XDG_RUNTIME_DIR:-}" ] || { XDG_RUNTIME_DIR=$(mktemp -d); export XDG_RUNTIME_DIR; }
exe=${CARGO_TARGET_DIR:-target}/release/qroute
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  --logfile redis.log --daemonize no &
pids+=($!)
url=redis://127.0.0.1:$port
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.05
done

mkdir -p "$work/circuits"
for i in $(seq "$jobs"); do
  printf 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nrz(%s) q[1];\nmeasure q -> c;\n' \
    "0.$i" > "$work/circuits/bell_$i.qasm"
done

for n in "${counts[@]}"; do
  prefix=bench$n
  wpids=()
  for w in $(seq "$n"); do
    "$exe" worker --redis "$url" --queue-prefix "$prefix" --backends all --name "w$w" \
      --telemetry "$work/telemetry-$n-$w" 2> "$work/worker-$n-$w.log" &
    wpids+=($!)
    pids+=($!)
  done
  # Wait until every worker heartbeats.
  for _ in $(seq 200); do
    live=$("$exe" queue status --redis "$url" --queue-prefix "$prefix" --json |
      python3 -c 'import json,sys; print(len(json.load(sys.stdin)["workers"]))')
    [ "$live" -ge "$n" ] && break
    sleep 0.1
  done
  start=$(date +%s.%N)
  "$exe" run --redis "$url" --queue-prefix "$prefix" --in-flight 64 --json \
    --telemetry "$work/router" "$work/circuits" > "$work/run-$n.json"
  end=$(date +%s.%N)
  python3 - "$n" "$jobs" "$start" "$end" "$work/run-$n.json" <<'PY'
import json, sys
n, jobs, start, end, path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
reports = json.load(open(path))["jobs"]
ok = sum(1 for r in reports if any(a["status"] == "ok" for a in r["attempts"]))
secs = end - start
print(f"{n} worker(s): {jobs} jobs in {secs:.2f} s = {jobs / secs:.0f} jobs/s ({ok} ok)")
PY
  for p in "${wpids[@]}"; do kill -TERM "$p"; done
  for p in "${wpids[@]}"; do wait "$p" || true; done
done
