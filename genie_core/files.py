"""Writing files so that a crash never leaves a half-written one in place of a good one.

Everything this project writes (checkpoints, episodes, GIFs, reports) goes to a temp file beside
its target and is renamed over it: readers see the old file or the whole new one. Frozen
dataclasses (configs, decoding settings) go to and from JSON objects here too.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import tempfile
from typing import IO, Callable

# .NAME.PID.HEX.tmp: never ends in the target's suffix (nothing half-written looks done), and names
# its writer, so remove_stale_temp_files can tell a live writer's file from a killed one's.
TEMP_NAME = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}\.tmp")


class OutputPathError(ValueError):
    """An output path that cannot be written; the message is one line and names the path."""


def check_writable(path: str | os.PathLike, make_folders: bool = False) -> None:
    """Fail now, before any work, if `path` could not be written later. make_folders: missing
    folders are fine (atomic_write makes them) when the nearest existing one is writable."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputPathError(f"{path}: is a folder; give a file name inside it")
    if make_folders:
        while not os.path.exists(folder) and os.path.dirname(folder) != folder:
            folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        problem = f"{folder} is not a folder" if os.path.exists(folder) else f"folder {folder} does not exist"
        raise OutputPathError(f"{path}: {problem}")
    try:  # Actually creating a file is the only honest test (os.access lies for root and on some mounts).
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise OutputPathError(f"{path}: folder {folder} is not writable ({error.strerror})") from None


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Write via `write(file)` into a temp file beside `path`, then rename it over `path`."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the rename must not reach the disk before the data does
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    atomic_write(path, lambda file: file.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    """`obj` as indented JSON (one report, config or manifest)."""
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    with open(source, "rb") as f:
        atomic_write_bytes(target, f.read())


def remove_stale_temp_files(folder: str) -> int:
    """Delete temp files left by writers that were killed (their process is gone) -> count."""
    removed = 0
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        match = TEMP_NAME.fullmatch(name)
        if match and not _process_alive(int(match.group(1))):
            os.remove(os.path.join(folder, name))
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def to_json(obj) -> str:
    return json.dumps(dataclasses.asdict(obj), indent=2)


def frozen_from_dict(cls, data: dict):
    """cls(**data), rejecting unknown keys so typos fail loudly; JSON lists become tuples."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
