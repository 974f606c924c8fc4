"""Training on the model's own frames (`train dynamics --own-context S`).

In play the dynamics model's context is its own frames: tokens it drew, and drafts encoded from pixels
it showed. Trained on real frames only, it never sees its own errors there, so each tick's errors are
carried into the next (the bands that grow over a minute of play). Here a share of each batch's windows
is first played by the model itself, through the play engine (world/rollout.py, the checkpoint's
decoding, ground memory included), with the LAM's actions and the real video's camera motion, so the
model's frames stay on the real frames' ground. Those frames become the context and the drafts; the
targets stay the real frames, snapped to the copies play can show from the model's own frames
(targets.snap_to_sources). What the model learns there is to draw the real next frame from its own
imperfect past: the DIAMOND / Self-Forcing idea, on tokens.
"""
from __future__ import annotations

import torch

from ..blocks.motion import motion_to_id
from ..decoding import DecodeSettings
from ..models.dynamics import DynamicsModel
from ..models.tokenizer import VideoTokenizer
from ..world.rollout import Rollout
from .targets import snap_to_sources


class OwnContext:
    """Replaces the first round(share * B) windows' context, drafts and targets with the model's own."""

    def __init__(self, tokenizer: VideoTokenizer, settings: DecodeSettings, share: float, tolerance: float,
                 seed: int = 0):
        self.tokenizer, self.share, self.tolerance = tokenizer, share, tolerance
        self.settings = settings.for_latent_actions()  # the LAM's labels play as given: no prior, no critic
        self.generator = torch.Generator().manual_seed(seed)

    def windows(self, batch: int) -> int:
        return int(round(self.share * batch))

    @torch.no_grad()
    def replace(self, dynamics: DynamicsModel, frames_BTHW3: torch.Tensor, parts: dict[str, torch.Tensor],
                actions_BA: torch.Tensor) -> dict[str, torch.Tensor]:
        """parts with "context" added (the clean past the model sees), and for the first windows(B) windows
        "context" and "drafts" from the model's own rollout and "tokens" (the targets) snapped to it."""
        parts = dict(parts, context=parts["tokens"])
        k = self.windows(frames_BTHW3.shape[0])
        if k == 0:
            return parts
        own = self.rollout(dynamics, frames_BTHW3[:k], parts["motions"][:k], actions_BA[:k])
        targets = snap_to_sources(parts["tokens"][:k], frames_BTHW3[:k], own["drafts"], own["moved"][:, 1:],
                                  own["shown"][:, :-1], own["tokens"], self.tolerance, dynamics.mask_id)
        for name, own_part in (("context", own["tokens"]), ("drafts", own["drafts"]), ("tokens", targets)):
            parts[name] = torch.cat((own_part.to(parts[name].dtype), parts[name][k:]))
        return parts

    def rollout(self, dynamics: DynamicsModel, frames_BTHW3: torch.Tensor, motions_BT2: torch.Tensor,
                actions_BA: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's own play of the windows from their first frame, with the given actions and the real
        camera: its tokens and drafts (B, T, N) and its shown and draft pixels (B, T, H, W, 3; frame 0's draft
        pixels are the frame itself)."""
        was_training = dynamics.training
        dynamics.eval()
        try:
            engine = Rollout(self.tokenizer, dynamics, self.settings, context=frames_BTHW3.shape[1], undoable=False)
            engine.start(frames_BTHW3[:, 0])
            motion_ids = motion_to_id(motions_BT2, dynamics.config.motion_radius)
            for t in range(1, frames_BTHW3.shape[1]):
                engine.next_frame(actions_BA[:, t - 1], self.generator, motion_B=motion_ids[:, t])
        finally:
            dynamics.train(was_training)
        history = engine.history
        moved = [history[0].shown_BHW3] + [record.moved_BHW3 for record in history[1:]]
        # Clones leave inference mode: the engine's tensors are inference tensors, which autograd cannot save.
        return {"tokens": torch.stack([r.tokens_BN for r in history], 1).clone(),
                "drafts": torch.stack([r.draft_BN for r in history], 1).clone(),
                "shown": torch.stack([r.shown_BHW3 for r in history], 1).clone(),
                "moved": torch.stack(moved, 1).clone()}
