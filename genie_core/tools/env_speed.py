"""python -m genie_core.tools.env_speed --checkpoint DIR [--worlds 1,8,16] [--steps 60] [--json OUT]

Steps per second of the Gymnasium environments (genie_core/envs.py): GenieEnv for one world and
GenieVectorEnv for N worlds stepped in one batched pass, random actions, after a warm-up of a
full context window (steady state, as in a long episode). A step of N worlds counts N steps.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ..checkpoint import CheckpointError
from ..cli import OneLineParser, whole
from ..device import add_device_flags
from ..files import check_writable
from ..loading import load_models
from . import print_and_save


def steps_per_second(env, num_envs: int, steps: int, warmup: int, rng: np.random.Generator) -> float:
    """World steps per second over `steps` batched steps, after `warmup` untimed ones."""
    env.reset(seed=0)
    n = env.action_space.nvec[0] if num_envs > 1 else env.action_space.n

    def actions():
        return rng.integers(0, n, num_envs) if num_envs > 1 else int(rng.integers(0, n))

    for _ in range(warmup):
        env.step(actions())
    started = time.perf_counter()
    for _ in range(steps):
        env.step(actions())
    return num_envs * steps / (time.perf_counter() - started)


def main(argv=None) -> int:
    from ..envs import GenieEnv, GenieVectorEnv
    from ..world import World

    p = OneLineParser(prog="python -m genie_core.tools.env_speed", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder")
    p.add_argument("--worlds", default="1,8,16", help="comma-separated numbers of worlds (default 1,8,16)")
    p.add_argument("--steps", type=whole(1), default=60, help="timed steps per size (default 60)")
    p.add_argument("--json", help="write the numbers here")
    add_device_flags(p)
    args = p.parse_args(argv)
    try:
        sizes = [int(w) for w in args.worlds.split(",")]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"--worlds wants positive numbers, got {args.worlds!r}")
        if args.json:
            check_writable(args.json, make_folders=True)
        models = load_models(args.checkpoint, args.device, args.precision)
        warmup = models.dynamics.config.max_frames
        rates = {}
        for n in sizes:
            env = (GenieEnv(world=World(models, models.decoding, warmup)) if n == 1 else
                   GenieVectorEnv(n, models=models, max_episode_steps=10 ** 9))
            rates[n] = steps_per_second(env, n, args.steps, warmup, np.random.default_rng(0))
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    base = rates.get(1)
    lines = [f"{'worlds':>8}{'steps/s':>10}{'vs 1':>8}"]
    lines += [f"{n:>8}{r:>10.1f}" + (f"{r / base:>7.1f}x" if base else "") for n, r in rates.items()]
    result = {"steps_per_second": rates, "checkpoint": args.checkpoint, "timed_steps": args.steps}
    print_and_save("\n".join(lines), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
