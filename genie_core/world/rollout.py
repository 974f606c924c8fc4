"""The engine under World, the environments and the evaluation: batched generation, cached.

Per generated frame, `Rollout.next_frame` runs `settings.rounds` MaskGIT rounds of the dynamics
model on the new frame only, attending to keys/values of past frames that were computed once,
when each frame was made (and kept per frame, so `undo` is exact and cheap). One more pass on
the final tokens records the new frame's keys/values; the tokenizer decoder works the same way.
With a sliding temporal window this equals recomputing the whole context (see st_transformer).

With a motion model (DynamicsConfig.motion_radius > 0) each frame starts with its camera motion,
predicted from the last frame's outputs, its motion and the action (a key's action first steered
by the checkpoint's action prior, models/prior.py, and the motion cut back by its move critic,
models/critic.py); the last shown frame moved by it, with the ground memory's pixels where the
move revealed ground shown before (memory.py, settings.remember), is encoded as the new frame's
draft, MaskGIT decodes against that draft, and every patch whose token equals the draft's shows
the moved pixels (with settings.reuse_patches).

The models are reached only through their play methods (new_kv_buffer, step, step_outputs,
decode_step, motion_logits, encode) and models/draft.py. reference.py holds the uncached
engine that the cache must equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import torch

from ..blocks.maskgit import maskgit_decode, sample_tokens
from ..blocks.motion import id_to_motion, motion_to_id, pixel_mask
from ..blocks.patches import reuse_patches
from ..blocks.st_transformer import KVBuffer
from ..decoding import DecodeSettings
from ..models.critic import MoveCritic, allowed_moves
from ..models.draft import hide_revealed, move_draft, new_ground
from ..models.dynamics import DynamicsModel
from ..models.prior import ActionPrior, recent_keys, rising_of, steer_actions
from ..models.tokenizer import VideoTokenizer
from .memory import GroundMemory, recall_revealed

if TYPE_CHECKING:
    from ..checkpoint import GenieModels


class FrameDropped(Exception):
    """Raised inside a frame's MaskGIT rounds when the caller no longer wants that frame."""


@dataclass
class FrameRecord:
    """What a made frame leaves behind for the frames after it. Batch dimension B first."""
    tokens_BN: torch.Tensor
    dynamics_kv: torch.Tensor | None  # (L, 2, B*N, H, D); None when not cached or not undoable
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
    memory: GroundMemory | None = None  # with motion: the ground shown so far, this frame's included
    moved_BHW3: torch.Tensor | None = None  # with motion: the draft's pixels (the last frame moved, ground recalled)
    key_B: torch.Tensor | None = None  # the action asked for, before the action prior steered it (None: the start)


class Rollout:
    """Batched cached generation; the engine under World, the Gymnasium environments and the evaluation."""

    def __init__(self, tokenizer: VideoTokenizer, dynamics: DynamicsModel, settings: DecodeSettings,
                 context: int = 16, critic: MoveCritic | None = None, prior: ActionPrior | None = None,
                 undoable: bool = True, rising: tuple[int, ...] = ()):
        """settings may be replaced between frames; context: past frames attended to; critic and prior:
        the checkpoint's move critic and action prior, if it has them (used when settings.refuse_below,
        settings.yield_below > 0); undoable: keep each frame's keys/values for `undo` (a copy of both
        rings' new slots per frame: at 16 worlds 10 MB a frame, which callers that never undo skip);
        rising: the latent actions that take the camera up (models/prior.rising_of; settings.take_off)."""
        self.tokenizer, self.dynamics, self.context, self.undoable = tokenizer, dynamics, context, undoable
        self.critic, self.prior, self.rising = critic, prior, rising
        self.settings = settings
        self.device = next(dynamics.parameters()).device
        self.history: list[FrameRecord] = []
        self.batch = 0
        # Keys/values of the kept frames, as rings the new frame attends to (made by start()).
        self.dyn_kv: KVBuffer | None = None
        self.dec_kv: KVBuffer | None = None
        self.rings_stale = False  # True when history changed behind the rings' back (undo)
        self.last_draft: tuple[torch.Tensor, torch.Tensor] | None = None  # (moved pixels, their tokens)
        followed = pixel_mask(dynamics.config.followed_pixels, tokenizer.config.image_size)
        self.followed_HW = None if followed is None else followed.to(self.device)

    @classmethod
    def of(cls, models: GenieModels, settings: DecodeSettings, context: int, undoable: bool = True) -> Rollout:
        """The engine over a checkpoint's parts (its critic and prior too, when it has them)."""
        lam = models.lam
        rising = rising_of(lam.motion_centroids, lam.config.still_id, lam.config.num_actions) \
            if lam.config.motion_codes else ()
        return cls(models.tokenizer, models.dynamics, settings, context, models.critic, models.prior, undoable, rising)

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
        self.rings_stale, self.last_draft = False, None
        no_action = torch.full((self.batch,), self.dynamics.no_action, device=self.device)
        motion = draft = memory = None
        if self.motion_radius:
            motion = torch.full((self.batch,), self.dynamics.num_motions, device=self.device)
            draft = torch.full_like(tokens, self.dynamics.mask_id)
            memory = GroundMemory.empty(self.batch, self.tokenizer.config.image_size, self.device)
        return self._commit(tokens, no_action, frames_BHW3.to(self.device) if self.settings.reuse_patches else None,
                            motion, draft, memory=memory)

    @property
    def motion_radius(self) -> int:
        return self.dynamics.config.motion_radius

    def _commit(self, tokens_BN, action_B, shown_BHW3: torch.Tensor | None = None, motion_B=None, draft_BN=None,
                moved_BHW3=None, memory: GroundMemory | None = None) -> torch.Tensor:
        """Record the new frame and return the pixels to show: shown_BHW3 when given (a real start
        image), else its decoded pixels with the copied patches' pixels put back (_shown_pixels).
        memory: with motion, the ground memory under the new frame's view, before the frame is written in."""
        position = self.history[-1].position + 1 if self.history else 0
        pixels, dynamics_kv, decoder_kv, features = self._record(tokens_BN, action_B, position, draft_BN)
        if shown_BHW3 is None:
            shown_BHW3 = self._shown_pixels(pixels, tokens_BN, draft_BN, moved_BHW3)
        if memory is not None:
            memory = memory.written(shown_BHW3, self.followed_HW)
        self.history.append(FrameRecord(tokens_BN, dynamics_kv, decoder_kv, position, action_B, shown_BHW3,
                                        features, motion_B, draft_BN, memory, moved_BHW3))
        return shown_BHW3

    def _record(self, tokens_BN, action_B, position: int, draft_BN):
        """One pass on the final tokens: their keys/values (dynamics and decoder, each the new frame's
        slot of its ring, which then joins the past), the decoded pixels and, with motion, the frame's
        transformer outputs. Returns (pixels, dynamics kv, decoder kv, outputs or None)."""
        features = self.dynamics.step_outputs(tokens_BN, action_B, position, self.dyn_kv, draft_BN)
        pixels = self.tokenizer.decode_step(tokens_BN, position, self.dec_kv)
        dynamics_kv = self.dyn_kv.new_frame_kv() if self.undoable else None
        decoder_kv = self.dec_kv.new_frame_kv() if self.undoable else None
        self.dyn_kv.advance()
        self.dec_kv.advance()
        return pixels, dynamics_kv, decoder_kv, features if self.motion_radius else None

    def _shown_pixels(self, pixels_BHW3, tokens_BN, draft_BN, moved_BHW3) -> torch.Tensor:
        """The decoded pixels, except (when reusing patches) where a token equals its copy source's:
        there the last shown frame's pixels, or the moved frame's where the token is the draft's."""
        if not (self.settings.reuse_patches and self.history):
            return pixels_BHW3
        sources = [(self.history[-1].tokens_BN, self.history[-1].shown_BHW3)]
        sources += [(draft_BN, moved_BHW3)] if draft_BN is not None else []
        return reuse_patches(pixels_BHW3, tokens_BN, sources, self.tokenizer.config.patch)

    def _next_motion(self, action_B, temperature: float, generator) -> torch.Tensor:
        """The new frame's motion ids (B,), predicted from the last frame; the still action never moves,
        and with a critic no move pushes the level into the player (models/critic.py)."""
        last = self.history[-1]
        logits = self.dynamics.motion_logits(last.features_BPC, action_B, last.motion_B)
        motion = sample_tokens(logits[:, None], temperature, generator)[0][:, 0]
        still = self.dynamics.config.still_action
        if still is not None:
            zero = self.dynamics.num_motions // 2  # (0, 0) sits at the centre of the grid of shifts
            motion = torch.where(action_B == still, torch.full_like(motion, zero), motion)
        if self.critic is not None and self.settings.refuse_below > 0:
            wanted = id_to_motion(motion, self.motion_radius)
            shift = allowed_moves(self.critic, last.shown_BHW3, wanted, self.settings.refuse_below,
                                  self.settings.refuse_sideways)
            if self.settings.allow_shown and self.settings.remember and not torch.equal(shift, wanted):
                shift = torch.where(self._reveals_only_shown(wanted)[:, None], wanted, shift)
            motion = motion_to_id(shift, self.motion_radius)
        return motion

    def _reveals_only_shown(self, shift_B2: torch.Tensor) -> torch.Tensor:
        """(B,) bool: the move reveals no pixel that the ground memory does not hold (no move reveals none)."""
        _, known = self.history[-1].memory.moved(shift_B2).view()
        revealed = new_ground(self.dynamics.config, shift_B2, known.shape[1])
        return ~(revealed & ~known).flatten(1).any(1)

    @torch.inference_mode()
    def next_frame(self, action_B: torch.Tensor, generator: torch.Generator | None,
                   should_stop: Callable[[], bool] | None = None, motion_B: torch.Tensor | None = None
                   ) -> torch.Tensor | None:
        """Generate one frame per batch element for actions (B,); returns uint8 (B, H, W, 3).
        should_stop: asked at the start, before each MaskGIT round and before decoding; when it says yes
        the frame is dropped unmade (None; nothing is recorded) and the time it would still cost is saved.
        motion_B: with motion, the camera's motion ids (B,) to play instead of the predicted ones (training
        on the model's own rollouts keeps its camera on the real video's: train/own_context.py)."""
        try:
            return self._next_frame(action_B.to(self.device), generator, should_stop or (lambda: False), motion_B)
        except FrameDropped:
            return None

    def _next_frame(self, action_B: torch.Tensor, generator, should_stop: Callable[[], bool],
                    forced_motion_B: torch.Tensor | None = None) -> torch.Tensor:
        if should_stop():  # a tick queued behind one for another key: dropped before its draft costs anything
            raise FrameDropped
        settings, position, motion, draft, moved, memory = self.settings, self.history[-1].position + 1, *[None] * 4
        key_B = action_B
        if self.motion_radius and self.prior is not None and settings.yield_below > 0:
            moves = self._recent_moves()
            action_B = steer_actions(self.prior, self.history[-1].shown_BHW3, moves, action_B, settings.yield_below,
                                     self._taking_off(action_B, moves) if settings.take_off else None,
                                     recent_keys([r.key_B for r in self.history], action_B, self.prior.config)
                                     if self.prior.config.keyed else None)
        if self.motion_radius:
            motion = (self._next_motion(action_B, settings.temperature, generator) if forced_motion_B is None
                      else forced_motion_B.to(self.device))
            shift = id_to_motion(motion, self.motion_radius)
            moved = move_draft(self.dynamics.config, self.history[-1].shown_BHW3, shift)
            memory, new = self.history[-1].memory.moved(shift), None
            if settings.remember:
                moved, new = recall_revealed(moved, memory, new_ground(self.dynamics.config, shift, moved.shape[1]))
            draft = self._encode_draft(moved, shift, new)
        if self.rings_stale:
            self._reload_rings()

        def logits_fn(tokens):
            if should_stop():  # the new frame's ring slot may hold partial keys: the next frame overwrites it
                raise FrameDropped
            return self._newest_logits(tokens, action_B, position, draft)

        held = None if draft is None else draft == self.dynamics.mask_id  # what the move revealed, if hidden
        tokens = maskgit_decode(logits_fn, self.batch, self.tokenizer.config.tokens_per_frame,
                                self.dynamics.mask_id, settings, generator, self.device, held)
        if should_stop():  # recording the frame and decoding it to pixels is half a 1-round tick
            raise FrameDropped
        shown = self._commit(tokens, action_B, None, motion, draft, moved, memory)
        self.history[-1].key_B = key_B
        return shown

    def _taking_off(self, action_B: torch.Tensor, moves_BK2: torch.Tensor) -> torch.Tensor:
        """(B,) bool: the key's action rises and the camera has not moved up or down in the last two moves."""
        level = (moves_BK2[:, -2:, 1] == 0).all(1)
        return level & torch.isin(action_B, torch.tensor(self.rising, dtype=action_B.dtype, device=action_B.device))

    def _recent_moves(self) -> torch.Tensor:
        """(B, K, 2) the camera moves into the newest K frames, newest last (zeros before the start and for
        the start frame, whose move is unknown); K: the prior's history."""
        history = self.prior.config.history
        moves = torch.zeros(self.batch, history, 2, dtype=torch.long, device=self.device)
        for k, record in enumerate(reversed(self.history[-history:])):
            known = record.motion_B < self.dynamics.num_motions
            moves[:, history - 1 - k] = id_to_motion(record.motion_B, self.motion_radius) * known[:, None]
        return moves

    def _newest_logits(self, tokens_BN, action_B, position: int, draft_BN) -> torch.Tensor:
        """The new frame's logits (B, N, V) for its tokens so far, attending to the rings."""
        return self.dynamics.step(tokens_BN, action_B, position, self.dyn_kv, self.history[-1].tokens_BN,
                                  copy_bias=self.settings.copy_bias, draft_BN=draft_BN,
                                  unmoved_bias=self.settings.unmoved_bias)

    def _encode_draft(self, moved_BHW3: torch.Tensor, shift_B2: torch.Tensor, new_BHW: torch.Tensor | None) -> torch.Tensor:
        """The moved frame's tokens, hidden where the move revealed new ground if the model says so
        (new_BHW: the revealed pixels the ground memory did not hold; None: all revealed pixels).
        A still scene moves to the same pixels tick after tick, and a draft is encoded alone (no
        past), so the same pixels give the same tokens: each world's draft is encoded only when its
        pixels changed (a world's tokens do not depend on the others in the batch)."""
        if self.last_draft is None:  # start() forgets it, so the batch is the same from here on
            self.last_draft = (moved_BHW3, self.tokenizer.encode(moved_BHW3[:, None])[:, 0])
        else:
            changed_B = (self.last_draft[0] != moved_BHW3).flatten(1).any(1)
            tokens = self.last_draft[1]
            if bool(changed_B.any()):
                tokens = tokens.clone()
                tokens[changed_B] = self.tokenizer.encode(moved_BHW3[changed_B][:, None])[:, 0]
            self.last_draft = (moved_BHW3, tokens)
        return hide_revealed(self.dynamics.config, self.last_draft[1], shift_B2, self.tokenizer.config.image_size,
                             new_BHW)

    def undo(self) -> None:
        """Forget the newest frame (the rings are refilled from the kept frames before the next one)."""
        if not self.undoable:
            raise RuntimeError("this rollout keeps no per-frame keys/values to undo with (undoable=False)")
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

    def trim(self, keep: int) -> None:
        """Forget all but the newest `keep` frames (keep >= context keeps generation exact)."""
        del self.history[: max(0, len(self.history) - keep)]
