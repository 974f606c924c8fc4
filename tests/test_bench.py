"""The play-loop benchmark and the action sheet, on tiny random checkpoints."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genie_core.checkpoint import save_component, save_random_genie
from genie_core.loading import load_world
from genie_core.models.config import preset
from genie_core.tools import action_sheet as sheet
from genie_core.tools.bench import benchmark, synthetic_image
from genie_core.tools.bench import main as bench_main

REPO = Path(__file__).resolve().parents[1]
TINY = preset("tiny")
NAMES = ["noop", "left", "right", "jump", "down", "right+jump", "left+jump", "fire"]
KEYS = {"ticks_per_s", "tick_ms_p50", "tick_ms_p99", "cache_speedup", "uncached_tick_ms",
        "ticks_per_s_context_4", "ticks_per_s_context_16", "peak_memory_mb", "gflops_achieved",
        "matmul_gflops", "mflops_per_tick", "device", "threads", "cpu", "torch", "config"}


def saved_genie(folder: Path, actions: str = "random") -> Path:
    """A tiny random checkpoint. actions="strong": actions that visibly steer; "alike": all the same."""
    models = save_random_genie(str(folder))
    if actions != "random":
        with torch.no_grad():
            # At init (std 0.02) the tied head gives near-uniform logits, so sampling with one seed
            # often draws the same tokens whatever the action; sharper logits and strong actions do not.
            dynamics = models.dynamics
            dynamics.token_embed.weight.mul_(50)
            dynamics.action_embed.weight.normal_(0, 1).mul_(1.0 if actions == "strong" else 0.0)
            if actions == "alike":  # the action must not steer the camera either
                dynamics.motion_action_embed.weight.zero_()
        save_component(models.dynamics, str(folder / "dynamics"))
    (folder / "actions.json").write_text(json.dumps({"names": NAMES}))
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return saved_genie(tmp_path_factory.mktemp("bench") / "ckpt")


@pytest.fixture(scope="module")
def results(checkpoint) -> dict:
    return benchmark(str(checkpoint), ticks=5, uncached_ticks=2)


def test_bench_reports_every_key_with_sane_values(results):
    assert KEYS <= set(results)
    for key in KEYS - {"device", "cpu", "torch", "config"}:
        assert results[key] > 0, key
    assert results["tick_ms_p99"] >= results["tick_ms_p50"]
    assert results["device"] == "cpu" and results["decoding"]["rounds"] == 4 and results["context"] == 16  # tiny preset
    assert results["config"]["image_size"] == TINY.tokenizer.image_size
    assert results["config"]["dynamics_depth"] == TINY.dynamics.depth
    # FLOPs: at least the dynamics' linear layers (16 C^2 multiply-adds per token and layer) over
    # 8 MaskGIT rounds plus the pass that records the frame's keys/values.
    d = TINY.dynamics
    assert results["mflops_per_tick"] * 1e6 >= 9 * d.positions_per_frame * d.depth * 2 * 16 * d.dim ** 2
    achieved = results["mflops_per_tick"] / 1e3 * results["ticks_per_s"]
    # The report rounds to 3 decimals: on a busy machine the tiny model's rate is in that last digit.
    assert results["gflops_achieved"] == pytest.approx(achieved, rel=0.01, abs=5e-4)


def test_bench_cli_writes_parseable_json(checkpoint, tmp_path, capsys):
    out = tmp_path / "out" / "bench.json"
    assert bench_main(["--checkpoint", str(checkpoint), "--ticks", "3", "--uncached-ticks", "1",
                       "--threads", str(torch.get_num_threads()), "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert KEYS <= set(written) and written["ticks"] == 3
    assert "cache_speedup" in capsys.readouterr().out
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".tmp-")]


def test_missing_checkpoint_exits_2_with_one_line(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "genie_core.tools.bench", "--checkpoint", str(tmp_path / "nope")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr + done.stdout


def test_action_sheet_bad_image_exits_2(checkpoint, tmp_path, capsys):
    assert sheet.main(["--checkpoint", str(checkpoint), "--image", str(tmp_path / "none.png"),
                       "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.png").exists()


def test_action_sheet_png_and_gif(tmp_path):
    ckpt = saved_genie(tmp_path / "ckpt", actions="strong")
    start = synthetic_image(TINY.tokenizer.image_size)
    Image.fromarray(start).save(tmp_path / "start.png")
    frames = 3
    assert sheet.main(["--checkpoint", str(ckpt), "--image", str(tmp_path / "start.png"),
                       "--out", str(tmp_path / "sheet"), "--frames", str(frames)]) == 0
    actions = TINY.dynamics.num_actions
    scale = sheet.upscale_factor(TINY.tokenizer.image_size)
    cell = TINY.tokenizer.image_size * scale
    grid = np.asarray(Image.open(tmp_path / "sheet.png").convert("RGB"))
    assert grid.shape[0] == sheet.HEADER + sheet.PAD + actions * (cell + sheet.PAD)
    assert grid.shape[1] == sheet.LABEL_WIDTH + sheet.PAD + (frames + 1) * (cell + sheet.PAD)
    assert Image.open(tmp_path / "sheet.gif").n_frames == frames + 1

    def row(action: int) -> np.ndarray:
        y = sheet.HEADER + sheet.PAD + action * (cell + sheet.PAD)
        return grid[y:y + cell, sheet.LABEL_WIDTH + sheet.PAD:]

    upscaled_start = start.repeat(scale, 0).repeat(scale, 1)
    for action in range(actions):
        assert np.array_equal(row(action)[:, :cell], upscaled_start), "each row opens with the start image"
    generated = [row(action)[:, cell + sheet.PAD:] for action in range(actions)]
    for a, b in itertools.combinations(range(actions), 2):
        assert not np.array_equal(generated[a], generated[b]), f"actions {a} and {b} drew the same row"


def test_rows_differ_only_by_the_action(tmp_path):
    # With every action embedded alike, a fresh reset with the same seed must give identical rows.
    world = load_world(str(saved_genie(tmp_path / "ckpt", actions="alike")), "cpu")
    rows = sheet.action_sheet(world, synthetic_image(world.image_size), frames=2)
    assert len(rows) == world.num_actions and all(len(r) == 3 for r in rows)
    still = world.models.dynamics.config.still_action  # the one action that differs by design
    assert all(np.array_equal(np.stack(r), np.stack(rows[0])) for a, r in enumerate(rows) if a != still)
    assert not np.array_equal(rows[0][1], rows[0][2]), "sampling with temperature 1 moves the frames"
