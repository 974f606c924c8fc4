"""The world as a Gymnasium environment: one world, N batched worlds, registration, the example."""
import importlib.util
import os

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from genie_core.checkpoint import build_genie
from genie_core.envs import ENV_ID, GenieEnv, GenieVectorEnv
from genie_core.loading import random_world

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTS = [np.full((16, 16, 3), 60, np.uint8), np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)]


def tiny_env(**options) -> GenieEnv:
    return GenieEnv(world=random_world("tiny", seed=0), starts=STARTS, **options)


def test_the_env_passes_gymnasiums_checker():
    env = gymnasium.make(ENV_ID, world=random_world("tiny", seed=0), starts=STARTS, max_episode_steps=8,
                         render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)


def test_reward_truncation_info_and_start_pictures():
    env = tiny_env(max_episode_steps=3, reward_fn=lambda frame, action: float(frame.mean() > -1) + action)
    frame, info = env.reset(seed=1, options={"image": np.zeros((40, 30, 3), np.uint8)})  # fitted to 16x16
    assert frame.shape == (16, 16, 3) and frame.dtype == np.uint8 and (frame == 0).all()
    assert len(info["action_names"]) == env.action_space.n == 8 and info["tick"] == 0
    assert info["played_action"] is None
    results = [env.step(2) for _ in range(3)]
    assert [r[4]["played_action"] for r in results] == [2, 2, 2]  # no action prior in a tiny world
    assert [r[1] for r in results] == [3.0, 3.0, 3.0]
    assert [r[2] for r in results] == [False] * 3 and [r[3] for r in results] == [False, False, True]
    drawn, _ = tiny_env().reset(seed=0)  # no image given: one of the start pictures
    assert any(np.array_equal(drawn, start) for start in STARTS)
    with pytest.raises(ValueError):
        env.step(8)


def test_the_same_seed_and_keys_give_the_same_frames():
    runs = []
    for _ in range(2):
        env = tiny_env()
        frames = [env.reset(seed=3)[0]] + [env.step(a)[0] for a in (0, 1, 5, 6)]
        runs.append(np.stack(frames))
    assert np.array_equal(runs[0], runs[1])


def test_make_and_make_vec_build_the_registered_envs():
    env = gymnasium.make(ENV_ID, world=random_world("tiny", seed=0), starts=STARTS, max_episode_steps=4)
    assert env.reset(seed=0)[0].shape == (16, 16, 3)
    models = build_genie("tiny", seed=0)
    vec = gymnasium.make_vec(ENV_ID, num_envs=4, vectorization_mode="vector_entry_point", models=models,
                             starts=STARTS, max_episode_steps=2)
    assert isinstance(vec.unwrapped, GenieVectorEnv)
    frames, info = vec.reset(seed=0)
    assert frames.shape == (4, 16, 16, 3) and frames.dtype == np.uint8
    truncations = []
    for _ in range(3):
        frames, rewards, terminated, truncated, info = vec.step(vec.action_space.sample())
        assert frames.shape == (4, 16, 16, 3) and rewards.shape == (4,) and not terminated.any()
        truncations.append(bool(truncated.all()))
    assert truncations == [False, True, False]  # the third step is the next-step auto-reset
    assert (info["tick"] == 0).all()
    vec.close()


def test_batched_worlds_follow_their_own_keys():
    models = build_genie("tiny", seed=0)
    vec = GenieVectorEnv(num_envs=2, models=models, starts=STARTS)
    vec.reset(seed=0, options={"images": [STARTS[1], STARTS[1]]})
    assert (vec._info()["played_action"] == -1).all()
    for a in (0, 0, 0):
        frames, _, _, _, info = vec.step(np.array([a, 6]))
    assert not np.array_equal(frames[0], frames[1])
    assert info["played_action"].tolist() == [0, 6]
    with pytest.raises(ValueError):
        vec.reset(options={"reset_mask": np.array([True, False])})


def test_the_random_agent_example_saves_a_gif(tmp_path):
    spec = importlib.util.spec_from_file_location("random_agent", os.path.join(ROOT, "examples", "random_agent.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    env = tiny_env(max_episode_steps=12)
    env.action_space.seed(0)
    frames = example.run(env, 20, str(tmp_path / "agent.gif"))
    assert len(frames) == 13 and os.path.getsize(tmp_path / "agent.gif") > 0


def test_env_speed_measures_one_and_batched_worlds(tmp_path):
    from genie_core.checkpoint import save_genie
    from genie_core.tools.env_speed import main

    save_genie(build_genie("tiny", seed=0), str(tmp_path / "ckpt"))
    out = tmp_path / "speed.json"
    assert main(["--checkpoint", str(tmp_path / "ckpt"), "--worlds", "1,3", "--steps", "2", "--json", str(out),
                 "--device", "cpu"]) == 0
    import json
    rates = json.loads(out.read_text())["steps_per_second"]
    assert set(rates) == {"1", "3"} and all(r > 0 for r in rates.values())
    assert main(["--checkpoint", str(tmp_path / "ckpt"), "--worlds", "0"]) == 2
