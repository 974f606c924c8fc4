"""Camera motion: the global integer shift that best maps one frame onto the next, and moved frames.

CoinRun's camera follows the player on both axes every step, so most of what changes between two
frames is the whole level sliding by a few pixels (see shared notes: the last frame moved by the
true shift scores 25.9 dB over 10 frames against 20.7 for copying it). Motion here is always the
content's displacement (dx, dy) in pixels, x to the right and y down:
    moved[y, x] = frame[clamp(y - dy), clamp(x - dx)]   (edges replicated)
so the player running right moves the content left (dx < 0), and a jump moves it down (dy > 0).

Motion ids: a shift within +-radius on each axis is one class, id = (dy + R) * (2R + 1) + (dx + R).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .tracking import label_blobs

# Shifts tie on flat backgrounds; a tiny cost per pixel of shift picks the smallest of equal ones.
TIE_BREAK = 1e-6
SEARCH_RADIUS = 8  # what the tools measure within: CoinRun's camera moves up to ~7.4 px a frame


def num_motions(radius: int) -> int:
    return (2 * radius + 1) ** 2


def motion_to_id(shift_B2: torch.Tensor, radius: int) -> torch.Tensor:
    """(..., 2) integer (dx, dy) -> (...) motion ids."""
    side = 2 * radius + 1
    return (shift_B2[..., 1] + radius) * side + (shift_B2[..., 0] + radius)


def id_to_motion(ids: torch.Tensor, radius: int) -> torch.Tensor:
    """(...) motion ids -> (..., 2) integer (dx, dy)."""
    side = 2 * radius + 1
    return torch.stack((ids % side - radius, ids // side - radius), dim=-1)


def _unit(frames: torch.Tensor) -> torch.Tensor:
    """uint8 or float (B, H, W, 3) -> float (B, 3, H, W) in [0, 1]."""
    x = frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float()
    return x.permute(0, 3, 1, 2)


def shift_errors(previous_BHW3: torch.Tensor, next_BHW3: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean squared error of every shift of `previous` (edges replicated) against `next`:
    (B, 2R+1, 2R+1), indexed [dy + R, dx + R]. One FFT cross-correlation instead of (2R+1)^2 passes."""
    a, b = _unit(previous_BHW3), _unit(next_BHW3)
    B, C, H, W = a.shape
    R, side = radius, 2 * radius + 1
    padded = F.pad(a, (R, R, R, R), mode="replicate")  # (B, C, H+2R, W+2R)
    # sum over the window at offset (i, j) of padded * b, for all offsets at once (no wrap-around:
    # b is zero-padded to the padded size, so offsets up to 2R stay inside).
    fa = torch.fft.rfft2(padded)
    fb = torch.fft.rfft2(b, s=padded.shape[-2:])
    cross = torch.fft.irfft2(fa * fb.conj(), s=padded.shape[-2:])[..., :side, :side].sum(1)  # (B, side, side)
    squares = F.pad(padded.pow(2).sum(1), (1, 0, 1, 0)).cumsum(1).cumsum(2)  # integral image (B, H+2R+1, W+2R+1)
    window = squares[:, H:H + side, W:W + side] - squares[:, :side, W:W + side] \
        - squares[:, H:H + side, :side] + squares[:, :side, :side]
    errors_at_offset = (window - 2 * cross + b.pow(2).sum((1, 2, 3))[:, None, None]) / (C * H * W)
    # The window at offset (i, j) is the frame moved by (dx, dy) = (R - j, R - i): flip both axes.
    return errors_at_offset.flip(1, 2)


def estimate_motion(previous_BHW3: torch.Tensor, next_BHW3: torch.Tensor, radius: int) -> torch.Tensor:
    """(B, 2) integer (dx, dy) within +-radius that best moves `previous` onto `next` (least MSE)."""
    errors = shift_errors(previous_BHW3, next_BHW3, radius)
    steps = torch.arange(-radius, radius + 1, device=errors.device, dtype=errors.dtype)
    errors = errors + TIE_BREAK * (steps[:, None] ** 2 + steps[None, :] ** 2)
    best = errors.flatten(1).argmin(1)
    return id_to_motion(best, radius)


def shift_frames(frames_BHW3: torch.Tensor, motion_B2: torch.Tensor) -> torch.Tensor:
    """Move each frame's content (B, H, W, ...) by its integer (dx, dy), edges replicated; same dtype and shape."""
    B, H, W = frames_BHW3.shape[:3]
    device = frames_BHW3.device
    dx, dy = motion_B2[:, 0].to(device), motion_B2[:, 1].to(device)
    rows = (torch.arange(H, device=device)[None, :] - dy[:, None]).clamp(0, H - 1)  # (B, H)
    cols = (torch.arange(W, device=device)[None, :] - dx[:, None]).clamp(0, W - 1)  # (B, W)
    batch = torch.arange(B, device=device)[:, None, None]
    return frames_BHW3[batch, rows[:, :, None], cols[:, None, :]]


def move_camera(frames_BHW3: torch.Tensor, motion_B2: torch.Tensor, kept_HW: torch.Tensor | None = None) -> torch.Tensor:
    """shift_frames, except on the kept pixels ((H, W) bool, or None for none), which keep the frame's own:
    the camera follows the player, so the player stays where it stands while the level slides under it.
    Where the kept pixels' content would land, the frame's own pixels stay too (the ground just beside
    the player): moving the player along with the level would leave a trail of it, tick after tick."""
    moved = shift_frames(frames_BHW3, motion_B2)
    if kept_HW is None:
        return moved
    kept_BHW = kept_HW.to(moved.device).expand(len(frames_BHW3), -1, -1)
    stays = kept_BHW | shift_frames(kept_BHW, motion_B2)
    return torch.where(stays[..., None], frames_BHW3, moved)


def uncovered_by_player(kept_HW: torch.Tensor, motion_B2: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool: where move_camera keeps the frame's own pixels although the level moved on, i.e.
    where the kept pixels' content would land, outside them. Those pixels show what lay there before the
    move, which is stale: the level behind the player's old place, never seen while the player stood on it."""
    kept_BHW = kept_HW.to(motion_B2.device).expand(len(motion_B2), -1, -1)
    return shift_frames(kept_BHW, motion_B2) & ~kept_BHW


def followed_pixels(episodes, share: float = 0.2) -> tuple[int, ...]:
    """Where the camera's subject stands, measured on video: flat indices (y * W + x) of the pixels that,
    over the frames in which the camera moved, kept their colour where the moved frame did not explain
    them in more than `share` of those frames. episodes: (T, H, W, 3) uint8 tensors.
    CoinRun's training video: 23 pixels of the player sprite at the centre. A still camera: none."""
    stays, moving = 0, 0
    for frames_THW3 in episodes:
        motions = episode_motions(frames_THW3, SEARCH_RADIUS)[1:]
        moves = motions.abs().sum(-1) > 0
        before, after = frames_THW3[:-1][moves], frames_THW3[1:][moves]
        explained = (after == shift_frames(before, motions[moves])).all(-1)
        stays = stays + ((after == before).all(-1) & ~explained).sum(0)
        moving += int(moves.sum())
    if not moving:
        return ()
    followed = stays / moving > share
    # Within SEARCH_RADIUS of the border a move replicates edge pixels, so "explained" means little there.
    followed[:SEARCH_RADIUS], followed[-SEARCH_RADIUS:], followed[:, :SEARCH_RADIUS], followed[:, -SEARCH_RADIUS:] = (
        False, False, False, False)
    return tuple(torch.nonzero(largest_blob(followed).flatten()).flatten().tolist())


def largest_blob(mask_HW: torch.Tensor) -> torch.Tensor:
    """The mask's largest 8-connected blob: the player, without stray pixels elsewhere (a video of many
    games keeps a few pixels of some game's scenery still, and a box around all of them would be the screen)."""
    if not mask_HW.any():
        return mask_HW
    labels = label_blobs(mask_HW[None])[0]
    ids, counts = labels[mask_HW].unique(return_counts=True)
    return labels == ids[counts.argmax()]


def pixel_mask(indices: tuple[int, ...], size: int) -> torch.Tensor | None:
    """Flat pixel indices -> (size, size) bool mask; None for no indices."""
    if not indices:
        return None
    mask = torch.zeros(size * size, dtype=torch.bool)
    mask[list(indices)] = True
    return mask.view(size, size)


def revealed_pixels(motion_B2: torch.Tensor, size: int) -> torch.Tensor:
    """(B, size, size) bool: the pixels a move (dx, dy) of a size x size frame revealed (shift_frames
    replicates an edge there instead of moving the frame's own content in)."""
    steps = torch.arange(size, device=motion_B2.device)
    dx, dy = motion_B2[:, 0, None].to(steps.device), motion_B2[:, 1, None].to(steps.device)
    cols = (steps[None] < dx) | (steps[None] >= size + dx)  # (B, size)
    rows = (steps[None] < dy) | (steps[None] >= size + dy)
    return rows[:, :, None] | cols[:, None, :]


def revealed_patches(motion_B2: torch.Tensor, size: int, patch: int) -> torch.Tensor:
    """(B, N) bool: the patches of a size x size frame moved by (dx, dy) (shift_frames) that hold any
    pixel the move revealed, i.e. a replicated edge pixel rather than the frame's own content."""
    grid = size // patch
    start = torch.arange(grid, device=motion_B2.device) * patch  # first pixel row/column of each patch
    dx, dy = motion_B2[:, 0, None], motion_B2[:, 1, None]
    # Content moved by d > 0 leaves pixels 0..d-1 new; moved by d < 0, pixels size+d..size-1.
    cols = (start[None] < dx) | (start[None] + patch > size + dx)  # (B, grid)
    rows = (start[None] < dy) | (start[None] + patch > size + dy)
    return (rows[:, :, None] | cols[:, None, :]).flatten(1)


def frame_motions(frames_xTHW3, radius: int = SEARCH_RADIUS) -> torch.Tensor:
    """(..., T-1, 2) motion of each frame from the one before; frames: a (..., T, H, W, 3) tensor or a
    list of (H, W, 3) arrays."""
    if not isinstance(frames_xTHW3, torch.Tensor):
        frames_xTHW3 = torch.from_numpy(np.stack(frames_xTHW3))
    lead = frames_xTHW3.shape[:-4]
    before, after = frames_xTHW3[..., :-1, :, :, :], frames_xTHW3[..., 1:, :, :, :]
    motion = estimate_motion(before.reshape(-1, *before.shape[-3:]), after.reshape(-1, *after.shape[-3:]), radius)
    return motion.view(*lead, -1, 2)


def episode_motions(frames_THW3: torch.Tensor, radius: int, chunk: int = 512) -> torch.Tensor:
    """(T, 2) motion of every frame from the one before; frame 0 gets (0, 0). Chunked for memory."""
    out = [torch.zeros(1, 2, dtype=torch.long)]
    for start in range(1, len(frames_THW3), chunk):
        out.append(frame_motions(frames_THW3[start - 1:start + chunk], radius).cpu())
    return torch.cat(out)
