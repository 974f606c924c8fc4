"""Every command refuses bad input in one line (issue 18): bad flag values, bad episode files,
data of another size than the model, broken checkpoints. For each case: exit code 2, at most 2
lines on stderr, no traceback, no warning, no file created or changed, and the error names what
was wrong. main.py (and one case of two -m commands) run as a user runs them, in a subprocess; the
rest call each command's main(argv) in this process, which is the same code after the import."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genie_core.checkpoint import save_component, save_random_genie
from genie_core.data.__main__ import main as data_main
from genie_core.data.clips import write_episode
from genie_core.models.config import preset
from genie_core.models.tokenizer import VideoTokenizer
from genie_core.tools import (action_names, action_sheet, bench, code_confusion, evaluate, free_play, game_keys,
                              key_agreement, key_grid, key_motion, long_horizon, player_moves, tokenizer_games)
from genie_core.train.__main__ import main as train_main

REPO = Path(__file__).resolve().parents[1]
JUNK = ["x", "nan", "inf", "-inf", "1e999", "", "0x10", "½", "--"]  # never a valid number
BAD_EPISODES = ("empty", "garbage", "truncated", "shape", "dtype", "nokey")


def episode_frames(size: int, rng) -> np.ndarray:
    return rng.integers(0, 255, (12, size, size, 3), dtype=np.uint8)


def make_data(root: Path, rng) -> None:
    for name, size in (("d16", 16), ("d64", 64)):
        for e in range(3):
            write_episode(str(root / name / f"ep{e}.npz"), episode_frames(size, rng), rng.integers(0, 4, 11))
    good = (root / "d16" / "ep0.npz").read_bytes()
    bad = {"empty": b"", "garbage": b"not a zip file", "truncated": good[: len(good) // 2]}
    for kind in BAD_EPISODES:
        (root / f"bad_{kind}").mkdir()
        path = root / f"bad_{kind}" / f"{kind}.npz"
        if kind in bad:
            path.write_bytes(bad[kind])
        else:
            arrays = {"shape": {"frames": np.zeros((12, 16, 16), np.uint8)},
                      "dtype": {"frames": np.zeros((12, 16, 16, 3), np.float32)},
                      "nokey": {"pictures": np.zeros((12, 16, 16, 3), np.uint8)}}[kind]
            np.savez(path, **arrays)
    (root / "empty_folder").mkdir()


def make_checkpoints(root: Path) -> None:
    """ck (tiny, names right/left/jump) and one broken copy per way a checkpoint can be wrong."""
    names = ["right", "left", "jump", "down", "noop", "right 2", "left 2", "still"]
    for name in ("ck", "ck_missing", "ck_truncated", "ck_mismatch", "ck_decode", "ck_decode_json", "ck_junk",
                 "ck_parts"):
        save_random_genie(str(root / name), "tiny")
        (root / name / "actions.json").write_text(json.dumps({"names": names}))
    (root / "ck_missing" / "lam" / "model.safetensors").unlink()
    weights = root / "ck_truncated" / "dynamics" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    edit_json(root / "ck_mismatch" / "tokenizer" / "config.json", dim=48)
    (root / "ck_decode" / "dynamics" / "decode.json").write_text(json.dumps({"steps": 0}))
    (root / "ck_decode_json" / "dynamics" / "decode.json").write_text("{steps: 4")
    edit_json(root / "ck_junk" / "tokenizer" / "config.json", heads=0)
    tokenizer_32 = dataclasses.replace(preset("tiny").tokenizer, image_size=32)  # loads, but not with 16 px parts
    save_component(VideoTokenizer(tokenizer_32), str(root / "ck_parts" / "tokenizer"))


def edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(18)
    make_data(root, rng)
    make_checkpoints(root)
    Image.fromarray(episode_frames(16, rng)[0]).save(root / "start.png")
    (root / "notes.txt").write_text("not an image\n")
    (root / "a_file").write_text("in the way\n")
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


# Broken checkpoints (made by make_checkpoints) and what the refusal must mention.
BROKEN = {"ck_missing": "model.safetensors", "ck_truncated": "truncated", "ck_mismatch": "config.json implies",
          "ck_junk": "tokenizer/config.json", "ck_decode": "decode.json", "ck_decode_json": "decode.json",
          "ck_parts": "do not fit", "nowhere": "nowhere"}


def flag_cases(base: list[str], flags: dict[str, list[str]], rng: random.Random) -> list[tuple[list[str], str]]:
    """Each flag with its out-of-range values and two junk values drawn by the seeded rng."""
    return [([*base, flag, value], flag) for flag, bad in flags.items() for value in [*bad, *rng.sample(JUNK, 2)]]


def file_cases(ws: Path, base: list[str], option: str, kinds=BAD_EPISODES) -> list[tuple[list[str], str]]:
    cases = [([*base, option, str(ws / f"bad_{kind}")], f"{kind}.npz") for kind in kinds]
    return cases + [([*base, option, str(ws / "empty_folder")], "empty_folder"),
                    ([*base, option, str(ws / "nowhere")], "nowhere")]


def checkpoint_cases(ws: Path, base: list[str], option: str = "--checkpoint",
                     broken: dict[str, str] = BROKEN) -> list[tuple[list[str], str]]:
    return [([*base, option, str(ws / name)], expect) for name, expect in broken.items()]


def in_process_cases(ws: Path, rng: random.Random) -> list[tuple[str, object, list[str], str]]:
    s, ck, d16, out = str, str(ws / "ck"), str(ws / "d16"), str(ws / "out")
    decode = {"--steps": ["0", "1.5"], "--temperature": ["-1"], "--copy-bias": [], "--order": ["best"],
              "--reuse-patches": ["yes"], "--revealed-steps": ["-1", "0.5"], "--revealed-temperature": ["-1"],
              "--refuse-below": ["-0.1", "1.5"], "--remember": ["yes"], "--refuse-sideways": ["2"], "--yield-below": ["-0.1", "1.5"]}
    cases: dict[str, tuple[object, list[tuple[list[str], str]]]] = {}
    # --steps 1: a case wrongly accepted ends in seconds (and fails the test by writing its run folder)
    tok = ["tokenizer", "--out", f"{out}/tok", "--preset", "tiny", "--device", "cpu", "--steps", "1"]
    train_flags = {"--steps": ["0"], "--minutes": ["0", "-5"], "--batch-size": ["0"], "--lr": ["-1", "2"],
                   "--warmup-steps": ["-1"], "--val-every": ["0"], "--log-every": ["0"],
                   "--save-every-minutes": ["-1"], "--val-fraction": ["-0.1", "1"], "--max-episodes": ["0"],
                   "--seed": ["-1"], "--preset": ["huge"], "--device": ["tpu"], "--cpu-bf16": ["yes"]}
    cases["train tokenizer"] = (train_main, [
        ([*tok, "--data", s(ws / "d64")], "64x64"), ([*tok, "--data", d16, "--out", s(ws / "a_file")], "a_file"),
        *file_cases(ws, tok, "--data"), *flag_cases([*tok, "--data", s(ws / "nowhere")], train_flags, rng),
        *flag_cases([*tok, "--data", s(ws / "nowhere")], {"--fsq-levels": ["1,4", "65,2", "64,64,64", ""]}, rng)])
    dyn = ["dynamics", "--out", f"{out}/dyn", "--preset", "tiny", "--device", "cpu", "--steps", "1", "--data", d16]
    tokenizer_only = {name: BROKEN[name] for name in ("ck_mismatch", "ck_junk", "nowhere")} | {"ck_parts": "32x32"}
    lam_and_dynamics = {"ck_missing": "model.safetensors", "ck_truncated": "truncated", "nowhere": "nowhere"}
    cases["train dynamics"] = (train_main, [
        ([*dyn[:-1], s(ws / "d64"), "--tokenizer", ck], "64x64"),
        *checkpoint_cases(ws, dyn, "--tokenizer", tokenizer_only),
        *checkpoint_cases(ws, [*dyn, "--tokenizer", ck], "--init", lam_and_dynamics),
        *file_cases(ws, [*dyn[:-2], "--tokenizer", ck], "--data", ("garbage", "dtype")),
        *flag_cases([*dyn[:-1], s(ws / "nowhere"), "--tokenizer", ck], {
            "--mask-mode": ["all"], "--mask-revealed": ["yes"], "--copy-gates": ["1"], "--context-noise": ["-0.1", "2"],
            "--snap-tolerance": ["-1", "1.5"], "--own-context": ["-0.5", "1.5"]}, rng)])
    crit = ["critic", "--out", f"{out}/critic", "--device", "cpu", "--steps", "1", "--data", d16]
    cases["train critic"] = (train_main, [([*crit, "--dynamics", ck], "16 frames"),
                                          *checkpoint_cases(ws, crit, "--dynamics", {"ck_truncated": "truncated", "nowhere": "nowhere"})])
    pri = ["prior", "--out", f"{out}/prior", "--device", "cpu", "--steps", "1", "--data", d16]
    cases["train prior"] = (train_main, [([*pri, "--dynamics", ck], "16 frames"),
                                         *checkpoint_cases(ws, pri, "--dynamics", {"ck_truncated": "truncated", "nowhere": "nowhere"})])
    export = ["export", "--out", f"{out}/exported"]
    export_decode = {"--maskgit-steps" if flag == "--steps" else flag: bad for flag, bad in decode.items()}
    cases["train export"] = (train_main, [*checkpoint_cases(ws, export, "--run"),
                                          *flag_cases([*export, "--run", s(ws / "nowhere")], export_decode, rng)])
    ev = ["--checkpoint", ck, "--data", d16]
    cases["evaluate"] = (evaluate.main, [
        ([*ev[:3], s(ws / "d64")], "64x64"), ([*ev, "--json", s(ws / "d16")], "is a folder"),
        ([*ev, "--confusion", f"{ws / 'a_file'}/c.png"], "a_file"), *file_cases(ws, ev[:2], "--data"),
        *checkpoint_cases(ws, ev[2:]), *flag_cases([*ev[:3], s(ws / "nowhere")], {
            "--seed": ["-1"], "--max-windows": ["0"], "--random-draws": ["0"], "--device": ["gpu"], **decode}, rng)])
    cases["action_names"] = (action_names.main, [
        ([*ev[:3], s(ws / "d64")], "64x64"), *file_cases(ws, ev[:2], "--data", ("truncated", "shape")),
        *checkpoint_cases(ws, ev[2:]), *flag_cases([*ev[:3], s(ws / "nowhere")], {"--device": ["gpu"]}, rng)])
    cases["key_motion"] = (key_motion.main, [
        ([*ev[:3], s(ws / "d64")], "64x64"), ([*ev, "--json", d16], "is a folder"),
        *file_cases(ws, ev[:2], "--data", ("garbage", "nokey")), *checkpoint_cases(ws, ev[2:]),
        *flag_cases([*ev[:3], s(ws / "nowhere")], {"--starts": ["0", "-3"], "--device": ["gpu"], **decode}, rng)])
    cases["code_confusion"] = (code_confusion.main, [
        ([*ev[:3], s(ws / "d64"), "--out", s(ws / "cc")], "64x64"), ([*ev, "--out", f"{ws / 'a_file'}/c"], "a_file"),
        *file_cases(ws, [*ev[:2], "--out", s(ws / "cc")], "--data"),
        *checkpoint_cases(ws, [*ev[2:], "--out", s(ws / "cc")]),
        *flag_cases([*ev, "--out", s(ws / "cc")], {"--device": ["gpu"]}, rng)])
    cases["key_agreement"] = (key_agreement.main, [
        ([*ev[:3], s(ws / "d64")], "64x64"), ([*ev, "--json", d16], "is a folder"), ([*ev], "no level seed"),
        *file_cases(ws, ev[:2], "--data", ("garbage", "nokey")), *checkpoint_cases(ws, ev[2:]),
        *flag_cases([*ev[:3], s(ws / "nowhere")], {"--starts": ["0", "-3"], "--device": ["gpu"], **decode}, rng)])
    cases["free_play"] = (free_play.main, [
        ([*ev[:3], s(ws / "d64")], "64x64"), ([*ev, "--json", d16], "is a folder"),
        ([*ev, "--picture", f"{ws / 'a_file'}/p.png"], "a_file"), *checkpoint_cases(ws, ev[2:]),
        *flag_cases([*ev[:3], s(ws / "nowhere")], {"--starts": ["0"], "--picture-starts": ["0"],
                                                   "--device": ["gpu"], **decode}, rng)])
    cases["long_horizon"] = (long_horizon.main, [
        ([*ev[:3], s(ws / "d64"), "--frames", "5"], "64x64"), ([*ev, "--json", d16], "is a folder"),
        *file_cases(ws, ev[:2], "--data", ("garbage", "truncated")), *checkpoint_cases(ws, ev[2:]),
        *flag_cases([*ev[:3], s(ws / "nowhere")], {"--frames": ["0"], "--max-windows": ["0"], "--seed": ["-1"],
                                                   "--device": ["gpu"], **decode}, rng)])
    cases["game_keys"] = (game_keys.main, [
        ([*ev[:3], s(ws / "d64")], "64x64"), ([*ev, "--json", d16], "is a folder"),
        *file_cases(ws, ev[:2], "--data", ("garbage", "truncated")), *checkpoint_cases(ws, ev[2:]),
        *flag_cases([*ev[:3], s(ws / "nowhere")], {"--frames": ["0"], "--max-windows": ["0"], "--seed": ["-1"],
                                                   "--device": ["gpu"], **decode}, rng)])
    grid = ["--checkpoint", ck, "--images", s(ws / "start.png"), "--out", f"{out}/grid"]
    cases["key_grid"] = (key_grid.main, [
        (["--checkpoint", ck, "--images", s(ws / "notes.txt"), *grid[4:]], "notes.txt"),
        ([*grid[:4], "--out", f"{ws / 'a_file'}/grid"], "a_file"), *checkpoint_cases(ws, grid[2:]),
        *flag_cases(["--checkpoint", s(ws / "nowhere"), *grid[2:]], {"--scale": ["0", "9"], "--device": ["gpu"],
                                                                     **decode}, rng)])
    tg = ["--tokenizer", ck, "--data"]
    cases["tokenizer_games"] = (tokenizer_games.main, [
        ([*tg, s(ws / "d64")], "64x64"), ([*tg, d16, "--json", d16], "is a folder"), *file_cases(ws, tg[:2], "--data"),
        *checkpoint_cases(ws, ["--data", d16], "--tokenizer", {"nowhere": "nowhere"}),
        *flag_cases([*tg, d16], {"--episodes": ["0"], "--device": ["gpu"]}, rng)])
    cases["player_moves"] = (player_moves.main, [
        (["--data", d16, "--json", d16], "is a folder"), *file_cases(ws, [], "--data"),
        *flag_cases(["--data", d16], {"--episodes": ["0", "x"]}, rng)])
    cases["bench"] = (bench.main, [
        (["--checkpoint", ck, "--image", s(ws / "notes.txt")], "notes.txt"),
        (["--checkpoint", ck, "--json", d16], "is a folder"), *checkpoint_cases(ws, ["--ticks", "2"]),
        *flag_cases(["--checkpoint", s(ws / "nowhere")], {"--ticks": ["0"], "--context": ["0", "1025"],
                    "--uncached-ticks": ["0"], "--threads": ["0", "100000"], "--device": ["gpu"],
                    "--precision": ["fp8"], "--soak": ["0", "-5"], **decode}, rng)])
    sheet = ["--image", s(ws / "start.png"), "--out", f"{out}/sheet"]
    cases["action_sheet"] = (action_sheet.main, [
        (["--checkpoint", ck, *sheet[:2], "--out", f"{ws / 'a_file'}/sheet"], "a_file"),
        (["--checkpoint", ck, "--image", s(ws / "notes.txt"), *sheet[2:]], "notes.txt"),
        *checkpoint_cases(ws, sheet), *flag_cases(["--checkpoint", s(ws / "nowhere"), *sheet], {
            "--frames": ["0", "257"], "--seed": ["-1"], "--scale": ["0", "33"], "--device": ["gpu"], **decode}, rng)])
    imp = ["import", s(ws / "start.png"), "--out", f"{out}/imported"]
    cases["data"] = (data_main, [
        *[(["check", s(ws / f"bad_{kind}")], f"{kind}.npz") for kind in BAD_EPISODES],
        (["check", s(ws / "empty_folder")], "empty_folder"), (["check", s(ws / "nowhere")], "nowhere"),
        (["import", s(ws / "nowhere.mp4"), "--out", f"{out}/imported"], "nowhere.mp4"),
        (["import", s(ws / "empty_folder"), "--out", f"{out}/imported"], "empty_folder"),
        *flag_cases(["check", d16], {"--window": ["0"]}, rng),
        *flag_cases(["coinrun", "--out", f"{out}/coinrun", "--levels", "0:1", "--steps-per-episode", "2"], {
            "--levels": ["9:3", "5", "-1:4"], "--episodes": ["0"], "--steps-per-episode": ["0"],
            "--min-frames": ["0"], "--envs": ["0"], "--seed": ["-1"], "--agent": ["smart"]}, rng),
        *flag_cases(imp, {"--size": ["0"], "--fps": ["0", "-1"], "--folder-fps": ["0"], "--episode-len": ["0"],
                          "--min-len": ["0"], "--static-seconds": ["0"], "--fit": ["zoom"]}, rng)])
    return [(f"{name}: {' '.join(argv)}", main, argv, expect)
            for name, (main, runs) in cases.items() for argv, expect in runs]


def main_py_cases(ws: Path, rng: random.Random) -> list[tuple[list[str], str]]:
    base = ["--image", str(ws / "start.png"), "--headless", "--actions", "0"]
    ck = ["--checkpoint", str(ws / "ck")]
    flags = {"--context": ["0", "1025"], "--scale": ["0", "33"], "--record-scale": ["0"], "--fps": ["-1"],
             "--seed": ["-1", "4294967296"], "--threads": ["0"], "--idle-action": ["-1"], "--steps": ["0"],
             "--temperature": ["-1"], "--copy-bias": [], "--reuse-patches": ["maybe"], "--order": ["best"],
             "--revealed-steps": ["-2"], "--revealed-temperature": ["nan"],
             "--fit": ["zoom"], "--device": ["tpu"], "--mode": ["x"], "--precision": ["half"], "--measure": ["0", "-2"]}
    return [*flag_cases([*base, *ck], flags, rng), *checkpoint_cases(ws, base),
            ([*ck, "--image", str(ws / "notes.txt"), *base[2:]], "notes.txt"),
            ([*ck, *base, "--record", str(ws / "nowhere" / "a.gif")], "nowhere"),
            ([*ck, *base[:3], "--actions", "0,99"], "99"), ([*ck, *base, "--idle-action", "99"], "99"),
            ([*ck, *base, "--measure", "5"], "--measure")]


def check(label: str, code, err: str, expect: str, before: dict, after: dict) -> list[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    changed = sorted({path for path in {*before, *after} if before.get(path) != after.get(path)})
    problems = [f"exit code {code}" if code != 2 else "", f"{len(lines)} lines on stderr" if len(lines) > 2 else "",
                "a traceback" if "Traceback" in err else "", f"no mention of {expect!r}" if expect not in err else "",
                f"files changed: {', '.join(changed[:3])}" if changed else ""]
    problems = [p for p in problems if p]
    return [f"{label}: {'; '.join(problems)}\n    stderr: {err.strip()[-400:]}"] if problems else []


def run_in_process(main, argv: list[str], capsys) -> tuple[object, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
        except Exception as error:  # what would reach the user as a traceback
            code = f"uncaught {type(error).__name__}: Traceback: {error}"
    err = capsys.readouterr().err
    return code, err + "".join(f"\n{w.filename}:{w.lineno}: warning: {w.message}" for w in caught)


def test_every_command_refuses_bad_input_in_one_line(ws, capsys):
    rng = random.Random(18)
    failures = []
    for label, main, argv, expect in in_process_cases(ws, rng):
        before = snapshot(ws)
        code, err = run_in_process(main, argv, capsys)
        failures += check(label, code, err, expect, before, snapshot(ws))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [([sys.executable, str(REPO / "main.py"), *argv], expect) for argv, expect in main_py_cases(ws, rng)]
    runs += [([sys.executable, "-m", "genie_core.train", "tokenizer", "--data", str(ws / "d64"), "--preset", "tiny",
               "--out", str(ws / "out" / "t"), "--device", "cpu"], "64x64"),  # the 40-line traceback of the issue
             ([sys.executable, "-m", "genie_core.tools.evaluate", "--checkpoint", str(ws / "ck"), "--data",
               str(ws / "bad_truncated")], "truncated.npz")]  # was a UserWarning with a source line
    before = snapshot(ws)
    with ThreadPoolExecutor(2) as pool:  # two at a time: most of them load torch
        done = list(pool.map(lambda cmd: subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                                                        cwd=ws), [cmd for cmd, _ in runs]))
    failures += check("the subprocesses together", 2, "", "", before, snapshot(ws))  # they ran side by side
    for (cmd, expect), result in zip(runs, done):
        failures += check(" ".join(cmd[1:]), result.returncode, result.stderr, expect, before, before)
    assert not failures, f"{len(failures)} cases not refused in one line:\n" + "\n".join(failures)
