"""Image loading and fitting to the model resolution, shared by the player and the data tools."""
from __future__ import annotations

import os
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

FitMode = Literal["crop", "letterbox", "stretch"]


class ImageLoadError(ValueError):
    """A start image that cannot be used; the message is one line and names the file."""


def fit_frame(image: Image.Image | np.ndarray, size: int, mode: FitMode = "crop") -> np.ndarray:
    """Any image -> uint8 RGB (size, size, 3).

    crop: scale the short side to `size`, centre-crop the long side (no borders).
    letterbox: scale the long side to `size`, pad with black (nothing cut off).
    stretch: resize to size x size ignoring aspect.
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if image.mode != "RGB":
        # Palette and grayscale images go through RGBA so transparency becomes black, not noise.
        image = image.convert("RGBA") if image.mode in ("P", "LA", "PA") else image
        if image.mode == "RGBA":
            background = Image.new("RGB", image.size, (0, 0, 0))
            background.paste(image, mask=image.getchannel("A"))
            image = background
        else:
            image = image.convert("RGB")
    w, h = image.size
    if (w, h) == (size, size):
        return np.asarray(image, dtype=np.uint8).copy()
    # Box filtering averages source pixels when shrinking; nearest keeps pixel art crisp when growing.
    resample = Image.Resampling.BOX if min(w, h) >= size else Image.Resampling.NEAREST
    if mode == "stretch":
        return np.asarray(image.resize((size, size), resample), dtype=np.uint8).copy()
    if mode == "crop":
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        image = image.resize((nw, nh), resample)
        left, top = (nw - size) // 2, (nh - size) // 2
        return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8).copy()
    if mode == "letterbox":
        scale = size / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        canvas = Image.new("RGB", (size, size), (0, 0, 0))
        canvas.paste(image.resize((nw, nh), resample), ((size - nw) // 2, (size - nh) // 2))
        return np.asarray(canvas, dtype=np.uint8).copy()
    raise ValueError(f"unknown fit mode {mode!r}; use crop, letterbox or stretch")


def load_image(path: str, size: int, mode: FitMode = "crop") -> tuple[np.ndarray, str | None]:
    """Read any still image (first frame of a GIF) -> (uint8 (size, size, 3), note or None).

    Raises ImageLoadError with a one-line message for a missing path, a folder, a non-image
    or a truncated file. The note says when the image was resized.
    """
    if not os.path.exists(path):
        raise ImageLoadError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ImageLoadError(f"{path}: is a folder, not an image")
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()  # Forces a full decode so truncated files fail here, not later.
            original = image.size
            frame = fit_frame(image.copy(), size, mode)
    except UnidentifiedImageError:
        raise ImageLoadError(f"{path}: not a readable image (PNG, JPEG, GIF, BMP, ...)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(f"{path}: damaged or truncated image ({error})") from None
    note = None
    if original != (size, size):
        note = f"{path}: resized {original[0]}x{original[1]} -> {size}x{size} ({mode})"
    return frame, note
