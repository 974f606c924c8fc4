"""The move critic: learned from video where a wall stops the level, it refuses the move into the wall,
cuts a refused move back to the nearest one it accepts, ships in the checkpoint and steers play."""
import dataclasses

import numpy as np
import pytest
import torch

from genie_core.blocks.motion import largest_blob, motion_to_id
from genie_core.checkpoint import CheckpointError, build_genie, check_parts_agree, load_genie, save_genie
from genie_core.data.clips import write_episode
from genie_core.decoding import DecodeSettings
from genie_core.loading import load_world
from genie_core.models.critic import CriticConfig, MoveCritic, allowed_moves, smaller_moves
from genie_core.train.__main__ import main as train_main
from genie_core.world.reference import UncachedRollout
from genie_core.world.rollout import Rollout

SPRITE_ROWS, SPRITE_COLS = (7, 8), (7, 8)  # the player's pixels in a 16x16 frame
FOLLOWED = tuple(r * 16 + c for r in SPRITE_ROWS for c in SPRITE_COLS)


def wall_frame(wall_x: int, rng: np.random.Generator) -> np.ndarray:
    """A 16x16 frame: dim texture, a bright wall from column wall_x rightwards, the player in the middle."""
    frame = rng.integers(0, 60, (16, 16, 3), dtype=np.uint8)
    frame[:, max(wall_x, 0):] = 200
    for r in SPRITE_ROWS:
        frame[r, SPRITE_COLS[0]:SPRITE_COLS[1] + 1] = (250, 220, 40)
    return frame


@pytest.fixture(scope="module")
def wall_video(tmp_path_factory):
    """Episodes where the player walks left and right and a wall on its right stops it: the level moves
    1 px left (dx -1) only while the wall is not yet touching the player."""
    root = tmp_path_factory.mktemp("walls")
    rng = np.random.default_rng(0)
    for episode in range(10):
        wall_x, frames = int(rng.integers(10, 15)), []
        for _ in range(30):
            frames.append(wall_frame(wall_x, rng))
            step = int(rng.choice([-1, 1]))
            if step == 1 or wall_x - 1 > SPRITE_COLS[1]:  # the content moves left only if the wall stays clear
                wall_x = min(wall_x + step, 15)
        write_episode(str(root / f"ep{episode:02d}.npz"), np.stack(frames))
    return root


class RuleCritic(MoveCritic):
    """A critic whose answer is a rule on the move alone: accepts |dx| <= 1 and dy >= 0."""

    def forward(self, frames_BHW3, shifts_B2):
        ok = (shifts_B2[:, 0].abs() <= 1) & (shifts_B2[:, 1] >= 0)
        return torch.where(ok, 10.0, -10.0)


def test_smaller_moves_run_from_the_move_to_no_move():
    moves = smaller_moves((2, -1)).tolist()
    assert moves[0] == [2, -1] and moves[-1] == [0, 0]
    assert sorted(moves) == sorted([a, b] for a in (0, 1, 2) for b in (0, -1))
    assert smaller_moves((0, 0)).tolist() == [[0, 0]]


def test_a_refused_move_is_cut_back_to_the_nearest_accepted_one():
    critic = RuleCritic(CriticConfig.around(FOLLOWED, 16, 2))
    frames = torch.zeros(4, 16, 16, 3, dtype=torch.uint8)
    shifts = torch.tensor([[1, 1], [-2, 2], [2, -2], [0, 0]])
    out = allowed_moves(critic, frames, shifts, 0.5)
    assert out.tolist() == [[1, 1], [-1, 2], [1, 0], [0, 0]]
    assert torch.equal(allowed_moves(critic, frames, shifts, 0.0), shifts)  # threshold 0 refuses nothing
    # Sideways only: a vertical move is never judged nor cut; a refused sideways part is cut, dy kept.
    sideways = allowed_moves(critic, frames, torch.tensor([[0, -2], [-2, 2], [2, -2], [3, 1]]), 0.5, sideways_only=True)
    assert sideways.tolist() == [[0, -2], [-1, 2], [0, -2], [1, 1]]  # (2, -2): every dx refused with dy < 0
    assert smaller_moves((2, -1), sideways_only=True).tolist() == [[2, -1], [1, -1], [0, -1]]


def test_the_window_and_the_box_fit_the_frame():
    config = CriticConfig.around(FOLLOWED, 16, 2)
    top, left, side = config.window
    assert side % 4 == 0 and 0 <= top and top + side <= 16 and 0 <= left and left + side <= 16
    assert config.box == (6, 10, 5, 11)  # one row and two columns beyond the sprite


def test_trained_critic_refuses_the_move_into_the_wall_and_ships_and_steers_play(tmp_path, wall_video):
    genie = build_genie("tiny", seed=0)
    genie.dynamics = type(genie.dynamics)(dataclasses.replace(genie.dynamics.config, followed_pixels=FOLLOWED))
    source, run = tmp_path / "source", tmp_path / "critic"
    save_genie(genie, str(source))
    assert train_main(["critic", "--data", str(wall_video), "--dynamics", str(source), "--out", str(run),
                       "--steps", "300", "--val-every", "300", "--warmup-steps", "10", "--lr", "3e-3",
                       "--val-fraction", "0.2", "--device", "cpu"]) == 0
    critic = load_genie(str(source)).critic
    assert critic is None  # the source had none
    out = tmp_path / "shipped"
    assert train_main(["export", "--run", str(source), "--critic", str(run), "--out", str(out),
                       "--refuse-below", "0.2"]) == 0
    models = load_genie(str(out))
    assert models.critic is not None and models.decoding.refuse_below == 0.2

    rng = np.random.default_rng(5)
    touching = torch.from_numpy(np.stack([wall_frame(SPRITE_COLS[1] + 1, rng) for _ in range(8)]))
    open_ground = torch.from_numpy(np.stack([wall_frame(15, rng) for _ in range(8)]))
    left = torch.tensor([[-1, 0]] * 8)
    with torch.no_grad():
        p_touching = torch.sigmoid(models.critic(touching, left)).mean().item()
        p_open = torch.sigmoid(models.critic(open_ground, left)).mean().item()
    assert p_touching < 0.2 < p_open, (p_touching, p_open)
    assert allowed_moves(models.critic, touching, left, 0.2).abs().sum() <= 2  # (almost) every one stopped

    world = load_world(str(out), device="cpu")  # plays with the critic on
    world.reset(touching[0].numpy())
    assert world.rollout.critic is not None
    for action in range(4):
        assert world.step(action).shape == (16, 16, 3)


def test_play_moves_only_as_the_critic_allows_and_the_cache_still_equals_recomputation():
    models = build_genie("tiny", seed=0)
    critic = RuleCritic(CriticConfig.around(FOLLOWED, 16, models.dynamics.config.motion_radius))
    settings = DecodeSettings(rounds=2, temperature=1.0, order="random", refuse_below=0.5)
    image = torch.from_numpy(wall_frame(12, np.random.default_rng(0)))[None]
    results = []
    for engine, refuse_below in ((Rollout, 0.5), (UncachedRollout, 0.5), (Rollout, 0.0)):
        rollout = engine(models.tokenizer, models.dynamics, dataclasses.replace(settings, refuse_below=refuse_below),
                         8, critic)
        rollout.start(image)
        g = torch.Generator().manual_seed(3)
        moves = []
        for action in [0, 5, 2, 6, 1, 3, 4, 0]:
            rollout.next_frame(torch.tensor([action]), g)
            moves.append(rollout.last_motion()[0])
        results.append((torch.stack([r.tokens_BN for r in rollout.history]), torch.stack(moves)))
    moves = results[0][1]
    assert (moves[:, 0].abs() <= 1).all() and (moves[:, 1] >= 0).all(), moves  # the rule held every tick
    assert results[0][0].equal(results[1][0]) and results[0][1].equal(results[1][1])
    free = results[2][1]  # the same seed with the critic off moves where the rule would not let it
    assert ((free[:, 0].abs() > 1) | (free[:, 1] < 0)).any(), free


class WallsEverywhere(MoveCritic):
    """A critic that refuses every move."""

    def forward(self, frames_BHW3, shifts_B2):
        return torch.full((len(shifts_B2),), -10.0)


def test_with_allow_shown_the_critic_never_refuses_a_move_back_onto_ground_shown_before():
    models = build_genie("tiny", seed=0)
    radius = models.dynamics.config.motion_radius
    critic = WallsEverywhere(CriticConfig.around(FOLLOWED, 16, radius))
    image = torch.from_numpy(wall_frame(12, np.random.default_rng(0)))[None]
    back, further = torch.tensor([[1, 0]]), torch.tensor([[-1, 0]])
    moved = {}
    for allow in (False, True):
        settings = DecodeSettings(rounds=1, refuse_below=0.5, remember=True, allow_shown=allow)
        rollout = Rollout(models.tokenizer, models.dynamics, settings, 8, critic)
        rollout.start(image)
        g = torch.Generator().manual_seed(0)
        for _ in range(2):  # the camera goes right 2 px (forced: no critic asked), showing new ground
            rollout.next_frame(torch.tensor([0]), g, motion_B=motion_to_id(further, radius))
        assert rollout._reveals_only_shown(back).item() and not rollout._reveals_only_shown(further).item()
        for wanted in (further, back):  # the dynamics model asks for this move (further first: still new ground)
            rollout.dynamics.motion_logits = lambda *a, w=wanted: torch.nn.functional.one_hot(
                motion_to_id(w, radius), models.dynamics.num_motions).float() * 10
            rollout.next_frame(torch.tensor([0]), g)
            moved[allow, tuple(wanted[0].tolist())] = rollout.last_motion()[0].tolist()
    assert moved[False, (1, 0)] == [0, 0] and moved[True, (1, 0)] == [1, 0]  # back where the camera was
    assert moved[False, (-1, 0)] == [0, 0] == moved[True, (-1, 0)]  # new ground: the critic still decides


def test_a_critic_trained_around_another_player_does_not_fit():
    genie = build_genie("tiny", seed=0)
    genie.dynamics = type(genie.dynamics)(dataclasses.replace(genie.dynamics.config, followed_pixels=FOLLOWED))
    genie.critic = MoveCritic(CriticConfig.around(FOLLOWED, 16, genie.dynamics.config.motion_radius))
    check_parts_agree("ok", genie)
    genie.critic = MoveCritic(CriticConfig.around(FOLLOWED[:2], 16, genie.dynamics.config.motion_radius))
    with pytest.raises(CheckpointError, match="another player"):
        check_parts_agree("other", genie)


def test_a_dynamics_model_that_keeps_no_player_takes_a_critic_around_the_player_measured_on_the_data():
    """Many games at once: the dynamics model keeps no player in its draft, so train critic measures the
    followed player on the video (tests/test_followed.py) and the checkpoint takes the critic around it."""
    genie = build_genie("tiny", seed=0)
    assert genie.dynamics.config.followed_pixels == ()
    genie.critic = MoveCritic(CriticConfig.around(FOLLOWED, 16, genie.dynamics.config.motion_radius))
    check_parts_agree("many games", genie)


def test_followed_pixels_keep_the_largest_blob_only():
    still = torch.zeros(16, 16, dtype=torch.bool)
    still[6:9, 6:9] = True
    still[1, 14] = True  # a stray pixel of scenery that also stayed
    kept = largest_blob(still)
    assert kept.sum() == 9 and not kept[1, 14] and kept[6:9, 6:9].all()
    assert not largest_blob(torch.zeros(4, 4, dtype=torch.bool)).any()


def test_latent_actions_from_video_play_as_given_the_critic_and_prior_stand_aside():
    """evaluate and long_horizon play the LAM's labels of real video: they already carry the game's move,
    walls included, so the critic (and the prior) that interpret keys do not cut them back."""
    from genie_core.tools.evaluate import rollout_scores
    models = build_genie("tiny", seed=0)
    models.critic = RuleCritic(CriticConfig.around(FOLLOWED, 16, models.dynamics.config.motion_radius))
    settings = DecodeSettings(rounds=2, temperature=1.0, order="random", refuse_below=0.5, yield_below=0.5)
    assert settings.for_latent_actions() == dataclasses.replace(settings, refuse_below=0.0, yield_below=0.0)
    frames = torch.from_numpy(np.stack([wall_frame(12, np.random.default_rng(t)) for t in range(9)]))[None]
    actions = torch.tensor([[0, 5, 2, 6, 1, 3, 4, 0]])
    played = [rollout_scores(models, frames, actions, s, torch.Generator().manual_seed(3))
              for s in (settings, dataclasses.replace(settings, refuse_below=0.0))]
    for a, b in zip(*played):
        assert a.equal(b)
    # the same actions as keys (World's engine with the critic on) are cut back to the rule
    rollout = Rollout.of(models, settings, models.dynamics.config.max_frames)
    rollout.start(frames[:, 0])
    g = torch.Generator().manual_seed(3)
    for action in actions[0]:
        rollout.next_frame(action[None], g)
        dx, dy = rollout.last_motion()[0].tolist()
        assert abs(dx) <= 1 and dy >= 0
