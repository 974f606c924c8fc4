"""Pixels <-> patch tokens, and squares of tokens <-> one transformer position.

Frames are uint8 (B, T, H, W, 3) outside the models, float in [0, 1] inside."""
from __future__ import annotations

import torch


def to_unit(frames_BTHW3: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [0, 1]."""
    return frames_BTHW3.float() / 255.0


def to_uint8(frames_BTHW3: torch.Tensor) -> torch.Tensor:
    """float [0, 1] -> uint8, rounded and clamped."""
    return (frames_BTHW3.clamp(0, 1) * 255.0).round().to(torch.uint8)


def patchify(frames_BTHW3: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, T, H, W, 3) -> (B, T, N, patch*patch*3), row-major patches."""
    B, T, H, W, C = frames_BTHW3.shape
    x = frames_BTHW3.reshape(B, T, H // patch, patch, W // patch, patch, C)
    return x.permute(0, 1, 2, 4, 3, 5, 6).reshape(B, T, (H // patch) * (W // patch), patch * patch * C)


def unpatchify(patches_BTNP: torch.Tensor, patch: int, size: int) -> torch.Tensor:
    """(B, T, N, patch*patch*3) -> (B, T, H, W, 3)."""
    B, T, N, _ = patches_BTNP.shape
    grid = size // patch
    x = patches_BTNP.reshape(B, T, grid, grid, patch, patch, 3)
    return x.permute(0, 1, 2, 4, 3, 5, 6).reshape(B, T, size, size, 3)


def reuse_patches(decoded_BHW3: torch.Tensor, tokens_BN: torch.Tensor, sources, patch: int) -> torch.Tensor:
    """Pixels to show: per patch, the pixels of the last of `sources` ((tokens (B, N), uint8 pixels
    (B, H, W, 3)) pairs) whose token there equals the frame's own, else the decoded pixels."""
    B, H, W, _ = decoded_BHW3.shape
    shown = decoded_BHW3
    for source_tokens_BN, pixels_BHW3 in sources:
        same = (tokens_BN == source_tokens_BN).view(B, H // patch, 1, W // patch, 1, 1)
        same = same.expand(B, H // patch, patch, W // patch, patch, 1).reshape(B, H, W, 1)
        shown = torch.where(same, pixels_BHW3, shown)
    return shown


def merge_tokens(x_BTNE: torch.Tensor, grid: int, merge: int) -> torch.Tensor:
    """(..., N, E) per-token vectors on a grid x grid raster -> (..., N / merge^2, merge^2 * E): each
    merge x merge square of tokens concatenated, squares in raster order."""
    if merge == 1:
        return x_BTNE
    *lead, _, E = x_BTNE.shape
    g = grid // merge
    x = x_BTNE.reshape(*lead, g, merge, g, merge, E).movedim(-4, -3)  # (..., g, g, m, m, E)
    return x.reshape(*lead, g * g, merge * merge * E)


def split_tokens(x_BTPC: torch.Tensor, grid: int, merge: int) -> torch.Tensor:
    """Inverse of merge_tokens: (..., N / merge^2, merge^2 * E) -> (..., N, E)."""
    if merge == 1:
        return x_BTPC
    *lead, _, C = x_BTPC.shape
    g, E = grid // merge, C // (merge * merge)
    x = x_BTPC.reshape(*lead, g, g, merge, merge, E).movedim(-3, -4)  # (..., g, m, g, m, E)
    return x.reshape(*lead, grid * grid, E)
