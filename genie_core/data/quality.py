"""Quality filter for imported video, in the spirit of the Genie paper's data curation (Sec. 3):
keep footage that shows something moving, and never let an episode span a discontinuity.

It works on frames already resampled to the target rate and size, one stream at a time, and
yields the frames it keeps with SPLIT markers between the stretches that must not be joined:
  - black or blank frames (one flat colour, almost no pixel standing out) are dropped and split
    the stream,
  - static stretches (nothing moves for `static_seconds` or more) are dropped and split it,
    keeping the first frame of the stretch; shorter pauses are kept, since standing still is
    part of play,
  - hard scene cuts (the picture and its colours change at once) split it; no frame is dropped,
  - unreadable frames (a `None` from the decoder, e.g. a broken image in a folder) are dropped
    and split it.
Exact duplicate episodes (the same footage imported twice) are caught by the importer.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

SPLIT = "split"  # marker between stretches that must not end up in one episode


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds on uint8 frames; the defaults suit 64x64 game footage."""
    flat_delta: int = 24  # a pixel "stands out" if a channel differs from the frame's median by more
    flat_fraction: float = 0.002  # fewer standing-out pixels: a flat frame (8 of 64x64; a sprite is more)
    black_luma: float = 24.0  # a flat frame this dark is "black", otherwise "blank"
    still_pixel_delta: int = 12  # a pixel "changed" if a channel moved by more than this
    still_fraction: float = 0.001  # fewer changed pixels than this fraction: nothing moved
    static_seconds: float = 2.0  # this long without motion: a static stretch, dropped
    cut_mean_delta: float = 20.0  # a cut needs this mean absolute pixel change ...
    cut_histogram: float = 0.25  # ... and this colour-histogram distance (0..1): scrolling is no cut


def luma(frame: np.ndarray) -> np.ndarray:
    return np.asarray(frame, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """8 bins per channel, each channel normalised to sum 1: shape (3, 8)."""
    bins = (frame.reshape(-1, 3) >> 5).astype(np.int64) + np.arange(3) * 8
    return np.bincount(bins.ravel(), minlength=24).reshape(3, 8) / (frame.shape[0] * frame.shape[1])


def classify_frame(frame: np.ndarray, config: QualityConfig) -> str | None:
    """'black', 'blank' or None for a usable frame. Flatness rather than mean brightness, so a
    dark level or a lone sprite on a plain sky (both real CoinRun frames) is not dropped."""
    median = np.median(frame.reshape(-1, 3), axis=0)
    standing_out = np.abs(frame.astype(np.int16) - median.astype(np.int16)).max(axis=-1) > config.flat_delta
    if standing_out.mean() >= config.flat_fraction:
        return None
    return "black" if luma(median) < config.black_luma else "blank"


def is_still(frame: np.ndarray, previous: np.ndarray, config: QualityConfig) -> bool:
    delta = np.abs(frame.astype(np.int16) - previous).max(axis=-1)
    return (delta > config.still_pixel_delta).mean() < config.still_fraction


def is_cut(frame: np.ndarray, previous: np.ndarray, config: QualityConfig) -> bool:
    mean_delta = np.abs(frame.astype(np.int16) - previous).mean()
    if mean_delta < config.cut_mean_delta:
        return False
    distance = 0.5 * np.abs(colour_histogram(frame) - colour_histogram(previous)).sum(axis=1).mean()
    return distance >= config.cut_histogram


def filter_frames(frames: Iterable[np.ndarray | None], fps: float, config: QualityConfig,
                  counts: Counter) -> Iterator[np.ndarray | str]:
    """Kept frames, with SPLIT between stretches that must not be joined; drops go to `counts`
    ('black', 'blank', 'static', 'unreadable' frames and 'cuts')."""
    static_frames = max(1, round(config.static_seconds * fps))
    previous = None  # last usable frame seen, kept or not: motion and cuts are judged against it
    stills: list[np.ndarray] = []  # a run of still frames not yet known to be a static stretch
    in_static = False
    for frame in frames:
        reason = "unreadable" if frame is None else classify_frame(frame, config)
        if reason is not None:
            counts[reason] += 1
            yield from stills  # a short pause before the bad frame is still good footage
            stills, in_static, previous = [], False, None
            yield SPLIT
            continue
        if previous is not None and is_still(frame, previous, config):
            previous = frame
            if in_static:
                counts["static"] += 1
                continue
            stills.append(frame)
            if len(stills) >= static_frames:
                counts["static"] += len(stills)
                stills, in_static = [], True
            continue
        if in_static:
            in_static = False
            yield SPLIT
        yield from stills
        stills = []
        if previous is not None and is_cut(frame, previous, config):
            counts["cuts"] += 1
            yield SPLIT
        previous = frame
        yield frame
    yield from stills
