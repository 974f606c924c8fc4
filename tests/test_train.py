"""Training: real optimisation steps on the tiny preset, resume after a kill, and the DDP path."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from genie_core.checkpoint import build_genie, load_genie, save_genie
from genie_core.data.clips import write_episode
from genie_core.models.config import preset
from genie_core.train.__main__ import main as train_main
from genie_core.train.objectives import token_cache_dir


@pytest.fixture(scope="module")
def moving_squares(tmp_path_factory):
    """Episodes of a square moving on a plain background: learnable in a few steps."""
    root = tmp_path_factory.mktemp("squares")
    rng = np.random.default_rng(0)
    for e in range(12):
        frames = np.zeros((20, 16, 16, 3), np.uint8)
        frames[:] = rng.integers(0, 120, 3)
        x, y = rng.integers(0, 12, 2)
        actions = rng.integers(0, 4, 19)
        for t in range(20):
            frames[t, y:y + 4, x:x + 4] = (250, 210, 40)
            if t < 19:
                dx, dy = [(-1, 0), (1, 0), (0, -1), (0, 1)][actions[t]]
                x, y = int(np.clip(x + dx, 0, 12)), int(np.clip(y + dy, 0, 12))
        write_episode(str(root / f"ep{e:02d}.npz"), frames, actions)
    return root


def read_rows(out, split=None):
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r.get("split", "train") == (split or "train")]


def common(data, out, steps):
    return ["--data", str(data), "--out", str(out), "--preset", "tiny", "--steps", str(steps),
            "--val-every", str(steps), "--val-fraction", "0.2", "--log-every", "1", "--warmup-steps", "5",
            "--lr", "3e-3", "--device", "cpu"]


def test_both_phases_reduce_their_losses(tmp_path, moving_squares, capsys):
    tok = tmp_path / "tok"
    assert train_main(["tokenizer", *common(moving_squares, tok, 40)]) == 0
    losses = [r["loss"] for r in read_rows(tok)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    assert os.path.isfile(tok / "tokenizer" / "model.safetensors") and os.path.isfile(tok / "curves.png")
    assert "psnr" in read_rows(tok, "val")[-1]

    dyn = tmp_path / "dyn"
    assert train_main(["dynamics", *common(moving_squares, dyn, 40), "--tokenizer", str(tok)]) == 0
    rows = read_rows(dyn)
    assert np.mean([r["dyn_loss"] for r in rows[-5:]]) < np.mean([r["dyn_loss"] for r in rows[:5]])
    assert np.mean([r["lam_mse"] for r in rows[-5:]]) < np.mean([r["lam_mse"] for r in rows[:5]])
    val = read_rows(dyn, "val")[-1]
    assert {"lam_psnr", "dyn_acc", "action_min_share"} <= set(val)
    for part in ("tokenizer", "lam", "dynamics"):  # the run folder is a whole checkpoint
        assert os.path.isfile(dyn / part / "config.json")
    # The tokens are cached under $GENIE_CACHE, never beside the tokenizer (a shipped checkpoint may be one).
    cached = os.listdir(token_cache_dir())
    assert any(name.startswith("tokens-") for name in cached) and not (tok / "token_cache").exists()

    # Resuming that run with another config is refused in one line, before any pretokenizing.
    capsys.readouterr()
    other = ["dynamics", *common(moving_squares, dyn, 41), "--tokenizer", str(tok), "--mask-mode", "paper"]
    assert train_main(other) == 2
    out, err = capsys.readouterr()
    assert "dynamics config differs" in err and "--fresh" in err and "pretokenized" not in out

    shipped = tmp_path / "shipped"
    assert train_main(["export", "--run", str(dyn), "--out", str(shipped), "--temperature", "0.5",
                       "--order", "confidence", "--copy-bias", "1.5"]) == 0
    models = load_genie(str(shipped))
    d = models.decoding
    assert (d.temperature, d.order, d.copy_bias) == (0.5, "confidence", 1.5)
    assert d.rounds == load_genie(str(dyn)).decoding.rounds == preset("tiny").decoding.rounds  # the run's where not given
    assert models.dynamics.config == load_genie(str(dyn)).dynamics.config
    refused = tmp_path / "refused"
    with pytest.raises(SystemExit) as exit_code:
        train_main(["export", "--run", str(dyn), "--out", str(refused), "--copy-bias", "nan"])
    assert exit_code.value.code == 2 and "--copy-bias" in capsys.readouterr().err and not refused.exists()


def test_init_starts_phase_2_from_a_checkpoints_weights(tmp_path, moving_squares, capsys):
    source = tmp_path / "source"
    models = build_genie("tiny", seed=5)
    save_genie(models, str(source))
    out = tmp_path / "fine_tune"
    args = ["dynamics", *common(moving_squares, out, 2), "--tokenizer", str(source), "--init", str(source),
            "--changed-weight", "4"]
    args[args.index("--lr") + 1] = "0"  # no learning: what is saved is what was loaded
    assert train_main(args) == 0
    with open(out / "run.json") as f:
        assert json.load(f)["changed_weight"] == 4.0  # the run says how its token loss was weighed
    tuned = load_genie(str(out))
    for part in ("lam", "dynamics"):
        before, after = getattr(models, part).state_dict(), getattr(tuned, part).state_dict()
        # motion_centroids: a fresh build has none, so phase 2 clusters the data's motions into them
        assert all(torch.equal(before[k], after[k]) for k in before
                   if "usage_ema" not in k and k != "motion_centroids"), part
    assert tuned.lam.motion_centroids.abs().sum() > 0
    capsys.readouterr()
    small = tmp_path / "small"
    save_genie(build_genie("tiny", seed=5), str(small))
    assert train_main(["dynamics", *common(moving_squares, tmp_path / "other", 2), "--tokenizer", str(small),
                       "--init", str(small), "--preset", "cpu"]) == 2
    assert "--init" in capsys.readouterr().err


def test_resume_after_kill(tmp_path, moving_squares):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "genie_core.train", "tokenizer", *common(moving_squares, out, 100000),
           "--save-every-minutes", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    state = out / "state" / "trainer.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not (state.exists() and len(read_rows(out)) >= 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = read_rows(out)[-1]["step"]
    assert done_before >= 3
    assert train_main(["tokenizer", *common(moving_squares, out, done_before + 3)]) == 0
    with open(out / "run.json") as f:
        resumed_at = json.load(f)["resumed_at_step"]
    assert resumed_at >= done_before - 1  # state is saved after every step here
    assert read_rows(out)[-1]["step"] == done_before + 3


def test_ddp_two_processes_with_gloo(tmp_path, moving_squares):
    out = tmp_path / "ddp"
    with socket.socket() as probe:  # a free port, so a port left busy by another run cannot fail the test
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
           "-m", "genie_core.train", "tokenizer", *common(moving_squares, out, 6)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out / "run.json") as f:
        assert json.load(f)["world_size"] == 2
    assert read_rows(out)[-1]["step"] == 6
    assert os.path.isfile(out / "tokenizer" / "model.safetensors")


def test_unchanged_patches_keep_their_token_along_a_still_stretch():
    import torch

    from genie_core.train.objectives import copy_unchanged_patches

    frames = torch.zeros(4, 8, 8, 3, dtype=torch.uint8)  # 2x2 grid of 4-pixel patches
    frames[1, 0, 5] = 9  # frame 1: only patch 1 (top right) changes
    frames[2] = frames[1]  # frame 2: nothing changes
    frames[3] = frames[2]
    frames[3, 7, 0] = 3  # frame 3: only patch 2 (bottom left) changes
    tokens = torch.arange(16).view(4, 4)  # a tokenizer whose every token drifts
    out = copy_unchanged_patches(tokens, frames, patch=4)
    assert out[1].tolist() == [0, 5, 2, 3]
    assert out[2].equal(out[1])
    assert out[3].tolist() == [0, 5, 14, 3]
    assert tokens.equal(torch.arange(16).view(4, 4))  # the input is left alone


def test_a_tokenizer_starts_from_another_runs_weights_and_is_scored_per_game(tmp_path, moving_squares, capsys):
    from genie_core.checkpoint import build_genie, load_component, save_genie
    from genie_core.tools import tokenizer_games
    source = tmp_path / "source"
    save_genie(build_genie("tiny", seed=3), str(source))
    out = tmp_path / "tok"
    args = common(moving_squares, out, 1)
    args[args.index("--lr") + 1] = "0"  # no step moves the weights: what was loaded is what is saved
    assert train_main(["tokenizer", *args, "--init", str(source)]) == 0
    loaded, started = (dict(load_component(str(f / "tokenizer"), "tokenizer").named_parameters()) for f in (out, source))
    assert all(torch.equal(loaded[k], started[k]) for k in started)  # (buffers such as code usage do move)
    games = tmp_path / "games"
    games.mkdir()
    for name in ("alpha_heldout", "beta_heldout"):
        os.symlink(moving_squares, games / name)
    assert tokenizer_games.main(["--tokenizer", str(out), "--data", str(games / "alpha_heldout"),
                                 str(games / "beta_heldout"), "--episodes", "2", "--device", "cpu"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [r.split()[0] for r in rows[-2:]] == ["alpha", "beta"] and float(rows[-1].split()[1]) > 0
    assert tokenizer_games.main(["--tokenizer", str(out), "--data", str(tmp_path / "nowhere")]) == 2


def _grown_tokenizer(tmp_path, moving_squares, name, flags):
    """A tiny tokenizer and the one `train tokenizer --init` grows from it with flags(its config), no learning:
    (old, grown, the grown run's folder); both eval, and the same function if growing works."""
    from genie_core.checkpoint import build_genie, load_component, save_genie
    source = tmp_path / "source"
    save_genie(build_genie("tiny", seed=3), str(source))
    old = load_component(str(source / "tokenizer"), "tokenizer").eval()
    out = tmp_path / name
    args = common(moving_squares, out, 1)
    args[args.index("--lr") + 1] = "0"
    assert train_main(["tokenizer", *args, "--init", str(source), *flags(old.config)]) == 0
    grown = load_component(str(out / "tokenizer"), "tokenizer").eval()
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 2, 16, 16, 3), dtype=np.uint8))
    with torch.no_grad():
        assert torch.allclose(grown(frames).recon, old(frames).recon, atol=1e-5)
    return old, grown, out


def test_a_tokenizers_code_grows_at_init_and_starts_as_the_old_tokenizer(tmp_path, moving_squares):
    old, wide, out = _grown_tokenizer(tmp_path, moving_squares, "wide", lambda c: (
        "--fsq-levels", ",".join(str(v) for v in c.fsq_levels + (5,))))
    assert wide.config.code_dim == old.config.code_dim + 1 and wide.config.num_codes == 5 * old.config.num_codes
    assert wide.to_code.weight[-1].abs().sum() > 0  # the new dimension can learn: its input weights are not zero
    narrow = tmp_path / "narrow"
    assert train_main(["tokenizer", *common(moving_squares, narrow, 1), "--init", str(out)]) == 2  # codes only grow
    with pytest.raises(SystemExit) as refused:
        train_main(["tokenizer", *common(moving_squares, narrow, 1), "--fsq-levels", "1,4"])
    assert refused.value.code == 2


def test_a_tokenizers_decoder_grows_deeper_at_init_and_starts_as_the_old_tokenizer(tmp_path, moving_squares):
    old, deep, out = _grown_tokenizer(tmp_path, moving_squares, "deep", lambda c: (
        "--decoder-depth", str(c.decoder_depth + 2)))
    assert len(deep.decoder.blocks) == old.config.decoder_depth + 2
    assert deep.config.encoder_depth == old.config.encoder_depth
    new_block = deep.decoder.blocks[-1]
    assert new_block.mlp[0].weight.abs().sum() > 0 and new_block.mlp[2].weight.abs().sum() == 0  # learns from zero
    shallow = tmp_path / "shallow"
    assert train_main(["tokenizer", *common(moving_squares, shallow, 1), "--init", str(out)]) == 2  # only grows


def test_a_frozen_encoder_keeps_every_frames_tokens_while_the_decoder_learns(tmp_path, moving_squares):
    from genie_core.checkpoint import build_genie, load_component, save_genie
    source, out = tmp_path / "source", tmp_path / "dec"
    save_genie(build_genie("tiny", seed=3), str(source))
    assert train_main(["tokenizer", *common(moving_squares, out, 3), "--freeze-encoder", "on"]) == 2  # needs --init
    assert train_main(["tokenizer", *common(moving_squares, out, 3), "--init", str(source), "--freeze-encoder", "on"]) == 0
    old, new = (load_component(str(f / "tokenizer"), "tokenizer").eval() for f in (source, out))
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 3, 16, 16, 3), dtype=np.uint8))
    assert torch.equal(new.encode(frames), old.encode(frames))
    assert not torch.equal(new.to_pixels.weight, old.to_pixels.weight)


def test_a_dynamics_model_grows_deeper_at_init_and_starts_as_the_old_one(tmp_path, moving_squares):
    source = tmp_path / "source"
    models = build_genie("tiny", seed=5)
    save_genie(models, str(source))
    depth = models.dynamics.config.depth
    args = ["dynamics", *common(moving_squares, tmp_path / "deep", 1), "--tokenizer", str(source), "--init",
            str(source), "--depth", str(depth + 2)]
    args[args.index("--lr") + 1] = "0"
    assert train_main(args) == 0
    deep = load_genie(str(tmp_path / "deep")).dynamics.eval()
    assert len(deep.transformer.blocks) == depth + 2 and deep.transformer.blocks[-1].mlp[2].weight.abs().sum() == 0
    x = torch.randn(1, 3, deep.config.positions_per_frame, deep.config.dim)
    with torch.no_grad():
        assert torch.allclose(deep.transformer(x), models.dynamics.eval().transformer(x), atol=1e-5)
    assert train_main(["dynamics", *common(moving_squares, tmp_path / "shallow", 1), "--tokenizer", str(source),
                       "--init", str(tmp_path / "deep")]) == 2  # a model only grows


def test_freeze_lam_trains_the_dynamics_model_only(tmp_path, moving_squares, capsys):
    source = tmp_path / "source"
    assert train_main(["dynamics", *common(moving_squares, source, 2), "--tokenizer", str(_tiny(tmp_path))]) == 0
    before = load_genie(str(source))
    out = tmp_path / "frozen"
    assert train_main(["dynamics", *common(moving_squares, out, 3), "--tokenizer", str(source), "--init", str(source),
                       "--freeze-lam", "on"]) == 0
    after = load_genie(str(out))
    lam_before, lam_after = before.lam.state_dict(), after.lam.state_dict()
    assert all(torch.equal(lam_before[k], lam_after[k]) for k in lam_before if "usage_ema" not in k)
    dyn_before, dyn_after = before.dynamics.state_dict(), after.dynamics.state_dict()
    assert any(not torch.equal(dyn_before[k], dyn_after[k]) for k in dyn_before)
    with open(out / "run.json") as f:
        assert json.load(f)["freeze_lam"] is True
    capsys.readouterr()
    assert train_main(["dynamics", *common(moving_squares, tmp_path / "fresh", 2), "--tokenizer", str(source),
                       "--freeze-lam", "on"]) == 2
    assert "--init" in capsys.readouterr().err


def _tiny(tmp_path):
    folder = tmp_path / "tiny"
    save_genie(build_genie("tiny", seed=5), str(folder))
    return folder
