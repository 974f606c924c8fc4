"""Can the LAM's encoder tell the player's way in still-screen games? A probe, not the product.

Trains only the LAM encoder's class head (the player's move by direction, tracking.player_moves) on
a few games' episodes, for a fixed time per variant, and scores the class accuracy per game on dev
episodes. Variants: "mean" (the shipped encoder: the patches' outputs averaged), "attn" (a learned
attention pooling over the patches, so one moving sprite is not averaged away).
usage: PYTHONPATH=. python docs/history/experiments/lam_pooling/lam_probe.py MINUTES VARIANT [VARIANT ...]
(session 24: `5 mean attn`, 1 thread beside a training run; output in lam_probe.txt)
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genie_core.blocks.motion import SEARCH_RADIUS, episode_motions
from genie_core.blocks.patches import patchify, to_unit
from genie_core.blocks.tracking import player_moves
from genie_core.data.clips import list_episodes, read_frames, read_header
from genie_core.models.config import LAMConfig
from genie_core.models.lam import LatentActionModel, direction_classes

GAMES = {"bigfish": ("bigfish", "bigfish_dev"), "leaper": ("leaper", "leaper_dev"),
         "maze": ("maze_wander", "maze_wander_dev"), "coinrun": ("coinrun", "coinrun_dev"),
         "climber": ("climber", "climber_dev")}
WINDOW = 16


def episodes(folder: str, count: int):
    out = []
    for path in list_episodes(f"data/games/{folder}")[:count]:
        frames = torch.from_numpy(np.array(read_frames(read_header(path))))
        if len(frames) < WINDOW:
            continue
        moves = player_moves(frames, episode_motions(frames, SEARCH_RADIUS))
        labels = torch.full((len(frames),), -1, dtype=torch.long)
        known = torch.isfinite(moves).all(1)
        labels[known] = direction_classes(moves[known])
        same = torch.cat((torch.ones(1, dtype=torch.bool), (frames[1:] == frames[:-1]).flatten(1).all(1)))
        labels[same] = -1  # still transitions take the reserved code by rule
        out.append((frames, labels))
    return out


def windows(eps, rng, batch):
    picks = [eps[i] for i in rng.integers(len(eps), size=batch)]
    frames, labels = [], []
    for f, l in picks:
        s = int(rng.integers(len(f) - WINDOW + 1))
        frames.append(f[s:s + WINDOW])
        labels.append(l[s + 1:s + WINDOW])
    return torch.stack(frames), torch.stack(labels)


class AttnPoolLAM(LatentActionModel):
    def __init__(self, config):
        super().__init__(config)
        self.pool = nn.Linear(config.dim, config.heads)

    def encode(self, frames_BTHW3):
        unit = to_unit(frames_BTHW3)
        patches = patchify(unit - 0.5, self.config.patch)
        change = torch.cat((torch.zeros_like(unit[:, :1]), unit[:, 1:] - unit[:, :-1]), dim=1)
        patches = torch.cat((patches, patchify(change, self.config.patch)), dim=-1)
        h = self.encoder(self.encoder_embed(patches) + self.encoder_pos_NC)[:, 1:]  # (B, T-1, N, C)
        weights = self.pool(h).softmax(dim=2)  # (B, T-1, N, heads): where each head looks
        heads = self.config.heads
        pooled = torch.einsum("btnh,btnhc->bthc", weights, h.unflatten(-1, (heads, -1))).flatten(-2)
        return self.to_action(pooled)


def accuracy(model, eps):
    right = total = 0
    with torch.no_grad():
        for f, l in eps:
            for s in range(0, len(f) - WINDOW + 1, WINDOW - 1):
                logits = model.to_class(model.encode(f[None, s:s + WINDOW]))[0]
                y = l[s + 1:s + WINDOW]
                ok = y >= 0
                right += (logits.argmax(-1)[ok] == y[ok]).sum().item()
                total += ok.sum().item()
    return right / max(total, 1), total


def main():
    minutes, variants = float(sys.argv[1]), sys.argv[2:]
    torch.manual_seed(0)
    train = {g: episodes(t, 40) for g, (t, _) in GAMES.items()}
    dev = {g: episodes(d, 16) for g, (_, d) in GAMES.items()}
    config = LAMConfig(difference_input=True, decoder_shift=6, still_action=True, motion_radius=8,  # runs/dyng1's
                       motion_dx_weight=3.0, motion_codes=True, anchor="player", classes="directions")
    results = {"majority": {}}
    for g in GAMES:  # the baseline: always the dev set's most common class
        y = torch.cat([l[1:] for _, l in dev[g]])
        y = y[y >= 0]
        results["majority"][g] = [torch.bincount(y).max().item() / len(y), len(y)]
    print("majority", json.dumps(results["majority"]), flush=True)
    for variant in variants:
        model = (AttnPoolLAM if variant == "attn" else LatentActionModel)(config)
        params = [p for n, p in model.named_parameters() if n.startswith(("encoder", "to_action", "to_class", "pool"))]
        opt = torch.optim.AdamW(params, lr=4e-4, weight_decay=0.05)
        rng, start, step = np.random.default_rng(0), time.time(), 0
        while time.time() - start < minutes * 60:
            loss = 0.0
            for g in GAMES:  # every game in every step: balanced
                frames, labels = windows(train[g], rng, 3)
                logits = model.to_class(model.encode(frames))
                ok = labels >= 0
                loss = loss + F.cross_entropy(logits[ok], labels[ok])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        results[variant] = {"steps": step, **{g: accuracy(model, dev[g]) for g in GAMES}}
        print(variant, json.dumps(results[variant]), flush=True)
    json.dump(results, open("lam_probe.json", "w"), indent=1)


if __name__ == "__main__":
    main()
