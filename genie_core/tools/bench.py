"""python -m genie_core.tools.bench --checkpoint DIR [--json OUT] [--ticks N] [--steps N] [--device auto] [--threads N]

Times the play loop exactly as the player runs it: `load_world`, `reset(start image)`, then
`world.step(action)` per tick (MaskGIT rounds, the cache update and decoding to pixels), with
actions cycling 0..7. Every timed tick runs with a full context window (steady state, as in a
long play session). Beside it, in the same run: the uncached reference engine driven the same
way (the cache's speedup), tick rate at context 4 and 16, FLOPs per tick against a plain fp32
matmul on the same device and threads (how far the small shapes are from peak), and peak memory.
"""
from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from ..checkpoint import CheckpointError
from ..cli import DEVICES, OneLineParser, context_frames, threads, whole
from ..decoding import add_decode_flags
from ..files import check_writable
from ..imaging import load_image
from ..loading import load_world
from ..world import Rollout, World
from . import print_and_save

ASSETS = Path(__file__).resolve().parents[1] / "assets"
ACTION_CYCLE = 8  # actions 0..7, wrapped to the checkpoint's action count
# CPU attention runs as one fused op that FlopCounterMode does not know; count it like the GPU kernels.
CPU_SDPA_FLOPS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
                  lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v)}


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


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown"


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_world_ticks(world: World, image: np.ndarray, ticks: int) -> np.ndarray:
    """Seconds per `world.step`, after filling the context window with untimed ticks."""
    world.reset(image)
    action = 0
    for _ in range(world.context):
        world.step(action % world.num_actions)
        action = (action + 1) % ACTION_CYCLE
    seconds = []
    for _ in range(ticks):
        begin = time.perf_counter()
        world.step(action % world.num_actions)  # returns a numpy frame: the device is synced
        seconds.append(time.perf_counter() - begin)
        action = (action + 1) % ACTION_CYCLE
    return np.array(seconds)


def time_uncached_ticks(world: World, image: np.ndarray, ticks: int) -> float:
    """Mean seconds per tick of Rollout(cached=False), same context/steps/actions, full context."""
    models = world.models
    rollout = Rollout(models.tokenizer, models.dynamics, world.settings, world.context, cached=False)
    generator = torch.Generator().manual_seed(world.seed)
    rollout.start(torch.from_numpy(image)[None])

    def tick(action: int) -> None:
        frame = rollout.next_frame(torch.tensor([action % world.num_actions]), generator)
        frame[0].cpu().numpy()
        rollout.trim(world.context)  # a cache-less player recomputes its whole context window each round

    for action in range(world.context):
        tick(action % ACTION_CYCLE)
    begin = time.perf_counter()
    for action in range(ticks):
        tick(action % ACTION_CYCLE)
    return (time.perf_counter() - begin) / ticks


def flops_per_tick(world: World) -> int:
    """FLOPs of one more `world.step` (the world must already be running), counted by torch."""
    with FlopCounterMode(display=False, custom_mapping=CPU_SDPA_FLOPS) as counter:
        world.step(0)
    return counter.get_total_flops()


def matmul_gflops(device: torch.device, n: int = 512, seconds: float = 0.3) -> float:
    """Achieved GFLOP/s of a plain fp32 n x n matmul: the ceiling the model's shapes are held against."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    count, begin = 0, time.perf_counter()
    while time.perf_counter() - begin < seconds:
        for _ in range(10):
            a @ b
        count += 10
        sync(device)
    return 2 * n ** 3 * count / (time.perf_counter() - begin) / 1e9


def peak_memory(device: torch.device) -> dict:
    """Process max RSS in MB (Linux reports KB, macOS bytes), plus the CUDA allocator peak on GPU."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 2 ** 20 if sys.platform == "darwin" else rss / 2 ** 10
    gpu_mb = torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else None
    return {"peak_memory_mb": round(rss_mb, 1), "gpu_peak_memory_mb": gpu_mb and round(gpu_mb, 1)}


def config_sizes(world: World) -> dict:
    """The checkpoint's sizes that set the cost of a tick."""
    tok, dyn = world.models.tokenizer.config, world.models.dynamics.config
    models = (world.models.tokenizer, world.models.lam, world.models.dynamics)
    params = sum(p.numel() for m in models for p in m.parameters())
    return {"image_size": tok.image_size, "tokens_per_frame": tok.tokens_per_frame, "num_codes": tok.num_codes,
            "tokenizer_dim": tok.dim, "decoder_depth": tok.decoder_depth, "dynamics_dim": dyn.dim,
            "dynamics_depth": dyn.depth, "heads": dyn.heads, "num_actions": dyn.num_actions,
            "params_m": round(params / 1e6, 3)}


@torch.inference_mode()
def benchmark(checkpoint: str, ticks: int = 100, device: str = "auto", image: str | None = None,
              context: int = 16, threads: int | None = None, uncached_ticks: int | None = None,
              flags: argparse.Namespace | None = None) -> dict:
    """Every number of the benchmark, measured in one run; raises CheckpointError / ValueError.
    flags: decoding flags (genie_core.decoding); the checkpoint's settings where not given."""
    counts = (ticks, context) + tuple(n for n in (threads, uncached_ticks) if n is not None)
    if min(counts) < 1:
        raise ValueError("--ticks, --context, --threads and --uncached-ticks must be at least 1")
    if threads is not None:
        torch.set_num_threads(threads)
    world = load_world(checkpoint, device, context=context, flags=flags)
    dev = next(world.models.dynamics.parameters()).device
    frame, source = start_image(image, world.image_size)
    tick_s = time_world_ticks(world, frame, ticks)
    flops = flops_per_tick(world)
    per_context = {size: tick_s if size == context else
                   time_world_ticks(World(world.models, world.settings, size, seed=world.seed), frame, ticks)
                   for size in (4, 16)}
    uncached_s = time_uncached_ticks(world, frame, uncached_ticks or max(3, ticks // 10))  # ~10x slower
    results = {
        "checkpoint": checkpoint, "image": source, "device": str(dev), "threads": torch.get_num_threads(),
        "cpu": cpu_name(), "torch": torch.__version__, "context": context,
        "decoding": dataclasses.asdict(world.settings), "ticks": ticks,
        "ticks_per_s": round(1 / tick_s.mean(), 2),
        "tick_ms_p50": round(float(np.percentile(tick_s, 50)) * 1e3, 3),
        "tick_ms_p99": round(float(np.percentile(tick_s, 99)) * 1e3, 3),
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


def format_table(results: dict) -> str:
    """One "key  value" line per result, the config sizes on one line."""
    rows = [(k, v) for k, v in results.items() if k != "config" and v is not None]
    rows.append(("config", ", ".join(f"{k}={v}" for k, v in results["config"].items())))
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
    p.add_argument("--device", default="auto", choices=DEVICES)
    p.add_argument("--threads", type=threads, help="torch.set_num_threads (default: torch's own choice)")
    add_decode_flags(p)
    args = p.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, make_folders=True)  # before the timing, not after
        if args.image:
            load_image(args.image, 16)  # decodes the whole file: missing, folder, non-image, truncated
        results = benchmark(args.checkpoint, args.ticks, args.device, args.image, args.context,
                            args.threads, args.uncached_ticks, flags=args)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_and_save(format_table(results), results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
