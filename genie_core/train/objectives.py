"""What each training phase optimises, as nn.Modules the generic loop (and DDP) can drive.

Phase 1, TokenizerObjective: VQ-VAE reconstruction + VQ losses on short clips.
Phase 2, WorldModelObjective: the LAM and the dynamics model co-trained (Genie Section 2.2):
the LAM learns from pixels, and the dynamics model learns on tokens of the frozen tokenizer,
fed the LAM's actions with a stop-gradient.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save
from torch import nn
from tqdm import tqdm

from ..blocks.metrics import psnr
from ..blocks.motion import episode_motions, motion_to_id, move_camera, pixel_mask
from ..blocks.patches import patchify
from ..blocks.tracking import player_moves
from ..blocks.vq import VectorQuantizer, code_usage, perplexity
from ..data.sampler import ClipSampler
from ..files import atomic_write_bytes
from ..models.draft import hide_revealed
from ..models.dynamics import DynamicsModel
from ..models.lam import LatentActionModel
from ..models.tokenizer import VideoTokenizer
from .targets import snap_to_copies

RESTART_EVERY = 50  # steps between dead-code restarts


def _restart(vq: VectorQuantizer, latents: torch.Tensor | None) -> int:
    """Restart dead codes; returns how many (rank 0's count under DDP, whose codebook all ranks take)."""
    if latents is None:
        return 0
    restarted = vq.restart_dead_codes(latents.detach().reshape(-1, vq.code_dim))
    if hasattr(vq, "codebook") and dist.is_available() and dist.is_initialized():  # ranks keep one codebook
        dist.broadcast(vq.codebook.data, 0)
        dist.broadcast(vq.usage_ema, 0)
    return restarted


def freeze_tokenizer_encoder(tokenizer: VideoTokenizer) -> None:
    """Stop training everything that decides a frame's tokens (patch embedding, encoder, code projection,
    codebook), so a decoder trained on can replace a tokenizer under a dynamics model that learned its tokens."""
    for part in (tokenizer.patch_embed, tokenizer.encoder, tokenizer.to_code, tokenizer.vq):
        part.requires_grad_(False)
    tokenizer.encoder_pos_NC.requires_grad_(False)


class TokenizerObjective(nn.Module):
    def __init__(self, tokenizer: VideoTokenizer, train: ClipSampler, val: ClipSampler, val_windows: int = 64,
                 freeze_encoder: bool = False):
        """freeze_encoder: train the decoder only; every frame keeps its tokens (freeze_tokenizer_encoder)."""
        super().__init__()
        self.tokenizer, self.freeze_encoder = tokenizer, freeze_encoder
        self.train_clips, self.val_clips = train, val
        self.frames = tokenizer.config.train_frames
        self.val_batch = val.sample(val_windows, np.random.default_rng(1234)).frames
        self.last_latents = None

    def components(self):
        return {"tokenizer": self.tokenizer}

    def sample_batch(self, batch_size: int, rng: np.random.Generator) -> torch.Tensor:
        frames = self.train_clips.sample(batch_size, rng).frames
        start = int(rng.integers(0, frames.shape[1] - self.frames + 1))
        return torch.from_numpy(frames[:, start:start + self.frames]).to(self.device)

    @property
    def device(self):
        return self.tokenizer.patch_embed.weight.device

    def forward(self, frames):
        out = self.tokenizer(frames)
        self.last_latents = out.latents
        return out.loss, {"recon_mse": out.recon_loss.item(), "vq_loss": out.vq_loss.item()}

    def after_step(self, step: int) -> None:
        if step % RESTART_EVERY == 0 and not self.freeze_encoder:
            _restart(self.tokenizer.vq, self.last_latents)

    def validate(self) -> dict[str, float]:
        values, usage = [], []
        for i in range(0, len(self.val_batch), 16):
            frames = torch.from_numpy(self.val_batch[i:i + 16, :self.frames]).to(self.device)
            out = self.tokenizer(frames)
            values.append(psnr(out.recon, frames))
            usage.append(out.indices.flatten())
        used = code_usage(torch.cat(usage), self.tokenizer.config.num_codes)
        return {"psnr": float(np.mean(values)), "codes_used": float((used > 0).float().mean()),
                "perplexity": perplexity(used), "codes_alive": self.tokenizer.vq.usage_fraction()}


def token_cache_dir() -> str:
    """Where phase 2 keeps pretokenized episodes: $GENIE_CACHE/token_cache, by default
    ~/.cache/genie-play/token_cache. The entries are keyed by the episode files and the tokenizer's
    weights, so one folder serves every run; it is never beside the tokenizer, which may be a
    checkpoint that git ships (a cache there was 108 MB)."""
    root = os.environ.get("GENIE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "genie-play")
    return os.path.join(root, "token_cache")


def cached_pretokenize(tokenizer: VideoTokenizer, clips: ClipSampler, device, bf16: bool = False,
                       motion_radius: int = 0, followed: tuple[int, ...] = (),
                       player_moves_too: bool = False) -> list[dict[str, torch.Tensor]]:
    """pretokenize, remembered in token_cache_dir() (keyed by the episode files, the tokenizer's
    weights, the precision, the motion radius, the followed pixels and the player's moves) so that several phase-2 runs
    on one tokenizer pay for it once."""
    # "episode-parts": the file holds {part}/{episode} tensors (older caches held one per episode).
    key = hashlib.sha1((b"bf16;" if bf16 else b"") + b"copy-unchanged-patches;episode-parts;")
    if motion_radius:
        key.update(f"motion-drafts-{motion_radius};".encode())
    if followed:
        key.update(f"followed-{followed};".encode())
    if player_moves_too:
        key.update(b"player-moves;")
    for header in clips.episodes:
        stat = os.stat(header.path)
        key.update(f"{os.path.abspath(header.path)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    for name, tensor in sorted(tokenizer.state_dict().items()):
        key.update(name.encode() + tensor.detach().cpu().numpy().tobytes())  # all of it: ~9 MB, milliseconds
    path = os.path.join(token_cache_dir(), f"tokens-{key.hexdigest()[:16]}.safetensors")
    if os.path.isfile(path):
        loaded = load_file(path)
        count = sum(1 for name in loaded if name.startswith("tokens/"))
        return [{part: loaded[f"{part}/{i}"] for part in EPISODE_PARTS if f"{part}/{i}" in loaded}
                for i in range(count)]
    episodes = pretokenize(tokenizer, clips, device, bf16=bf16, motion_radius=motion_radius, followed=followed,
                           player_moves_too=player_moves_too)
    flat = {f"{part}/{i}": t.contiguous() for i, episode in enumerate(episodes) for part, t in episode.items()}
    atomic_write_bytes(path, save(flat))
    return episodes


EPISODE_PARTS = ("tokens", "drafts", "motions", "moves")


@torch.no_grad()
def pretokenize(tokenizer: VideoTokenizer, clips: ClipSampler, device, batch_frames: int = 32,
                bf16: bool = False, motion_radius: int = 0, followed: tuple[int, ...] = (),
                player_moves_too: bool = False) -> list[dict[str, torch.Tensor]]:
    """Per episode {"tokens": (T, N) int16}: every frame encoded once with the frozen tokenizer,
    with copy_unchanged_patches applied (the dynamics model's targets). With motion_radius > 0 also
    "motions" (T, 2) int8, each frame's camera motion from the one before (motion.py; frame 0:
    (0, 0)), and "drafts" (T, N) int16, the tokens of frame t-1 moved by motion t and encoded on
    its own, as the player encodes it (frame 0's draft is unused), the followed pixels (flat indices,
    DynamicsConfig.followed_pixels) kept unmoved. player_moves_too (with motion_radius): also "moves"
    (T, 2) float, the player's move into each frame (tracking.player_moves; NaN where unknown).

    Episodes go through VideoTokenizer.encode_long (chunked, same result as one long pass; short
    chunks, since temporal attention over a chunk costs its length squared). bf16: autocast, 1.5x
    faster for a patch-4 tokenizer on this CPU; a token whose latent sits on a quantisation
    boundary may then differ from the fp32 encoding the player uses.
    """
    tokenizer.eval()
    out = []
    autocast = torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16)
    kept = pixel_mask(followed, tokenizer.config.image_size)
    for index in tqdm(range(len(clips.episodes)), desc="pretokenize", dynamic_ncols=True):
        frames = torch.from_numpy(np.array(clips._frames(index))).to(device)
        with autocast:
            tokens = tokenizer.encode_long(frames, batch_frames)
        episode = {"tokens": copy_unchanged_patches(tokens, frames, tokenizer.config.patch).to(torch.int16).cpu()}
        if motion_radius:
            motions = episode_motions(frames, motion_radius)
            moved = torch.cat((frames[:1], move_camera(frames[:-1], motions[1:], kept)))
            with autocast:
                drafts = torch.cat([tokenizer.encode(chunk[:, None])[:, 0] for chunk in moved.split(batch_frames)])
            episode.update(drafts=drafts.to(torch.int16).cpu(), motions=motions.to(torch.int8))
            if player_moves_too:
                episode["moves"] = player_moves(frames.cpu(), motions.cpu()).float()
        out.append(episode)
    return out


def copy_unchanged_patches(tokens_TN: torch.Tensor, frames_THW3: torch.Tensor, patch: int) -> torch.Tensor:
    """Tokens where every patch whose pixels equal the previous frame's keeps the previous token.

    The tokenizer's causal temporal attention lets a token drift although its patch did not change
    (measured on v3's tokenizer: 1.47% of tokens across pixel-identical frames), and the player
    shows the previous pixels exactly where a token repeats. Repeating tokens there makes the
    dynamics model's targets say what the picture says: nothing moved.
    """
    same_TN = (patchify(frames_THW3[None, 1:], patch) == patchify(frames_THW3[None, :-1], patch)).all(-1)[0]
    out = tokens_TN.clone()
    for t in range(1, len(out)):
        out[t] = torch.where(same_TN[t - 1], out[t - 1], out[t])
    return out


class WorldModelObjective(nn.Module):
    def __init__(self, lam: LatentActionModel, dynamics: DynamicsModel, train: ClipSampler, val: ClipSampler,
                 train_tokens: list[dict], val_tokens: list[dict], val_windows: int = 48, changed_weight: float = 1.0,
                 freeze_lam: bool = False, own_context=None):
        """own_context: an OwnContext (own_context.py) that gives training windows the model's own past, or None."""
        super().__init__()
        self.lam, self.dynamics, self.changed_weight, self.own_context = lam, dynamics, changed_weight, own_context
        # A frozen LAM (--freeze-lam) keeps what each latent action means, so the parts trained on its
        # labels (the critic, the prior, actions.json) stay right for the fine-tuned dynamics model.
        self.freeze_lam = freeze_lam
        lam.requires_grad_(not freeze_lam)
        self.train_clips, self.val_clips = train, val
        self.train_tokens, self.val_tokens = train_tokens, val_tokens
        batch = val.sample(val_windows, np.random.default_rng(1234))
        self.val_frames = batch.frames
        self.val_parts = self._parts_for(batch, val_tokens)
        self.last_latents = None
        self.restarts = 0  # LAM codes re-seeded by this process: a re-seeded code changes meaning for the dynamics model

    def components(self):
        return {"lam": self.lam, "dynamics": self.dynamics}

    @property
    def device(self):
        return self.dynamics.pos_NC.device

    def _parts_for(self, batch, episodes: list[dict]) -> dict[str, torch.Tensor]:
        """The windows' tokens (B, T, N), and with motion their drafts (B, T, N; mask_id for frame 0)
        and motions (B, T, 2)."""
        T = batch.frames.shape[1]
        picked = [{part: t[s:s + T] for part, t in episodes[e].items()}
                  for e, s in zip(batch.episode_ids.tolist(), batch.starts.tolist())]
        parts = {part: torch.stack([p[part] for p in picked]) for part in picked[0]}
        parts = {part: t if part == "moves" else t.long() for part, t in parts.items()}  # moves: float, NaN unknown
        if "drafts" in parts:
            parts["drafts"][:, 0] = self.dynamics.mask_id  # a window's first frame has no frame before it
            frames = torch.from_numpy(batch.frames)
            parts["drafts"] = hide_revealed(self.dynamics.config, parts["drafts"], parts["motions"], frames.shape[2])
            if self.dynamics.config.snap_tolerance > 0:
                kept = pixel_mask(self.dynamics.config.followed_pixels, frames.shape[2])
                parts["tokens"] = snap_to_copies(parts["tokens"], parts["drafts"], frames, parts["motions"],
                                                 self.dynamics.config.snap_tolerance, self.dynamics.mask_id, kept)
        return parts

    def sample_batch(self, batch_size: int, rng: np.random.Generator):
        batch = self.train_clips.sample(batch_size, rng)
        parts = self._parts_for(batch, self.train_tokens)
        return torch.from_numpy(batch.frames).to(self.device), {k: v.to(self.device) for k, v in parts.items()}

    def _losses(self, frames, parts, generator=None):
        motions = parts.get("motions")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_lam):
            lam = self.lam(frames, motions, parts.get("moves"))
        if self.own_context is not None and self.dynamics.training:  # a frozen LAM: its actions are fixed labels
            parts = self.own_context.replace(self.dynamics, frames, parts, lam.actions.detach())
        motion_ids = None if motions is None else motion_to_id(motions, self.dynamics.config.motion_radius)
        # Stop-gradient: the dynamics model learns to follow the LAM's actions, not to shape them.
        dyn = self.dynamics.masked_token_loss(parts["tokens"], lam.actions.detach(), generator, parts.get("drafts"),
                                              motion_ids, self.changed_weight, parts.get("context"))
        return lam, dyn

    def forward(self, batch):
        lam, dyn = self._losses(*batch)
        self.last_latents = lam.quantized_latents
        metrics = {"lam_mse": lam.recon_loss.item(), "dyn_loss": dyn.loss.item(), "dyn_acc": dyn.accuracy.item()}
        if dyn.motion_loss is not None:
            metrics.update(motion_loss=dyn.motion_loss.item(), motion_acc=dyn.motion_accuracy.item())
        if lam.motion_loss is not None:
            metrics["lam_motion_loss"] = lam.motion_loss.item()
        return (dyn.loss if self.freeze_lam else lam.loss + dyn.loss), metrics

    def after_step(self, step: int) -> None:
        if step % RESTART_EVERY == 0 and not self.freeze_lam:
            self.restarts += _restart(self.lam.vq, self.last_latents)

    def validate(self) -> dict[str, float]:
        generator = torch.Generator().manual_seed(0)  # the same masks at every validation
        lam_psnr, actions, acc, copy_acc, motion_acc = [], [], [], [], []
        for i in range(0, len(self.val_frames), 8):
            frames = torch.from_numpy(self.val_frames[i:i + 8]).to(self.device)
            parts = {k: v[i:i + 8].to(self.device) for k, v in self.val_parts.items()}
            out, dyn = self._losses(frames, parts, generator)
            lam_psnr.append(psnr(out.recon, frames[:, 1:]))
            actions.append(out.actions.flatten())
            acc.append(float(dyn.accuracy))
            tokens = parts["tokens"]
            copy_acc.append(float((tokens[:, 1:] == tokens[:, :-1]).float().mean()))
            if dyn.motion_accuracy is not None:
                motion_acc.append(float(dyn.motion_accuracy))
        usage = code_usage(torch.cat(actions), self.lam.config.num_actions)
        metrics = {"lam_psnr": float(np.mean(lam_psnr)), "dyn_acc": float(np.mean(acc)),
                   "copy_acc": float(np.mean(copy_acc)), "action_min_share": float(usage.min()),
                   "lam_restarts": self.restarts}
        if motion_acc:
            metrics["motion_acc"] = float(np.mean(motion_acc))
        metrics.update({f"action_{i}": float(u) for i, u in enumerate(usage)})
        return metrics
