#!/usr/bin/env bash
# The four families `qroute gen` gained for #34's empty regions (clifford-t, qaoa-graph,
# dynamic, adder), none of them in ../shared/corpus or the reference telemetry: timed on every
# built-in backend (telemetry v2, with the host's calibration), then `qroute eval` of the
# shipped model set on them — circuits the models never saw.
#
#   experiments/unseen-v2/coverage.sh QROUTE OUTDIR
#
# Writes OUTDIR/circuits/ (deterministic: the same command gives the same files),
# OUTDIR/telemetry/ and prints the evaluation.
set -euo pipefail
q=$1; out=$2
c="$out/circuits/coverage"
mkdir -p "$c"
for n in 16 24; do
  for d in 4 24; do
    "$q" gen clifford-t -n "$n" -d "$d" -s "$n" -o "$c/gen_clifford_t_n${n}_d${d}.qasm"
  done
done
for n in 12 16 20; do
  "$q" gen qaoa-graph -n "$n" -d 2 -s "$n" -o "$c/gen_qaoa_graph_n${n}_d2.qasm"
done
for n in 8 12 16; do
  "$q" gen dynamic -n "$n" -d 4 -s "$n" -o "$c/gen_dynamic_n${n}_d4.qasm"
done
for n in 10 19 31 46; do
  "$q" gen adder -n "$n" -s "$n" -o "$c/gen_adder_n${n}.qasm"
done
"$q" collect "$c" --backends all --repeat 1 --timeout 5 --threads 1 --seed 1 --out "$out/telemetry"
"$q" eval --traces "$out/telemetry" --model models/default --worst 10
