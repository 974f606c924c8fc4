"""The player's move where the screen stays still: the sprite tracked on the pixels (blocks/tracking.py)."""
import json

import numpy as np
import torch

from genie_core.blocks.tracking import label_blobs, player_moves, player_steps
from genie_core.tools.player_moves import key_way, main


def still_screen_episode(frames=12, seed=0):
    """A textured still background; a 3x3 player that goes right 2 px a frame, then up 2 px a frame;
    a 2x4 car that keeps to its lane, 1 px a frame to the left. Returns frames and the player's steps."""
    rng = np.random.default_rng(seed)
    background = (rng.integers(95, 106, size=(64, 64, 3))).astype(np.uint8)
    out, steps = [], []
    x, y = 10, 40
    for t in range(frames):
        frame = background.copy()
        frame[20:22, 50 - t:54 - t] = (30, 30, 200)
        frame[y:y + 3, x:x + 3] = (40, 220, 40)
        out.append(frame)
        step = (2, 0) if t < frames // 2 else (0, -2)
        steps.append(step)
        x, y = x + step[0], y + step[1]
    return np.stack(out), [(0, 0)] + steps[:-1]


def test_blobs_are_the_8_connected_parts_of_the_mask():
    mask = torch.zeros(1, 6, 6, dtype=torch.bool)
    mask[0, 0, 0] = mask[0, 1, 1] = True  # diagonal neighbours: one blob
    mask[0, 4, 4] = mask[0, 4, 5] = True
    labels = label_blobs(mask)
    assert labels[0, 0, 0] == labels[0, 1, 1] != 0
    assert labels[0, 4, 4] == labels[0, 4, 5] not in (0, labels[0, 0, 0])
    assert (labels[~mask] == 0).all()


def test_the_player_is_the_sprite_that_crosses_lanes_not_the_car():
    frames, true_steps = still_screen_episode()
    steps = player_steps(torch.from_numpy(frames))
    assert torch.isnan(steps[0]).all()
    assert torch.allclose(steps[1:], torch.tensor(true_steps[1:], dtype=torch.float32))


def test_moves_are_written_as_the_camera_would_be_and_follow_the_camera_where_it_moves():
    frames, true_steps = still_screen_episode()
    moves = player_moves(torch.from_numpy(frames), torch.zeros(len(frames), 2, dtype=torch.long))
    assert moves[0].tolist() == [0.0, 0.0]
    assert torch.allclose(moves[1:], -torch.tensor(true_steps[1:], dtype=torch.float32))  # right: dx < 0
    scrolling = np.stack([np.roll(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8), -t, 1)
                          for t in range(6)])
    camera = torch.tensor([[0, 0]] + [[-1, 0]] * 5)
    assert torch.equal(player_moves(torch.from_numpy(scrolling), camera), camera.float())


def test_the_measurement_reads_procgen_keys_and_scores_a_folder(tmp_path, capsys):
    assert key_way(7) == ("right",) and key_way(2) == ("left", "up") and key_way(4) == ()
    frames, _ = still_screen_episode()
    actions = np.array([7] * 6 + [5] * 5, dtype=np.int64)  # RIGHT while it goes right, then UP
    folder = tmp_path / "toy_heldout"
    folder.mkdir()
    np.savez(folder / "ep0.npz", frames=frames, actions=actions)
    assert main(["--data", str(folder), "--json", str(tmp_path / "moves.json")]) == 0
    out = capsys.readouterr().out
    assert "toy" in out
    scores = json.loads((tmp_path / "moves.json").read_text())["scores"]["toy"]
    assert scores["right"]["its_way"] == 1.0 and scores["up"]["its_way"] == 1.0
    assert scores["right"]["wrong_way"] == 0.0 and scores["left"]["transitions"] == 0
