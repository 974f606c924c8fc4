#!/usr/bin/env bash
# The play loop against the engine as it stood when issue 17 was filed (commit 6f27fd3: fp32, 4
# MaskGIT rounds, the key/value history restacked every frame), each in its own tree with its own
# bench, alternately: this machine's speed drifts from minute to minute, so only neighbours compare.
# Needs the git history; writes a temporary worktree and stdout only.
set -euo pipefail
cd "$(dirname "$0")/../.."
FILED=$(mktemp -d)
git worktree add --detach "$FILED" 6f27fd3 >/dev/null 2>&1
trap 'git worktree remove --force "$FILED"' EXIT
for round in 1 2 3; do
  echo "--- as filed (6f27fd3)"
  (cd "$FILED" && python -m genie_core.tools.bench --checkpoint checkpoints/coinrun --ticks 100 --uncached-ticks 2 \
    | grep -E '^(ticks_per_s|matmul_gflops) ')
  echo "--- now"
  python -m genie_core.tools.bench --checkpoint checkpoints/coinrun --ticks 100 --uncached-ticks 2 \
    | grep -E '^(ticks_per_s|baseline_ticks_per_s|speedup_over_baseline|matmul_gflops) '
done
