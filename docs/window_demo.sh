#!/usr/bin/env bash
# A minute in a real window (Xvfb), keys held with xdotool as a player would: four rounds of
# Right 6 s, Space 1.5 s, Right 3 s, Left 3 s, Space 1.5 s (60 s), at the default --fps 15.
# Usage: docs/window_demo.sh CHECKPOINT OUT.gif [IMAGE]. Needs Xvfb and xdotool (apt-get install xvfb xdotool).
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKPOINT=$1 OUT=$2 IMAGE=${3:-assets/coinrun_level1000000.png}
Xvfb :98 -screen 0 1024x768x24 >/dev/null 2>&1 &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true' EXIT
sleep 2
export DISPLAY=:98
python main.py --image "$IMAGE" --checkpoint "$CHECKPOINT" --record "$OUT" --record-scale 2 &
GAME=$!
window=$(xdotool search --sync --onlyvisible --class "" 2>/dev/null | head -1)
xdotool windowfocus --sync "$window" 2>/dev/null || true
sleep 3  # the first frame
hold() { xdotool keydown "$1"; sleep "$2"; xdotool keyup "$1"; }
for round in 1 2 3 4; do
  hold Right 6; hold space 1.5; hold Right 3; hold Left 3; hold space 1.5
done
xdotool key Escape
wait $GAME
