"""The only thing the player knows about a world model: this small interface."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from genie_core.decoding import DecodeSettings


class PlayableWorld(Protocol):
    """A stateful world: reset to an image, then one generated frame per latent action.

    Frames are uint8 (image_size, image_size, 3). genie_core.world.World satisfies this; the
    tests use a fake one, which is the point: play/ never imports a model.
    """

    settings: DecodeSettings  # how frames are decoded; the player changes rounds and copy bias live

    def change_settings(self, **changes) -> None: ...  # from the next frame on

    @property
    def image_size(self) -> int: ...

    @property
    def num_actions(self) -> int: ...

    @property
    def action_names(self) -> list[str] | None: ...

    @property
    def direction_keys(self) -> dict[str, int] | None: ...  # {"left": id, ...}: see genie_core.tools.action_names

    @property
    def context(self) -> int: ...

    def reset(self, image: np.ndarray) -> np.ndarray: ...

    def step(self, action: int, should_stop=None) -> np.ndarray | None: ...  # None: dropped (should_stop)

    def undo(self) -> np.ndarray | None: ...

    def reseed(self, seed: int) -> None: ...
