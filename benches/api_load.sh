#!/usr/bin/env bash
# Load test of `qroute serve` on 127.0.0.1 with wrk (apt-get install wrk): POST /v1/route with a
# feature body and with a 1k-gate OpenQASM body. Bounded: 10 s per body by default.
#
#   bash benches/api_load.sh [SECONDS] [CONNECTIONS] [THREADS]
#
# Builds the release binary, starts it on a free port, prints wrk's req/s and latency
# percentiles for each body, then the same with the router's prediction cache off, and stops
# the server.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
threads=${3:-1}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
cargo build --release --quiet
exe=${CARGO_TARGET_DIR:-target}/release/qroute
work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# Bodies: the features of datasets/demo/qft_16.qasm, and a generated 1k-gate circuit.
"$exe" features --format json datasets/demo/qft_16.qasm | python3 -c '
import json, sys
print(json.dumps({"features": json.load(sys.stdin)[0]["features"]}))' > "$work/features.json"
"$exe" gen random --qubits 12 --depth 125 --seed 1 -o "$work/r1k.qasm"
python3 -c '
import json, sys
print(json.dumps({"qasm": open(sys.argv[1]).read()}))' "$work/r1k.qasm" > "$work/qasm.json"

# Routing only: no job workers (and so no telemetry writer). Run twice: as shipped, and with
# the prediction cache off, which is what a request for a circuit the server has not seen
# costs (the load repeats one body, so with the cache every request after the first finds
# its predictions kept).
printf '[router]\nprediction_cache = 0\n' > "$work/nocache.toml"
start() {
  [ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
  "$exe" serve --addr 127.0.0.1:0 --job-workers 0 "$@" 2> "$work/serve.log" &
  pid=$!
  addr=
  for _ in $(seq 100); do
    addr=$(sed -n 's|^qroute serving on http://\([^ ]*\).*|\1|p' "$work/serve.log")
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$work/serve.log" >&2; exit 1; }
}

load() {
  local body=$1 label=$2
  cat > "$work/$body.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/$body.json", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  io.write(string.format("$label: %.0f req/s, p50 %.3f ms, p99 %.3f ms, errors %d non-2xx %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA
  wrk -t "$threads" -c "$conns" -d "${secs}s" -s "$work/$body.lua" "http://$addr/v1/route" | tail -1
}

start
load features "features"
load qasm "qasm"
start --config "$work/nocache.toml"
load features "features, prediction cache off"
load qasm "qasm, prediction cache off"
