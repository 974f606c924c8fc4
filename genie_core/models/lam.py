"""Latent action model (Genie Section 2.1, "Latent Action Model").

Learns, from unlabelled video only, a discrete action per transition. The encoder sees frames
x_1..x_{t+1} (causal ST-transformer over pixel patches) and emits one latent per transition,
quantised to a tiny codebook (8 codes); the decoder sees x_1..x_t plus that code and must
rebuild x_{t+1}. The bottleneck leaves room only for "what changed", i.e. the action.
With `still_action`, the last code is reserved for transitions that change no pixel at all (given
by rule, not learned); the others share the remaining codes. With `motion_codes`, those codes
are anchored to motion: before training, the camera motions measured on the training video
(motion.py) are clustered into as many classes as learned codes, and the encoder learns to tell
a transition's class from its frames; the code is that class, so each key means one camera move
(right, left, jump, fall, ...). At play time the player's key replaces the encoder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.patches import patchify, to_unit, unpatchify
from ..blocks.st_transformer import STTransformer
from ..blocks.vq import VectorQuantizer
from .config import LAMConfig


@dataclass
class LAMOutput:
    actions: torch.Tensor  # (B, T-1) latent action ids; actions[:, t] is the transition t -> t+1
    latents: torch.Tensor  # (B, T-1, code_dim) before quantisation
    quantized_latents: torch.Tensor  # (X, code_dim): the latents that went through the quantiser
    recon: torch.Tensor  # (B, T-1, H, W, 3) float [0, 1] scale: predictions of frames 1..T-1
    loss: torch.Tensor
    recon_loss: torch.Tensor
    motion_loss: torch.Tensor | None = None  # cross-entropy of each code's camera motion (motion_radius > 0)


class LatentActionModel(nn.Module):
    def __init__(self, config: LAMConfig):
        super().__init__()
        self.config = c = config
        patch_dim = c.patch * c.patch * 3
        tokens = (c.image_size // c.patch) ** 2
        self.encoder_embed = nn.Linear(patch_dim * (2 if c.difference_input else 1), c.dim)
        self.encoder_pos_NC = nn.Parameter(0.02 * torch.randn(tokens, c.dim))
        self.encoder = STTransformer(c.dim, c.encoder_depth, c.heads)
        self.to_action = nn.Sequential(nn.Linear(c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.code_dim))
        learned_codes = c.num_actions - 1 if c.still_action else c.num_actions
        self.vq = VectorQuantizer(learned_codes, c.code_dim, dead_fraction=c.dead_fraction,
                                  entropy_weight=c.entropy_weight)
        # What the decoder is told for a still transition (the reserved code's vector).
        self.still_code = nn.Parameter(torch.randn(c.code_dim)) if c.still_action else None
        self.decoder_embed = nn.Linear(patch_dim, c.dim)
        self.decoder_pos_NC = nn.Parameter(0.02 * torch.randn(tokens, c.dim))
        self.action_embed = nn.Linear(c.code_dim, c.dim)
        self.decoder = STTransformer(c.dim, c.decoder_depth, c.heads)
        self.to_pixels = nn.Linear(c.dim, patch_dim)
        # Start exactly at "copy the last frame" (measured: with a randomly initialised residual head
        # the LAM was still below copying after 1,000 steps; zero-initialised, 1.3 dB above it).
        nn.init.zeros_(self.to_pixels.weight)
        nn.init.zeros_(self.to_pixels.bias)
        if c.decoder_shift:
            taps = 2 * c.decoder_shift + 1
            self.to_shift = nn.Linear(c.dim, 2 * taps)  # logits over vertical, then horizontal offsets
            nn.init.zeros_(self.to_shift.weight)
            with torch.no_grad():  # start as "no shift", i.e. copy the last frame
                self.to_shift.bias.zero_()
                self.to_shift.bias[c.decoder_shift] = self.to_shift.bias[taps + c.decoder_shift] = 10.0
        if c.motion_codes and c.classes == "directions" and learned_codes != len(DIRECTIONS):
            raise ValueError(f"classes by direction need {len(DIRECTIONS)} learned codes, this LAM has {learned_codes}")
        if c.motion_codes:  # codes anchored to classes of motion (set_motion_classes)
            self.register_buffer("motion_centroids", torch.zeros(learned_codes, 2))
            self.to_class = nn.Linear(c.code_dim, learned_codes)
        if c.motion_radius:  # the code alone must tell the camera motion: dx then dy logits
            self.to_motion = nn.Sequential(nn.Linear(c.code_dim, c.dim), nn.GELU(),
                                           nn.Linear(c.dim, 2 * (2 * c.motion_radius + 1)))

    def encode(self, frames_BTHW3: torch.Tensor) -> torch.Tensor:
        """Frames -> continuous action latents (B, T-1, code_dim), one per transition."""
        unit = to_unit(frames_BTHW3)
        patches = patchify(unit - 0.5, self.config.patch)
        if self.config.difference_input:  # x_t - x_{t-1}; zero for the first frame
            change = torch.cat((torch.zeros_like(unit[:, :1]), unit[:, 1:] - unit[:, :-1]), dim=1)
            patches = torch.cat((patches, patchify(change, self.config.patch)), dim=-1)
        h = self.encoder(self.encoder_embed(patches) + self.encoder_pos_NC)  # (B, T, N, C)
        # The output at frame t+1 has seen x_1..x_{t+1} (causal): it describes transition t -> t+1.
        return self.to_action(h[:, 1:].mean(dim=2))

    def still_transitions(self, frames_BTHW3: torch.Tensor) -> torch.Tensor | None:
        """(B, T-1) True where frame t+1 equals frame t pixel for pixel; None without a still action."""
        if self.still_code is None:
            return None
        return (frames_BTHW3[:, 1:] == frames_BTHW3[:, :-1]).flatten(2).all(-1)

    def quantize(self, latents_BAD: torch.Tensor, still_BA: torch.Tensor | None):
        """(actions (B, A), code vectors (B, A, D), VQ loss, the latents the quantiser saw (X, D))."""
        if still_BA is None:
            vq = self.vq(latents_BAD)
            return vq.indices, vq.quantized, vq.loss, latents_BAD.reshape(-1, latents_BAD.shape[-1])
        moving = ~still_BA
        actions = torch.full_like(still_BA, self.config.still_id, dtype=torch.long)
        quantized = F.normalize(self.still_code, dim=-1).expand(*still_BA.shape, -1).clone()
        loss = latents_BAD.sum() * 0.0  # keeps the graph whole when a batch holds only still transitions
        if moving.any():
            vq = self.vq(latents_BAD[moving])
            actions[moving] = vq.indices
            quantized[moving] = vq.quantized.to(quantized.dtype)
            loss = loss + vq.loss
        return actions, quantized, loss, latents_BAD[moving]

    def motion_classes(self, motions_X2: torch.Tensor) -> torch.Tensor:
        """(...) motion class of each (dx, dy): its direction (classes "directions"), or the nearest
        centroid, dx scaled by motion_dx_weight."""
        if self.config.classes == "directions":
            return direction_classes(motions_X2)
        scale = torch.tensor([self.config.motion_dx_weight, 1.0], device=motions_X2.device)
        distance = ((motions_X2.float()[..., None, :] - self.motion_centroids) * scale).pow(2).sum(-1)
        return distance.argmin(-1)

    def set_motion_classes(self, motions_X2: torch.Tensor, seed: int = 0, sample: int = 20_000) -> None:
        """k-means of the data's camera motions (X, 2) into the learned codes' number of classes."""
        from ..blocks.metrics import kmeans

        rng = np.random.default_rng(seed)
        points = motions_X2.float().numpy()
        points = points[np.isfinite(points).all(1)]  # unknown player moves (NaN) are no class's
        if self.config.classes == "directions":  # the classes are fixed; the centroids say what each one moves
            labels = direction_classes(torch.from_numpy(points)).numpy()
            self.motion_centroids.copy_(torch.tensor(np.array(
                [points[labels == k].mean(0) if (labels == k).any() else np.array(DIRECTIONS[k], np.float32)
                 for k in range(len(DIRECTIONS))]), dtype=torch.float32))
            return
        points = points[rng.choice(len(points), min(sample, len(points)), replace=False)]
        scale = np.array([self.config.motion_dx_weight, 1.0])
        labels = kmeans(points * scale, len(self.motion_centroids), seed)
        centroids = [points[labels == k].mean(0) if (labels == k).any() else np.zeros(2)
                     for k in range(len(self.motion_centroids))]
        order = sorted(range(len(centroids)), key=lambda k: tuple(centroids[k]))  # a stable numbering
        self.motion_centroids.copy_(torch.tensor(np.array([centroids[k] for k in order]), dtype=torch.float32))

    def classify(self, latents_BAD: torch.Tensor, still_BA: torch.Tensor | None, motions_BT2: torch.Tensor | None):
        """Motion-anchored codes: (actions (B, A), code vectors (B, A, D), class loss)."""
        logits = self.to_class(latents_BAD).float()  # (B, A, K)
        actions = logits.argmax(-1)
        loss = latents_BAD.sum() * 0.0
        moving = torch.ones_like(actions, dtype=torch.bool) if still_BA is None else ~still_BA
        if motions_BT2 is not None:
            moves = motions_BT2[:, 1:]
            labelled = moving & torch.isfinite(moves.float()).all(-1)  # a player move may be unknown (NaN)
            if labelled.any():
                target = self.motion_classes(moves[labelled])
                loss = loss + F.cross_entropy(logits[labelled], target)
                if self.config.measured_codes:
                    actions = actions.masked_scatter(labelled, target)
        quantized = self.vq.lookup(actions)
        if still_BA is not None:
            actions = actions.masked_fill(still_BA, self.config.still_id)
            quantized = torch.where(still_BA[..., None], F.normalize(self.still_code, dim=-1), quantized)
        return actions, quantized, loss

    def forward(self, frames_BTHW3: torch.Tensor, motions_BT2: torch.Tensor | None = None,
                moves_BT2: torch.Tensor | None = None) -> LAMOutput:
        """motions_BT2: each frame's camera motion (dx, dy) from the one before (motion.py); with
        motion_radius > 0 the codes learn to tell it (with motion_codes, they are its class).
        moves_BT2: with anchor "player", the player's move into each frame (tracking.player_moves,
        NaN where unknown); the motion classes are then its classes."""
        latents = self.encode(frames_BTHW3)
        still = self.still_transitions(frames_BTHW3)
        if self.config.motion_codes:
            anchors = moves_BT2 if self.config.anchor == "player" else motions_BT2
            actions, quantized, vq_loss = self.classify(latents, still, anchors)
            quantized_latents = None  # no codebook upkeep: the classes are fixed
        else:
            actions, quantized, vq_loss, quantized_latents = self.quantize(latents, still)
        unit = to_unit(frames_BTHW3)
        past = unit[:, :-1]  # x_1..x_{T-1}
        x = self.decoder_embed(patchify(past - 0.5, self.config.patch)) + self.decoder_pos_NC
        x = x + self.action_embed(quantized)[:, :, None, :]  # action t -> t+1 joins frame t
        # Predict the change from the last frame: copying is free, so capacity goes to motion.
        h = self.decoder(x)
        delta = unpatchify(self.to_pixels(h), self.config.patch, self.config.image_size)
        base = past if not self.config.decoder_shift else shift_mix(past, self.to_shift(h), self.config.patch)
        recon = base + delta
        recon_loss = F.mse_loss(recon, unit[:, 1:])
        loss, motion_loss = recon_loss + vq_loss, None
        if self.config.motion_radius and motions_BT2 is not None:
            R = self.config.motion_radius
            logits = self.to_motion(quantized).float().unflatten(-1, (2, 2 * R + 1))  # (B, T-1, 2, 2R+1)
            target = (motions_BT2[:, 1:] + R).clamp(0, 2 * R)
            per_axis = F.cross_entropy(logits.flatten(0, 2), target.flatten(), reduction="none").view(-1, 2).mean(0)
            motion_loss = (self.config.motion_dx_weight * per_axis[0] + per_axis[1]) / 2
            loss = loss + self.config.motion_weight * motion_loss
        return LAMOutput(actions, latents, quantized_latents, recon, loss, recon_loss, motion_loss)

    @torch.no_grad()
    def infer_actions(self, frames_BTHW3: torch.Tensor) -> torch.Tensor:
        """Frames (B, T, H, W, 3) uint8 -> latent action ids (B, T-1)."""
        latents = self.encode(frames_BTHW3)
        actions = self.to_class(latents).argmax(-1) if self.config.motion_codes else self.vq.nearest(latents)
        still = self.still_transitions(frames_BTHW3)
        return actions if still is None else actions.masked_fill(still, self.config.still_id)


# The classes by direction, each with a move it stands for when the data has none (content displacement,
# motion.py: the player going right moves the content left, going up moves it down).
DIRECTIONS = ((0.0, 0.0), (-2.0, 0.0), (2.0, 0.0), (0.0, 3.0), (0.0, -3.0), (-2.0, 3.0), (-2.0, -3.0))
IDLE_BELOW = 0.5  # px each way under which a move is idle on that axis
# What each class by direction is called on the player's keys (actions.json): "jump" is up.
DIRECTION_NAMES = ("noop", "right", "left", "jump", "down", "right+jump", "right+down")


def direction_classes(moves_X2: torch.Tensor) -> torch.Tensor:
    """(...) class of each move (dx, dy) by the player's way: 0 idle, 1 right, 2 left, 3 up, 4 down,
    5 right+up, 6 right+down; left+up and left+down are left."""
    right, left = moves_X2[..., 0] < -IDLE_BELOW, moves_X2[..., 0] > IDLE_BELOW
    up, down = moves_X2[..., 1] > IDLE_BELOW, moves_X2[..., 1] < -IDLE_BELOW
    out = torch.zeros(moves_X2.shape[:-1], dtype=torch.long, device=moves_X2.device)
    out[up], out[down] = 3, 4
    out[right], out[right & up], out[right & down] = 1, 5, 6
    out[left] = 2
    return out


def _per_pixel(weights_BTNK: torch.Tensor, patch: int) -> torch.Tensor:
    """Per-patch weights (B, T, N, K) of a square patch grid -> per-pixel (B, T, H, W, K)."""
    B, T, N, K = weights_BTNK.shape
    grid = int(round(N ** 0.5))
    w = weights_BTNK.reshape(B, T, grid, grid, K)
    return w.repeat_interleave(patch, dim=2).repeat_interleave(patch, dim=3)


def shift_mix(frames_BTHW3: torch.Tensor, shift_logits_BTN2K: torch.Tensor, patch: int) -> torch.Tensor:
    """Each patch rebuilt as a softmax-weighted mix of copies of its frame shifted by -R..R pixels,
    vertically then horizontally (separable; exact inside a patch), edges replicated.
    shift_logits_BTN2K: per patch, K = 2R+1 vertical logits then K horizontal ones."""
    B, T, H, W, C = frames_BTHW3.shape
    K = shift_logits_BTN2K.shape[-1] // 2
    R = K // 2
    weights_y = _per_pixel(shift_logits_BTN2K[..., :K].softmax(-1), patch)  # (B, T, H, W, K)
    weights_x = _per_pixel(shift_logits_BTN2K[..., K:].softmax(-1), patch)
    padded = F.pad(frames_BTHW3.reshape(B * T, H, W, C).permute(0, 3, 1, 2), (R, R, R, R), mode="replicate")
    padded = padded.permute(0, 2, 3, 1).reshape(B, T, H + 2 * R, W + 2 * R, C)
    # Vertical weights are needed on the padded columns too: take the nearest real column's.
    weights_y = torch.cat((weights_y[:, :, :, :1].expand(-1, -1, -1, R, -1), weights_y,
                           weights_y[:, :, :, -1:].expand(-1, -1, -1, R, -1)), dim=3)  # (B, T, H, W+2R, K)
    rows = sum(weights_y[..., k, None] * padded[:, :, k:k + H] for k in range(K))  # (B, T, H, W+2R, C)
    return sum(weights_x[..., k, None] * rows[:, :, :, k:k + W] for k in range(K))
