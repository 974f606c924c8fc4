"""Evaluation metrics on cases with known answers, and the evaluate command end to end."""
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from genie_core.blocks.metrics import (
    normalized_mutual_information,
    psnr,
    psnr_per_frame,
)
from genie_core.checkpoint import GenieModels, build_genie, save_genie
from genie_core.data.clips import write_episode
from genie_core.data.sampler import ClipSampler
from genie_core.decoding import DecodeSettings
from genie_core.models.config import preset
from genie_core.models.dynamics import DynamicsModel
from genie_core.models.lam import LatentActionModel
from genie_core.models.tokenizer import VideoTokenizer
from genie_core.tools.action_names import (
    direction_actions,
    motion_table,
    name_actions_by_motion,
    names_of_direction_classes,
)
from genie_core.tools.confusion import confusion
from genie_core.tools.evaluate import (
    changed_pixels,
    evaluate,
)


def test_psnr_known_values():
    a = torch.zeros(2, 4, 4, 3, dtype=torch.uint8)
    assert psnr(a, a) == 100.0  # identical frames: the cap, not infinity
    b = torch.full_like(a, 255)
    assert psnr(a, b) == pytest.approx(0.0, abs=1e-6)  # MSE 1 on the unit scale
    c = a.clone()
    c[..., 0] = 255  # one channel of three fully wrong: MSE 1/3
    assert psnr_per_frame(a, c)[0].item() == pytest.approx(10 * np.log10(3), abs=1e-4)


def test_nmi_known_values():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert normalized_mutual_information(labels, labels) == pytest.approx(1.0)
    assert normalized_mutual_information(labels, (labels + 1) % 3) == pytest.approx(1.0)  # renaming
    independent_a, independent_b = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    assert normalized_mutual_information(independent_a, independent_b) == pytest.approx(0.0, abs=1e-12)


def test_confusion_counts_latent_against_true_actions():
    latent = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    true = np.array([1, 1, 1, 7, 7, 4, 4, 7])  # procgen ids: 1 LEFT, 7 RIGHT, 4 NOOP
    table, ids = confusion(latent, true, num_latent=3)
    assert ids == [1, 4, 7] and table.tolist() == [[3, 0, 0], [0, 0, 2], [0, 2, 1]]


def test_names_by_motion_dedupe_keeping_the_first_plain():
    latent = np.array([0, 1, 2])
    shifts = np.array([[-2, 0], [-2, 0], [2, 0]])  # scene left twice (player right), then right
    assert name_actions_by_motion(motion_table(latent, shifts, 3)) == ["right", "right 2", "left"]


def test_names_by_motion_follow_the_player_not_the_scene():
    latent = np.array([0, 0, 1, 1, 2, 2])
    shifts = np.array([[-2, 0], [-1, 0], [0, 0], [0, 0], [0, 3], [0, 2]])  # scene left; still; scene down
    assert name_actions_by_motion(motion_table(latent, shifts, 4)) == ["right", "noop", "jump", "unused"]


def test_direction_keys_give_every_arrow_the_action_moving_most_that_way():
    # Every action runs right (as in CoinRun), at different rates: absolute names find no "left".
    latent = np.repeat(np.arange(5), 4)
    dy_dx = np.array([[0, -3]] * 4                            # 0: always right
                     + [[0, -3], [0, -3], [0, 0], [0, 0]]     # 1: half right, half still (least right)
                     + [[0, -3], [-2, 0], [-2, -2], [0, -3]]  # 2: right, falling (scene moves up)
                     + [[0, -3], [2, -2], [2, 0], [2, -3]]    # 3: right and up (jump)
                     + [[0, -3]] * 3 + [[0, 0]])              # 4: mostly right
    table = motion_table(latent, dy_dx[:, ::-1], 6)  # motions are (dx, dy)
    assert "left" not in name_actions_by_motion(table)
    keys = direction_actions(table)
    assert keys == {"right": 0, "left": 1, "jump": 3, "down": 2}
    assert len(set(keys.values())) == 4 and 5 not in keys.values()  # distinct, never the unused action
    # The reserved still action is never an arrow key, and is named so whatever the table says.
    still_keys = direction_actions(table, still=1)
    assert 1 not in still_keys.values() and still_keys["left"] == 4
    assert name_actions_by_motion(table, still=1)[1] == "still"


def test_direction_classes_name_the_keys_by_their_class():
    """A LAM with classes by direction needs no table: each key gets the class of its way, and the
    class a move falls in (lam.direction_classes) is the action its key plays."""
    from genie_core.models.lam import direction_classes

    names, keys = names_of_direction_classes(8, still=7)
    assert names == ["noop", "right", "left", "jump", "down", "right+jump", "right+down", "still"]
    moves = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, -3.0]])  # content shifts of each way
    assert direction_classes(moves).tolist() == [keys["right"], keys["left"], keys["jump"], keys["down"]]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("episodes")
    rng = np.random.default_rng(0)
    for e in range(4):
        frames = rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
        write_episode(str(root / f"ep{e}.npz"), frames, rng.integers(0, 9, 23))
    return root


def test_model_that_ignores_actions_has_zero_delta_t(tiny_data):
    # Without camera motion (with it, the still action alone keeps the unmoved tokens where every
    # other action copies the moved frame's: a difference by design).
    config = preset("tiny")
    torch.manual_seed(0)
    models = GenieModels(VideoTokenizer(config.tokenizer),
                         LatentActionModel(dataclasses.replace(config.lam, motion_radius=0, motion_codes=False)),
                         DynamicsModel(dataclasses.replace(config.dynamics, motion_radius=0)))
    with torch.no_grad():
        models.dynamics.action_embed.weight.zero_()  # actions now change nothing
    for m in (models.tokenizer, models.lam, models.dynamics):
        m.eval()
    clips = ClipSampler(sorted(str(p) for p in tiny_data.glob("*.npz")), window=11)
    result = evaluate(models, clips, DecodeSettings(rounds=2, temperature=0.0, order="confidence"), seed=0)
    assert result["delta_t_psnr"] == pytest.approx(0.0, abs=1e-6)
    assert len(result["dynamics_psnr_by_t"]) == 10 and len(result["copy_psnr_by_t"]) == 10
    assert sum(result["action_usage"]) == pytest.approx(1.0)
    assert 0.0 <= result["action_nmi"] <= 1.0
    again = evaluate(models, clips, DecodeSettings(rounds=2, temperature=0.0, order="confidence"), seed=0)
    assert again["dynamics_psnr"] == result["dynamics_psnr"]


def test_frames_equal_to_the_context_are_reported_apart(tmp_path):
    rng = np.random.default_rng(0)
    for e in range(4):  # two static episodes (copying scores the 100 dB cap), two of noise
        frames = rng.integers(0, 256, (22, 16, 16, 3), dtype=np.uint8)
        if e < 2:
            frames[:] = frames[0]
        write_episode(str(tmp_path / f"ep{e}.npz"), frames, rng.integers(0, 9, 21))
    clips = ClipSampler(sorted(str(p) for p in tmp_path.glob("*.npz")), window=11)
    models = build_genie("tiny", seed=0)
    result = evaluate(models, clips, DecodeSettings(rounds=2, temperature=0.0, order="confidence"), seed=0)
    assert result["share_identical_to_context"] == pytest.approx(0.5)
    assert result["copy_psnr_changed"] < 20
    assert result["copy_psnr"] == pytest.approx((100 + result["copy_psnr_changed"]) / 2, abs=1e-4)
    assert 0.45 < result["changed_pixels_real"] <= 0.5  # noise moves nearly every pixel, stills none
    assert 0.0 <= result["changed_pixels"] <= 1.0


def test_changed_pixels_ignores_small_differences():
    before = torch.zeros(1, 4, 4, 3, dtype=torch.uint8)
    after = before.clone()
    after[0, 0, :, 1] = 200  # one row of four pixels moves in one channel
    after[0, 1, :, 0] = 10  # another row by less than CHANGED_LEVEL: noise, not change
    assert changed_pixels(before, after).tolist() == [0.25]


def test_evaluate_writes_json_and_confusion_and_action_names_writes_names(tmp_path, tiny_data):
    checkpoint = tmp_path / "ckpt"
    save_genie(build_genie("tiny", seed=1), str(checkpoint))
    out = tmp_path / "eval.json"
    picture = tmp_path / "confusion.png"
    cmd = [sys.executable, "-m", "genie_core.tools.evaluate", "--checkpoint", str(checkpoint), "--data", str(tiny_data),
           "--json", str(out), "--confusion", str(picture), "--max-windows", "4",
           "--copy-bias", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    for key in ("tokenizer_psnr", "dynamics_psnr", "dynamics_psnr_by_t", "copy_psnr", "copy_psnr_by_t",
                "delta_t_psnr", "delta_t_psnr_draws", "action_usage", "action_nmi", "action_motion", "motion_nmi",
                "motion_error_px", "motion_within_1px"):
        assert key in result
    assert result["settings"]["copy_bias"] == 2.0
    assert picture.stat().st_size > 1000
    named = subprocess.run([sys.executable, "-m", "genie_core.tools.action_names", "--checkpoint", str(checkpoint),
                            "--data", str(tiny_data)], capture_output=True, text=True, timeout=300)
    assert named.returncode == 0, named.stderr
    labels = json.loads((checkpoint / "actions.json").read_text())
    assert len(labels["names"]) == 8
    assert set(labels["direction_keys"]) <= {"left", "right", "jump", "down"}


def test_evaluate_command_bad_checkpoint_is_one_line(tmp_path, tiny_data):
    done = subprocess.run([sys.executable, "-m", "genie_core.tools.evaluate", "--checkpoint", str(tmp_path / "none"),
                           "--data", str(tiny_data)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no such checkpoint folder" in done.stderr
