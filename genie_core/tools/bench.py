"""python -m genie_core.tools.bench --checkpoint DIR [--json OUT] [--ticks N] [--steps N] [--device auto] [--threads N]

Times the play loop exactly as the player runs it: `load_world`, `reset(start image)`, then
`world.step(action)` per tick (MaskGIT rounds, the cache update and decoding to pixels), with
actions cycling 0..7. Every timed tick runs with a full context window (steady state, as in a
long play session). Beside it, in the same run: the uncached reference engine driven the same
way (the cache's speedup), tick rate at context 4 and 16, FLOPs per tick against a plain fp32
matmul on the same device and threads (how far the small shapes are from peak), and peak memory.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import CheckpointError
from ..cli import OneLineParser, context_frames, threads, whole
from ..decoding import add_decode_flags, decode_flags_given
from ..device import add_device_flags
from ..files import check_writable
from ..imaging import load_image
from ..loading import load_world
from ..world import World
from . import print_and_save
from .timing import (
    ACTION_CYCLE,
    cpu_name,
    current_rss_mb,
    flops_per_tick,
    matmul_gflops,
    peak_memory,
    time_uncached_ticks,
    time_world_ticks,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def synthetic_image(size: int) -> np.ndarray:
    """A deterministic platformer-like scene: sky gradient, ground, a block and a player square."""
    y, x = np.mgrid[0:size, 0:size]
    image = np.stack((40 + 80 * y // size, 90 + 100 * y // size, 200 + 0 * y), axis=-1)
    image[y >= size * 3 // 4] = (110, 70, 30)
    image[(y >= size // 2) & (y < size * 3 // 4) & (x >= size * 5 // 8) & (x < size * 7 // 8)] = (150, 150, 150)
    s = max(1, size // 8)
    image[size * 3 // 4 - s:size * 3 // 4, size // 4:size // 4 + s] = (230, 40, 40)
    return image.astype(np.uint8)


def start_image(path: str | None, size: int) -> tuple[np.ndarray, str]:
    """--image, else the first PNG in assets/, else the synthetic scene; returns (image, source)."""
    if path is None:
        pngs = sorted(ASSETS.glob("*.png")) if ASSETS.is_dir() else []
        if not pngs:
            return synthetic_image(size), "synthetic"
        path = str(pngs[0])
    return load_image(path, size)[0], path


def config_sizes(world: World) -> dict:
    """The checkpoint's sizes that set the cost of a tick."""
    tok, dyn = world.models.tokenizer.config, world.models.dynamics.config
    models = (world.models.tokenizer, world.models.lam, world.models.dynamics)
    params = sum(p.numel() for m in models for p in m.parameters())
    return {"image_size": tok.image_size, "tokens_per_frame": tok.tokens_per_frame, "num_codes": tok.num_codes,
            "tokenizer_dim": tok.dim, "decoder_depth": tok.decoder_depth, "dynamics_dim": dyn.dim,
            "dynamics_depth": dyn.depth, "heads": dyn.heads, "num_actions": dyn.num_actions,
            "params_m": round(params / 1e6, 3)}


# v5's first settings (fp32, 4 MaskGIT rounds) on today's engine, which speeds it up too: the ratio is
# what the shipped settings add. Against the engine as it was before the speed work: docs/speed/against_filed.py.
BASELINE = {"precision": "fp32", "rounds": 4, "engine": "this one"}


@torch.inference_mode()
def benchmark(checkpoint: str, ticks: int = 100, device: str = "auto", image: str | None = None,
              context: int = 16, threads: int | None = None, uncached_ticks: int | None = None,
              decode: dict | None = None, precision: str = "auto") -> dict:
    """Every number of the benchmark, measured in one run; raises CheckpointError / ValueError.
    decode: decoding settings to change from the checkpoint's (see load_world).
    Beside the play loop as shipped, the baseline: the same engine in fp32 at 4 MaskGIT rounds."""
    counts = (ticks, context) + tuple(n for n in (threads, uncached_ticks) if n is not None)
    if min(counts) < 1:
        raise ValueError("--ticks, --context, --threads and --uncached-ticks must be at least 1")
    if threads is not None:
        torch.set_num_threads(threads)
    world = load_world(checkpoint, device, context=context, decode=decode, precision=precision)
    baseline = load_world(checkpoint, device, context=context, precision=BASELINE["precision"])
    baseline.change_settings(rounds=BASELINE["rounds"])
    dev = next(world.models.dynamics.parameters()).device
    frame, source = start_image(image, world.image_size)
    # Interleaved halves, so a neighbour's load on a shared machine hits both alike.
    halves = [(time_world_ticks(world, frame, -(-ticks // 2)), time_world_ticks(baseline, frame, -(-ticks // 2)))
              for _ in range(2)]
    tick_s = np.concatenate([h[0] for h in halves])
    baseline_s = np.concatenate([h[1] for h in halves])
    flops = flops_per_tick(world)
    per_context = {size: tick_s if size == context else
                   time_world_ticks(World(world.models, world.settings, size, seed=world.seed), frame, ticks)
                   for size in (4, 16)}
    uncached_s = time_uncached_ticks(world, frame, uncached_ticks or max(3, ticks // 10))  # ~10x slower
    results = {
        "checkpoint": checkpoint, "image": source, "device": str(dev), "threads": torch.get_num_threads(),
        "cpu": cpu_name(), "torch": torch.__version__, "context": context,
        "precision": str(next(world.models.dynamics.parameters()).dtype).removeprefix("torch."),
        "decoding": dataclasses.asdict(world.settings), "ticks": ticks,
        "ticks_per_s": round(1 / tick_s.mean(), 2),
        "tick_ms_p50": round(float(np.percentile(tick_s, 50)) * 1e3, 3),
        "tick_ms_p99": round(float(np.percentile(tick_s, 99)) * 1e3, 3),
        "baseline": BASELINE,
        "baseline_ticks_per_s": round(1 / baseline_s.mean(), 2),
        "speedup_over_baseline": round(baseline_s.mean() / tick_s.mean(), 2),
        "uncached_tick_ms": round(uncached_s * 1e3, 3),
        "cache_speedup": round(uncached_s / tick_s.mean(), 2),
        "ticks_per_s_context_4": round(1 / per_context[4].mean(), 2),
        "ticks_per_s_context_16": round(1 / per_context[16].mean(), 2),
        "mflops_per_tick": round(flops / 1e6, 3),
        "gflops_achieved": round(flops / tick_s.mean() / 1e9, 3),
        "matmul_gflops": round(matmul_gflops(dev), 2),
        **peak_memory(dev),
        "config": config_sizes(world),
    }
    if dev.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(dev)
    return results


@torch.inference_mode()
def soak(checkpoint: str, ticks: int, device: str = "auto", image: str | None = None, threads: int | None = None,
         decode: dict | None = None, precision: str = "auto", block: int = 1000,
         probe: int = 20) -> dict:
    """A long session: per block of ticks, its tick time, resident memory, and `probe` more ticks
    of the long session against as many of a fresh one started just then (same models, full
    context): on a shared machine wall time swings with the neighbours from minute to minute, but
    two runs a moment apart see the same machine, so their ratio shows whether long play slows down."""
    if threads is not None:
        torch.set_num_threads(threads)
    world = load_world(checkpoint, device, decode=decode, precision=precision)
    fresh = World(world.models, world.settings, world.context, seed=world.seed)
    frame, _ = start_image(image, world.image_size)
    world.reset(frame)
    blocks = []
    for start in range(0, ticks, block):
        began = time.perf_counter()
        for action in range(start, min(ticks, start + block)):
            world.step(action % ACTION_CYCLE % world.num_actions)
        count = min(ticks, start + block) - start
        tick_ms = (time.perf_counter() - began) / count * 1e3
        long_ms, fresh_ms = (float(np.median(time_world_ticks(w, frame, probe, reset=w is fresh))) * 1e3
                             for w in (world, fresh))
        blocks.append({"end": start + count, "tick_ms": round(tick_ms, 3), "rss_mb": current_rss_mb(),
                       "long_against_fresh": round(long_ms / fresh_ms, 3)})
    first, last = blocks[0], blocks[-1]
    return {"soak_ticks": ticks, "soak_blocks": blocks,
            "soak_tick_ms_change": round(last["tick_ms"] / first["tick_ms"] - 1, 4),
            "soak_long_against_fresh_last": last["long_against_fresh"],
            "soak_rss_mb_change": round(last["rss_mb"] / first["rss_mb"] - 1, 4)}


def format_table(results: dict) -> str:
    """One "key  value" line per result, the config sizes on one line."""
    rows = [(k, v) for k, v in results.items() if k not in ("config", "soak_blocks") and v is not None]
    if "config" in results:
        rows.append(("config", ", ".join(f"{k}={v}" for k, v in results["config"].items())))
    rows += [(f"ticks to {b['end']}", f"{b['tick_ms']} ms/tick, {b['rss_mb']} MB, {b['long_against_fresh']}x a fresh "
              f"session's tick just after") for b in results.get("soak_blocks", [])]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m genie_core.tools.bench", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--json", help="also write the results here (atomically)")
    p.add_argument("--ticks", type=whole(1), default=100, help="timed ticks (default 100)")
    p.add_argument("--context", type=context_frames, default=16, help="frames of context, as the player's (default 16)")
    p.add_argument("--uncached-ticks", type=whole(1), help="timed ticks of the uncached engine (default ticks/10)")
    p.add_argument("--image", help="start image (default: first PNG in assets/, else a synthetic scene)")
    add_device_flags(p)
    p.add_argument("--soak", type=whole(1), metavar="TICKS",
                   help="instead: play this many ticks (e.g. 10000) and report tick time and memory per 1,000")
    p.add_argument("--threads", type=threads, help="torch.set_num_threads (default: torch's own choice)")
    add_decode_flags(p)
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)  # before the timing, not after
        if args.image:
            load_image(args.image, 16)  # decodes the whole file: missing, folder, non-image, truncated
        results = (soak(args.checkpoint, args.soak, args.device, args.image, args.threads, decode=decode_flags_given(args),
                        precision=args.precision)
                   if args.soak else
                   benchmark(args.checkpoint, args.ticks, args.device, args.image, args.context,
                             args.threads, args.uncached_ticks, decode=decode_flags_given(args), precision=args.precision))
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_and_save(format_table(results), results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
