"""Decoding inputs for the importer: videos (PyAV), GIFs (Pillow) and folders of images, each
turned into frames at a fixed rate and size.

Decoders yield (time in seconds, convert) pairs; `resample` picks, for every output time k/fps,
the latest frame shown at that moment (sample and hold), and only then calls `convert`, so
frames that a lower output rate skips are never colour-converted or resized.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Iterator

import numpy as np
from PIL import Image, ImageSequence

from ..imaging import FitMode, ImageLoadError, fit_frame, load_image

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".gif")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
_NOT_YET = object()
TimedFrames = Iterator[tuple[float, Callable[[], "np.ndarray | None"]]]


@dataclass(frozen=True)
class Source:
    """One input stream: a video or GIF file, or a folder's images in name order."""
    kind: str  # "video", "gif" or "images"
    path: str  # the file, or the folder for "images"
    images: tuple[str, ...] = ()  # the image files, for "images"

    def fingerprint(self) -> list[int]:
        """Changes when the input changes, so a re-run imports edited inputs again."""
        files = self.images or (self.path,)
        stats = [os.stat(f) for f in files]
        return [len(files), sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)]


def natural_key(name: str) -> list:
    """Sort key that puts frame2.png before frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def expand_inputs(paths: Iterable[str]) -> list[Source]:
    """Files and folders -> sources. A folder gives one image sequence plus each video in it."""
    sources = []
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file or folder")
        if os.path.isfile(path):
            sources.append(Source("gif" if path.lower().endswith(".gif") else "video", path))
            continue
        names = sorted(os.listdir(path), key=natural_key)
        images = tuple(os.path.join(path, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS))
        if images:
            sources.append(Source("images", path, images))
        sources += [Source("gif" if n.lower().endswith(".gif") else "video", os.path.join(path, n))
                    for n in names if n.lower().endswith(VIDEO_EXTENSIONS)]
        if not images and not any(n.lower().endswith(VIDEO_EXTENSIONS) for n in names):
            raise FileNotFoundError(f"{path}: folder holds no images or videos")
    return sources


def _video_frame_to_array(frame, size: int, fit: FitMode) -> np.ndarray:
    short = min(frame.width, frame.height)
    if short > 4 * size:  # let FFmpeg shrink big frames first; fit_frame then box-filters the rest
        scale = 4 * size / short
        frame = frame.reformat(width=2 * round(frame.width * scale / 2), height=2 * round(frame.height * scale / 2),
                               format="rgb24", interpolation="AREA")
    return fit_frame(frame.to_ndarray(format="rgb24"), size, fit)


def video_frames(path: str, size: int, fit: FitMode) -> TimedFrames:
    import av  # imported here so the loader does not need PyAV

    with av.open(path) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 30)
        for index, frame in enumerate(container.decode(stream)):
            time = frame.time if frame.time is not None else index / rate
            yield time, partial(_video_frame_to_array, frame, size, fit)


def gif_frames(path: str, size: int, fit: FitMode) -> TimedFrames:
    time = 0.0
    with Image.open(path) as image:
        for frame in ImageSequence.Iterator(image):
            yield time, partial(fit_frame, frame.copy(), size, fit)
            # Browsers show GIF delays under 20 ms as 100 ms; do the same.
            duration = frame.info.get("duration") or 100
            time += (duration if duration >= 20 else 100) / 1000


def _image_or_none(path: str, size: int, fit: FitMode) -> np.ndarray | None:
    try:
        return load_image(path, size, fit)[0]
    except ImageLoadError:
        return None  # the quality filter drops it and splits the episode there


def image_frames(images: Iterable[str], fps: float, size: int, fit: FitMode) -> TimedFrames:
    for index, path in enumerate(images):
        yield index / fps, partial(_image_or_none, path, size, fit)


def resample(timed_frames: TimedFrames, fps: float) -> Iterator[np.ndarray | None]:
    """Sample and hold at `fps`, starting at the first frame's time; one frame per output time."""
    start = last_time = None
    index, held, converted = 0, None, _NOT_YET
    for time, convert in timed_frames:
        start = time if start is None else start
        # Every output time before this frame shows the frame held so far.
        while held is not None and start + index / fps < time - 1e-6:
            converted = held() if converted is _NOT_YET else converted
            yield converted
            index += 1
        held, converted, last_time = convert, _NOT_YET, time
    if held is not None and start + index / fps <= last_time + 1e-6:
        yield held()


def decode(source: Source, fps: float, size: int, fit: FitMode,
           folder_fps: float | None) -> Iterator[np.ndarray | None]:
    """Frames of one source at `fps` and size x size (None for an unreadable image)."""
    if source.kind == "images":
        return resample(image_frames(source.images, folder_fps or fps, size, fit), fps)
    frames = gif_frames if source.kind == "gif" else video_frames
    return resample(frames(source.path, size, fit), fps)
