"""Ground memory: the level the world has shown, kept in level coordinates, so ground the camera
brings back comes back as it was.

Without it, every pixel a camera move reveals is new: the dynamics model must draw it, and ground
that left the view a second ago (below the player before a jump, behind it before a turn) is
invented again, differently, each time it returns. Long play then drifts into bands and flat fill
(docs/free_play). The memory is a canvas a few views wide that follows the camera: each shown
frame is written at the camera's place, and when a move reveals pixels the canvas already holds,
the draft takes them from there instead of leaving them to the model. It holds what this world
showed, never anything else: no level data, no labels, only the model's own frames and its own
camera motion.

The followed pixels (the player, whom the camera keeps at the centre) are never written: the player
moves with the camera, so writing it would leave a ghost of it on the ground it stood on.

Motion is the content's displacement (dx, dy) (blocks/motion.py), so the view's top-left corner in
canvas coordinates moves by -(dx, dy).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..blocks.motion import revealed_pixels, shift_frames

VIEWS = 3  # canvas side in views: one view of remembered ground on every side of the current one


@dataclass(frozen=True)
class GroundMemory:
    canvas_BSS3: torch.Tensor  # uint8 pixels, canvas coordinates
    known_BSS: torch.Tensor  # bool: the pixel has been shown
    origin_B2: torch.Tensor  # long (x, y): the view's top-left corner on the canvas

    @classmethod
    def empty(cls, batch: int, size: int, device) -> GroundMemory:
        side = VIEWS * size
        origin = torch.full((batch, 2), (side - size) // 2, dtype=torch.long, device=device)
        return cls(torch.zeros(batch, side, side, 3, dtype=torch.uint8, device=device),
                   torch.zeros(batch, side, side, dtype=torch.bool, device=device), origin)

    @property
    def view_size(self) -> int:
        return self.canvas_BSS3.shape[1] // VIEWS

    def moved(self, motion_B2: torch.Tensor) -> GroundMemory:
        """The memory with the view moved by a camera motion (B, 2); a view that would leave the canvas
        is put back at its centre, the canvas shifted along (forgetting the far side)."""
        side, size = self.canvas_BSS3.shape[1], self.view_size
        origin = self.origin_B2 - motion_B2.to(self.origin_B2)
        outside = ((origin < 0) | (origin > side - size)).any(-1)
        if not bool(outside.any()):
            return GroundMemory(self.canvas_BSS3, self.known_BSS, origin)
        # Moving the canvas content by (centre - origin) puts the view back at the centre.
        recentre = torch.where(outside[:, None], (side - size) // 2 - origin, torch.zeros_like(origin))
        canvas = shift_frames(self.canvas_BSS3, recentre)
        known = shift_frames(self.known_BSS, recentre) & ~revealed_pixels(recentre, side)
        return GroundMemory(canvas, known, origin + recentre)

    def _under_view(self) -> torch.Tensor:
        """Flat indices (B, H, W) of the canvas pixels under the view, into the canvas seen as (B*S*S,):
        one flat index selects and writes faster than three broadcast ones."""
        side, steps = self.canvas_BSS3.shape[1], torch.arange(self.view_size, device=self.origin_B2.device)
        rows, cols = self.origin_B2[:, 1, None] + steps, self.origin_B2[:, 0, None] + steps  # (B, H), (B, W)
        batch = torch.arange(len(rows), device=rows.device)[:, None, None]
        return (batch * side + rows[:, :, None]) * side + cols[:, None, :]

    def view(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What the canvas holds under the view: pixels (B, H, W, 3) and whether each is known (B, H, W)."""
        at = self._under_view()
        flat = at.flatten()
        pixels = self.canvas_BSS3.reshape(-1, 3).index_select(0, flat).reshape(*at.shape, 3)
        return pixels, self.known_BSS.reshape(-1).index_select(0, flat).reshape(at.shape)

    def written(self, shown_BHW3: torch.Tensor, followed_HW: torch.Tensor | None) -> GroundMemory:
        """The memory with a shown frame written under the view, except on the followed pixels."""
        at, pixels = self._under_view(), shown_BHW3
        if followed_HW is not None:  # the same pixels in every world: keep the others' indices only
            write_HW = ~followed_HW.to(at.device)
            at, pixels = at[:, write_HW], shown_BHW3[:, write_HW]
        canvas, known = self.canvas_BSS3.clone(), self.known_BSS.clone()
        flat = at.flatten()
        canvas.view(-1, 3).index_copy_(0, flat, pixels.reshape(-1, 3))
        known.view(-1).index_fill_(0, flat, True)
        return GroundMemory(canvas, known, self.origin_B2)


def recall_revealed(moved_BHW3: torch.Tensor, memory: GroundMemory, revealed_BHW: torch.Tensor):
    """A moved frame (B, H, W, 3) with the revealed pixels (B, H, W) bool (models/draft.new_ground) the
    memory (already moved) holds put in: (pixels, still-unknown revealed pixels (B, H, W) bool)."""
    remembered, known = memory.view()
    recalled = revealed_BHW & known
    return torch.where(recalled[..., None], remembered, moved_BHW3), revealed_BHW & ~known
