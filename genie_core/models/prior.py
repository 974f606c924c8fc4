"""The action prior: which latent action comes next in video, seen from the player. It gives keys the
world's physics: a jump comes down, and a player who runs off a ledge falls.

The latent actions are classes of camera motion (lam.py: right, right and rising, right and falling,
rising, falling, left, no move), so a key that always plays its one class flies: a held Jump rises
for as long as it is held, and Right after a jump runs level through the air
(docs/free_play/dev/probes_v8.txt). In video, what follows a rise is a fall, and the ground under
the player decides when the fall ends. This small convolutional net learns that from unlabelled video:
p(next latent action | the window around the followed player, the last camera moves), with the LAM's
own labels of each transition as targets.

At play time (`steer_actions`, DecodeSettings.yield_below) a key keeps its own latent action unless the
prior rates it below yield_below times the likeliest latent action that goes the same way sideways
(PriorConfig.sideways, from the LAM's motion classes); then that one plays. Right stays right but
falls after a jump; a held Jump rises, falls once video no longer rises there, lands and jumps again.
The still action (nothing changes) is never chosen for a key nor replaced.

A keyed prior (PriorConfig.keyed) also sees the latent actions the last keys play by name, and learns
p(next latent action | the window, the last camera moves, the keys) from video with the recording
agents' keys: what a key does in this world. The LAM stays unsupervised; this is the paper's small
labelled set that maps latent actions to a game's real ones (Bruce et al. 2024, section 3.3 and the
behavioural-cloning study). A game's keys do not fix its moves: in the held-out video CoinRun's Right
moves the camera right in 59% of the ticks, caveflyer's in 11% (its Right turns the ship), and ninja's
player keeps going after a turn. So a key plays the likeliest latent action given the keys, in any
way, unless its own is rated at least yield_below times that one.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

SIDEWAYS_STEP = 0.5  # px: a motion class whose mean sideways move is smaller goes neither way
RISE_STEP = 1.0  # px: a motion class whose content moves down by this much on average takes the camera up


@dataclass(frozen=True)
class PriorConfig:
    image_size: int = 64
    num_actions: int = 8
    motion_radius: int = 8
    window: tuple[int, int, int] = (18, 17, 28)  # top row, left column, side: the critic's window (critic.py)
    box: tuple[int, int, int, int] = (28, 36, 27, 36)  # the player's box, blanked (play keeps a stale sprite)
    history: int = 4  # camera moves seen, the newest last
    # Per latent action: which way it moves the player sideways (-1 left, 0 neither, 1 right), and None
    # for the still action, which is never steered to or from.
    sideways: tuple[int | None, ...] = ()
    width: int = 32
    keyed: bool = False  # the key's own latent action is an input (learned from recorded keys)
    key_history: int = 1  # keyed: keys seen, the newest (the one pressed now) last: a held key builds speed


def rising_of(motion_centroids_A2: torch.Tensor, still_id: int | None, num_actions: int) -> tuple[int, ...]:
    """The latent actions whose motion class takes the camera up (the content moves down by RISE_STEP or
    more): the take-offs (DecodeSettings.take_off)."""
    return tuple(a for a in range(min(num_actions, len(motion_centroids_A2)))
                 if a != still_id and float(motion_centroids_A2[a, 1]) >= RISE_STEP)


def sideways_of(motion_centroids_A2: torch.Tensor, still_id: int | None, num_actions: int) -> tuple[int | None, ...]:
    """Each latent action's sideways direction from the LAM's motion classes (the content's mean move
    (dx, dy): content moving left is the player going right)."""
    out: list[int | None] = []
    for action in range(num_actions):
        if action == still_id or action >= len(motion_centroids_A2):
            out.append(None)
            continue
        dx = -float(motion_centroids_A2[action, 0])
        out.append(0 if abs(dx) < SIDEWAYS_STEP else (1 if dx > 0 else -1))
    return tuple(out)


class ActionPrior(nn.Module):
    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = c = config
        side, w = c.window[2], c.width
        if side % 4:
            raise ValueError(f"prior window side must be a multiple of 4, got {side}")
        if len(c.sideways) != c.num_actions:
            raise ValueError(f"the prior needs a sideways direction for each of its {c.num_actions} actions")
        self.frame_net = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1), nn.GELU(), nn.Flatten(),
            nn.Linear(2 * w * (side // 4) ** 2, 4 * w))
        keys = (c.num_actions + 1) * c.key_history if c.keyed else 0  # one slot more: no key (before the start)
        self.head = nn.Sequential(nn.GELU(), nn.Linear(4 * w + 2 * c.history + keys, 4 * w), nn.GELU(),
                                  nn.Linear(4 * w, c.num_actions))

    def forward(self, frames_BHW3: torch.Tensor, moves_BK2: torch.Tensor,
                keys_BK: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, A) of the latent action that follows each frame; moves_BK2: the camera moves
        (dx, dy) into the frame and the ones before it, the newest last (zeros where unknown); keys_BK (a
        keyed prior only): the latent actions the keys play by name, the one pressed now last and
        num_actions where no key was (before the start)."""
        top, left, side = self.config.window
        b0, b1, c0, c1 = self.config.box
        x = frames_BHW3[:, top:top + side, left:left + side].permute(0, 3, 1, 2).float() / 255
        x[:, :, max(b0 - top, 0):max(b1 - top, 0), max(c0 - left, 0):max(c1 - left, 0)] = 0.5
        dtype = self.frame_net[0].weight.dtype
        moves = (moves_BK2.float() / self.config.motion_radius).flatten(1).to(x.device)
        inputs = [self.frame_net(x.to(dtype)).float(), moves]
        if self.config.keyed:
            if keys_BK is None or keys_BK.shape[1:] != (self.config.key_history,):
                raise ValueError(f"a keyed prior needs the last {self.config.key_history} keys' latent actions")
            inputs.append(F.one_hot(keys_BK.to(x.device).long(), self.config.num_actions + 1).float().flatten(1))
        return self.head(torch.cat(inputs, -1).to(dtype)).float()


def prior_loss(prior: ActionPrior, frames_BHW3, moves_BK2, next_actions_B,
               keys_BK=None) -> tuple[torch.Tensor, dict[str, float]]:
    logits = prior(frames_BHW3, moves_BK2, keys_BK)
    loss = F.cross_entropy(logits, next_actions_B)
    accuracy = (logits.argmax(-1) == next_actions_B).float().mean()
    return loss, {"prior_loss": loss.item(), "prior_accuracy": accuracy.item()}


def recent_keys(asked: list[torch.Tensor | None], now_B: torch.Tensor, config: PriorConfig) -> torch.Tensor:
    """(B, key_history) the keys a keyed prior sees: the newest actions asked for before (None: the start
    frame's, no key), then now_B, newest last; num_actions (no key) where there were fewer."""
    earlier = asked[max(0, len(asked) - (config.key_history - 1)):] if config.key_history > 1 else []
    known = [k.to(now_B.device).long()[:, None] for k in earlier if k is not None]
    none = torch.full((len(now_B), config.key_history - 1 - len(known)), config.num_actions, device=now_B.device)
    return torch.cat([none, *known, now_B.long()[:, None]], 1)


@torch.inference_mode()
def steer_actions(prior: ActionPrior, frames_BHW3: torch.Tensor, moves_BK2: torch.Tensor, actions_B: torch.Tensor,
                  yield_below: float, keep_B: torch.Tensor | None = None,
                  keys_BK: torch.Tensor | None = None) -> torch.Tensor:
    """(B,) the actions to play for the keys' actions: each key's own, unless the prior rates it below
    yield_below times the likeliest action that goes the same way sideways (a keyed prior: the
    likeliest of all, given the keys) and then that one; keep_B (B,) bool: keys played as they are
    whatever the prior says; keys_BK (a keyed prior): recent_keys, this one's last (none given: no
    key before it)."""
    sideways = torch.tensor([9 if s is None else s for s in prior.config.sideways], device=actions_B.device)
    if prior.config.keyed:
        candidates = (sideways[None, :] != 9).expand(len(actions_B), -1)
        logits = prior(frames_BHW3, moves_BK2, recent_keys([], actions_B, prior.config) if keys_BK is None else keys_BK)
    else:
        candidates = (sideways[None, :] == sideways[actions_B][:, None]) & (sideways[None, :] != 9)  # (B, A)
        logits = prior(frames_BHW3, moves_BK2)
    probs = torch.softmax(logits, -1).to(actions_B.device)
    best = probs.masked_fill(~candidates, -1.0).max(-1)
    own = probs.gather(1, actions_B[:, None])[:, 0]
    steer = (sideways[actions_B] != 9) & (own < yield_below * best.values)
    if keep_B is not None:
        steer = steer & ~keep_B.to(steer.device)
    return torch.where(steer, best.indices, actions_B)
