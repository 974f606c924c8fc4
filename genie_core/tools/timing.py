"""Timing primitives of the benchmark: ticks of a World, FLOPs, the matmul probe, memory."""
from __future__ import annotations

import math
import os
import resource
import sys
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from ..world.reference import UncachedRollout
from ..world import World

ACTION_CYCLE = 8  # actions 0..7, wrapped to the checkpoint's action count


def packed_linear_flop_count(x_shape, packed_shape, *args, out_shape=None, **kwargs) -> int:
    """oneDNN's linear on packed weights (blocks/packed.py): 2 * rows * in * out."""
    return 2 * math.prod(x_shape[:-1]) * packed_shape[0] * packed_shape[1]


# CPU attention runs as one fused op, and packed linears as oneDNN ops, that FlopCounterMode does not
# know; count them like the GPU kernels and plain matmuls.
CPU_OP_FLOPS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
                lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v),
                torch.ops.mkldnn._linear_pointwise: packed_linear_flop_count}


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


def time_world_ticks(world: World, image: np.ndarray, ticks: int, reset: bool = True) -> np.ndarray:
    """Seconds per `world.step`, after filling the context window with untimed ticks (reset=False:
    the world goes on from where it is, its context already full)."""
    action = 0
    if reset:
        world.reset(image)
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
    """Mean seconds per tick of UncachedRollout, same context/rounds/actions, full context."""
    models = world.models
    rollout = UncachedRollout.of(models, world.settings, world.context)
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
    with FlopCounterMode(display=False, custom_mapping=CPU_OP_FLOPS) as counter:
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


def current_rss_mb() -> float:
    """Resident memory now (Linux /proc; elsewhere the peak, which only grows)."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20, 1)
    except OSError:
        return peak_memory(torch.device("cpu"))["peak_memory_mb"]
