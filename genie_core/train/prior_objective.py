"""What the action prior optimises (models/prior.py): the LAM's label of the next transition, from the
window around the player and the camera moves that led to the frame."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..blocks.motion import episode_motions
from ..data.sampler import ClipSampler
from ..models.lam import LatentActionModel
from ..models.prior import ActionPrior, prior_loss

VAL_TRANSITIONS = 4096


@torch.inference_mode()
def labelled_transitions(clips: ClipSampler, lam: LatentActionModel, window: int, history: int, radius: int):
    """Every frame that has a next one: (frames (M, H, W, 3) uint8, the `history` camera moves into each,
    newest last, zeros before the episode's start (M, K, 2), the LAM's action of its transition (M,))."""
    frames, moves, actions = [], [], []
    for index in range(len(clips.episodes)):
        episode = torch.from_numpy(np.array(clips._frames(index)))
        if len(episode) < 2:
            continue
        into = episode_motions(episode, radius)  # (T, 2): the move into frame t
        padded = torch.cat((torch.zeros(history - 1, 2, dtype=into.dtype), into))
        # The LAM labels transitions in windows of the length it learned on, overlapping by one frame.
        labels = torch.cat([lam.infer_actions(episode[None, s:s + window])[0]
                            for s in range(0, len(episode) - 1, window - 1)])
        frames.append(episode[:-1])
        moves.append(padded.unfold(0, history, 1)[:len(episode) - 1].transpose(1, 2))
        actions.append(labels)
    if not frames:
        raise ValueError("no episode has two frames: nothing to train the prior on")
    return torch.cat(frames), torch.cat(moves), torch.cat(actions)


class PriorObjective(nn.Module):
    def __init__(self, prior: ActionPrior, lam: LatentActionModel, window: int, train: ClipSampler, val: ClipSampler):
        super().__init__()
        self.prior = prior
        c = prior.config
        self.frames, self.moves, self.actions = labelled_transitions(train, lam, window, c.history, c.motion_radius)
        val_frames, val_moves, val_actions = labelled_transitions(val, lam, window, c.history, c.motion_radius)
        picks = torch.randperm(len(val_actions), generator=torch.Generator().manual_seed(0))[:VAL_TRANSITIONS]
        self.val = (val_frames[picks], val_moves[picks], val_actions[picks])
        shares = torch.bincount(self.actions, minlength=c.num_actions).float() / len(self.actions)
        print(f"prior: {len(self.actions)} transitions to learn from, {len(val_actions)} to validate on; "
              f"actions: {' '.join(f'{s:.2f}' for s in shares.tolist())}")

    def components(self):
        return {"prior": self.prior}

    @property
    def device(self):
        return self.prior.frame_net[0].weight.device

    def sample_batch(self, batch_size: int, rng: np.random.Generator):
        rows = torch.from_numpy(rng.integers(0, len(self.actions), size=batch_size))
        return self.frames[rows].to(self.device), self.moves[rows].to(self.device), self.actions[rows].to(self.device)

    def forward(self, batch):
        return prior_loss(self.prior, *batch)

    def after_step(self, step: int) -> None:
        pass

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        frames, moves, actions = (t.to(self.device) for t in self.val)
        losses = [prior_loss(self.prior, frames[i:i + 512], moves[i:i + 512], actions[i:i + 512])[1]
                  for i in range(0, len(actions), 512)]
        weights = [min(512, len(actions) - i) / len(actions) for i in range(0, len(actions), 512)]
        return {k: sum(w * s[k] for w, s in zip(weights, losses)) for k in losses[0]}
