#!/usr/bin/env bash
# From a folder of raw NTU RGB+D .skeleton files to the full loop.
# Usage: bash examples/ntu_pipeline.sh RAW_DIR [WORKDIR]
#   RAW_DIR: e.g. the unpacked nturgbd_skeletons_s001_to_s017 (NTU-60), or the 61-file sample
#            folder ntu60-sample (too small to learn from: it shows the commands end to end)
set -euo pipefail
raw=${1:?usage: ntu_pipeline.sh RAW_DIR [WORKDIR]}
work=${2:-/tmp/tdf-ntu}
mkdir -p "$work"

# convert (parallel, skips the official missing-skeleton samples, reports malformed files)
tdf --json data prepare "$raw" "$work/ntu60.h5" --benchmark ntu60 --workers "$(nproc)" --force > "$work/prepare.json"
python -c "import json,sys; s=json.load(open(sys.argv[1])); print(f\"converted {s['converted']}, missing {s['skipped_missing']}, malformed {s['skipped_malformed']}\")" "$work/prepare.json" 2>/dev/null || cat "$work/prepare.json"
tdf data info "$work/ntu60.h5"

# Choose the split: the paper's cross-subject split when this store has both of its sides, else
# cross-view, else a random split; say which and why. A folder holding only some performers or
# cameras (like the sample folder) has no xsub test side.
tdf --json data info "$work/ntu60.h5" > "$work/info.json"
split=$(python - "$work/info.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
usable = {k: v for k, v in doc["splits"].items() if v["train"] and v["test"]}
for name in ("xsub", "xview", "random"):
    if name in usable:
        s = usable[name]
        print(f"using split {name} ({s['train']} train / {s['val']} val / {s['test']} test samples)",
              file=sys.stderr)
        for skipped in ("xsub", "xview"):
            if skipped == name:
                break
            print(f"  not {skipped}: {doc['unusable_splits'].get(skipped, 'unusable')}", file=sys.stderr)
        if name in doc.get("split_notes", {}):
            print(f"  note: {doc['split_notes'][name]}", file=sys.stderr)
        if doc["samples"] < 1000:
            print(f"  note: {doc['samples']} samples are far too few to learn 60 classes: the loop runs, "
                  "but its numbers mean nothing (and the diagnosis may refuse to rank)", file=sys.stderr)
        print(name)
        break
else:
    print("ntu_pipeline.sh: no split of this store has both a training and a test side: the loop "
          "needs samples of the xsub training performers and of the others (or of cameras 2/3 and "
          "camera 1, or at least two samples of some class for a random split); reasons: "
          + "; ".join(f"{k}: {v}" for k, v in doc["unusable_splits"].items()), file=sys.stderr)
    sys.exit(2)
PY
)

# the paper's settings; on a GPU box add nothing, on several GPUs add --distribute mirrored.
tdf loop "$work/ntu60.h5" --out "$work/loop" --preset paper --split "$split" --force
