#!/usr/bin/env bash
# Reference telemetry v2 (#34): ../shared/corpus plus seeded families from `qroute gen` that
# fill the regions the corpus leaves empty, timed on every built-in backend circuit by
# circuit, with the host's calibration in every row. Resumable: rerun the same command and
# attempts already recorded are skipped. Run it alone on the machine (no build, no benchmark
# beside it); stop a part at any moment with Ctrl-C (or `timeout -s INT 40m …`): the attempt
# in flight finishes, the rows are flushed and the folder compacted.
#
#   telemetry/reference-v2/sweep.sh [QROUTE]     # from the repository root
#
# The generated circuits go to target/reference-v2/generated/ (not committed: the same
# command writes the same files, so a rerun finds its jobs by circuit id). Their family is the
# file name up to the first size field (gen_random, gen_qaoa_graph, …), their source
# `generated`.
set -euo pipefail
q=${1:-${CARGO_TARGET_DIR:-target}/release/qroute}
gen=target/reference-v2/generated
mkdir -p "$gen"
g() { # kind qubits depth-or-empty
  local name="gen_${1//-/_}_n$2${3:+_d$3}"
  "$q" gen "$1" -n "$2" ${3:+-d "$3"} -s "$2" -o "$gen/$name.qasm"
}
# Deep, narrow, long-range: random gates on shuffled qubit groups.
for n in 8 12 16 18 20; do for d in 20 100 400; do g random "$n" "$d"; done; done
# Wide and shallow: brickwork of random u3 and cx.
for n in 24 40 64 100; do for d in 2 4 8; do g brickwork "$n" "$d"; done; done
# QAOA on random degree-3 graphs (long-range rzz).
for n in 10 14 18 22 26; do for d in 1 3; do g qaoa-graph "$n" "$d"; done; done
# Clifford+T: the depth is the T count.
for n in 12 20 30 50; do for d in 4 16 64; do g clifford-t "$n" "$d"; done; done
# Arithmetic with many ancillas (VBE ripple-carry adder).
for n in 10 19 31 46 64; do g adder "$n"; done
# Mid-circuit measurement and reset.
for n in 6 10 14 18; do for d in 2 6; do g dynamic "$n" "$d"; done; done
# Hardware-efficient ansatz, linear entanglement.
for n in 8 16 24; do for d in 2 8; do g hea "$n" "$d"; done; done

"$q" collect ../shared/corpus "$gen" \
  --config telemetry/reference/collect.toml \
  --backends all --repeat 3 --repeat-long 2 --shots 1024 --timeout 20 --threads 1 \
  --seed 1 --order by-circuit --calibrate-every 300 \
  --out telemetry/reference-v2
