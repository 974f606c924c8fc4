"""Training on the model's own frames (train dynamics --own-context): the play engine with the real camera,
the first windows' context and drafts replaced by the model's own, targets snapped to its copies, and all of
it in training only."""
import json

import torch

from genie_core.blocks.motion import id_to_motion, motion_to_id
from genie_core.checkpoint import build_genie, save_genie
from genie_core.decoding import DecodeSettings
from genie_core.models.draft import move_draft
from genie_core.train.__main__ import main as train_main
from genie_core.train.own_context import OwnContext
from genie_core.train.targets import snap_to_sources
from genie_core.world.rollout import Rollout

from tests.test_core import frames_uint8
from tests.test_train import common, moving_squares  # noqa: F401  (the fixture)

SETTINGS = DecodeSettings(rounds=1, copy_bias=2.0, reuse_patches=True, remember=False)


def _windows(models, B=4, T=4, seed=0):
    """Random frames, tokens, drafts and camera motions of B windows of T frames, as a batch's parts."""
    g = torch.Generator().manual_seed(seed)
    c, radius = models.dynamics.config, models.dynamics.config.motion_radius
    frames = frames_uint8(B=B, T=T, size=models.tokenizer.config.image_size, seed=seed)
    parts = {"tokens": torch.randint(0, c.num_codes, (B, T, c.tokens_per_frame), generator=g),
             "drafts": torch.randint(0, c.num_codes, (B, T, c.tokens_per_frame), generator=g),
             "motions": torch.randint(-radius, radius + 1, (B, T, 2), generator=g)}
    actions = torch.randint(0, c.num_actions, (B, T - 1), generator=g)
    return frames, parts, actions


def test_a_forced_motion_plays_the_given_camera():
    models = build_genie("tiny", seed=0)
    models.dynamics.eval()
    rollout = Rollout(models.tokenizer, models.dynamics, SETTINGS, context=4)
    shown = rollout.start(frames_uint8(B=2, T=1)[:, 0])
    radius = models.dynamics.config.motion_radius
    for shift in ([[2, 0], [-1, 1]], [[0, -2], [1, 0]]):
        ids = motion_to_id(torch.tensor(shift), radius)
        frame = rollout.next_frame(torch.tensor([1, 2]), torch.Generator().manual_seed(0), motion_B=ids)
        assert torch.equal(rollout.last_motion(), torch.tensor(shift))
        assert torch.equal(rollout.history[-1].moved_BHW3, move_draft(models.dynamics.config, shown, id_to_motion(ids, radius)))
        shown = frame


def test_own_context_replaces_the_first_windows_with_the_models_own_play():
    models = build_genie("tiny", seed=1)
    frames, parts, actions = _windows(models)
    own = OwnContext(models.tokenizer, SETTINGS, share=0.5, tolerance=0.0, seed=3)
    models.dynamics.train()
    out = own.replace(models.dynamics, frames, parts, actions)
    assert models.dynamics.training  # the rollout ran in eval mode and gave training back
    played = OwnContext(models.tokenizer, SETTINGS, 1.0, 0.0, seed=3).rollout(models.dynamics, frames[:2],
                                                                               parts["motions"][:2], actions[:2])
    assert torch.equal(out["context"][:2], played["tokens"]) and torch.equal(out["drafts"][:2], played["drafts"])
    assert torch.equal(out["context"][:2, 0], models.tokenizer.encode(frames[:2, :1])[:, 0])  # a real start
    assert not torch.equal(out["context"][:2], parts["tokens"][:2])
    assert torch.equal(out["tokens"], parts["tokens"])  # tolerance 0: no copy is close enough, the real tokens stay
    for name in ("context", "drafts", "tokens"):  # the other windows keep the real video's
        assert torch.equal(out[name][2:], parts[name if name != "context" else "tokens"][2:])
    assert torch.equal(parts["tokens"], out["tokens"]) and "context" not in parts  # the batch itself is untouched


def test_own_targets_snap_only_to_the_models_own_copies():
    models = build_genie("tiny", seed=2)
    frames, parts, actions = _windows(models, B=2)
    own = OwnContext(models.tokenizer, SETTINGS, share=1.0, tolerance=1.0, seed=0)  # every copy is close enough
    out = own.replace(models.dynamics, frames, parts, actions)
    drafts, context = out["drafts"], out["context"]
    for t in range(1, frames.shape[1]):
        own_draft = (drafts[:, t] == out["tokens"][:, t]) & (drafts[:, t] != models.dynamics.mask_id)
        assert (own_draft | (out["tokens"][:, t] == context[:, t - 1])).all()


def test_snapping_to_given_sources_takes_their_tokens():
    frames = frames_uint8(B=1, T=3, size=8, seed=4)
    tokens = torch.arange(12).view(1, 3, 4)
    drafts = torch.full((1, 3, 4), 50)
    previous = torch.full((1, 3, 4), 70)
    near = frames[:, 1:]  # the draft's pixels are the frames themselves: exact copies
    out = snap_to_sources(tokens, frames, drafts, near, frames[:, :-1] // 2, previous, 0.01, mask_id=99)
    assert torch.equal(out[0, 0], tokens[0, 0]) and (out[0, 1:] == 50).all()
    out = snap_to_sources(tokens, frames, drafts, frames[:, :-1] // 2, near, previous, 0.01, mask_id=99)
    assert (out[0, 1:] == 70).all()  # the given previous tokens, not the snapped frame before


def test_a_fine_tune_on_its_own_frames_runs_in_training_only(tmp_path, moving_squares, monkeypatch, capsys):
    source = tmp_path / "source"
    save_genie(build_genie("tiny", seed=5), str(source))
    calls = []
    original = OwnContext.replace
    monkeypatch.setattr(OwnContext, "replace", lambda self, dyn, *a: calls.append(dyn.training) or original(self, dyn, *a))
    out = tmp_path / "own"
    assert train_main(["dynamics", *common(moving_squares, out, 3), "--tokenizer", str(source), "--init", str(source),
                       "--freeze-lam", "on", "--own-context", "0.5"]) == 0
    assert calls == [True] * 3  # once per training step, never in validation
    with open(out / "run.json") as f:
        assert json.load(f)["own_context"] == 0.5
    names = json.dumps({"names": [f"a{i}" for i in range(8)]})
    (source / "actions.json").write_text(names)
    assert train_main(["export", "--run", str(out), "--out", str(tmp_path / "exported")]) == 0
    assert (tmp_path / "exported" / "actions.json").read_text() == names  # the LAM was kept: its names still fit
    capsys.readouterr()
    assert train_main(["dynamics", *common(moving_squares, tmp_path / "unfrozen", 1), "--tokenizer", str(source),
                       "--init", str(source), "--own-context", "0.5"]) == 2
    assert "--freeze-lam" in capsys.readouterr().err
