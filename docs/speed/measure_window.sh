#!/usr/bin/env bash
# The window against the benchmark, back to back (this machine's speed drifts from minute to minute,
# so only figures measured close together compare): bench, window, window --threads 1, twice over.
# Needs Xvfb (apt-get install xvfb); writes nothing but stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
Xvfb :99 -screen 0 1024x768x24 >/dev/null 2>&1 &
XVFB=$!
trap 'kill $XVFB' EXIT
sleep 2
IMAGE=assets/coinrun_level1000000.png
for round in 1 2; do
  python -m genie_core.tools.bench --checkpoint checkpoints/coinrun --ticks 100 --uncached-ticks 2 \
    | grep -E '^(ticks_per_s|baseline_ticks_per_s|speedup_over_baseline|matmul_gflops) '
  echo -n "threads 2: "; DISPLAY=:99 python main.py --image $IMAGE --fps 0 --measure 20 | tail -1
  echo -n "threads 1: "; DISPLAY=:99 python main.py --image $IMAGE --fps 0 --measure 20 --threads 1 | tail -1
done
