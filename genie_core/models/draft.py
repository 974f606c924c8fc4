"""The draft a new frame starts from, for a dynamics model with camera motion (DynamicsConfig.motion_radius).

The last shown frame moved by the frame's camera motion, with the player the camera follows kept where it
stands (followed_pixels), is encoded as the draft, whose tokens the model copies wherever they still hold.
Where the move leaves ground the moved frame cannot know, the draft's patches are hidden (mask_revealed), so
the model draws them: the level entering at an edge and, with hide_behind_player, the ground the player's
old place uncovers. Training and play build drafts the same way; play's ground memory (world/memory.py)
puts back whatever of that ground it has shown before.
"""
from __future__ import annotations

import torch

from ..blocks.motion import move_camera, pixel_mask, revealed_pixels, uncovered_by_player
from .config import DynamicsConfig


def move_draft(config: DynamicsConfig, frames_BHW3: torch.Tensor, motion_B2: torch.Tensor) -> torch.Tensor:
    """A draft's pixels: frames moved by their camera motion, the followed pixels kept."""
    return move_camera(frames_BHW3, motion_B2, pixel_mask(config.followed_pixels, frames_BHW3.shape[-2]))


def new_ground(config: DynamicsConfig, motion_B2: torch.Tensor, image_size: int) -> torch.Tensor:
    """(B, H, W) bool: the draft's pixels a move leaves to the model: those it revealed and, with
    hide_behind_player, those the moving player uncovers."""
    new = revealed_pixels(motion_B2, image_size)
    kept = pixel_mask(config.followed_pixels, image_size)
    if config.hide_behind_player and kept is not None:
        new = new | uncovered_by_player(kept, motion_B2)
    return new


def hide_revealed(config: DynamicsConfig, drafts_xN: torch.Tensor, motions_x2: torch.Tensor, image_size: int,
                  new_xHW: torch.Tensor | None = None) -> torch.Tensor:
    """Drafts (..., N) with the mask id on the patches holding new ground (bool, (..., H, W); default
    new_ground of their moves (..., 2)), when the config says so (mask_revealed); else unchanged."""
    if not config.mask_revealed:
        return drafts_xN
    if new_xHW is None:
        new_xHW = new_ground(config, motions_x2.reshape(-1, 2), image_size)
    grid, patch = config.grid, image_size // config.grid
    hidden = new_xHW.reshape(-1, grid, patch, grid, patch).any(4).any(2).view(drafts_xN.shape)
    return drafts_xN.masked_fill(hidden, config.num_codes)  # num_codes: the mask id
