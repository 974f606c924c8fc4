"""Training windows from episode files (see clips.py for the format), read lazily.

Why memory maps: episodes are stored uncompressed inside their .npz, so each `frames` array
is mapped straight from the file and a window costs one copy of its bytes from the page cache;
nothing is decoded and the set never has to fit in memory. Compressed files work too: they are
decompressed whole into a small LRU cache, which is slower when windows come from many files.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Iterator, Literal, Sequence

import numpy as np

from .clips import ClipFormatError, EpisodeHeader, LruCache, read_frames, read_header


@dataclass
class ClipBatch:
    """A batch of windows; actions[:, t] is the action between frames[:, t] and frames[:, t+1]."""
    frames: np.ndarray  # (B, T, H, W, 3) uint8
    actions: np.ndarray  # (B, T-1) int64, -1 where the episode has no actions
    episode_ids: np.ndarray | None = None  # (B,) index into the sampler's episodes (for token caches)
    starts: np.ndarray | None = None  # (B,) first frame of each window within its episode


class ClipSampler:
    """Windows of `window` consecutive frames from a list of episode files.

    `sample` draws uniformly over all window starts of all episodes (long episodes are not
    under-sampled); `iter_windows` walks every episode in order for evaluation. Episodes shorter
    than the window are skipped and counted (`num_short`). Unreadable files raise ClipFormatError
    with `on_error="raise"`, or are skipped and listed in `bad`, each with a one-line note on stderr
    ("note: skipping FILE: reason") unless `on_error="quiet"`.
    """

    def __init__(self, paths: Sequence[str], window: int = 16, on_error: Literal["skip", "quiet", "raise"] = "skip",
                 cache_mb: int = 512, max_open_maps: int = 1024):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if on_error not in ("skip", "quiet", "raise"):
            raise ValueError(f"on_error must be 'skip', 'quiet' or 'raise', got {on_error!r}")
        self.window = window
        self.bad: list[str] = []  # one line per skipped file
        self.episodes: list[EpisodeHeader] = []
        for path in paths:
            try:
                header = read_header(path)
                if self.episodes and (header.height, header.width) != self.frame_size:
                    height, width = self.frame_size
                    raise ClipFormatError(f"{path}: frames are {header.height}x{header.width}, but "
                                          f"{self.episodes[0].path} set the size {height}x{width}")
            except ClipFormatError as error:
                if on_error == "raise":
                    raise
                if on_error == "skip":  # a plain line: a warning would add a source line and its number
                    print(f"note: skipping {error}", file=sys.stderr)
                self.bad.append(str(error))
                continue
            self.episodes.append(header)
        lengths = np.array([h.num_frames for h in self.episodes], dtype=np.int64)
        self.num_frames = int(lengths.sum())
        self.num_short = int((lengths < window).sum())
        self._starts = np.maximum(lengths - window + 1, 0)  # window starts per episode
        self._cum_starts = np.cumsum(self._starts)
        self.num_windows = int(self._cum_starts[-1]) if len(lengths) else 0
        if self.num_windows == 0:
            first = f": {self.bad[0]}" if self.bad and on_error == "quiet" else ""
            raise ValueError(f"no usable episode with at least {window} frames among {len(paths)} files "
                             f"({len(self.bad)} unreadable, {self.num_short} too short){first}")
        self._maps = LruCache(max_open_maps)  # path -> np.memmap, cost 1 each (bounded open maps)
        self._decoded = LruCache(cache_mb * 2**20)  # path -> decompressed frames, cost in bytes

    def __getstate__(self) -> dict:
        """Pickle (e.g. into DataLoader workers) without the open memory maps and cached frames."""
        state = dict(self.__dict__)
        state["_maps"], state["_decoded"] = LruCache(self._maps.max_cost), LruCache(self._decoded.max_cost)
        return state

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.episodes[0].height, self.episodes[0].width

    def describe(self) -> str:
        """One line: what was indexed and what was skipped."""
        h, w = self.frame_size
        return (f"{len(self.episodes) - self.num_short} episodes ({self.num_frames} frames, {h}x{w}), "
                f"{self.num_windows} windows of {self.window}; skipped {self.num_short} shorter than "
                f"{self.window} frames and {len(self.bad)} unreadable")

    def _frames(self, index: int) -> np.ndarray:
        header = self.episodes[index]
        if header.frames_offset is not None:
            return self._maps.get_or_load(header.path, lambda: read_frames(header), lambda _: 1)
        return self._decoded.get_or_load(header.path, lambda: read_frames(header), lambda a: a.nbytes)

    def _fill(self, episode_ids: np.ndarray, starts: np.ndarray, window: int) -> ClipBatch:
        h, w = self.frame_size
        frames = np.empty((len(starts), window, h, w, 3), np.uint8)  # (B, T, H, W, 3)
        actions = np.full((len(starts), window - 1), -1, np.int64)  # (B, T-1)
        for row, (index, start) in enumerate(zip(episode_ids.tolist(), starts.tolist())):
            frames[row] = self._frames(index)[start:start + window]
            episode_actions = self.episodes[index].actions
            if episode_actions is not None:
                actions[row] = episode_actions[start:start + window - 1]
        return ClipBatch(frames, actions, np.asarray(episode_ids), np.asarray(starts))

    def sample(self, batch_size: int, rng: np.random.Generator) -> ClipBatch:
        """`batch_size` windows drawn uniformly (with replacement) over all window starts."""
        picks = rng.integers(0, self.num_windows, size=batch_size)
        episode_ids = np.searchsorted(self._cum_starts, picks, side="right")
        starts = picks - (self._cum_starts[episode_ids] - self._starts[episode_ids])
        return self._fill(episode_ids, starts, self.window)

    def iter_windows(self, window: int | None = None, stride: int | None = None,
                     batch_size: int = 16) -> Iterator[ClipBatch]:
        """Every window (default: this sampler's window, stride = window) of every long-enough
        episode, in file order then time order, in batches of up to `batch_size`."""
        window = window or self.window
        stride = stride or window
        if window < 1 or stride < 1 or batch_size < 1:
            raise ValueError("window, stride and batch_size must be >= 1")
        episode_ids, starts = [], []
        for index, header in enumerate(self.episodes):
            for start in range(0, header.num_frames - window + 1, stride):
                episode_ids.append(index)
                starts.append(start)
                if len(starts) == batch_size:
                    yield self._fill(np.array(episode_ids), np.array(starts), window)
                    episode_ids, starts = [], []
        if starts:
            yield self._fill(np.array(episode_ids), np.array(starts), window)
