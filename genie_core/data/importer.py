"""Import your own game videos as training clips (see clips.py for the format).

Each input is decoded (sources.py), resampled to `fps` by timestamps, fitted to size x size with
imaging.fit_frame, filtered (quality.py) and cut into episodes of `episode_len` frames; the rest
of a stretch is kept when it has at least `min_len` frames. Episodes whose frames exactly repeat
an episode already in the folder (the same footage imported twice) are dropped.

A manifest.json in the out folder records each finished input with a size/mtime fingerprint, so
re-running a command skips what is done. An input interrupted halfway is imported again from its
start; its episode files, named by input and index, are rewritten (each atomically).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from ..files import atomic_write_json, remove_stale_temp_files
from .clips import write_episode
from .quality import SPLIT, QualityConfig, filter_frames
from .sources import Source, decode, expand_inputs

DROP_REASONS = ("black", "blank", "static", "unreadable", "short", "duplicate")


@dataclass(frozen=True)
class ImportSettings:
    size: int = 64
    fit: str = "crop"  # crop | letterbox | stretch, as in imaging.fit_frame
    fps: float = 10.0
    episode_len: int = 64
    min_len: int = 16  # shorter leftovers are dropped as "short"
    folder_fps: float | None = None  # frame rate of image folders; None: the same as fps
    quality: QualityConfig = QualityConfig()


@dataclass
class InputReport:
    """What happened to one input; status: imported, partial, skipped or already imported."""
    path: str
    status: str
    counts: Counter = field(default_factory=Counter)  # frames, kept, cuts and DROP_REASONS
    episodes: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)  # of each episode's frames, to catch duplicates
    reason: str | None = None

    def line(self) -> str:
        if self.status in ("skipped", "already imported"):
            return f"{self.path}: {self.status}" + (f" ({self.reason})" if self.reason else "")
        c = self.counts
        drops = ", ".join(f"{c[r]} {r}" for r in DROP_REASONS if c[r]) or "nothing"
        line = (f"{self.path}: {c['frames']} frames -> {len(self.episodes)} episodes, {c['kept']} frames kept; "
                f"dropped {drops}; {c['cuts']} cuts")
        return line + (f"; stopped early ({self.reason})" if self.reason else "")


@dataclass
class ImportReport:
    inputs: list[InputReport]

    def totals(self) -> Counter:
        return sum((report.counts for report in self.inputs), Counter())

    def summary(self) -> str:
        status = Counter(report.status for report in self.inputs)
        t = self.totals()
        drops = ", ".join(f"{r} {t[r]}" for r in DROP_REASONS if t[r]) or "nothing"
        lines = [f"imported {status['imported'] + status['partial']} inputs ({status['partial']} partly), "
                 f"{status['already imported']} already done, {status['skipped']} skipped: "
                 f"{sum(len(r.episodes) for r in self.inputs if r.status != 'already imported')} episodes, "
                 f"{t['kept']} of {t['frames']} frames kept; dropped frames: {drops}; {t['cuts']} cuts"]
        lines += [f"  skipped {r.path}: {r.reason}" for r in self.inputs if r.status == "skipped"]
        return "\n".join(lines)


class EpisodeWriter:
    """Cuts a filtered frame stream into episode files."""

    def __init__(self, out: str, source: Source, settings: ImportSettings, seen: set[str], counts: Counter):
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", os.path.splitext(os.path.basename(source.path.rstrip(os.sep)))[0])
        digest = hashlib.blake2b(os.path.abspath(source.path).encode(), digest_size=4).hexdigest()
        self.prefix = os.path.join(out, f"{stem[:40]}_{digest}_")
        self.source, self.settings, self.seen, self.counts = source, settings, seen, counts
        self.buffer: list[np.ndarray] = []
        self.episodes: list[str] = []
        self.hashes: list[str] = []

    def add(self, item: np.ndarray | str) -> None:
        if isinstance(item, str):  # SPLIT
            self.flush()
            return
        self.buffer.append(item)
        if len(self.buffer) == self.settings.episode_len:
            self.flush()

    def flush(self) -> None:
        frames, self.buffer = self.buffer, []
        if not frames:
            return
        if len(frames) < self.settings.min_len:
            self.counts["short"] += len(frames)
            return
        stack = np.stack(frames)
        digest = hashlib.blake2b(stack.tobytes(), digest_size=16).hexdigest()
        if digest in self.seen:
            self.counts["duplicate"] += len(frames)
            return
        path = f"{self.prefix}{len(self.episodes):04d}.npz"
        write_episode(path, stack, source=os.path.basename(self.source.path.rstrip(os.sep)))
        self.seen.add(digest)
        self.hashes.append(digest)
        self.episodes.append(os.path.basename(path))
        self.counts["kept"] += len(frames)


def _decode_errors() -> tuple[type[BaseException], ...]:
    import av

    return (av.FFmpegError, OSError, ValueError, EOFError, SyntaxError)


def import_source(source: Source, out: str, settings: ImportSettings, seen: set[str], progress: bool) -> InputReport:
    """Decode, filter and write one input; decoding errors end it with a one-line reason."""
    report = InputReport(source.path, "imported")
    writer = EpisodeWriter(out, source, settings, seen, report.counts)
    bar = tqdm(desc=os.path.basename(source.path.rstrip(os.sep)), unit="frame", leave=False, disable=not progress)

    def counted(frames):
        for frame in frames:
            report.counts["frames"] += 1
            bar.update(1)
            yield frame

    try:
        frames = decode(source, settings.fps, settings.size, settings.fit, settings.folder_fps)
        for item in filter_frames(counted(frames), settings.fps, settings.quality, report.counts):
            writer.add(item)
    except _decode_errors() as error:
        report.reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        report.status = "partial" if report.counts["frames"] else "skipped"
    finally:
        bar.close()
    writer.add(SPLIT)  # the last stretch of a stream (or what decoded before an error)
    report.episodes, report.hashes = writer.episodes, writer.hashes
    return report


def load_manifest(out: str, settings: ImportSettings) -> dict:
    """The out folder's manifest; refuses a folder made with another size or rate."""
    path = os.path.join(out, "manifest.json")
    terms = {"size": settings.size, "fps": settings.fps}
    if not os.path.exists(path):
        return {"settings": terms, "inputs": {}}
    with open(path) as file:
        manifest = json.load(file)
    if manifest.get("settings") != terms:
        raise ValueError(f"{out} already holds clips made with {manifest.get('settings')}, not {terms}; "
                         "use another --out")
    return manifest


def write_meta(out: str, manifest: dict, settings: ImportSettings) -> None:
    entries = manifest["inputs"].values()
    atomic_write_json(os.path.join(out, "meta.json"), {
        "source": "imported video", "resolution": [settings.size, settings.size], "fps": settings.fps,
        "fit": settings.fit, "episode_len": settings.episode_len, "min_len": settings.min_len,
        "inputs": len(manifest["inputs"]), "episodes": sum(len(e["episodes"]) for e in entries),
        "frames": sum(e["counts"].get("kept", 0) for e in entries), "quality": asdict(settings.quality)})


def import_videos(paths: list[str], out: str, settings: ImportSettings = ImportSettings(),
                  progress: bool = True, log=print) -> ImportReport:
    """Import every input into `out`, skipping inputs already imported; logs one line per input."""
    sources = expand_inputs(paths)  # FileNotFoundError for a missing path, before any work
    os.makedirs(out, exist_ok=True)
    remove_stale_temp_files(out)  # from an earlier run that was killed mid-write
    manifest = load_manifest(out, settings)
    report = ImportReport([])
    for source in sources:
        key = os.path.abspath(source.path)
        entry = manifest["inputs"].get(key)
        if entry is not None and entry["fingerprint"] == source.fingerprint():
            report.inputs.append(InputReport(source.path, "already imported", episodes=entry["episodes"]))
            continue
        seen = {h for other, e in manifest["inputs"].items() if other != key for h in e["hashes"]}
        result = import_source(source, out, settings, seen, progress)
        report.inputs.append(result)
        log(result.line())
        if result.status == "skipped":
            continue
        for stale in set(entry["episodes"] if entry else ()) - set(result.episodes):  # input changed
            if os.path.exists(os.path.join(out, stale)):
                os.remove(os.path.join(out, stale))
        manifest["inputs"][key] = {"fingerprint": source.fingerprint(), "status": result.status,
                                   "episodes": result.episodes, "hashes": result.hashes,
                                   "counts": dict(result.counts), "reason": result.reason}
        atomic_write_json(os.path.join(out, "manifest.json"), manifest)
        write_meta(out, manifest, settings)
    log(report.summary())
    return report
