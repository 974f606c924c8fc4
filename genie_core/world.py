"""The engine: start image + action IDs in, generated frames out (DIAMOND-style env API).

Per generated frame, `Rollout.next_frame` runs `settings.steps` MaskGIT rounds of the dynamics
model on the new frame only, attending to keys/values of past frames that were computed once,
when each frame was made (and kept per frame, so `undo` is exact and cheap). One more pass on
the final tokens records the new frame's keys/values; the tokenizer decoder works the same way.
With a sliding temporal window this equals recomputing the whole context (see st_transformer).

With a motion model (DynamicsConfig.motion_radius > 0) each frame starts with its camera motion,
predicted from the last frame's outputs, its motion and the action; the last shown frame moved by
it is encoded as the new frame's draft, MaskGIT decodes against that draft, and every patch
whose token equals the draft's shows the moved pixels (with settings.reuse_patches).

The models are reached only through their play methods (new_kv_buffer, step, decode_step,
newest_logits, decode_newest, motion_logits, encode); loading a World is loading.py's job.
"""
from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .blocks.maskgit import maskgit_decode, sample_tokens
from .blocks.motion import id_to_motion
from .blocks.patches import reuse_patches
from .checkpoint import GenieModels
from .decoding import DecodeSettings
from .models.dynamics import DynamicsModel
from .models.tokenizer import VideoTokenizer


class FrameDropped(Exception):
    """Raised inside a frame's MaskGIT rounds when the caller no longer wants that frame."""


@dataclass
class FrameRecord:
    """What a made frame leaves behind for the frames after it. Batch dimension B first."""
    tokens_BN: torch.Tensor
    dynamics_kv: torch.Tensor | None  # (L, 2, B*N, H, D); None when not cached
    decoder_kv: torch.Tensor | None  # (L, 2, B*N, H, D)
    position: int
    action_B: torch.Tensor  # the action that led to this frame (no_action for the start frame)
    shown_BHW3: torch.Tensor  # uint8 pixels shown for this frame
    # With motion: the frame's transformer outputs (B, positions, C), from which the next frame's
    # motion is predicted; its motion id (B,) (num_motions for the start frame: unknown); its draft
    # tokens (B, N) (mask_id for the start frame).
    features_BPC: torch.Tensor | None = None
    motion_B: torch.Tensor | None = None
    draft_BN: torch.Tensor | None = None


class Rollout:
    """Batched cached generation; the engine under World and the evaluation."""

    def __init__(self, tokenizer: VideoTokenizer, dynamics: DynamicsModel, settings: DecodeSettings,
                 context: int = 16, cached: bool = True):
        """settings may be replaced between frames. cached=False recomputes every kept frame at every
        MaskGIT round: the reference that the cache must equal, and the baseline the benchmark
        measures the cache against."""
        self.tokenizer, self.dynamics, self.context, self.cached = tokenizer, dynamics, context, cached
        self.settings = settings
        self.device = next(dynamics.parameters()).device
        self.history: list[FrameRecord] = []
        self.batch = 0

    @torch.inference_mode()
    def start(self, frames_BHW3: torch.Tensor) -> torch.Tensor:
        """Tokenize the start frames (B, H, W, 3) uint8; returns their reconstructions (the frames
        themselves when reusing unchanged patches)."""
        self.batch = frames_BHW3.shape[0]
        self.dyn_kv = self.dynamics.new_kv_buffer(self.batch, self.context, self.device)
        self.dec_kv = self.tokenizer.new_kv_buffer(self.batch, self.device)
        tokens = self.tokenizer.encode(frames_BHW3.to(self.device)[:, None])[:, 0]
        self.history = []
        self.dyn_kv.load([])
        self.dec_kv.load([])
        self.rings_stale = False  # True when history changed behind the rings' back (undo)
        self.last_draft: tuple[torch.Tensor, torch.Tensor] | None = None  # (moved pixels, their tokens)
        no_action = torch.full((self.batch,), self.dynamics.no_action, device=self.device)
        motion = draft = None
        if self.motion_radius:
            motion = torch.full((self.batch,), self.dynamics.num_motions, device=self.device)
            draft = torch.full_like(tokens, self.dynamics.mask_id)
        return self._commit(tokens, no_action, frames_BHW3.to(self.device) if self.settings.reuse_patches else None,
                            motion, draft)

    @property
    def motion_radius(self) -> int:
        return self.dynamics.config.motion_radius

    def _commit(self, tokens_BN, action_B, shown_BHW3: torch.Tensor | None = None, motion_B=None, draft_BN=None,
                moved_BHW3=None) -> torch.Tensor:
        """Record the final tokens' keys/values (dynamics and decoder); returns the pixels to show:
        shown_BHW3 when given (a real start image), else the decoded frame, with unchanged patches
        taken from the moved or previous shown frame when reusing patches."""
        position = self.history[-1].position + 1 if self.history else 0
        if not self.cached:
            pixels = self._full_decode(tokens_BN)
            dynamics_kv = decoder_kv = None
            features = (self.dynamics.newest_outputs(*self._full_inputs(tokens_BN, action_B, draft_BN),
                                                     window=self.context) if self.motion_radius else None)
        else:
            # The rings hold this frame's past: only its own slot is written, then it joins the past.
            features = self.dynamics.step(tokens_BN, action_B, position, self.dyn_kv, with_logits=False,
                                          draft_BN=draft_BN)
            pixels = self.tokenizer.decode_step(tokens_BN, position, self.dec_kv)
            dynamics_kv, decoder_kv = self.dyn_kv.new_frame_kv(), self.dec_kv.new_frame_kv()
            self.dyn_kv.advance()
            self.dec_kv.advance()
        if shown_BHW3 is None and self.settings.reuse_patches and self.history:
            # Unchanged patches keep the last frame's pixels, and those equal to the draft's the moved ones.
            sources = [(self.history[-1].tokens_BN, self.history[-1].shown_BHW3)]
            sources += [(draft_BN, moved_BHW3)] if draft_BN is not None else []
            shown_BHW3 = reuse_patches(pixels, tokens_BN, sources, self.tokenizer.config.patch)
        shown_BHW3 = pixels if shown_BHW3 is None else shown_BHW3
        self.history.append(FrameRecord(tokens_BN, dynamics_kv, decoder_kv, position, action_B, shown_BHW3,
                                        features, motion_B, draft_BN))
        return shown_BHW3

    def _next_motion(self, action_B, temperature: float, generator) -> torch.Tensor:
        """The new frame's motion ids (B,), predicted from the last frame; the still action never moves."""
        last = self.history[-1]
        logits = self.dynamics.motion_logits(last.features_BPC, action_B, last.motion_B)
        motion = sample_tokens(logits[:, None], temperature, generator)[0][:, 0]
        still = self.dynamics.config.still_action
        if still is not None:
            zero = self.dynamics.num_motions // 2  # (0, 0) sits at the centre of the grid of shifts
            motion = torch.where(action_B == still, torch.full_like(motion, zero), motion)
        return motion

    @torch.inference_mode()
    def next_frame(self, action_B: torch.Tensor, generator: torch.Generator | None,
                   should_stop: Callable[[], bool] | None = None) -> torch.Tensor | None:
        """Generate one frame per batch element for actions (B,); returns uint8 (B, H, W, 3).
        should_stop: asked at the start, before each MaskGIT round and before decoding; when it says yes
        the frame is dropped unmade (None; nothing is recorded) and the time it would still cost is saved."""
        try:
            return self._next_frame(action_B.to(self.device), generator, should_stop or (lambda: False))
        except FrameDropped:
            return None

    def _next_frame(self, action_B: torch.Tensor, generator, should_stop: Callable[[], bool]) -> torch.Tensor:
        if should_stop():  # a tick queued behind one for another key: dropped before its draft costs anything
            raise FrameDropped
        settings, position, motion, draft, moved = self.settings, self.history[-1].position + 1, None, None, None
        if self.motion_radius:
            motion = self._next_motion(action_B, settings.temperature, generator)
            shift = id_to_motion(motion, self.motion_radius)
            moved = self.dynamics.move_draft(self.history[-1].shown_BHW3, shift)
            draft = self._encode_draft(moved, shift)
        previous = self.history[-1].tokens_BN
        if self.cached and self.rings_stale:
            self._reload_rings()

        def logits_fn(tokens):
            if should_stop():  # the new frame's ring slot may hold partial keys: the next frame overwrites it
                raise FrameDropped
            if self.cached:
                return self.dynamics.step(tokens, action_B, position, self.dyn_kv, previous,
                                          copy_bias=settings.copy_bias, draft_BN=draft)
            return self.dynamics.newest_logits(*self._full_inputs(tokens, action_B, draft), window=self.context,
                                               copy_bias=settings.copy_bias)

        held = None if draft is None else draft == self.dynamics.mask_id  # what the move revealed, if hidden
        tokens = maskgit_decode(logits_fn, self.batch, self.tokenizer.config.tokens_per_frame,
                                self.dynamics.mask_id, settings, generator, self.device, held)
        if should_stop():  # recording the frame and decoding it to pixels is half a 1-round tick
            raise FrameDropped
        return self._commit(tokens, action_B, None, motion, draft, moved)

    def _encode_draft(self, moved_BHW3: torch.Tensor, shift_B2: torch.Tensor) -> torch.Tensor:
        """The moved frame's tokens, hidden where the move revealed new ground if the model says so.
        A still scene moves to the same pixels tick after tick, and a draft is encoded alone (no
        past), so the same pixels give the same tokens: encoded once."""
        if self.last_draft is None or not torch.equal(self.last_draft[0], moved_BHW3):
            self.last_draft = (moved_BHW3, self.tokenizer.encode(moved_BHW3[:, None])[:, 0])
        return self.dynamics.hide_revealed(self.last_draft[1], shift_B2, self.tokenizer.config.image_size)

    def undo(self) -> None:
        """Forget the newest frame (the rings are refilled from the kept frames before the next one)."""
        self.history.pop()
        self.rings_stale = True

    def _reload_rings(self) -> None:
        self.dyn_kv.load([r.dynamics_kv for r in self.history])
        self.dec_kv.load([r.decoder_kv for r in self.history])
        self.rings_stale = False

    def last_motion(self) -> torch.Tensor | None:
        """(B, 2) integer (dx, dy) the newest frame was moved by; None without motion or before a step."""
        motion = self.history[-1].motion_B if self.motion_radius and self.history else None
        known = motion is not None and int(motion.max()) < self.dynamics.num_motions  # the start's is unknown
        return id_to_motion(motion, self.motion_radius) if known else None

    def _full_inputs(self, tokens_BN, action_B, draft_BN):
        """Uncached reference: every kept frame plus the new one, as (tokens (B, T, N), transition
        actions (B, T-1), drafts (B, T, N) or None, positions (T,))."""
        tokens = torch.stack([r.tokens_BN for r in self.history] + [tokens_BN], dim=1)
        actions = torch.stack([r.action_B for r in self.history[1:]] + [action_B], dim=1)
        drafts = torch.stack([r.draft_BN for r in self.history] + [draft_BN], dim=1) if self.motion_radius else None
        return tokens, actions, drafts, self._positions()

    def _positions(self) -> torch.Tensor:
        """Frame indices of every kept frame and the next one."""
        next_position = self.history[-1].position + 1 if self.history else 0
        return torch.tensor([r.position for r in self.history] + [next_position], device=self.device)

    def _full_decode(self, tokens_BN):
        tokens = torch.stack([r.tokens_BN for r in self.history] + [tokens_BN], dim=1)
        return self.tokenizer.decode_newest(tokens, self._positions())

    def trim(self, keep: int) -> None:
        """Forget all but the newest `keep` frames (keep >= context keeps generation exact)."""
        del self.history[: max(0, len(self.history) - keep)]


class World:
    """reset(image) -> frame, step(action_id) -> frame, undo() -> frame; frames are uint8 (H, W, 3).
    `settings` (DecodeSettings) may be replaced between steps."""

    def __init__(self, models: GenieModels, settings: DecodeSettings, context: int = 16, seed: int = 0,
                 action_names: list[str] | None = None, direction_keys: dict[str, int] | None = None,
                 max_undo: int = 256):
        self.models = models
        self.context = context
        self.action_names = action_names
        self.direction_keys = direction_keys
        self.max_undo = max_undo
        self.rollout = Rollout(models.tokenizer, models.dynamics, settings, context)
        self.frames: deque[np.ndarray] = deque()
        self.reseed(seed)

    @property
    def settings(self) -> DecodeSettings:
        return self.rollout.settings

    @settings.setter
    def settings(self, settings: DecodeSettings) -> None:
        self.rollout.settings = settings

    def change_settings(self, **changes) -> None:
        """Replace some decoding settings (e.g. steps=4) from the next frame on."""
        self.settings = dataclasses.replace(self.settings, **changes)

    @property
    def image_size(self) -> int:
        return self.models.tokenizer.config.image_size

    @property
    def num_actions(self) -> int:
        return self.models.dynamics.config.num_actions

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def reset(self, image: np.ndarray) -> np.ndarray:
        """Start from a uint8 (H, W, 3) image at the model resolution; returns it unchanged."""
        if image.shape != (self.image_size, self.image_size, 3) or image.dtype != np.uint8:
            raise ValueError(f"start image must be uint8 {self.image_size}x{self.image_size}x3, got "
                             f"{image.dtype} {image.shape}")
        self.reseed(self.seed)
        self.rollout.start(torch.from_numpy(image.copy())[None])  # torch warns on read-only arrays
        self.frames = deque([image.copy()])
        return image.copy()

    def step(self, action: int, should_stop: Callable[[], bool] | None = None) -> np.ndarray | None:
        """The next frame for `action`; None when should_stop() said yes before it was made (see
        Rollout.next_frame): the player drops a frame whose key was already let go."""
        if not self.frames:
            raise RuntimeError("call reset(image) before step(action)")
        if not 0 <= int(action) < self.num_actions:
            raise ValueError(f"action {action} out of range 0..{self.num_actions - 1}")
        frame = self.rollout.next_frame(torch.tensor([int(action)]), self.generator, should_stop)
        if frame is None:
            return None
        frame = frame[0].cpu().numpy()
        self.frames.append(frame)
        # Bounded memory: keep what the context needs plus the undo depth.
        self.rollout.trim(self.context + self.max_undo)
        while len(self.frames) > self.max_undo + 1:
            self.frames.popleft()
        return frame

    def undo(self) -> np.ndarray | None:
        """Go back one generated frame; None when there is nothing to undo."""
        if len(self.frames) <= 1 or len(self.rollout.history) <= 1:
            return None
        self.frames.pop()
        self.rollout.undo()
        return self.frames[-1].copy()

    @property
    def frame(self) -> np.ndarray | None:
        return self.frames[-1].copy() if self.frames else None
