"""The key-motion check: known camera moves give known scores, and the command runs end to end."""
import json
import os
import subprocess
import sys

import numpy as np
import torch

from genie_core.blocks.motion import shift_frames
from genie_core.checkpoint import build_genie, save_genie
from genie_core.data.clips import write_episode
from genie_core.tools.key_motion import agreement, agrees, key_scores, passes, player_scores
from tests.test_motion import smooth_frames


def moving(image: torch.Tensor, steps: list[tuple[int, int]]) -> list[np.ndarray]:
    """The image, then moved cumulatively by each (dx, dy) step (a camera sliding over a still level)."""
    frames, total = [image.numpy()], np.zeros(2, dtype=np.int64)
    for step in steps:
        total += step
        frames.append(shift_frames(image[None], torch.tensor([total.tolist()]))[0].numpy())
    return frames


def test_key_scores_read_right_left_and_jump_moves():
    image = smooth_frames(B=1, size=64)[0]
    runs = {"right": moving(image, [(-1, 0)] * 10),
            "right_left": moving(image, [(-1, 0)] * 10 + [(1, 0)] * 7 + [(0, 0)] * 3),
            "jump": moving(image, [(0, 4)] * 4 + [(0, -2)] * 6),
            "jump_held": moving(image, ([(0, 4)] * 4 + [(0, -2)] * 6 + [(0, -1)] * 5) * 2),  # lands 1 px low
            "right_held": moving(image, [(-1, 0)] * 12 + [(0, 0)] * 28)}  # stopped by a wall
    scores = key_scores(runs)
    camera = {"right": -10.0, "left_back": 7.0, "jump": 16.0}
    # Where the picture scrolls, the player's move is the camera's.
    assert scores == {**camera, "landing": -1.0, "right_held": -12.0,
                      **{f"player_{k}": v for k, v in camera.items()}}
    assert passes(scores) == {"right": True, "left_back": True, "jump": True}
    still = key_scores({name: [image.numpy()] * 41 for name in runs})
    assert set(still.values()) == {0.0} and not any(passes(still).values())


def sprite_moving(steps: list[tuple[int, int]]) -> list[np.ndarray]:
    """A 4x4 red sprite stepping over a still striped background (a screen that does not scroll)."""
    background = np.full((64, 64, 3), 90, np.uint8)
    background[::8] = 120
    frames, position = [], np.array([30, 30])
    for step in [(0, 0)] + steps:
        position += step
        frame = background.copy()
        frame[position[1]:position[1] + 4, position[0]:position[0] + 4] = (250, 40, 40)
        frames.append(frame)
    return frames


def test_player_scores_follow_the_sprite_where_the_screen_stays():
    runs = {"right": sprite_moving([(2, 0)] * 10), "right_left": sprite_moving([(2, 0)] * 10 + [(-2, 0)] * 10),
            "jump": sprite_moving([(0, -2)] * 10)}
    # Written as the camera's move would be: right is dx < 0, up is dy > 0.
    assert player_scores(runs) == {"player_right": -20.0, "player_left_back": 20.0, "player_jump": 20.0}


def test_agreement_is_the_real_games_way_by_half_or_staying_where_it_stays():
    assert agrees(-8.0, -14.0) and not agrees(-6.0, -14.0) and not agrees(10.0, -14.0)
    assert agrees(2.0, 0.0) and not agrees(-10.0, 1.0)
    real = {"right": -14.0, "left_back": 0.0, "jump": 20.0, "player_right": 0.0, "player_left_back": 8.0,
            "player_jump": 20.0}
    model = {"right": -14.0, "left_back": 5.0, "jump": 9.0, "player_right": 0.0, "player_left_back": 4.0,
             "player_jump": 10.0}
    assert agreement([model, real], [real, real]) == {"right": 2, "left_back": 1, "jump": 1, "player_right": 2,
                                                      "player_left_back": 2, "player_jump": 2}


def test_key_motion_command_runs_on_a_tiny_checkpoint(tmp_path):
    checkpoint = tmp_path / "ckpt"
    save_genie(build_genie("tiny", seed=0), str(checkpoint))
    (checkpoint / "actions.json").write_text(json.dumps({"names": [f"a{i}" for i in range(8)],
                                                         "direction_keys": {"right": 1, "left": 2, "jump": 3,
                                                                            "down": 4}}))
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for e in range(2):
        write_episode(str(data / f"ep{e}.npz"), rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8))
    out = tmp_path / "keys.json"
    done = subprocess.run([sys.executable, "-m", "genie_core.tools.key_motion", "--checkpoint", str(checkpoint),
                           "--data", str(data), "--starts", "2", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["model"]["starts"] == 2 and len(result["model_starts"]) == 2
    assert set(result["model"]["passed"]) == {"right", "left_back", "jump"}
    (checkpoint / "actions.json").write_text(json.dumps({"names": [f"a{i}" for i in range(8)]}))  # no words
    done = subprocess.run([sys.executable, "-m", "genie_core.tools.key_motion", "--checkpoint", str(checkpoint),
                           "--data", str(data)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "names no action for" in done.stderr


def test_key_motion_skips_a_corrupt_episode_with_a_note(tmp_path, capsys):
    from genie_core.tools.key_motion import readable_starts

    rng = np.random.default_rng(0)
    for e in range(3):
        write_episode(str(tmp_path / f"ep{e}.npz"), rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8))
    (tmp_path / "ep1.npz").write_bytes(b"not a zip file")
    paths = sorted(str(p) for p in tmp_path.glob("*.npz"))
    headers, starts = readable_starts(paths, 2)
    assert [os.path.basename(h.path) for h in headers] == ["ep0.npz", "ep2.npz"] and len(starts) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped" in err[0] and "ep1.npz" in err[0]
