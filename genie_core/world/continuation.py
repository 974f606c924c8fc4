"""New ground drafted by continuing the level shown so far (DecodeSettings.continue_ground).

The dynamics model draws new ground badly: decoding an uncertain strip greedily repeats the column
beside it, so a held Right grows horizontal bands (docs/free_play). A draft only proposes pixels:
the model keeps a drafted token or replaces it. This proposes the strip a move reveals for the
first time by continuation: the band of pixels beside the strip is looked for in the ground memory
(memory.py: everything this world has shown, never the player), at about the same height for a
sideways move and about the same column for a rise or a fall, and what came after the best match
there is copied into the strip. Levels repeat their pieces (floors, walls, platforms and the gaps
between them), so a strip continued from them goes on like the level instead of smearing it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .memory import GroundMemory

BAND = 8  # px of known pixels beside the strip that are matched
SLACK = 6  # px the match may sit off the band's own height (sideways moves) or column (rises and falls)


def _best_continuation(band_3HK: torch.Tensor, matched_H: torch.Tensor, canvas_3SS: torch.Tensor,
                       known_SS: torch.Tensor, width: int, after: bool, rows: range
                       ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The `width` columns that follow (after=True) or precede the canvas block of the band's shape that
    matches the band best (least squared error over the band's rows matched_H), among blocks at top rows
    `rows` known on those rows: ((3, H, width) pixels, (H, width) which of them the canvas holds), or
    None when no block qualifies."""
    H, K = band_3HK.shape[1:]
    S = canvas_3SS.shape[-1]
    span = K + width
    weight = matched_H.float()[None, None, :, None].expand(1, 3, H, K)
    tops = list(rows)
    if not tops:
        return None
    stripes = torch.stack([canvas_3SS[:, top:top + H] for top in tops])  # (R, 3, H, S)
    unknown_stripes = torch.stack([~known_SS[top:top + H] for top in tops]).float()[:, None]  # (R, 1, H, S)
    unknown = F.conv2d(unknown_stripes, weight[:, :1, :, :1].expand(1, 1, H, span))[:, 0, 0]  # (R, S - span + 1)
    offset = 0 if after else width  # where the band sits inside the block
    window = stripes[..., offset:S - span + offset + K]
    error = (F.conv2d(window.pow(2), weight) - 2 * F.conv2d(window, (band_3HK * weight[0])[None]))[:, 0, 0]
    error = error.masked_fill(unknown > 0, float("inf"))
    best = int(error.argmin())
    if error.flatten()[best] == float("inf"):
        return None
    row, x = divmod(best, error.shape[1])
    start = x + K if after else x
    return stripes[row, :, :, start:start + width], known_SS[tops[row]:tops[row] + H, start:start + width]


def continue_ground(moved_BHW3: torch.Tensor, new_BHW: torch.Tensor, memory: GroundMemory, motion_B2: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """A moved frame with its new ground (new_BHW: revealed pixels the memory does not hold) continued from
    the memory (already moved to the new view): (pixels, the new pixels no continuation was found for)."""
    out, still_new = moved_BHW3.clone(), new_BHW.clone()
    size = moved_BHW3.shape[1]
    for b in range(len(moved_BHW3)):
        dx, dy = (int(v) for v in motion_B2[b])
        if not bool(new_BHW[b].any()):
            continue
        canvas = memory.canvas_BSS3[b].permute(2, 0, 1).float()
        known = memory.known_BSS[b]
        x0, y0 = (int(v) for v in memory.origin_B2[b])
        frame = out[b].permute(2, 0, 1).float()  # (3, H, W)
        for axis, shift in ((0, dx), (1, dy)):  # sideways first, then rises and falls (the corner gets both)
            width = abs(shift)
            if not width or width + BAND > size:
                continue
            # Work on columns: a rise or fall is a sideways move of the transposed picture.
            view = frame if axis == 0 else frame.transpose(1, 2)
            source, source_known = (canvas, known) if axis == 0 else (canvas.transpose(1, 2), known.t())
            level = y0 if axis == 0 else x0
            after = shift < 0  # content moving left reveals the right edge: continue after the band
            band = view[:, :, size - width - BAND:size - width] if after else view[:, :, width:width + BAND]
            # Only the band's rows this move did not reveal along the other axis are matched: those hold the
            # frame's own content, the others the edge replicated (or, second, a strip just continued).
            across = abs(dy if axis == 0 else dx)
            matched = torch.ones(size, dtype=torch.bool)
            if across:
                matched[:across] = (dy if axis == 0 else dx) <= 0
                matched[size - across:] = (dy if axis == 0 else dx) >= 0
            rows = range(max(level - SLACK, 0), min(level + SLACK, source.shape[1] - size) + 1)
            found = _best_continuation(band, matched, source, source_known, width, after, rows)
            if found is None:
                continue
            strip, strip_known = found
            cols = slice(size - width, size) if after else slice(0, width)
            pending = (still_new[b] if axis == 0 else still_new[b].t())[:, cols]  # a view: cleared where filled
            fill = pending & strip_known
            view[:, :, cols] = torch.where(fill[None], strip, view[:, :, cols])
            pending &= ~fill
        out[b] = frame.round().clamp(0, 255).to(out.dtype).permute(1, 2, 0)
    return out, still_new
