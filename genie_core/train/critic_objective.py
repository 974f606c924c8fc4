"""What the move critic optimises (models/critic.py): the next move against another transition's move."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..blocks.motion import episode_motions
from ..data.sampler import ClipSampler
from ..models.critic import MoveCritic, critic_loss

VAL_TRANSITIONS = 2048
REFUSE_BELOW = 0.1  # the threshold validation reports its refusal shares at (DecodeSettings.refuse_below's)


def transitions(clips: ClipSampler, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every frame that has a next one, with the camera's move to it: (M, H, W, 3) uint8 and (M, 2) long.
    Still transitions stay in: a player pushing into a wall shows as a still camera, and the moves
    other transitions made, judged on those frames, are what teaches the critic where walls are."""
    frames, moves = [], []
    for index in range(len(clips.episodes)):
        episode = torch.from_numpy(np.array(clips._frames(index)))
        if len(episode) < 2:
            continue
        frames.append(episode[:-1])
        moves.append(episode_motions(episode, radius)[1:])  # the move from frame t to t+1, per t
    if not frames or not any((m != 0).any() for m in moves):
        raise ValueError("no frame in the data is followed by a camera move: nothing to train the critic on")
    return torch.cat(frames), torch.cat(moves)


class CriticObjective(nn.Module):
    def __init__(self, critic: MoveCritic, train: ClipSampler, val: ClipSampler):
        super().__init__()
        self.critic = critic
        radius = critic.config.motion_radius
        self.frames, self.moves = transitions(train, radius)
        val_frames, val_moves = transitions(val, radius)
        picks = torch.randperm(len(val_moves), generator=torch.Generator().manual_seed(0))[:VAL_TRANSITIONS]
        others = torch.randint(0, len(val_moves), (len(picks),), generator=torch.Generator().manual_seed(1))
        self.val = (val_frames[picks], val_moves[picks], val_moves[others])
        print(f"critic: {len(self.moves)} transitions to learn from, {len(val_moves)} to validate on")

    def components(self):
        return {"critic": self.critic}

    @property
    def device(self):
        return self.critic.net[0].weight.device

    def sample_batch(self, batch_size: int, rng: np.random.Generator):
        rows = torch.from_numpy(rng.integers(0, len(self.moves), size=batch_size))
        others = torch.from_numpy(rng.integers(0, len(self.moves), size=batch_size))
        return self.frames[rows].to(self.device), self.moves[rows].to(self.device), self.moves[others].to(self.device)

    def forward(self, batch):
        return critic_loss(self.critic, *batch)

    def after_step(self, step: int) -> None:
        pass

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        frames, true, other = (t.to(self.device) for t in self.val)
        moved = (true != 0).any(-1)  # play never asks about no move
        judged = (other != true).any(-1) & (other != 0).any(-1)
        p_true, p_other = (torch.cat([torch.sigmoid(self.critic(f[i:i + 256], m[i:i + 256])) for i in range(0, len(m), 256)])
                           for f, m in ((frames[moved], true[moved]), (frames[judged], other[judged])))
        # What play would do at REFUSE_BELOW: the true moves it would refuse (should be few) and the
        # other moves it would refuse (those that push the level into the player, among others).
        return {"true_move_p": p_true.mean().item(), "other_move_p": p_other.mean().item(),
                "true_refused": (p_true < REFUSE_BELOW).float().mean().item(),
                "other_refused": (p_other < REFUSE_BELOW).float().mean().item()}
