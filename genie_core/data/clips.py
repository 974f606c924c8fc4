"""Clip format: how episodes are stored on disk, and how training windows are read back.

A data set is a folder of episode files `*.npz` (any names, taken in name order), plus an
optional `meta.json` describing the whole folder (source, levels, resolution, counts, and for
CoinRun the action names). Each episode file is one unbroken stretch of video from one level or
scene; it never spans a level reset or a scene cut:

    frames   uint8 [T, H, W, 3]   RGB frames at a fixed rate: 10 FPS for imported video, one
                                  frame per environment step for CoinRun
    actions  int64 [T-1]          only when known: actions[t] is the action taken between
                                  frames[t] and frames[t+1] (CoinRun: procgen's 15 action ids)
    others   scalars, optional    e.g. `level` (CoinRun level seed), `agent`, `ended`, `source`;
                                  readers ignore keys they do not know

All episodes in a folder share H and W. Files are written with plain `np.savez` (stored, not
compressed) so the loader can memory-map `frames` straight out of the zip and copy only the
windows it samples; compressed files (`np.savez_compressed`) are read too, more slowly. Every
file is written to a temporary file in the same folder and renamed into place, so an
interrupted run never leaves a broken file; re-running the command that made a folder continues it.

Reading: `list_episodes(folder)` -> sorted paths; `split_episodes(paths)` -> (train, val) by a
hash of each file name; `ClipSampler(paths, window=16)` -> `.sample(batch_size, rng)` and
`.iter_windows(window, stride)` give `ClipBatch(frames [B, T, H, W, 3] uint8, actions [B, T-1]
int64, -1 where unknown)`. Episodes shorter than the window are skipped and counted; unreadable
files raise `ClipFormatError` naming the file, or are skipped with a one-line note on stderr.
"""
from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import IO, Any, Callable

import numpy as np

from ..files import atomic_write

__all__ = ["ClipFormatError", "Episode", "EpisodeHeader", "write_episode", "read_episode", "read_header",
           "check_frame_size", "list_episodes", "split_episodes"]


class ClipFormatError(ValueError):
    """An episode file that cannot be used; the message is one line and names the file."""


@dataclass
class Episode:
    """One episode read fully into memory."""
    frames: np.ndarray  # (T, H, W, 3) uint8
    actions: np.ndarray | None  # (T-1,) int64, or None when the file has no actions
    extras: dict[str, Any] = field(default_factory=dict)  # the optional scalars (level, agent, ...)


@dataclass(frozen=True)
class EpisodeHeader:
    """What the loader needs to know about a file without reading its frames."""
    path: str
    num_frames: int
    height: int
    width: int
    frames_offset: int | None  # byte offset of the raw frames for np.memmap; None if compressed
    actions: np.ndarray | None  # (T-1,) int64; small, so read eagerly


def write_episode(path: str, frames: np.ndarray, actions: np.ndarray | None = None,
                  compress: bool = False, **extras: Any) -> None:
    """Validate and write one episode file atomically (see the module docstring for the format)."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 1:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    arrays = {"frames": np.ascontiguousarray(frames)}
    if actions is not None:
        actions = np.asarray(actions)
        if actions.shape != (len(frames) - 1,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(f"actions must be integers [T-1] = [{len(frames) - 1}], got "
                             f"{actions.dtype} {actions.shape}")
        arrays["actions"] = actions.astype(np.int64)
    for key, value in extras.items():
        arrays[key] = np.asarray(value)
        if arrays[key].dtype == object:
            raise ValueError(f"extra {key!r} must be a number or string, not {type(value).__name__}")
    save = np.savez_compressed if compress else np.savez
    atomic_write(path, lambda file: save(file, **arrays))


def _read_npy_header(file: IO[bytes], path: str, name: str) -> tuple[tuple[int, ...], np.dtype]:
    try:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as error:
        raise ClipFormatError(f"{path}: {name} is not a readable array ({error})") from None
    if fortran:
        raise ClipFormatError(f"{path}: {name} is stored in Fortran order; rewrite it with write_episode")
    return shape, dtype


def _stored_data_offset(path: str, info: zipfile.ZipInfo) -> int:
    """Byte offset of an uncompressed member's .npy data, found via its local zip header."""
    with open(path, "rb") as file:
        file.seek(info.header_offset)
        local = file.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise ClipFormatError(f"{path}: damaged zip header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        file.seek(info.header_offset + 30 + name_len + extra_len)
        _read_npy_header(file, path, info.filename)
        return file.tell()


def read_header(path: str) -> EpisodeHeader:
    """Check an episode file's structure and read its length, size and actions (not its frames)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "frames.npy" not in names:
                raise ClipFormatError(f"{path}: no 'frames' array (keys: {sorted(n[:-4] for n in names)})")
            info = archive.getinfo("frames.npy")
            with archive.open(info) as member:
                shape, dtype = _read_npy_header(member, path, "frames")
            actions = None
            if "actions.npy" in names:
                with archive.open("actions.npy") as member:
                    actions = np.lib.format.read_array(member, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        if isinstance(error, ClipFormatError):
            raise
        raise ClipFormatError(f"{path}: not a readable .npz episode ({error})") from None
    if dtype != np.uint8 or len(shape) != 4 or shape[-1] != 3 or shape[0] < 1:
        raise ClipFormatError(f"{path}: frames must be uint8 [T, H, W, 3], got {dtype} {list(shape)}")
    if actions is not None and (actions.shape != (shape[0] - 1,) or not np.issubdtype(actions.dtype, np.integer)):
        raise ClipFormatError(f"{path}: actions must be integers [T-1] = [{shape[0] - 1}], "
                              f"got {actions.dtype} {list(actions.shape)}")
    offset = None
    if info.compress_type == zipfile.ZIP_STORED:
        offset = _stored_data_offset(path, info)
        if offset + int(np.prod(shape)) > os.path.getsize(path):
            raise ClipFormatError(f"{path}: truncated (frames need more bytes than the file has)")
    return EpisodeHeader(path, shape[0], shape[1], shape[2], offset,
                         None if actions is None else actions.astype(np.int64))


def read_frames(header: EpisodeHeader) -> np.ndarray:
    """All frames of an episode: a read-only memory map when stored, else decompressed."""
    if header.frames_offset is not None:
        shape = (header.num_frames, header.height, header.width, 3)
        return np.memmap(header.path, np.uint8, "r", header.frames_offset, shape)
    try:
        with np.load(header.path, allow_pickle=False) as archive:
            return archive["frames"]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ClipFormatError(f"{header.path}: frames cannot be decompressed ({error})") from None


def read_episode(path: str) -> Episode:
    """Read a whole episode (frames, actions, extras) after checking its format."""
    header = read_header(path)
    frames = np.array(read_frames(header))
    with np.load(path, allow_pickle=False) as archive:
        extras = {key: archive[key][()].item() for key in archive.files if key not in ("frames", "actions")}
    return Episode(frames, header.actions, extras)


def check_frame_size(data: str, frame_size: tuple[int, int], size: int, model: str, other_fix: str) -> None:
    """Refuse frames that are not the model's size, in one line naming both sizes and the fixes."""
    height, width = frame_size
    if (height, width) != (size, size):
        raise ValueError(f"{data}: frames are {height}x{width}, but {model} takes {size}x{size}; {other_fix}, "
                         f"or make {size}x{size} data (python -m genie_core.data import ... --size {size})")


def list_episodes(root: str) -> list[str]:
    """Sorted paths of the episode files (*.npz) directly in `root`."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: no such folder")
    return sorted(os.path.join(root, name) for name in os.listdir(root)
                  if name.endswith(".npz") and not name.startswith("."))


def _unit_hash(name: str, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def split_episodes(paths: list[str], val_fraction: float = 0.05, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split episodes into (train, val) by a hash of each file name.

    A file's side depends only on its name and `seed`, so adding files never moves old ones. If
    no file hashes into val but there are at least two files and val_fraction > 0, the file with
    the smallest hash goes to val, so tiny sets still get a validation episode.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    scores = {path: _unit_hash(os.path.basename(path), seed) for path in paths}
    val = {path for path, score in scores.items() if score < val_fraction}
    if not val and val_fraction > 0 and len(paths) >= 2:
        val = {min(scores, key=scores.get)}
    return [p for p in paths if p not in val], [p for p in paths if p in val]


class LruCache(OrderedDict):
    """A dict that forgets its least recently used entries beyond `max_cost` total cost."""

    def __init__(self, max_cost: int = 0):  # the default lets pickle rebuild it
        super().__init__()
        self.max_cost, self.cost = max_cost, 0

    def get_or_load(self, key: str, load: Callable[[], np.ndarray], cost: Callable[[np.ndarray], int]):
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = load()
        self.cost += cost(value)
        while self.cost > self.max_cost and len(self) > 1:
            _, old = self.popitem(last=False)
            self.cost -= cost(old)
        return value

