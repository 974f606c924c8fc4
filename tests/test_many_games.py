"""Many games in one model (issue 25): a tiny data set of a scrolling game and a still-screen game trains
both phases end to end, with the LAM's codes anchored to the player's move in both."""
import json
import os

import numpy as np
import torch
from safetensors.torch import load_file

from genie_core.checkpoint import load_genie
from genie_core.data.clips import write_episode
from genie_core.tools import player_moves as player_moves_tool
from genie_core.train.__main__ import main as train_main
from genie_core.train.objectives import token_cache_dir

STEPS = {0: (-1, 0), 1: (1, 0), 2: (0, -1), 3: (0, 1)}  # key -> the player's step (x right, y down)


def scrolling_episode(rng, frames=16):
    """The camera follows: the whole textured level slides against the player's step."""
    level = rng.integers(0, 255, (16, 48, 3)).astype(np.uint8)
    keys = rng.integers(0, 2, frames - 1)
    x, out = 16, []
    for t in range(frames):
        out.append(level[:, x:x + 16])
        if t < frames - 1:
            x = int(np.clip(x + STEPS[int(keys[t])][0], 0, 32))
    return np.stack(out), keys


def still_episode(rng, frames=16):
    """The screen stays: a 2x2 sprite walks on a plain, faintly textured floor."""
    floor = (rng.integers(100, 110, (16, 16, 3))).astype(np.uint8)
    keys = rng.integers(0, 4, frames - 1)
    x, y = rng.integers(4, 10, 2)
    out = []
    for t in range(frames):
        frame = floor.copy()
        frame[y:y + 2, x:x + 2] = (240, 60, 60)
        out.append(frame)
        if t < frames - 1:
            dx, dy = STEPS[int(keys[t])]
            x, y = int(np.clip(x + dx, 0, 14)), int(np.clip(y + dy, 0, 14))
    return np.stack(out), keys


def test_two_games_train_both_phases_with_the_player_anchor(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIE_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    data = tmp_path / "multi"
    data.mkdir()
    for e in range(6):
        for game, make in (("scroll", scrolling_episode), ("still", still_episode)):
            frames, keys = make(rng)
            write_episode(str(data / f"{game}_{e}.npz"), frames, keys)
    common = ["--data", str(data), "--preset", "tiny", "--val-every", "3", "--val-fraction", "0.34",
              "--log-every", "1", "--warmup-steps", "1", "--device", "cpu"]
    assert train_main(["tokenizer", *common, "--out", str(tmp_path / "tok"), "--steps", "3"]) == 0
    dyn = tmp_path / "dyn"
    assert train_main(["dynamics", *common, "--out", str(dyn), "--steps", "3", "--tokenizer", str(tmp_path / "tok"),
                       "--lam-anchor", "player"]) == 0
    by_way = tmp_path / "by_way"
    assert train_main(["dynamics", *common, "--out", str(by_way), "--steps", "1", "--tokenizer", str(tmp_path / "tok"),
                       "--lam-anchor", "player", "--lam-classes", "directions", "--lam-measured-codes", "on"]) == 0
    lam = load_genie(str(by_way)).lam
    assert lam.config.classes == "directions" and lam.config.measured_codes
    # Each class's centroid is the mean move of the data in it: right's goes right (content left), left's left.
    assert lam.motion_centroids[1, 0] < -0.5 and lam.motion_centroids[2, 0] > 0.5
    models = load_genie(str(dyn))
    assert models.lam.config.anchor == "player"
    centroids = models.lam.motion_centroids
    assert torch.isfinite(centroids).all() and (centroids[:, 0] > 0.5).any() and (centroids[:, 0] < -0.5).any()
    with open(dyn / "metrics.jsonl") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    assert all(np.isfinite(r["loss"]) for r in rows if "loss" in r)

    # The cache holds each episode's player moves: the still game's are its sprite's steps, negated.
    cached = [load_file(os.path.join(token_cache_dir(), name)) for name in os.listdir(token_cache_dir())]
    moves = [part for c in cached for name, part in c.items() if name.startswith("moves/")]
    assert moves and all(m.shape[-1] == 2 and m.dtype == torch.float32 for m in moves)
    assert any(torch.isfinite(m[1:]).all() and m[1:].abs().sum() > 0 for m in moves)


def test_the_per_game_measurement_of_the_moves_runs_on_each_game(tmp_path, capsys):
    rng = np.random.default_rng(1)
    folders = []
    for game, make in (("scroll", scrolling_episode), ("still", still_episode)):
        folder = tmp_path / f"{game}_heldout"
        folder.mkdir()
        for e in range(2):
            frames, keys = make(rng)
            actions = np.array([[1, 7, 5, 3][int(k)] for k in keys])  # procgen's LEFT, RIGHT, UP, DOWN
            write_episode(str(folder / f"ep{e}.npz"), frames, actions)
        folders.append(str(folder))
    assert player_moves_tool.main(["--data", *folders, "--json", str(tmp_path / "m.json")]) == 0
    scores = json.loads((tmp_path / "m.json").read_text())["scores"]
    assert set(scores) == {"scroll", "still"}
    assert scores["still"]["right"]["wrong_way"] == 0.0 and scores["still"]["right"]["its_way"] > 0.5


def test_classes_by_direction_name_the_players_way_in_content_moves():
    from genie_core.models.lam import direction_classes
    moves = torch.tensor([[0.2, -0.3], [-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [-1.0, 1.0], [-3.0, -4.0],
                          [2.0, 2.0], [2.0, -2.0]])
    assert direction_classes(moves).tolist() == [0, 1, 2, 3, 4, 5, 6, 2, 2]


def test_measured_codes_take_the_measured_class_where_a_move_is_known():
    import dataclasses

    from genie_core.models.config import preset
    from genie_core.models.lam import LatentActionModel, direction_classes

    torch.manual_seed(0)
    config = dataclasses.replace(preset("tiny").lam, anchor="player", classes="directions", still_action=True,
                                 motion_codes=True, num_actions=8)
    frames = torch.randint(0, 256, (2, 5, 16, 16, 3), dtype=torch.uint8)
    moves = torch.tensor([[[0.0, 0.0], [-2.0, 0.0], [2.0, 0.0], [float("nan"), 0.0], [0.0, 3.0]]] * 2)
    guessed = LatentActionModel(config)
    measured = LatentActionModel(dataclasses.replace(config, measured_codes=True))
    measured.load_state_dict(guessed.state_dict())
    by_encoder, by_measure = guessed(frames, None, moves).actions, measured(frames, None, moves).actions
    known = torch.isfinite(moves[:, 1:]).all(-1)
    assert (by_measure[known] == direction_classes(moves[:, 1:][known])).all()
    assert (by_measure[~known] == by_encoder[~known]).all()  # unknown moves keep the encoder's guess
