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
def labelled_transitions(clips: ClipSampler, lam: LatentActionModel, window: int, history: int, radius: int,
                         key_latents: torch.Tensor | None = None, key_history: int = 1):
    """Every frame that has a next one: (frames (M, H, W, 3) uint8, the `history` camera moves into each,
    newest last, zeros before the episode's start (M, K, 2), the LAM's action of its transition (M,),
    and with key_latents (procgen action id -> the latent action its key plays) the latent actions of
    the `key_history` recorded keys up to the transition's own, newest last, num_actions where none was
    (M, key_history), else None; then only the transitions whose own key was recorded)."""
    frames, moves, actions, keys = [], [], [], []
    for index in range(len(clips.episodes)):
        episode = torch.from_numpy(np.array(clips._frames(index)))
        recorded = clips.episodes[index].actions
        if len(episode) < 2 or (key_latents is not None and recorded is None):
            continue
        into = episode_motions(episode, radius)  # (T, 2): the move into frame t
        padded = torch.cat((torch.zeros(history - 1, 2, dtype=into.dtype), into))
        # The LAM labels transitions in windows of the length it learned on, overlapping by one frame.
        labels = torch.cat([lam.infer_actions(episode[None, s:s + window])[0]
                            for s in range(0, len(episode) - 1, window - 1)])
        rows = slice(None)
        if key_latents is not None:
            recorded = torch.as_tensor(np.asarray(recorded)[:len(episode) - 1]).long()  # the key between t and t+1
            none = lam.config.num_actions
            played = torch.where(recorded >= 0, key_latents[recorded.clamp(min=0)], none)
            played = torch.cat((torch.full((key_history - 1,), none, dtype=played.dtype), played))
            rows = torch.nonzero(recorded >= 0)[:, 0]
            keys.append(played.unfold(0, key_history, 1)[rows])
        frames.append(episode[:-1][rows])
        moves.append(padded.unfold(0, history, 1)[:len(episode) - 1].transpose(1, 2)[rows])
        actions.append(labels[rows])
    if not frames:
        raise ValueError("no episode has two frames" + (" and recorded keys" if key_latents is not None else "")
                         + ": nothing to train the prior on")
    return torch.cat(frames), torch.cat(moves), torch.cat(actions), torch.cat(keys) if keys else None


class PriorObjective(nn.Module):
    def __init__(self, prior: ActionPrior, lam: LatentActionModel, window: int, train: ClipSampler, val: ClipSampler,
                 key_latents: torch.Tensor | None = None):
        super().__init__()
        self.prior = prior
        c = prior.config
        if c.keyed and key_latents is None:
            raise ValueError("a keyed prior learns from recorded keys: give the latent action each key plays")
        key_latents = key_latents if c.keyed else None
        self.frames, self.moves, self.actions, self.keys = labelled_transitions(
            train, lam, window, c.history, c.motion_radius, key_latents, c.key_history)
        val_frames, val_moves, val_actions, val_keys = labelled_transitions(
            val, lam, window, c.history, c.motion_radius, key_latents, c.key_history)
        picks = torch.randperm(len(val_actions), generator=torch.Generator().manual_seed(0))[:VAL_TRANSITIONS]
        self.val = (val_frames[picks], val_moves[picks], val_actions[picks],
                    val_keys[picks] if val_keys is not None else None)
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
        keys = self.keys[rows].to(self.device) if self.keys is not None else None
        return self.frames[rows].to(self.device), self.moves[rows].to(self.device), self.actions[rows].to(self.device), keys

    def forward(self, batch):
        return prior_loss(self.prior, *batch)

    def after_step(self, step: int) -> None:
        pass

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        frames, moves, actions, keys = (t.to(self.device) if t is not None else None for t in self.val)
        losses = [prior_loss(self.prior, frames[i:i + 512], moves[i:i + 512], actions[i:i + 512],
                             keys[i:i + 512] if keys is not None else None)[1]
                  for i in range(0, len(actions), 512)]
        weights = [min(512, len(actions) - i) / len(actions) for i in range(0, len(actions), 512)]
        return {k: sum(w * s[k] for w, s in zip(weights, losses)) for k in losses[0]}
