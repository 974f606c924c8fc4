"""Video tokenizer: an ST-ViViT VQ-VAE (Genie Section 2.1, "Video Tokenizer").

Frames (B, T, H, W, 3) uint8 -> patch tokens -> causal ST-transformer encoder -> one code per
patch from a VQ codebook -> causal ST-transformer decoder -> pixels. Temporal attention is
causal, so the tokens and the reconstruction of frame t never depend on later frames, which is
what lets the player decode one generated frame at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.patches import patchify, to_uint8, to_unit, unpatchify
from ..blocks.st_transformer import KVBuffer, STTransformer
from ..blocks.vq import FiniteScalarQuantizer, VectorQuantizer
from .config import TokenizerConfig


@dataclass
class TokenizerOutput:
    recon: torch.Tensor  # (B, T, H, W, 3) float, target scale [0, 1]
    indices: torch.Tensor  # (B, T, N) code ids
    latents: torch.Tensor  # (B, T, N, code_dim) encoder outputs before quantisation
    loss: torch.Tensor
    recon_loss: torch.Tensor
    vq_loss: torch.Tensor


class VideoTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig):
        super().__init__()
        self.config = c = config
        patch_dim = c.patch * c.patch * 3
        self.patch_embed = nn.Linear(patch_dim, c.dim)
        self.encoder_pos_NC = nn.Parameter(0.02 * torch.randn(c.tokens_per_frame, c.dim))
        self.encoder = STTransformer(c.dim, c.encoder_depth, c.heads)
        self.to_code = nn.Linear(c.dim, c.code_dim)
        self.vq = (FiniteScalarQuantizer(c.fsq_levels) if c.quantizer == "fsq"
                   else VectorQuantizer(c.num_codes, c.code_dim))
        self.from_code = nn.Linear(c.code_dim, c.dim)
        self.decoder_pos_NC = nn.Parameter(0.02 * torch.randn(c.tokens_per_frame, c.dim))
        self.decoder = STTransformer(c.dim, c.decoder_depth, c.heads)
        self.to_pixels = nn.Linear(c.dim, patch_dim)

    def encode_latents(self, frames_BTHW3: torch.Tensor) -> torch.Tensor:
        """uint8 frames -> continuous latents (B, T, N, code_dim), before quantisation."""
        patches = patchify(to_unit(frames_BTHW3) - 0.5, self.config.patch).to(self.patch_embed.weight.dtype)
        x = self.patch_embed(patches) + self.encoder_pos_NC
        return self.to_code(self.encoder(x, window=self.config.temporal_window)).float()  # quantised in fp32

    def decode_codes(self, codes_BTND: torch.Tensor, positions_T=None, kv: KVBuffer | None = None):
        """Quantised codes -> float frames (B, T, H, W, 3) in [0, 1] scale (unclamped)."""
        x = self.from_code(codes_BTND.to(self.from_code.weight.dtype)) + self.decoder_pos_NC
        x = self.decoder(x, positions_T, window=self.config.temporal_window, kv=kv)
        return unpatchify(self.to_pixels(x).float(), self.config.patch, self.config.image_size) + 0.5

    def forward(self, frames_BTHW3: torch.Tensor) -> TokenizerOutput:
        latents = self.encode_latents(frames_BTHW3)
        vq = self.vq(latents)
        recon = self.decode_codes(vq.quantized)
        recon_loss = F.mse_loss(recon, to_unit(frames_BTHW3))
        return TokenizerOutput(recon, vq.indices, latents, recon_loss + vq.loss, recon_loss, vq.loss)

    @torch.no_grad()
    def encode(self, frames_BTHW3: torch.Tensor) -> torch.Tensor:
        """uint8 frames -> code ids (B, T, N)."""
        return self.vq.nearest(self.encode_latents(frames_BTHW3))

    @torch.no_grad()
    def encode_long(self, frames_THW3: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """A whole episode (T, H, W, 3) -> code ids (T, N), in chunks that overlap by the temporal
        window, so every frame sees the same past as in one long pass at bounded memory."""
        window, pieces = self.config.temporal_window, []
        for start in range(0, len(frames_THW3), chunk):
            lead = min(start, window - 1)
            pieces.append(self.encode(frames_THW3[start - lead:start + chunk][None])[0, lead:])
        return torch.cat(pieces)

    @torch.no_grad()
    def decode(self, indices_BTN: torch.Tensor) -> torch.Tensor:
        """code ids (B, T, N) -> uint8 frames (B, T, H, W, 3)."""
        return to_uint8(self.decode_codes(self.vq.lookup(indices_BTN)))

    def new_kv_buffer(self, batch: int, device) -> KVBuffer:
        """The decoder's keys/values of the past frames its temporal window sees, for `batch` rollouts."""
        return self.decoder.new_kv_buffer(batch * self.config.tokens_per_frame, self.config.temporal_window, device)

    @torch.no_grad()
    def decode_newest(self, indices_BTN: torch.Tensor, positions_T: torch.Tensor | None = None) -> torch.Tensor:
        """The newest frame of code ids (B, T, N) -> uint8 (B, H, W, 3), recomputed over all of them
        (the uncached reference for `decode_step`)."""
        return to_uint8(self.decode_codes(self.vq.lookup(indices_BTN), positions_T)[:, -1])

    def decode_step(self, indices_BN: torch.Tensor, position: int, kv: KVBuffer) -> torch.Tensor:
        """One new frame's code ids (B, N) -> uint8 (B, H, W, 3), attending to the past frames in `kv`."""
        codes = self.vq.lookup(indices_BN)[:, None]
        positions = torch.tensor([position], device=indices_BN.device)
        return to_uint8(self.decode_codes(codes, positions, kv=kv))[:, 0]
