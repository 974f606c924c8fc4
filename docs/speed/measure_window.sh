#!/usr/bin/env bash
# The real window against the bare play loop: `main.py --fps 0 --measure 20` plays in a window (Xvfb)
# and runs the benchmark's loop on the same world in turns with it, so both figures meet the same
# minute of this machine, whose speed drifts; it prints the window's share of the loop. Five runs,
# two through SDL's OpenGL hand-off (what SDL picked before play/window.py asked for X11's shared
# memory; under Xvfb that is Mesa's software renderer), one with --threads 1, then the benchmark.
# Needs Xvfb (apt-get install xvfb); writes nothing but stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
Xvfb :99 -screen 0 1024x768x24 >/dev/null 2>&1 &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true' EXIT
sleep 2
IMAGE=assets/coinrun_level1000000.png
for run in 1 2 3 4 5; do
  echo -n "threads 2: "; DISPLAY=:99 python main.py --image $IMAGE --fps 0 --measure 20 | tail -1
done
for run in 1 2; do
  echo -n "OpenGL hand-off: "
  DISPLAY=:99 SDL_FRAMEBUFFER_ACCELERATION=1 python main.py --image $IMAGE --fps 0 --measure 20 | tail -1
done
echo -n "threads 1: "; DISPLAY=:99 python main.py --image $IMAGE --fps 0 --measure 20 --threads 1 | tail -1
python -m genie_core.tools.bench --checkpoint checkpoints/coinrun --ticks 100 --uncached-ticks 2 \
  | grep -E '^(ticks_per_s|baseline_ticks_per_s|speedup_over_baseline|matmul_gflops) '
