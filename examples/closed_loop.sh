#!/usr/bin/env bash
# The whole loop on synthetic skeletons, step by step, as a shell pipeline:
# synth → train → diagnose → fix, passing results with --json / --format names and exit codes.
# Runs on a laptop CPU in a few minutes.  Usage: bash examples/closed_loop.sh [WORKDIR] [GROUP] [SEED]
set -euo pipefail
work=${1:-/tmp/tdf-closed-loop}
group=${2:-hands}
seed=${3:-0}
mkdir -p "$work"

tdf data synth "$work/synth.h5" --weak-group "$group" --seed "$seed" --force
tdf data info "$work/synth.h5"

# 1. train a baseline Res-TCN to convergence (early stopping on validation loss)
tdf train "$work/synth.h5" --out "$work/baseline" --preset synthetic --seed "$seed" --force

# 2. diagnose it; keep only the recommended group names for the next step
targets=$(tdf diagnose "$work/baseline" --out "$work/diagnosis" --seed "$seed" --force --format names)
if [ -z "$targets" ]; then
    echo "the diagnosis found no under-used joint group; nothing to fix" >&2
    exit 0
fi
echo "diagnosis recommends: $targets (planted: $group)" >&2

# 3. fix: an MS-Res-TCN whose Targeted Attention stream sees only those joints; prints the
#    comparison (also in $work/fixed/comparison.md and .json)
tdf fix "$work/baseline" --groups "$targets" --out "$work/fixed" --preset synthetic --seed "$seed" --force
echo "diagnosis report: $work/diagnosis/report.html" >&2
