"""The uncached engine: every kept frame recomputed at every MaskGIT round and for every decode.

The reference that Rollout's key/value cache must equal (the tests compare the two frame for
frame), and the baseline the benchmark measures the cache against. Too slow to play.
"""
from __future__ import annotations

import torch

from .rollout import FrameRecord, Rollout


class UncachedRollout(Rollout):
    """Rollout with no rings: the new frame's logits, outputs and pixels come from full passes."""

    def _reload_rings(self) -> None:
        self.rings_stale = False  # nothing cached to refill

    def _newest_logits(self, tokens_BN, action_B, position: int, draft_BN) -> torch.Tensor:
        inputs = full_inputs(self.history, tokens_BN, action_B, draft_BN)
        return self.dynamics.newest_logits(*inputs, window=self.context, copy_bias=self.settings.copy_bias,
                                           unmoved_bias=self.settings.unmoved_bias)

    def _record(self, tokens_BN, action_B, position: int, draft_BN):
        tokens, actions, drafts, positions = full_inputs(self.history, tokens_BN, action_B, draft_BN)
        features = (self.dynamics.newest_outputs(tokens, actions, drafts, positions, window=self.context)
                    if self.motion_radius else None)
        return self.tokenizer.decode_newest(tokens, positions), None, None, features


def full_inputs(history: list[FrameRecord], tokens_BN: torch.Tensor, action_B: torch.Tensor,
                draft_BN: torch.Tensor | None):
    """Every kept frame plus the new one, as a full pass takes them: (tokens (B, T, N), transition
    actions (B, T-1), drafts (B, T, N) or None without motion, frame indices (T,))."""
    tokens = torch.stack([r.tokens_BN for r in history] + [tokens_BN], dim=1)
    actions = torch.stack([r.action_B for r in history[1:]] + [action_B], dim=1)
    drafts = torch.stack([r.draft_BN for r in history] + [draft_BN], dim=1) if draft_BN is not None else None
    next_position = history[-1].position + 1 if history else 0
    positions = torch.tensor([r.position for r in history] + [next_position], device=tokens_BN.device)
    return tokens, actions, drafts, positions
