#!/usr/bin/env bash
# Outer leave-family-out evaluation of the training criteria (#30): the 35 families of the
# telemetry split into 5 disjoint groups (seeded); per group and criterion, train on the
# other families (with their own inner cross-validation choosing modes) and score the
# held-out group once. Nothing tuned here sees the group it is scored on.
#
#   experiments/unseen-v2/outer_cv.sh QROUTE TELEMETRY OUTDIR [CRITERIA...]
set -euo pipefail
q=$1; tel=$2; out=$3; shift 3
criteria=("${@:-median-ape tail regret}")
mkdir -p "$out"
families=$("${PYTHON:-python3}" - "$tel" <<'PY'
import sys, random, glob, pyarrow.parquet as pq
fams = set()
for f in glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True):
    fams.update(x for x in pq.read_table(f, columns=["family"]).column("family").to_pylist() if x)
fams = sorted(fams)
random.Random(30).shuffle(fams)
for k in range(5):
    print(",".join(fams[k::5]))
PY
)
k=0
for group in $families; do
  for c in ${criteria[@]}; do
    d="$out/group$k-$c"
    "$q" train --telemetry "$tel" --out "$d" --mode-criterion "$c" --holdout-families "$group" >/dev/null
    line=$(sed -n '/## Held-out families/,$p' "$d/report.md" | grep -E '^\| qroute models')
    auto=$(sed -n '/## Held-out families/,$p' "$d/report.md" | grep -E '^\| prism-auto \(')
    echo "group$k $c $line"
    echo "group$k $c $auto"
  done
  k=$((k+1))
done
