"""python -m genie_core.tools.evaluate --checkpoint DIR --data DIR [--json OUT] [--seed S]

Numbers a user can trust, always beside the baseline of copying the last real frame:
- tokenizer_psnr: tokenize -> detokenize over every frame of the data.
- dynamics_psnr(_by_t): from 1 real context frame, 10 generated frames driven by the actions the
  LAM infers from the real clip, against the real frames; copy_psnr(_by_t): the context frame
  copied 10 times.
- changed_pixels(_real): share of pixels that differ from the context frame, mean over the 10
  frames, generated and real: a model that scores near copying by barely moving shows it here.
- delta_t_psnr: Genie's controllability metric at t = 4, PSNR with LAM actions minus PSNR with
  uniformly random actions, the mean over --random-draws draws of those (each draw's in
  delta_t_psnr_draws).
- motion_error_px, motion_within_1px: the camera motion of each generated frame against the real
  one, both measured on the pixels by the same shift search (motion.py): the mean distance in px,
  and the share of frames within 1 px on both axes; motion_speed(_real): mean |dx|, |dy| per frame.
- action_usage: share of held-out transitions per latent action; action_motion: the mean camera
  motion (dx, dy) of the transitions given each action; motion_nmi: NMI between latent actions
  and 8 k-means classes of those motions; with true actions in the data, action_nmi and a latent x
  true confusion picture (see --confusion).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np
import torch

from ..blocks.metrics import kmeans, normalized_mutual_information, psnr_per_frame
from ..blocks.motion import SEARCH_RADIUS, estimate_motion, frame_motions
from ..blocks.vq import code_usage
from ..checkpoint import CheckpointError, GenieModels
from ..cli import OneLineParser, seed, whole
from ..data.clips import check_frame_size, list_episodes
from ..data.sampler import ClipSampler
from ..decoding import DecodeSettings, add_decode_flags, resolve_decode_settings
from ..device import add_device_flags
from ..files import check_writable
from ..loading import load_models
from ..world.rollout import Rollout
from . import print_and_save
from .confusion import write_confusion

HORIZON = 10  # generated frames per window, from 1 real context frame
DELTA_T = 4  # Genie reports delta-t PSNR at t = 4
CHANGED_LEVEL = 24  # a pixel counts as changed when a channel moves by more than this (of 255): not tokenizer noise
MOTION_CLASSES = 8  # k-means classes of motion for motion_nmi (as many as latent actions)


@torch.inference_mode()
def tokenizer_psnr(models: GenieModels, clips: ClipSampler, device, chunk: int = 64) -> float:
    """Mean PSNR of tokenize -> detokenize over all frames, episodes encoded causally in chunks."""
    tok = models.tokenizer
    scores = []
    for index in range(len(clips.episodes)):
        frames = torch.from_numpy(np.array(clips._frames(index))).to(device)
        recon = tok.decode(tok.encode_long(frames, chunk)[None])[0]  # the decoder is causal too
        scores.append(psnr_per_frame(recon, frames).cpu())
    return float(torch.cat(scores).mean())


@torch.inference_mode()
def rollout_scores(models: GenieModels, frames_BTHW3: torch.Tensor, actions_BA: torch.Tensor,
                   settings: DecodeSettings, generator: torch.Generator):
    """Frames generated from frame 0 with the given actions: their PSNR (B, HORIZON) against the real
    frames, the share of their pixels changed since the first shown frame (B, HORIZON), and the
    camera motion (dx, dy) of each from the frame before, measured on the pixels (B, HORIZON, 2).
    The actions are latent actions, played as given (DecodeSettings.for_latent_actions): the action
    prior and the move critic interpret keys (World, the environments), not the LAM's labels of real
    video nor the random draws they are compared with."""
    settings = settings.for_latent_actions()
    rollout = Rollout.of(models, settings, models.dynamics.config.max_frames, undoable=False)
    first = previous = rollout.start(frames_BTHW3[:, 0])
    scores, changed, motions = [], [], []
    for t in range(actions_BA.shape[1]):
        frame = rollout.next_frame(actions_BA[:, t], generator)
        scores.append(psnr_per_frame(frame, frames_BTHW3[:, t + 1]))
        changed.append(changed_pixels(first, frame))
        motions.append(estimate_motion(previous, frame, SEARCH_RADIUS))
        previous = frame
    return (torch.stack(scores, dim=1).cpu(), torch.stack(changed, dim=1).cpu(),
            torch.stack(motions, dim=1).cpu())


def changed_mask(before_xHW3: torch.Tensor, after_xHW3: torch.Tensor) -> torch.Tensor:
    """(..., H, W) bool: the pixels where some channel differs by more than CHANGED_LEVEL."""
    return (before_xHW3.int() - after_xHW3.int()).abs().amax(-1) > CHANGED_LEVEL


def changed_pixels(before_BHW3: torch.Tensor, after_BHW3: torch.Tensor) -> torch.Tensor:
    """(B,) share of pixels where some channel differs by more than CHANGED_LEVEL."""
    return changed_mask(before_BHW3, after_BHW3).flatten(1).float().mean(1)


@torch.inference_mode()
def latent_and_true_actions(models: GenieModels, clips: ClipSampler, device, batch: int = 16):
    """LAM actions for every held-out transition (windows of the LAM's training length), with the
    true actions (-1 where unknown) and the camera motions (X, 2) of the same transitions."""
    window = models.dynamics.config.max_frames
    latent, true, motions = [], [], []
    for clip in clips.iter_windows(window=window, stride=window - 1, batch_size=batch):
        frames = torch.from_numpy(clip.frames).to(device)
        latent.append(models.lam.infer_actions(frames).flatten().cpu())
        true.append(torch.from_numpy(clip.actions).flatten())
        motions.append(frame_motions(frames).reshape(-1, 2).cpu())
    return torch.cat(latent), torch.cat(true), torch.cat(motions)


def evaluate(models: GenieModels, clips: ClipSampler, settings: DecodeSettings, seed: int = 0,
             max_windows: int = 256, batch: int = 16, device="cpu", transitions=None, random_draws: int = 3) -> dict:
    """All metrics of the module docstring, as a dict (deterministic for a fixed seed).
    transitions: (latent, true, motions) from latent_and_true_actions, when the caller already has them."""
    started = time.time()
    generator = torch.Generator().manual_seed(seed)
    action_rng = torch.Generator().manual_seed(seed + 1)
    num_actions = models.lam.config.num_actions
    results = {"tokenizer_psnr": tokenizer_psnr(models, clips, device)}
    model_scores, copy_scores, changed, windows = [], [], [], 0
    random_scores = [[] for _ in range(random_draws)]
    model_moved, real_moved, model_motion, real_motion = [], [], [], []
    for clip in clips.iter_windows(window=HORIZON + 1, stride=HORIZON + 1, batch_size=batch):
        if windows >= max_windows:
            break
        frames = torch.from_numpy(clip.frames[: max_windows - windows]).to(device)
        windows += len(frames)
        actions = models.lam.infer_actions(frames)  # (B, HORIZON), from the real clip
        scores, moved, motion = rollout_scores(models, frames, actions, settings, generator)
        model_scores.append(scores)
        model_moved.append(moved)
        model_motion.append(motion)
        real_motion.append(frame_motions(frames).cpu())
        for draw in random_scores:
            random_actions = torch.randint(0, num_actions, actions.shape, generator=action_rng).to(device)
            draw.append(rollout_scores(models, frames, random_actions, settings, generator)[0])
        context = frames[:, :1].expand(-1, HORIZON, -1, -1, -1)
        real_moved.append(changed_pixels(context.flatten(0, 1), frames[:, 1:].flatten(0, 1)).cpu())
        copy_scores.append(psnr_per_frame(context, frames[:, 1:]).cpu())
        changed.append((context != frames[:, 1:]).flatten(2).any(-1).cpu())
    model_scores, copy_scores = torch.cat(model_scores), torch.cat(copy_scores)
    model_t, copy_t = model_scores.mean(0), copy_scores.mean(0)
    random_draw_t = torch.stack([torch.cat(draw).mean(0) for draw in random_scores])  # (draws, HORIZON)
    random_t = random_draw_t.mean(0)
    # Frames identical to the context score 100 dB (the cap) for copying and at best the tokenizer's
    # PSNR for any model, so the same means over only the frames that changed are reported too.
    changed = torch.cat(changed)
    model_changed, copy_changed = (float(s[changed].mean()) for s in (model_scores, copy_scores))
    results.update({
        "dynamics_psnr": float(model_t.mean()), "dynamics_psnr_by_t": model_t.tolist(),
        "copy_psnr": float(copy_t.mean()), "copy_psnr_by_t": copy_t.tolist(),
        "random_action_psnr_by_t": random_t.tolist(),
        "delta_t_psnr": float(model_t[DELTA_T - 1] - random_t[DELTA_T - 1]),
        "delta_t_psnr_draws": (model_t[DELTA_T - 1] - random_draw_t[:, DELTA_T - 1]).tolist(),
        "dynamics_psnr_changed": model_changed, "copy_psnr_changed": copy_changed,
        "share_identical_to_context": float(1 - changed.float().mean()),
        "changed_pixels": float(torch.cat(model_moved).mean()),
        "changed_pixels_real": float(torch.cat(real_moved).mean()),
        "windows": windows,
    })
    results.update(motion_errors(torch.cat(model_motion), torch.cat(real_motion)))
    latent, true, motions = transitions if transitions is not None else latent_and_true_actions(models, clips, device)
    results.update(action_statistics(latent, true, motions, num_actions))
    results["settings"] = {**dataclasses.asdict(settings.for_latent_actions()), "seed": seed,  # as played
                           "precision": str(next(models.dynamics.parameters()).dtype).removeprefix("torch.")}
    results["seconds"] = round(time.time() - started, 1)
    return results


def action_statistics(latent: torch.Tensor, true: torch.Tensor, motions: torch.Tensor, num_actions: int) -> dict:
    """How the latent actions are used and what they mean: usage, mean motion, NMI with motion
    classes and (where known) with the true actions; see the module docstring."""
    known = true >= 0
    results = {
        "action_usage": code_usage(latent, num_actions).tolist(),
        "action_motion": [motions[latent == a].float().mean(0).tolist() if (latent == a).any() else None
                          for a in range(num_actions)],
        "motion_nmi": normalized_mutual_information(latent.numpy(), kmeans(motions.numpy(), MOTION_CLASSES)),
        "transitions": int(latent.numel())}
    if known.any():
        results["action_nmi"] = normalized_mutual_information(latent[known].numpy(), true[known].numpy())
    return results


def motion_errors(generated_X2: torch.Tensor, real_X2: torch.Tensor) -> dict:
    """How far generated camera motion is from the real one, frame by frame (both (..., 2) in px)."""
    difference = (generated_X2 - real_X2).float()
    return {"motion_error_px": float(difference.norm(dim=-1).mean()),
            "motion_within_1px": float((difference.abs().amax(-1) <= 1).float().mean()),
            "motion_speed": generated_X2.float().abs().flatten(0, -2).mean(0).tolist(),
            "motion_speed_real": real_X2.float().abs().flatten(0, -2).mean(0).tolist()}


def format_table(r: dict) -> str:
    lines = [f"{'metric':<22}{'model':>10}{'copy frame':>12}",
             f"{'tokenizer PSNR (dB)':<22}{r['tokenizer_psnr']:>10.2f}{'':>12}",
             f"{'dynamics PSNR (dB)':<22}{r['dynamics_psnr']:>10.2f}{r['copy_psnr']:>12.2f}"]
    for t, (m, c) in enumerate(zip(r["dynamics_psnr_by_t"], r["copy_psnr_by_t"]), 1):
        lines.append(f"{'  t=' + str(t):<22}{m:>10.2f}{c:>12.2f}")
    lines.append(f"{'  changed frames only':<22}{r['dynamics_psnr_changed']:>10.2f}{r['copy_psnr_changed']:>12.2f}"
                 f"   ({r['share_identical_to_context']:.1%} of frames equal the context: 100 dB for copying)")
    draws = ", ".join(f"{d:.2f}" for d in r.get("delta_t_psnr_draws", []))
    lines.append(f"{'delta-t PSNR (t=4)':<22}{r['delta_t_psnr']:>10.2f}   (mean of random-action draws: {draws})")
    if "motion_error_px" in r:
        speed, real = r["motion_speed"], r["motion_speed_real"]
        lines.append(f"camera motion vs real: error {r['motion_error_px']:.2f} px per frame, within 1 px "
                     f"{r['motion_within_1px']:.1%}; mean |dx|, |dy| {speed[0]:.2f}, {speed[1]:.2f} px "
                     f"(real {real[0]:.2f}, {real[1]:.2f})")
    lines.append(f"pixels changed since the context, mean of {HORIZON} frames: model {r['changed_pixels']:.1%}, "
                 f"real video {r['changed_pixels_real']:.1%}")
    lines.append("action usage: " + " ".join(f"{i}:{u:.1%}" for i, u in enumerate(r["action_usage"])))
    if "action_motion" in r:
        lines.append("mean camera motion (dx, dy) per action: " + " ".join(
            f"{i}:({m[0]:+.1f},{m[1]:+.1f})" if m else f"{i}:-" for i, m in enumerate(r["action_motion"]))
            + f"; NMI with {MOTION_CLASSES} motion classes {r['motion_nmi']:.3f}")
    if "action_nmi" in r:
        lines.append(f"action NMI vs true actions: {r['action_nmi']:.3f}")
    s = r["settings"]
    reuse = ", unchanged patches reused" if s.get("reuse_patches") else ""
    bias = f", copy bias {s['copy_bias']:g}" if s.get("copy_bias") else ""
    lines.append(f"({r['windows']} windows, {r['transitions']} transitions; MaskGIT {s['rounds']} rounds, "
                 f"temperature {s['temperature']}, {s['order']} order{bias}{reuse}, {s.get('precision', 'float32')}, "
                 f"seed {s['seed']}; "
                 f"{r['seconds']} s)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m genie_core.tools.evaluate", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (tokenizer/, lam/, dynamics/)")
    p.add_argument("--data", required=True, help="held-out episodes in the clip format")
    p.add_argument("--json", help="write all metrics to this JSON file")
    p.add_argument("--seed", type=seed, default=0)
    add_decode_flags(p)
    p.add_argument("--max-windows", type=whole(1), default=256, help="11-frame windows to roll out (default 256)")
    p.add_argument("--random-draws", type=whole(1), default=3,
                   help="draws of random actions that delta-t PSNR averages over (default 3)")
    p.add_argument("--confusion", help="write the latent x true action picture here (PNG)")
    add_device_flags(p)
    return p


def load_held_out(checkpoint: str, data: str, device: str, window: int,
                  precision: str = "fp32") -> tuple[GenieModels, ClipSampler]:
    """The models and the held-out clips; raises CheckpointError, ValueError or OSError."""
    models = load_models(checkpoint, device, precision)  # as played: see device.pick_precision
    return models, held_out_clips(data, window, models.tokenizer.config.image_size, checkpoint)


def held_out_clips(data: str, window: int, image_size: int, checkpoint: str) -> ClipSampler:
    """Windows of the episodes in data, checked against the checkpoint's frame size; raises ValueError."""
    paths = list_episodes(data)
    if not paths:
        raise ValueError(f"{data}: no episode .npz files")
    clips = ClipSampler(paths, window=window)
    check_frame_size(data, clips.frame_size, image_size, f"the checkpoint {checkpoint}",
                     "use a checkpoint trained on frames of that size")
    return clips


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for path in (args.json, args.confusion):
            if path:
                check_writable(path, make_folders=True)  # before the minutes of evaluation, not after
        models, clips = load_held_out(args.checkpoint, args.data, args.device, HORIZON + 1, args.precision)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    device = next(models.dynamics.parameters()).device
    settings = resolve_decode_settings(args, models.decoding)
    torch.manual_seed(args.seed)
    transitions = latent_and_true_actions(models, clips, device)
    results = evaluate(models, clips, settings, args.seed, args.max_windows, device=device,
                       transitions=transitions, random_draws=args.random_draws)
    results.update({"checkpoint": args.checkpoint, "data": args.data})
    print_and_save(format_table(results), results, args.json)
    if args.confusion:
        write_confusion(transitions[0], transitions[1], models.lam.config.num_actions, args.data, args.confusion)
    return 0


if __name__ == "__main__":
    sys.exit(main())
