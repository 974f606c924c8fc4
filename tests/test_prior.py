"""The action prior: it learns from the camera's last moves which latent action video plays next, a key
yields to the likeliest action of its own sideways way only when the prior finds its own unlikely,
it ships in the checkpoint and steers play, and the cache still equals recomputation with it."""
import dataclasses

import numpy as np
import pytest
import torch

from genie_core.checkpoint import CheckpointError, build_genie, check_parts_agree, load_genie, save_genie
from genie_core.decoding import DecodeSettings
from genie_core.loading import load_world
from genie_core.blocks.motion import motion_to_id
from genie_core.models.prior import (ActionPrior, PriorConfig, prior_loss, recent_keys, rising_of, sideways_of,
                                     steer_actions)
from genie_core.train.__main__ import main as train_main
from genie_core.world.reference import UncachedRollout
from genie_core.world.rollout import Rollout

from tests.test_critic import FOLLOWED, wall_frame, wall_video  # noqa: F401  (the fixture)

# 8 actions as the shipped LAM's classes: right, right+rise, right+fall, none, fall, rise, left, still.
SIDEWAYS = (1, 1, 1, 0, 0, 0, -1, None)


class RulePrior(ActionPrior):
    """A prior whose answer is fixed logits per batch row, given at construction."""

    def __init__(self, logits_BA: torch.Tensor, keyed: bool = False):
        super().__init__(PriorConfig(image_size=16, motion_radius=2, window=(0, 0, 16), box=(6, 10, 5, 11),
                                     sideways=SIDEWAYS, keyed=keyed))
        self.logits_BA = logits_BA

    def forward(self, frames_BHW3, moves_BK2, keys_B=None):
        assert (keys_B is not None) == self.config.keyed  # a keyed prior is asked with the keys, only it
        return self.logits_BA


def test_sideways_comes_from_the_lams_motion_classes():
    centroids = torch.tensor([[-1.3, 0.1], [-1.2, 5.0], [-1.1, -4.2], [0.0, 0.0], [0.1, -5.0], [0.1, 5.2], [1.2, 0.0]])
    assert sideways_of(centroids, 7, 8) == SIDEWAYS


def test_the_rising_actions_come_from_the_lams_motion_classes():
    centroids = torch.tensor([[-1.3, 0.1], [-1.2, 5.0], [-1.1, -4.2], [0.0, 0.0], [0.1, -5.0], [0.1, 5.2], [1.2, 0.0]])
    assert rising_of(centroids, 7, 8) == (1, 5)


def test_a_rising_key_takes_off_from_level_ground_and_is_steered_in_the_air():
    models = build_genie("tiny", seed=0)
    radius = models.dynamics.config.motion_radius
    prior = RulePrior(torch.tensor([[0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0]]))  # wants no move, always
    image = torch.from_numpy(wall_frame(12, np.random.default_rng(0)))[None]
    played = {}
    for engine, take_off in ((Rollout, False), (Rollout, True), (UncachedRollout, True)):
        settings = DecodeSettings(rounds=1, yield_below=0.5, take_off=take_off)
        rollout = engine(models.tokenizer, models.dynamics, settings, 8, prior=prior, rising=(1, 5))
        rollout.start(image)
        g = torch.Generator().manual_seed(0)
        rollout.next_frame(torch.tensor([5]), g)  # from level ground
        rollout.next_frame(torch.tensor([3]), g, motion_B=motion_to_id(torch.tensor([[0, 1]]), radius))  # a rise
        rollout.next_frame(torch.tensor([5]), g)  # in the air now
        played[engine.__name__, take_off] = [int(r.action_B) for r in rollout.history[1:]]
    assert played["Rollout", False] == [3, 3, 3]  # the prior steers every jump away
    assert played["Rollout", True] == [5, 3, 3] == played["UncachedRollout", True]


def test_a_key_keeps_its_action_unless_the_prior_finds_it_unlikely_and_never_leaves_its_way():
    p = torch.tensor([[0.2, 0.05, 0.6, 0.05, 0.02, 0.02, 0.05, 0.01],  # right key in the air: falls right
                      [0.5, 0.3, 0.1, 0.02, 0.02, 0.02, 0.03, 0.01],  # rise-right key on the ground: rises
                      [0.9, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.04],  # left key: left is its only action
                      [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.93],  # still: never steered
                      [0.1, 0.1, 0.1, 0.05, 0.5, 0.1, 0.04, 0.01]])  # no-move key mid-air: falls
    prior = RulePrior(p.log())
    frames, moves = torch.zeros(5, 16, 16, 3, dtype=torch.uint8), torch.zeros(5, 4, 2, dtype=torch.long)
    keys = torch.tensor([0, 1, 6, 7, 3])
    assert steer_actions(prior, frames, moves, keys, 0.5).tolist() == [2, 1, 6, 7, 4]
    assert torch.equal(steer_actions(prior, frames, moves, keys, 0.0), keys)  # 0: every key its own
    kept = torch.tensor([True, False, False, False, False])
    assert steer_actions(prior, frames, moves, keys, 0.5, kept).tolist() == [0, 1, 6, 7, 4]  # kept: never steered


def test_a_keyed_prior_may_steer_a_key_any_way_but_never_to_or_from_still():
    p = torch.tensor([[0.1, 0.05, 0.05, 0.7, 0.02, 0.02, 0.05, 0.01],  # right key, a ship that turns: no move
                      [0.6, 0.1, 0.1, 0.1, 0.02, 0.02, 0.05, 0.01],  # right key that runs: its own
                      [0.5, 0.1, 0.1, 0.1, 0.02, 0.02, 0.15, 0.01],  # left key after a run right: still going right
                      [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.93]])  # likeliest is still: never chosen
    prior = RulePrior(p.log(), keyed=True)
    frames, moves = torch.zeros(4, 16, 16, 3, dtype=torch.uint8), torch.zeros(4, 4, 2, dtype=torch.long)
    keys = torch.tensor([0, 0, 6, 3])
    assert steer_actions(prior, frames, moves, keys, 1.0).tolist() == [3, 0, 0, 3]
    assert steer_actions(prior, frames, moves, keys, 0.25).tolist() == [3, 0, 6, 3]  # 0.15 >= 0.25 * 0.5: kept


def test_a_keyed_prior_learns_what_each_key_does_from_the_keys_before():
    """A held key builds speed: the right key (0) moves right only when it was held the tick before too;
    pressed once it plays no move (3). One key alone cannot tell the two apart."""
    torch.manual_seed(0)
    config = PriorConfig(image_size=16, motion_radius=2, window=(0, 0, 16), box=(6, 10, 5, 11), sideways=SIDEWAYS,
                         keyed=True, key_history=2)
    prior = ActionPrior(config)
    optimizer = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for _ in range(200):
        keys = torch.where(torch.rand(64, 2) < 0.5, 0, 6)
        keys[:8, 0] = config.num_actions  # no key before the start
        actions = torch.where((keys == 0).all(1), 0, 3)
        frames = torch.randint(0, 255, (64, 16, 16, 3), dtype=torch.uint8)
        moves = torch.zeros(64, 4, 2, dtype=torch.long)
        loss, stats = prior_loss(prior, frames, moves, actions, keys)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert stats["prior_accuracy"] > 0.95, stats
    with pytest.raises(ValueError, match="needs the last 2 keys"):
        prior(frames, moves, keys[:, 1:])
    right = torch.tensor([0])
    held, once = recent_keys([None, right], right, config), recent_keys([None], right, config)
    assert held.tolist() == [[0, 0]] and once.tolist() == [[config.num_actions, 0]]  # the start frame: no key
    left = torch.tensor([6])
    wide = dataclasses.replace(config, key_history=4)
    assert recent_keys([left, right], right, wide).tolist() == [[config.num_actions, 6, 0, 0]]  # fewer than it sees
    assert recent_keys([left, left, right, left], right, wide).tolist() == [[6, 0, 6, 0]]  # the newest three, then now
    assert steer_actions(prior, frames[:1], moves[:1], right, 1.0, keys_BK=held).item() == 0
    assert steer_actions(prior, frames[:1], moves[:1], right, 1.0, keys_BK=once).item() == 3
    assert steer_actions(prior, frames[:1], moves[:1], right, 1.0).item() == 3  # no keys given: none before


def test_the_prior_learns_what_follows_from_the_last_moves():
    torch.manual_seed(0)
    prior = ActionPrior(PriorConfig(image_size=16, motion_radius=2, window=(0, 0, 16), box=(6, 10, 5, 11),
                                    sideways=SIDEWAYS))
    optimizer = torch.optim.Adam(prior.parameters(), lr=3e-3)
    for _ in range(150):  # rising (dy > 0) two moves ago means falling now: the phase of a jump
        moves = torch.randint(-2, 3, (64, 4, 2))
        actions = torch.where(moves[:, -2, 1] > 0, 4, 3)
        frames = torch.randint(0, 255, (64, 16, 16, 3), dtype=torch.uint8)
        loss, stats = prior_loss(prior, frames, moves, actions)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert stats["prior_accuracy"] > 0.9, stats


def test_trained_prior_ships_steers_play_and_the_cache_still_equals_recomputation(tmp_path, wall_video):
    genie = build_genie("tiny", seed=0)
    genie.dynamics = type(genie.dynamics)(dataclasses.replace(genie.dynamics.config, followed_pixels=FOLLOWED))
    source, run, out = tmp_path / "source", tmp_path / "prior", tmp_path / "shipped"
    save_genie(genie, str(source))
    assert train_main(["prior", "--data", str(wall_video), "--dynamics", str(source), "--out", str(run),
                       "--steps", "20", "--val-every", "20", "--warmup-steps", "2", "--val-fraction", "0.2",
                       "--history", "6", "--device", "cpu"]) == 0
    assert load_genie(str(source)).prior is None
    assert train_main(["export", "--run", str(source), "--prior", str(run), "--out", str(out),
                       "--yield-below", "0.3"]) == 0
    models = load_genie(str(out))
    assert models.prior is not None and models.decoding.yield_below == 0.3
    assert models.prior.config.history == 6  # play hands it as many of its own camera moves
    world = load_world(str(out), device="cpu")
    world.reset(wall_frame(12, np.random.default_rng(0)))
    assert world.rollout.prior is not None
    assert world.played_action is None  # nothing played yet
    for action in range(8):
        assert world.step(action).shape == (16, 16, 3)
        assert 0 <= world.played_action < 8  # the key's own action or the one the prior steered it to

    # A prior that always wants the second action of a key's way: the actions played follow it, cached or not.
    logits = torch.tensor([0.0, 5.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0])
    models.prior = RulePrior(logits[None])
    sideways = sideways_of(models.lam.motion_centroids, models.lam.config.still_id, 8)
    models.prior.config = dataclasses.replace(models.prior.config, sideways=sideways)  # the trained prior's
    settings = DecodeSettings(rounds=2, temperature=1.0, order="random", yield_below=0.5)
    image = torch.from_numpy(wall_frame(12, np.random.default_rng(0)))[None]
    played = []
    for engine in (Rollout, UncachedRollout):
        rollout = engine.of(models, settings, 8)
        rollout.start(image)
        g = torch.Generator().manual_seed(3)
        for action in [0, 3, 6, 7]:
            rollout.next_frame(torch.tensor([action]), g)
        played.append(([int(r.action_B) for r in rollout.history[1:]], torch.stack([r.tokens_BN for r in rollout.history])))
    expected = []
    for key in [0, 3, 6, 7]:
        way = [a for a in range(8) if sideways[key] is not None and sideways[a] == sideways[key]]
        best = max(way, key=lambda a: logits[a]) if way else key
        expected.append(best if way and logits[key].exp() < 0.5 * logits[best].exp() else key)
    assert played[0][0] == expected
    assert played[0][0] == played[1][0] and played[0][1].equal(played[1][1])


def test_a_keyed_prior_trains_on_recorded_keys_and_ships(tmp_path, wall_video):
    import json

    from genie_core.data.clips import read_episode, write_episode

    genie = build_genie("tiny", seed=0)
    genie.dynamics = type(genie.dynamics)(dataclasses.replace(genie.dynamics.config, followed_pixels=FOLLOWED))
    source, keyed_video, run = tmp_path / "source", tmp_path / "keyed", tmp_path / "prior"
    save_genie(genie, str(source))
    args = ["prior", "--keyed", "on", "--key-history", "3", "--dynamics", str(source), "--out", str(run), "--steps", "10",
            "--val-every", "10", "--warmup-steps", "2", "--val-fraction", "0.2", "--device", "cpu"]
    assert train_main([*args, "--data", str(wall_video)]) == 2  # actions.json names no actions
    (source / "actions.json").write_text(json.dumps({"names": ["right", "right+jump", "right+down", "noop", "down",
                                                               "jump", "left", "still"]}))
    assert train_main([*args, "--data", str(wall_video)]) == 2  # the video holds no recorded keys
    keyed_video.mkdir()
    rng = np.random.default_rng(0)
    for path in sorted(wall_video.iterdir()):
        frames = read_episode(str(path)).frames
        write_episode(str(keyed_video / path.name), frames, rng.integers(0, 15, len(frames) - 1))
    assert train_main([*args, "--data", str(keyed_video)]) == 0
    assert train_main(["export", "--run", str(source), "--prior", str(run), "--out", str(tmp_path / "shipped"),
                       "--yield-below", "1"]) == 0
    world = load_world(str(tmp_path / "shipped"), device="cpu")
    assert world.rollout.prior.config.keyed and world.rollout.prior.config.key_history == 3
    world.reset(wall_frame(12, rng))
    for action in range(8):
        world.step(action)
        assert 0 <= world.played_action < 8


def test_a_prior_of_another_world_does_not_fit():
    genie = build_genie("tiny", seed=0)
    radius = genie.dynamics.config.motion_radius
    genie.prior = ActionPrior(PriorConfig(image_size=16, motion_radius=radius, window=(0, 0, 16), sideways=SIDEWAYS))
    check_parts_agree("ok", genie)
    genie.prior = ActionPrior(PriorConfig(image_size=16, motion_radius=radius + 1, window=(0, 0, 16), sideways=SIDEWAYS))
    with pytest.raises(CheckpointError, match="prior motion radius"):
        check_parts_agree("other", genie)
