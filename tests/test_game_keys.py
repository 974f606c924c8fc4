"""The per-game key check (tools.game_keys): procgen's actions played as the checkpoint's named
actions, scored on whole frames and on the pixels the real game changed."""
import json

import numpy as np
import pytest
import torch

from genie_core.checkpoint import build_genie, save_genie
from genie_core.data.clips import write_episode
from genie_core.data.coinrun import ACTION_NAMES
from genie_core.data.procgen_keys import procgen_to_latent, words_for
from genie_core.tools.game_keys import main, psnr_on

COINRUN_NAMES = ["right", "right+jump", "right+down", "noop", "down", "jump", "left", "still"]


def test_each_procgen_action_plays_the_nearest_named_action():
    assert words_for("RIGHT+UP") == ["right+jump", "right", "jump", "noop", "still"]
    assert words_for("Q") == ["noop", "still"]
    latent = procgen_to_latent({name: i for i, name in enumerate(COINRUN_NAMES)})
    played = {name: COINRUN_NAMES[int(latent[i])] for i, name in enumerate(ACTION_NAMES)}
    assert played["RIGHT+UP"] == "right+jump" and played["LEFT+UP"] == "left" and played["UP"] == "jump"
    assert played["LEFT+DOWN"] == "left" and played["NOOP"] == "noop" and played["E"] == "noop"
    with pytest.raises(ValueError, match="no action that plays"):
        procgen_to_latent({"left": 0, "right": 1})


def test_changed_pixel_psnr_counts_only_the_masked_pixels():
    real = torch.zeros(1, 2, 4, 4, 3, dtype=torch.uint8)
    made = real.clone()
    made[0, 0, :2] = 255  # wrong only outside the mask in frame 0
    made[0, 1, 3, 3] = 51  # 0.2 off on one masked pixel in frame 1
    mask = torch.zeros(1, 2, 4, 4, dtype=torch.bool)
    mask[0, 0, 3] = True
    mask[0, 1, 3, 3] = True
    scores = psnr_on(mask, made, real)
    assert scores[0, 0] == 100.0 and scores[0, 1] == pytest.approx(10 * np.log10(1 / 0.04), abs=1e-3)
    assert torch.isnan(psnr_on(torch.zeros_like(mask), made, real)).all()


def test_game_keys_runs_per_folder_on_a_tiny_checkpoint(tmp_path):
    checkpoint = tmp_path / "ckpt"
    save_genie(build_genie("tiny", seed=0), str(checkpoint))
    rng = np.random.default_rng(0)
    folders = []
    for game in ("alpha", "beta"):
        folder = tmp_path / game
        folder.mkdir()
        for e in range(2):
            write_episode(str(folder / f"ep{e}.npz"), rng.integers(0, 256, (23, 16, 16, 3), dtype=np.uint8),
                          rng.integers(0, 15, 22))
        folders.append(str(folder))
    out = tmp_path / "keys.json"
    args = ["--checkpoint", str(checkpoint), "--data", *folders, "--frames", "5", "--json", str(out)]
    assert main(args) == 2  # a checkpoint whose actions have no names cannot play named keys
    (checkpoint / "actions.json").write_text(json.dumps({"names": COINRUN_NAMES}))
    assert main(args) == 0
    games = json.loads(out.read_text())["games"]
    assert list(games) == ["alpha", "beta"]  # files without a game: the folder's name
    for scores in games.values():
        assert scores["windows"] == 6  # three 6-frame windows in each 23-frame episode
        assert scores["copy_psnr_changed"] < scores["copy_psnr"]  # noise: copying is worst where it changed
        assert 0 < scores["labels_psnr"] < 100 and 0 < scores["labels_psnr_changed"] < 100  # the LAM's labels played


def test_key_grid_plays_the_same_keys_on_every_picture(tmp_path):
    from PIL import Image

    from genie_core.tools.key_grid import main as key_grid

    checkpoint = tmp_path / "ckpt"
    save_genie(build_genie("tiny", seed=0), str(checkpoint))
    (checkpoint / "actions.json").write_text(json.dumps({"names": COINRUN_NAMES}))
    rng = np.random.default_rng(0)
    pictures = []
    for name in ("level", "sketch"):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
        pictures.append(str(tmp_path / f"{name}.png"))
    out = tmp_path / "grid" / "keys"
    assert key_grid(["--checkpoint", str(checkpoint), "--images", *pictures, "--out", str(out),
                     "--actions", "right*3,jump*2"]) == 0
    grid = Image.open(f"{out}.gif")
    assert grid.n_frames == 6 and grid.size == (2 * 16 * 2, 16 * 2 + 12)  # start + 5 ticks, two worlds side by side
    rows = json.loads((tmp_path / "grid" / "keys.json").read_text())["pictures"]
    assert list(rows) == ["level.png", "sketch.png"] and set(rows["level.png"]) == {"right", "left", "jump"}
    assert key_grid(["--checkpoint", str(checkpoint), "--images", str(tmp_path / "nowhere.png"), "--out", str(out)]) == 2
    assert key_grid(["--checkpoint", str(checkpoint), "--images", *pictures, "--out", str(out), "--actions", "fly"]) == 2
