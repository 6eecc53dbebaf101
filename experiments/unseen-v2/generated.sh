#!/usr/bin/env bash
# Families qroute never trained on (#30's "own generated families held back"): seeded
# circuits from `qroute gen` whose families are in neither ../shared/corpus nor the
# reference telemetry, timed on every built-in backend, then `qroute eval` of the shipped
# model set on them.
#
#   experiments/unseen-v2/generated.sh QROUTE OUTDIR
#
# Writes OUTDIR/circuits/ (deterministic: the same command gives the same files),
# OUTDIR/telemetry/ and prints the evaluation.
set -euo pipefail
q=$1; out=$2
c="$out/circuits/generated"
mkdir -p "$c"
for n in 10 14 18 22 26; do
  for d in $((n / 2)) $((2 * n)); do
    "$q" gen brickwork -n "$n" -d "$d" -s "$n" -o "$c/gen_brickwork_n${n}_d${d}.qasm"
  done
done
for n in 12 16 20 24; do
  for d in 4 16; do
    "$q" gen hea -n "$n" -d "$d" -s "$n" -o "$c/gen_hea_n${n}_d${d}.qasm"
  done
done
for n in 12 16 20 24 28; do
  for d in 2 8; do
    "$q" gen qaoa -n "$n" -d "$d" -s "$n" -o "$c/gen_qaoa_ring_n${n}_d${d}.qasm"
  done
done
"$q" collect "$c" --backends all --repeat 1 --timeout 10 --threads 1 --seed 1 --out "$out/telemetry"
"$q" eval --traces "$out/telemetry" --model models/default --worst 10
