"""What the dynamics model is asked to predict: token targets snapped to the copies play can show.

At play time a token equal to its copy source's (the moved draft, or the unmoved last frame) shows
that source's exact pixels (blocks/patches.reuse_patches); any other token passes through the
tokenizer's decoder, which blurs small things (the player sprite) and drifts tick after tick.
The real next frame's token is often neither source's even where a copy would look right: the
tokenizer's fine codes flip on small pixel changes. Snapping such targets to the copy teaches the
model to copy wherever copying is close enough, and to draw only what is really new.
"""
from __future__ import annotations

import torch

from ..blocks.motion import move_camera
from ..blocks.patches import patchify


def patch_errors(frames_BTHW3: torch.Tensor, others_BTHW3: torch.Tensor, patch: int) -> torch.Tensor:
    """Root-mean-square difference per patch, on the 0..1 scale: (B, T, N)."""
    difference = (frames_BTHW3.float() - others_BTHW3.float()) / 255.0
    return patchify(difference, patch).pow(2).mean(-1).sqrt()


def snap_to_copies(tokens_BTN: torch.Tensor, drafts_BTN: torch.Tensor, frames_BTHW3: torch.Tensor,
                   motions_BT2: torch.Tensor, tolerance: float, mask_id: int,
                   kept_HW: torch.Tensor | None = None) -> torch.Tensor:
    """Targets for frames 1..T-1 of windows (frame 0 is context and stays):
    - the draft's token (frame t-1 moved by motion t) where the moved pixels are within `tolerance`
      of frame t's patch and closer than the unmoved ones, and the draft has a token there;
    - else the (already snapped) token of frame t-1 where its unmoved pixels are within tolerance;
    - else the token itself.
    Ties go to the unmoved frame, so a still frame keeps every token, as the still action does.
    kept_HW: pixels the draft keeps unmoved (DynamicsConfig.followed_pixels), or None."""
    B, T, H, W, _ = frames_BTHW3.shape
    before = frames_BTHW3[:, :-1]
    moved = move_camera(before.reshape(-1, H, W, 3), motions_BT2[:, 1:].reshape(-1, 2), kept_HW).view(B, T - 1, H, W, 3)
    return snap_to_sources(tokens_BTN, frames_BTHW3, drafts_BTN, moved, before, None, tolerance, mask_id)


def snap_to_sources(tokens_BTN: torch.Tensor, frames_BTHW3: torch.Tensor, drafts_BTN: torch.Tensor,
                    drafts_BTHW3: torch.Tensor, previous_BTHW3: torch.Tensor, previous_BTN: torch.Tensor | None,
                    tolerance: float, mask_id: int) -> torch.Tensor:
    """snap_to_copies with the copy sources given: for frame t (1..T-1), drafts_BTHW3[:, t-1] and
    previous_BTHW3[:, t-1] are the draft's and the last frame's pixels, drafts_BTN[:, t] and
    previous_BTN[:, t-1] their tokens (previous_BTN None: the snapped targets of frame t-1, as
    the real video's own copies). train/own_context.py gives the model's own frames as the sources."""
    patch = frames_BTHW3.shape[2] // int(tokens_BTN.shape[-1] ** 0.5)
    after = frames_BTHW3[:, 1:]
    moved_error, still_error = patch_errors(after, drafts_BTHW3, patch), patch_errors(after, previous_BTHW3, patch)
    take_draft = (drafts_BTN[:, 1:] != mask_id) & (moved_error < tolerance) & (moved_error < still_error)
    take_previous = (still_error < tolerance) & ~take_draft
    out = tokens_BTN.clone()
    for t in range(1, out.shape[1]):  # frame t's "previous" is frame t-1's token as play shows it
        previous = out[:, t - 1] if previous_BTN is None else previous_BTN[:, t - 1]
        out[:, t] = torch.where(take_draft[:, t - 1], drafts_BTN[:, t],
                                torch.where(take_previous[:, t - 1], previous, out[:, t]))
    return out
