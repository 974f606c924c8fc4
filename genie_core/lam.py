"""Latent action model (Genie Section 2.1, "Latent Action Model").

Learns, from unlabelled video only, a discrete action per transition. The encoder sees frames
x_1..x_{t+1} (causal ST-transformer over pixel patches) and emits one latent per transition,
quantised to a tiny codebook (8 codes); the decoder sees x_1..x_t plus that code and must
rebuild x_{t+1}. The bottleneck leaves room only for "what changed", i.e. the action.
At play time the player's key replaces the encoder.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import LAMConfig
from .patches import patchify, to_unit, unpatchify
from .st_transformer import STTransformer
from .vq import VectorQuantizer


@dataclass
class LAMOutput:
    actions: torch.Tensor  # (B, T-1) latent action ids; actions[:, t] is the transition t -> t+1
    latents: torch.Tensor  # (B, T-1, code_dim) before quantisation
    recon: torch.Tensor  # (B, T-1, H, W, 3) float [0, 1] scale: predictions of frames 1..T-1
    loss: torch.Tensor
    recon_loss: torch.Tensor


class LatentActionModel(nn.Module):
    def __init__(self, config: LAMConfig):
        super().__init__()
        self.config = c = config
        patch_dim = c.patch * c.patch * 3
        tokens = (c.image_size // c.patch) ** 2
        self.encoder_embed = nn.Linear(patch_dim, c.dim)
        self.encoder_pos_NC = nn.Parameter(0.02 * torch.randn(tokens, c.dim))
        self.encoder = STTransformer(c.dim, c.encoder_depth, c.heads)
        self.to_action = nn.Sequential(nn.Linear(c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.code_dim))
        self.vq = VectorQuantizer(c.num_actions, c.code_dim, dead_fraction=0.25, entropy_weight=0.05)
        self.decoder_embed = nn.Linear(patch_dim, c.dim)
        self.decoder_pos_NC = nn.Parameter(0.02 * torch.randn(tokens, c.dim))
        self.action_embed = nn.Linear(c.code_dim, c.dim)
        self.decoder = STTransformer(c.dim, c.decoder_depth, c.heads)
        self.to_pixels = nn.Linear(c.dim, patch_dim)

    def encode(self, frames_BTHW3: torch.Tensor) -> torch.Tensor:
        """Frames -> continuous action latents (B, T-1, code_dim), one per transition."""
        patches = patchify(to_unit(frames_BTHW3) - 0.5, self.config.patch)
        h = self.encoder(self.encoder_embed(patches) + self.encoder_pos_NC)  # (B, T, N, C)
        # The output at frame t+1 has seen x_1..x_{t+1} (causal): it describes transition t -> t+1.
        return self.to_action(h[:, 1:].mean(dim=2))

    def forward(self, frames_BTHW3: torch.Tensor) -> LAMOutput:
        latents = self.encode(frames_BTHW3)
        vq = self.vq(latents)
        unit = to_unit(frames_BTHW3)
        past = unit[:, :-1]  # x_1..x_{T-1}
        x = self.decoder_embed(patchify(past - 0.5, self.config.patch)) + self.decoder_pos_NC
        x = x + self.action_embed(vq.quantized)[:, :, None, :]  # action t -> t+1 joins frame t
        # Predict the change from the last frame: copying is free, so capacity goes to motion.
        delta = unpatchify(self.to_pixels(self.decoder(x)), self.config.patch, self.config.image_size)
        recon = past + delta
        recon_loss = F.mse_loss(recon, unit[:, 1:])
        return LAMOutput(vq.indices, latents, recon, recon_loss + vq.loss, recon_loss)

    @torch.no_grad()
    def infer_actions(self, frames_BTHW3: torch.Tensor) -> torch.Tensor:
        """Frames (B, T, H, W, 3) uint8 -> latent action ids (B, T-1)."""
        return self.vq.nearest(self.encode(frames_BTHW3))
