"""What every command line shares: a parser whose usage errors are one line, and flag types that
check their range, so a bad value is refused in one line (exit code 2) before any work starts.

    main.py, python -m genie_core.data / .train / .tools.*  ->  OneLineParser + these types
"""
from __future__ import annotations

import argparse
import math
from typing import Callable

# Play keeps keys/values of every context frame in one buffer allocated up front, so a slip of the
# keyboard (--context 100000) would ask for gigabytes; models here train on 8 to 16 frames.
MAX_CONTEXT = 1024
MAX_THREADS = 1024


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr (`error: ...`) and exit code 2, without
    the usage block; the parsers add_subparsers makes are of this class too."""

    def error(self, message: str):  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def whole(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """Flag type: a whole number from low to high (no upper bound when high is None)."""
    span = f">= {low}" if high is None else f"from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {span}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected a whole number {span}, got {value}")
        return value

    return parse


def number(low: float | None = None, high: float | None = None, *, above: bool = False,
           below: bool = False) -> Callable[[str], float]:
    """Flag type: a finite number >= low (> low when `above`) and <= high (< high when `below`);
    None leaves that end open."""
    bounds = [f"{'>' if above else '>='} {low:g}" if low is not None else "",
              f"{'<' if below else '<='} {high:g}" if high is not None else ""]
    span = " and ".join(b for b in bounds if b)
    wanted = f"a finite number {span}".rstrip()

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        too_low = low is not None and (value <= low if above else value < low)
        too_high = high is not None and (value >= high if below else value > high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    return parse


def on_off(text: str) -> bool:
    """Flag type for switches given as on/off (e.g. --reuse-patches off)."""
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")
    return text == "on"


def fsq_levels(text: str) -> tuple[int, ...]:
    """Flag type: FSQ levels per code dimension, e.g. 8,8,8,5,5 (each 2 to 64, at most 65,536 codes)."""
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected levels like 8,8,8,5,5, got {text!r}") from None
    if not levels or not all(2 <= level <= 64 for level in levels) or math.prod(levels) > 65536:
        raise argparse.ArgumentTypeError(f"expected 2 to 64 levels per dimension and at most 65,536 codes, got {text!r}")
    return levels


seed = whole(0, 2**32 - 1)  # numpy and torch both take it; a negative seed means nothing
context_frames = whole(1, MAX_CONTEXT)
threads = whole(1, MAX_THREADS)
