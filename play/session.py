"""Headless scripted play: one generated frame per listed action, no window. For tests, benchmarks and GIFs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from play.interface import PlayableWorld
from play.recorder import frame_seconds
from play.keymap import action_ids_by_name, normalise_action_name


def parse_actions(text: str, num_actions: int, action_names: list[str] | None = None,
                  direction_keys: dict[str, int] | None = None) -> list[int]:
    """'0,3,3,5' or 'right*4,jump' -> action ids. Names work when the checkpoint provides them;
    direction words (left, right, jump, down) also through its direction_keys, as the arrow keys do.

    Raises ValueError with a one-line message naming the bad entry.
    """
    ids_by_name = {**(direction_keys or {}), **action_ids_by_name(action_names or [])}
    actions: list[int] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        token, _, count_text = entry.partition("*")
        token = token.strip()
        try:
            count = int(count_text) if count_text else 1
        except ValueError:
            raise ValueError(f"--actions: bad repeat count in {entry!r} (use e.g. 3*10)") from None
        if token.lstrip("-").isdigit():
            action = int(token)
        elif normalise_action_name(token) in ids_by_name:
            action = ids_by_name[normalise_action_name(token)]
        else:
            words = list(action_names or []) + [k for k in direction_keys or {} if k not in (action_names or [])]
            known = f" or one of {', '.join(words)}" if words else ""
            raise ValueError(f"--actions: {token!r} is not an action id 0..{num_actions - 1}{known}")
        if not 0 <= action < num_actions:
            raise ValueError(f"--actions: action {action} out of range; this world has actions 0..{num_actions - 1}")
        if count < 0:
            raise ValueError(f"--actions: negative repeat count in {entry!r}")
        actions.extend([action] * count)
    if not actions:
        raise ValueError("--actions: no actions given (e.g. --actions 0,3,3,5)")
    return actions


@dataclass
class SessionResult:
    """The start frame then one frame per action, and each step's wall time."""

    frames: list[np.ndarray] = field(default_factory=list)
    tick_seconds: list[float] = field(default_factory=list)

    def frame_seconds(self, fps_cap: float = 0.0) -> float:
        """How long each frame shows in a GIF (recorder.frame_seconds)."""
        return frame_seconds(self.tick_seconds, fps_cap)

    def summary(self) -> str:
        ms = np.asarray(self.tick_seconds) * 1000.0
        if ms.size == 0:
            return f"{len(self.frames)} frames, no ticks"
        p50, p99 = np.percentile(ms, [50, 99])
        return (f"{len(self.frames)} frames ({ms.size} generated), ms per tick p50 {p50:.1f} p99 {p99:.1f}, "
                f"{ms.size / (ms.sum() / 1000.0):.1f} ticks/s")


def run_session(world: PlayableWorld, start_image: np.ndarray, actions: list[int]) -> SessionResult:
    """Reset the world to `start_image`, then step once per action, timing each step."""
    result = SessionResult(frames=[world.reset(start_image)])
    for action in actions:
        start = time.perf_counter()
        frame = world.step(action)
        result.tick_seconds.append(time.perf_counter() - start)
        result.frames.append(frame)
    return result
