"""One world for a player or an agent: reset(image) -> frame, step(action) -> frame, undo() -> frame.

A World is a Rollout of batch 1 (rollout.py) with the frames it showed, for undo and for the
player's recorder; loading one from a checkpoint is loading.py's job.
"""
from __future__ import annotations

import dataclasses
from collections import deque
from typing import Callable

import numpy as np
import torch

from ..checkpoint import GenieModels
from ..decoding import DecodeSettings
from .rollout import Rollout


class World:
    """reset(image) -> frame, step(action_id) -> frame, undo() -> frame; frames are uint8 (H, W, 3).
    `settings` (DecodeSettings) may be replaced between frames."""

    def __init__(self, models: GenieModels, settings: DecodeSettings, context: int = 16, seed: int = 0,
                 action_names: list[str] | None = None, direction_keys: dict[str, int] | None = None,
                 max_undo: int = 256):
        self.models = models
        self.context = context
        self.action_names = action_names
        self.direction_keys = direction_keys
        self.max_undo = max_undo
        self.rollout = Rollout.of(models, settings, context)
        self.frames: deque[np.ndarray] = deque()
        self.reseed(seed)

    @property
    def settings(self) -> DecodeSettings:
        return self.rollout.settings

    @settings.setter
    def settings(self, settings: DecodeSettings) -> None:
        self.rollout.settings = settings

    def change_settings(self, **changes) -> None:
        """Replace some decoding settings (e.g. rounds=4) from the next frame on."""
        self.settings = dataclasses.replace(self.settings, **changes)

    @property
    def image_size(self) -> int:
        return self.models.tokenizer.config.image_size

    @property
    def num_actions(self) -> int:
        return self.models.dynamics.config.num_actions

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def reset(self, image: np.ndarray) -> np.ndarray:
        """Start from a uint8 (H, W, 3) image at the model resolution; returns it unchanged."""
        if image.shape != (self.image_size, self.image_size, 3) or image.dtype != np.uint8:
            raise ValueError(f"start image must be uint8 {self.image_size}x{self.image_size}x3, got "
                             f"{image.dtype} {image.shape}")
        self.reseed(self.seed)
        self.rollout.start(torch.from_numpy(image.copy())[None])  # torch warns on read-only arrays
        self.frames = deque([image.copy()])
        return image.copy()

    def step(self, action: int, should_stop: Callable[[], bool] | None = None) -> np.ndarray | None:
        """The next frame for `action`; None when should_stop() said yes before it was made (see
        Rollout.next_frame): the player drops a frame whose key was already let go."""
        if not self.frames:
            raise RuntimeError("call reset(image) before step(action)")
        if not 0 <= int(action) < self.num_actions:
            raise ValueError(f"action {action} out of range 0..{self.num_actions - 1}")
        frame = self.rollout.next_frame(torch.tensor([int(action)]), self.generator, should_stop)
        if frame is None:
            return None
        frame = frame[0].cpu().numpy()
        self.frames.append(frame)
        # Bounded memory: keep what the context needs plus the undo depth.
        self.rollout.trim(self.context + self.max_undo)
        while len(self.frames) > self.max_undo + 1:
            self.frames.popleft()
        return frame

    def undo(self) -> np.ndarray | None:
        """Go back one generated frame; None when there is nothing to undo."""
        if len(self.frames) <= 1 or len(self.rollout.history) <= 1:
            return None
        self.frames.pop()
        self.rollout.undo()
        return self.frames[-1].copy()

    @property
    def played_action(self) -> int | None:
        """The latent action the newest frame was made with: the key's own, or the one the action prior
        steered it to (DecodeSettings.yield_below); None before the first step."""
        history = self.rollout.history
        return int(history[-1].action_B[0]) if len(history) > 1 else None

    @property
    def frame(self) -> np.ndarray | None:
        return self.frames[-1].copy() if self.frames else None
