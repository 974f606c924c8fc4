"""Where and in which precision the models run: the one place that chooses either.

Play runs the tokenizer and the dynamics model in bf16 where the hardware has native bf16 (CUDA,
or a CPU with AVX-512 BF16 or AMX), else in fp32; logits, the quantiser and everything sampled
from stay fp32. `--precision` overrides the choice.
"""
from __future__ import annotations

import argparse
import ctypes
import functools
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Imported inside the functions: main.py declares these flags before torch is loaded, so a typo
# in a flag fails in a fraction of a second.
PRECISIONS = ("fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs that multiply bf16 natively


def pick_device(name: str = "auto") -> torch.device:
    """auto: CUDA when present, else CPU."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is available")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:  # not Linux: no way to tell, so no bf16 by default
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def pick_precision(name: str, device: torch.device) -> torch.dtype:
    """auto: bf16 on CUDA with bf16 support or on a CPU with native bf16, else fp32."""
    import torch

    if name in PRECISIONS:
        return {"fp32": torch.float32, "bf16": torch.bfloat16}[name]
    if name != "auto":
        raise ValueError(f"unknown precision {name!r}; use auto, fp32 or bf16")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters (malloc.h)


@functools.lru_cache(maxsize=1)
def keep_freed_memory(limit_bytes: int = 1 << 27) -> bool:
    """Let glibc malloc reuse freed blocks of up to limit_bytes instead of returning them to the
    system. A tick makes and frees hundreds of 128 KB - 1 MB tensors; by default each is a fresh
    mmap whose pages fault in on first touch (measured: 890 page faults and ~2 ms of kernel time per
    tick, 140 and 0.5 ms with this; peak memory grows by what one tick frees). No-op off glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, limit_bytes) and libc.mallopt(M_TRIM_THRESHOLD, limit_bytes))
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False


def add_device_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the model runs; auto picks CUDA when present")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), default="auto",
                        help="number format of the tokenizer and dynamics networks; auto: bf16 where the "
                             "hardware has native bf16 (CUDA, AVX-512 BF16 or AMX CPUs), else fp32")
