#!/usr/bin/env bash
# From a folder of raw NTU RGB+D .skeleton files to the full loop.
# Usage: bash examples/ntu_pipeline.sh RAW_DIR [WORKDIR]
#   RAW_DIR: e.g. the unpacked nturgbd_skeletons_s001_to_s017 (NTU-60), or ../shared/data/ntu60-sample
set -euo pipefail
raw=${1:?usage: ntu_pipeline.sh RAW_DIR [WORKDIR]}
work=${2:-/tmp/tdf-ntu}
mkdir -p "$work"

# convert (parallel, skips the official missing-skeleton samples, reports malformed files)
tdf --json data prepare "$raw" "$work/ntu60.h5" --benchmark ntu60 --workers "$(nproc)" --force > "$work/prepare.json"
python -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"converted {s['converted']}, missing {s['skipped_missing']}, malformed {s['skipped_malformed']}\")" "$work/prepare.json" 2>/dev/null || cat "$work/prepare.json"
tdf data info "$work/ntu60.h5"

# the paper's settings on the cross-subject split; on a GPU box add nothing, on several GPUs add
# --distribute mirrored.  (A small sample folder is too small to learn from: this shows the commands.)
tdf loop "$work/ntu60.h5" --out "$work/loop" --preset paper --split xsub --force
