"""GIF recording and PNG screenshots, written atomically (temporary file in the same folder, then rename)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from genie_core.files import OutputPathError, atomic_write, check_writable

MIN_FRAME_MS = 20  # GIF delays are in 1/100 s, and viewers slow anything under 2/100 s to 1/10 s.


def frame_seconds(tick_seconds, fps_cap: float = 0.0) -> float:
    """How long a GIF frame shows: the median generation time of the ticks, never shorter than the
    --fps cap's period (the cap's period alone before the first tick)."""
    cap = 1.0 / fps_cap if fps_cap > 0 else 0.0
    tick = float(np.median(tick_seconds)) if len(tick_seconds) else 0.0
    return max(tick, cap)


def upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour integer upscale: keeps pixels square and sharp."""
    return frame if factor == 1 else frame.repeat(factor, axis=0).repeat(factor, axis=1)


def save_png(path: str | os.PathLike, frame: np.ndarray, scale: int = 1) -> Path:
    path = Path(path)
    atomic_write(path, lambda file: Image.fromarray(upscale(frame, scale)).save(file, format="PNG"))
    return path


def timestamped_path(folder: str | os.PathLike, prefix: str, suffix: str, taken: set[Path] = frozenset()) -> Path:
    """folder/prefix-YYYYmmdd-HHMMSS.suffix, with -2, -3 ... added if that name is taken."""
    stem = f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}"
    return numbered_free_path(Path(folder) / f"{stem}{suffix}", taken)


def numbered_free_path(path: Path, taken: set[Path] = frozenset()) -> Path:
    """path if free, else path-2, path-3 ...; `taken` holds names claimed but maybe not yet written."""
    candidate, n = path, 2
    while candidate.exists() or candidate in taken:
        candidate, n = path.with_name(f"{path.stem}-{n}{path.suffix}"), n + 1
    return candidate


class GifRecorder:
    """Keeps the shown frames in memory (64x64 frames are cheap) and writes one GIF at save()."""

    def __init__(self, path: str | os.PathLike, scale: int = 4) -> None:
        self.path = Path(path)
        self.scale = scale
        self.frames: list[np.ndarray] = []
        self.durations_ms: list[int] = []
        self.started_at = time.perf_counter()

    def add(self, frame: np.ndarray, seconds: float) -> None:
        """Append a frame that stays on screen for `seconds` in the GIF."""
        self.frames.append(frame.copy())
        self.durations_ms.append(max(MIN_FRAME_MS, round(seconds * 1000)))

    def _gif_frame(self, frame: np.ndarray) -> Image.Image:
        # Quantise at model size, then upscale the palette image: 16x less work than quantising the
        # upscaled frame, and fast octree keeps a minute of recording to about a second of saving.
        palette_image = Image.fromarray(frame).quantize(256, Image.Quantize.FASTOCTREE)
        size = (frame.shape[1] * self.scale, frame.shape[0] * self.scale)
        return palette_image.resize(size, Image.Resampling.NEAREST)

    def save(self) -> Path:
        """Write the GIF (loops forever). Pillow merges identical consecutive frames, summing delays."""
        if not self.frames:
            raise ValueError(f"{self.path}: nothing recorded")
        images = [self._gif_frame(f) for f in self.frames]

        def write(file) -> None:
            images[0].save(file, format="GIF", save_all=True, append_images=images[1:],
                           duration=self.durations_ms, loop=0)

        atomic_write(self.path, write)
        return self.path


class SessionFiles:
    """Names and writes one play session's GIFs and screenshots.

    `--record OUT.gif` names the first GIF (overwritten, atomically); later ones are OUT-2.gif,
    OUT-3.gif ...; without it, genie-YYYYmmdd-HHMMSS.gif in output_dir. Screenshots go beside
    the record path, else in output_dir. GIFs stopped mid-play are written on a thread, so a long
    recording never stalls the window; close() writes the rest and waits for all of them.
    """

    def __init__(self, record_path: str | None, output_dir: str, record_scale: int,
                 notify: Callable[[str], None]) -> None:
        self.record_path = Path(record_path) if record_path else None
        self.folder = self.record_path.parent if self.record_path else Path(output_dir)
        self.record_scale, self.notify = record_scale, notify
        self.recorder: GifRecorder | None = None
        self.saved: list[Path] = []
        self.errors: list[str] = []
        self._claimed: set[Path] = set()  # names given out, some maybe still being written
        self._writers: list[threading.Thread] = []

    def start_gif(self) -> bool:
        """Begin a recording; False (and a notice) if its folder cannot be written."""
        if self.record_path is not None and not self._claimed:
            path = self.record_path
        elif self.record_path is not None:
            path = numbered_free_path(self.record_path, self._claimed)
        else:
            path = timestamped_path(self.folder, "genie", ".gif", self._claimed)
        try:
            check_writable(path)
        except OutputPathError as error:
            self.notify(str(error))
            return False
        self._claimed.add(path)
        self.recorder = GifRecorder(path, scale=self.record_scale)
        self.notify(f"recording to {path}")
        return True

    def stop_gif(self, in_background: bool = True) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None or not recorder.frames:
            return
        if not in_background:
            self._write_gif(recorder)
            return
        writer = threading.Thread(target=self._write_gif, args=(recorder,), name="gif-writer")
        writer.start()
        self._writers.append(writer)

    def _write_gif(self, recorder: GifRecorder) -> None:
        try:
            path = recorder.save()
        except OSError as error:
            self.errors.append(f"{recorder.path}: could not write GIF ({error.strerror or error})")
            self.notify(self.errors[-1])
            return
        self.saved.append(path)
        self.notify(f"saved {path} ({len(recorder.frames)} frames)")

    def screenshot(self, frame: np.ndarray, scale: int) -> None:
        path = timestamped_path(self.folder, "genie-shot", ".png", self._claimed)
        self._claimed.add(path)
        try:
            save_png(path, frame, scale=scale)
        except OSError as error:
            self.notify(f"{path}: could not write screenshot ({error.strerror or error})")
            return
        self.saved.append(path)
        self.notify(f"saved {path}")

    def close(self) -> None:
        self.stop_gif(in_background=False)
        for writer in self._writers:
            writer.join()
