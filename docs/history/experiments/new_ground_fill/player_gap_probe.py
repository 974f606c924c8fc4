# probe: where the player's old pixels would land, the moved frame's nearest pixel outside the player's box
# on the same row (vertical moves) or column (sideways moves), instead of the unmoved frame's (a trail)
import torch, genie_core.models.draft as D
from genie_core.blocks.motion import shift_frames
def move_camera(frames, motion, kept_HW=None):
    moved = shift_frames(frames, motion)
    if kept_HW is None:
        return moved
    B, H, W, _ = frames.shape
    kept = kept_HW.to(moved.device)
    ys, xs = torch.nonzero(kept, as_tuple=True)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    kept_B = kept.expand(B, -1, -1)
    land = shift_frames(kept_B, motion) & ~kept_B
    out = torch.where(kept_B[..., None], frames, moved)
    if not bool(land.any()):
        return out
    cols = torch.arange(W, device=frames.device); rows = torch.arange(H, device=frames.device)
    # per pixel: nearest column outside [x0-1, x1+1] band on the same row, from the moved frame
    side_col = torch.where(cols - (x0 - 2) < (x1 + 2) - cols, torch.full_like(cols, max(x0 - 2, 0)), torch.full_like(cols, min(x1 + 2, W - 1)))
    side_row = torch.where(rows - (y0 - 2) < (y1 + 2) - rows, torch.full_like(rows, max(y0 - 2, 0)), torch.full_like(rows, min(y1 + 2, H - 1)))
    by_row = moved[:, :, side_col]  # (B, H, W, 3): same row, column beside the box
    by_col = moved[:, side_row, :]  # same column, row beside the box
    vertical = (motion[:, 1].abs() >= motion[:, 0].abs()).to(frames.device)[:, None, None, None]
    fill = torch.where(vertical, by_row, by_col)
    return torch.where(land[..., None], fill, out)
D.move_camera = move_camera
