"""What the outpainter optimises (DynamicsModel.outpaint_logits): the tokens of a band along one edge
of a real frame, hidden, drawn from the rest of that frame alone. Play asks the same of it when a move
heads for ground the world has never shown (DecodeSettings.imagine_ahead, world/rollout.py): the
view that far ahead is the shown frame moved, with a band of unknown ground along its leading edge."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.sampler import ClipSampler
from ..models.dynamics import DynamicsModel
from ..models.tokenizer import VideoTokenizer

FRAME_STRIDE = 4  # every 4th frame of an episode: its neighbours differ by a camera step of 1-3 px
MAX_BAND = 6  # token rows or columns hidden at most (play's 16 px ahead hides 4 or 5 of patch 4)
VAL_FRAMES = 1024
ENCODE_BATCH = 256


@torch.inference_mode()
def tokenized_frames(clips: ClipSampler, tokenizer: VideoTokenizer, stride: int = FRAME_STRIDE) -> torch.Tensor:
    """Every stride-th frame of every episode, each encoded alone as play encodes a draft: (M, N) long."""
    frames = torch.cat([torch.from_numpy(np.array(clips._frames(i))[::stride]) for i in range(len(clips.episodes))])
    device = next(tokenizer.parameters()).device
    return torch.cat([tokenizer.encode(frames[i:i + ENCODE_BATCH, None].to(device))[:, 0].cpu()
                      for i in range(0, len(frames), ENCODE_BATCH)])


def edge_bands(batch: int, grid: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, grid * grid) bool: per row a band 1..MAX_BAND tokens deep (less than the grid) along one edge
    (left, right, top or bottom)."""
    side = torch.randint(0, 4, (batch, 1, 1), generator=generator)
    depth = torch.randint(1, min(MAX_BAND, grid - 1) + 1, (batch, 1, 1), generator=generator)
    rows, cols = torch.arange(grid)[None, :, None], torch.arange(grid)[None, None, :]
    band = torch.where(side == 0, cols < depth, torch.where(side == 1, cols >= grid - depth,
                       torch.where(side == 2, rows < depth, rows >= grid - depth)))
    return band.expand(batch, grid, grid).reshape(batch, grid * grid)


def outpaint_loss(model: DynamicsModel, tokens_BN: torch.Tensor, generator: torch.Generator | None = None):
    """MaskGIT's loss on the band: its draft hides the whole band, a random share of which is still
    hidden in the input (the rounds so far fixed the rest). Returns (loss, metrics)."""
    B, N = tokens_BN.shape
    band = edge_bands(B, model.config.grid, generator).to(tokens_BN.device)
    rate = torch.rand(B, 1, generator=generator).to(tokens_BN.device)
    hidden = band & (torch.rand(B, N, generator=generator).to(tokens_BN.device) < rate)
    hidden = torch.where(hidden.any(1, keepdim=True), hidden, band)  # at least one token to learn from
    draft = tokens_BN.masked_fill(band, model.mask_id)
    logits = model.outpaint_logits(tokens_BN.masked_fill(hidden, model.mask_id), draft, select_BN=hidden)
    target = tokens_BN[hidden]
    loss = F.cross_entropy(logits.float(), target)
    return loss, {"outpaint_loss": loss.item(), "outpaint_acc": (logits.argmax(-1) == target).float().mean().item()}


class OutpainterObjective(nn.Module):
    def __init__(self, outpainter: DynamicsModel, tokenizer: VideoTokenizer, train: ClipSampler, val: ClipSampler):
        super().__init__()
        self.outpainter = outpainter
        self.tokens = tokenized_frames(train, tokenizer)
        val_tokens = tokenized_frames(val, tokenizer)
        picks = torch.randperm(len(val_tokens), generator=torch.Generator().manual_seed(0))[:VAL_FRAMES]
        self.val = val_tokens[picks]
        print(f"outpainter: {len(self.tokens)} frames to learn from, {len(self.val)} to validate on")

    def components(self):
        return {"outpainter": self.outpainter}

    @property
    def device(self):
        return next(self.outpainter.parameters()).device

    def sample_batch(self, batch_size: int, rng: np.random.Generator):
        return self.tokens[torch.from_numpy(rng.integers(0, len(self.tokens), size=batch_size))].to(self.device)

    def forward(self, batch):
        return outpaint_loss(self.outpainter, batch)

    def after_step(self, step: int) -> None:
        pass

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        generator = torch.Generator().manual_seed(0)  # the same bands and shares every time
        parts = [outpaint_loss(self.outpainter, self.val[i:i + 256].to(self.device), generator)[1]
                 for i in range(0, len(self.val), 256)]
        return {k: sum(p[k] for p in parts) / len(parts) for k in parts[0]}
