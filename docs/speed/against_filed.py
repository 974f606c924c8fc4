"""The play loop against the engine as it was before the speed work, finely interleaved.

    python docs/speed/against_filed.py [--rounds 20] [--ticks 40] [--commit 6f27fd3]

Two worker processes, one per tree (the engine as it was at --commit, in a temporary git worktree,
and this one), each load their own checkpoints/coinrun the way the player does (the old one:
fp32, its 4 MaskGIT rounds; this one: the shipped defaults), start from the same asset and fill
their context. Then they take turns running --ticks ticks (actions cycling 0..7), round after
round, so both see the same minute of this machine, whose speed drifts: the ratio of each
round's neighbours is the figure, their median the summary. Prints, writes nothing else.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Its own timing loop, not tools.timing: the old tree has no way to time a world that is already running.
WORKER = """
import sys, time
from genie_core.imaging import load_image
from genie_core.loading import load_world
world = load_world("checkpoints/coinrun", "cpu")
world.reset(load_image("assets/coinrun_level1000000.png", world.image_size)[0])
for action in range(world.context):
    world.step(action % 8)
print(world.settings.steps, flush=True)
action = 0
for line in sys.stdin:
    begin = time.perf_counter()
    for _ in range(int(line)):
        world.step(action % 8)
        action += 1
    print(time.perf_counter() - begin, flush=True)
"""


def start(tree: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER], cwd=tree, env={"PYTHONPATH": str(tree)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=40)
    parser.add_argument("--commit", default="6f27fd3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        filed = Path(scratch) / "filed"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(filed), args.commit],
                       check=True, capture_output=True)
        try:
            workers = {"as filed": start(filed), "now": start(ROOT)}
            steps = {name: w.stdout.readline().strip() for name, w in workers.items()}
            rates = {name: [] for name in workers}
            for _ in range(args.rounds):
                for name, worker in workers.items():
                    worker.stdin.write(f"{args.ticks}\n")
                    worker.stdin.flush()
                    rates[name].append(args.ticks / float(worker.stdout.readline()))
            for worker in workers.values():
                worker.stdin.close()
                worker.wait()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(filed)],
                           capture_output=True, check=False)  # best effort: the folder goes with the temp dir
    ratios = [now / old for now, old in zip(rates["now"], rates["as filed"])]
    for name in workers:
        print(f"{name:9} ({steps[name]} rounds) ticks/s per round: " + " ".join(f"{r:.1f}" for r in rates[name]))
    print("ratio per round: " + " ".join(f"{r:.2f}" for r in ratios))
    print(f"median ratio {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f}) over "
          f"{args.rounds} rounds of {args.ticks} ticks; median ticks/s now {statistics.median(rates['now']):.1f}, "
          f"as filed {statistics.median(rates['as filed']):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
