"""The player's tick numbers: how long the recent frames took to make and how often they arrive."""
from __future__ import annotations

import collections

import numpy as np

from play.recorder import frame_seconds


class TickStats:
    """The recent ticks' generation times and arrival times: the HUD's numbers and a GIF frame's time."""

    def __init__(self, fps_cap: float):
        self.fps_cap = fps_cap  # --fps: at most this many ticks a second (0: no cap)
        self.seconds: collections.deque[float] = collections.deque(maxlen=16)
        self.arrivals: collections.deque[float] = collections.deque(maxlen=64)

    def add(self, seconds: float, arrived_at: float) -> None:
        self.seconds.append(seconds)
        self.arrivals.append(arrived_at)

    def median_s(self) -> float | None:
        """Median generation time of the recent ticks; None before the first."""
        return float(np.median(self.seconds)) if self.seconds else None

    def period_s(self) -> float:
        """The tick period (generation time or the --fps cap, the longer): a GIF frame's time."""
        return frame_seconds(self.seconds, self.fps_cap)

    def rate(self, now: float) -> float:
        """Frames arrived per second over the last 2 s; 0 when fewer than two, or none for 1 s."""
        recent = [t for t in self.arrivals if now - t <= 2.0]
        if len(recent) < 2 or now - recent[-1] > 1.0:
            return 0.0
        return (len(recent) - 1) / (recent[-1] - recent[0])
