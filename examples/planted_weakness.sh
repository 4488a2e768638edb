#!/usr/bin/env bash
# Does the diagnosis find the weakness we planted?  For each planted group and seed: synth,
# train a baseline with the synthetic preset, diagnose with default options, and print the rank
# of the planted group (for a composite such as hands: the worse rank of its two halves).
# Usage: bash examples/planted_weakness.sh [WORKDIR] ["hands right_leg head"] ["0 1 2"]
set -euo pipefail
work=${1:-/tmp/tdf-planted}
groups=${2:-"hands right_leg head"}
seeds=${3:-"0 1 2"}
mkdir -p "$work"
printf '| planted group | seed | rank | recommended | fine-class accuracy |\n|---|---|---|---|---|\n'
for g in $groups; do
  for s in $seeds; do
    d="$work/$g-$s"
    tdf --quiet data synth "$d.h5" --weak-group "$g" --seed "$s" --force
    tdf --quiet train "$d.h5" --out "$d-run" --preset synthetic --seed "$s" --force
    tdf --quiet --json diagnose "$d-run" --out "$d-diag" --seed "$s" --render none --force > "$d-diag.json"
    python - "$d-diag/diagnosis.json" "$d.h5" "$g" "$s" <<'PY'
import json, sys
from tdf.data.layout import COMPOSITES
from tdf.data.store import open_store
diag = json.load(open(sys.argv[1])); g, s = sys.argv[3], sys.argv[4]
fine = open_store(sys.argv[2]).json_attr("fine_classes")
ranks = {r["name"]: r["rank"] for r in diag["groups"]}
rank = max(ranks[p] for p in COMPOSITES.get(g, (g,)))
m = json.load(open(diag["run"] + "/metrics.json"))["per_class_accuracy"]
fine_acc = sum(m[c] for c in fine) / len(fine)
print(f"| {g} | {s} | {rank} | {','.join(diag['recommended_groups'])} | {fine_acc:.2f} |")
PY
  done
done
