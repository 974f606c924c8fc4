"""The move critic: may the level slide this far under the player? Walls and ground, learned from video.

The dynamics model picks the camera's motion from the action before it draws a frame (motion.py), and
its latent actions are named from motion: the video shows a player pushing into a wall as a still
frame, so "right" always scrolls and the level slides through walls. This small convolutional net
learns, from unlabelled video only, which moves the level can make around the player: it sees the
window around the followed player in a frame and in that frame moved by a candidate shift (the
player's own box blanked, so its pose does not count) and tells the move that happened next
(positives) from another transition's move (negatives, drawn from the same motions, so the motions'
own frequencies cancel out). A wall or floor that a move would push into the player's box never
happens in video, so such moves score near 0; free moves score near the share of positives.

At play time (`Rollout`, DecodeSettings.refuse_below) a move the critic rates below a threshold is cut
back to the nearest smaller move on each axis it accepts (`allowed_moves`), no move at worst.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..blocks.motion import move_camera, pixel_mask

# The followed pixels are the sprite's steady core; its arms and feet reach a pixel or so beyond it,
# and which side they reach tells where the player faces. The player kept in play never turns round,
# so a critic that saw the facing refused moves against it (measured on dev starts: with one pixel of
# margin Left back passed on 10 of 16, against 15 with no critic). Three pixels sideways (in a critic that
# also saw only moving frames) let 40 Right scroll to -41 px, the real game -15; two: docs/free_play/dev/critic_choice.txt.
BOX_MARGIN = (1, 2)  # (rows, columns)
WINDOW_MARGIN = 8  # pixels the window reaches beyond the player's box: a whole move of the search radius


@dataclass(frozen=True)
class CriticConfig:
    image_size: int = 64
    motion_radius: int = 8
    followed_pixels: tuple[int, ...] = ()  # the dynamics model's (the player the camera follows)
    box: tuple[int, int, int, int] = (28, 36, 27, 36)  # the player's box: rows top..bottom, cols left..right (end excl.)
    window: tuple[int, int, int] = (18, 17, 28)  # the window seen: top row, left column, side (CriticConfig.around)
    width: int = 32

    @staticmethod
    def around(followed_pixels: tuple[int, ...], image_size: int = 64, motion_radius: int = 8,
               width: int = 32) -> "CriticConfig":
        """The box around the followed pixels (BOX_MARGIN beyond them: the whole sprite, whichever way it
        faces) and a square window reaching WINDOW_MARGIN beyond it, inside the frame, its side a multiple of 4."""
        rows = [i // image_size for i in followed_pixels]
        cols = [i % image_size for i in followed_pixels]
        box = (min(rows) - BOX_MARGIN[0], max(rows) + 1 + BOX_MARGIN[0], min(cols) - BOX_MARGIN[1],
               max(cols) + 1 + BOX_MARGIN[1])
        side = max(box[1] - box[0], box[3] - box[2]) + 2 * WINDOW_MARGIN
        side = min(-(-side // 4) * 4, image_size)
        top = min(max((box[0] + box[1] - side) // 2, 0), image_size - side)
        left = min(max((box[2] + box[3] - side) // 2, 0), image_size - side)
        return CriticConfig(image_size, motion_radius, tuple(followed_pixels), box, (top, left, side), width)


class MoveCritic(nn.Module):
    def __init__(self, config: CriticConfig):
        super().__init__()
        self.config = config
        side, w = config.window[2], config.width
        if side % 4:
            raise ValueError(f"critic window side must be a multiple of 4, got {side}")
        # Input: the window of the frame and of the moved frame (3 + 3 channels) and the move (dx, dy).
        self.net = nn.Sequential(
            nn.Conv2d(8, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1), nn.GELU(),
            nn.Flatten(), nn.Linear(2 * w * (side // 4) ** 2, 4 * w), nn.GELU(), nn.Linear(4 * w, 1))
        self.register_buffer("kept_HW", _kept(config), persistent=False)

    def inputs(self, frames_BHW3: torch.Tensor, shifts_B2: torch.Tensor) -> torch.Tensor:
        """(B, 8, side, side) float: the window of each frame and of it moved by its shift, box blanked, and the shift."""
        top, left, side = self.config.window
        b0, b1, c0, c1 = self.config.box
        moved = move_camera(frames_BHW3, shifts_B2, self.kept_HW)
        x = torch.cat((frames_BHW3, moved), -1)[:, top:top + side, left:left + side]
        x = x.permute(0, 3, 1, 2).float() / 255
        x[:, :, max(b0 - top, 0):max(b1 - top, 0), max(c0 - left, 0):max(c1 - left, 0)] = 0.5
        shift = (shifts_B2.float() / self.config.motion_radius)[:, :, None, None].expand(-1, 2, side, side)
        return torch.cat((x, shift.to(x.device)), 1)

    def forward(self, frames_BHW3: torch.Tensor, shifts_B2: torch.Tensor) -> torch.Tensor:
        """Logits (B,) that each frame's level moved by its shift (dx, dy) is the move that came next."""
        x = self.inputs(frames_BHW3, shifts_B2)
        return self.net(x.to(self.net[0].weight.dtype)).float()[:, 0]


def _kept(config: CriticConfig) -> torch.Tensor:
    kept = pixel_mask(config.followed_pixels, config.image_size)
    return torch.zeros(config.image_size, config.image_size, dtype=torch.bool) if kept is None else kept


def critic_loss(critic: MoveCritic, frames_BHW3: torch.Tensor, true_B2: torch.Tensor, other_B2: torch.Tensor
                ) -> tuple[torch.Tensor, dict[str, float]]:
    """Binary cross-entropy of the true next moves (positives) against other transitions' moves
    (negatives; pairs where the two moves are equal are left out)."""
    differ = (other_B2 != true_B2).any(-1)
    logits = critic(torch.cat((frames_BHW3, frames_BHW3[differ])), torch.cat((true_B2, other_B2[differ])))
    labels = torch.cat((torch.ones(len(true_B2)), torch.zeros(int(differ.sum())))).to(logits.device)
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    with torch.no_grad():
        p = torch.sigmoid(logits)
        positive, negative = p[:len(true_B2)], p[len(true_B2):]
        stats = {"critic_loss": loss.item(), "true_move_p": positive.mean().item(),
                 "other_move_p": negative.mean().item() if len(negative) else float("nan")}
    return loss, stats


def smaller_moves(shift_2: tuple[int, int], sideways_only: bool = False) -> torch.Tensor:
    """(K, 2) every move from (0, 0) up to the shift on each axis, nearest to the shift first (the shift
    itself first, no move last); sideways_only: the vertical move kept, from the shift to (0, dy)."""
    dx, dy = shift_2
    xs = range(0, dx + (1 if dx >= 0 else -1), 1 if dx >= 0 else -1)
    ys = [dy] if sideways_only else range(0, dy + (1 if dy >= 0 else -1), 1 if dy >= 0 else -1)
    moves = sorted(((a, b) for a in xs for b in ys), key=lambda m: (abs(dx - m[0]) + abs(dy - m[1]), abs(dy - m[1])))
    return torch.tensor(moves, dtype=torch.long)


@torch.inference_mode()
def allowed_moves(critic: MoveCritic, frames_BHW3: torch.Tensor, shifts_B2: torch.Tensor, refuse_below: float,
                  sideways_only: bool = False) -> torch.Tensor:
    """(B, 2) each shift, or where the critic rates it below refuse_below the nearest smaller move it
    rates at least that (no move when none). sideways_only: only moves with a sideways part are judged
    and only that part is cut back (walls), the vertical one always kept (falls and rises are the
    dynamics model's and the action prior's). One critic pass on the judged shifts; one more, on all
    smaller moves of the refused ones, only when some are refused."""
    judged = (shifts_B2[:, 0] != 0) if sideways_only else (shifts_B2 != 0).any(-1)  # no move: never asked
    moving = torch.nonzero(judged).flatten()
    if not len(moving):
        return shifts_B2
    ok = torch.sigmoid(critic(frames_BHW3[moving], shifts_B2[moving])) >= refuse_below
    refused = moving[~ok].tolist()
    if not refused:
        return shifts_B2
    out = shifts_B2.clone()
    # Neither the shift itself nor the last resort (no move, or no sideways move) is asked again.
    candidates = [smaller_moves(tuple(shifts_B2[b].tolist()), sideways_only)[1:-1] for b in refused]
    owners = torch.cat([torch.full((len(c),), b) for b, c in zip(refused, candidates)])
    if len(owners):
        moves = torch.cat(candidates).to(shifts_B2.device)
        accepted = (torch.sigmoid(critic(frames_BHW3[owners.to(frames_BHW3.device)], moves)) >= refuse_below).cpu()
    start = 0
    for b, c in zip(refused, candidates):
        hits = torch.nonzero(accepted[start:start + len(c)]).flatten() if len(c) else torch.empty(0, dtype=torch.long)
        last_resort = torch.tensor([0, int(shifts_B2[b, 1]) if sideways_only else 0])
        out[b] = (c[hits[0]] if len(hits) else last_resort).to(out.device)
        start += len(c)
    return out
