"""python -m genie_core.evaluate --checkpoint DIR --data DIR [--json OUT] [--seed S]

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
import json
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from .action_names import (MOTIONS, direction_actions, motion_name, motion_table, name_actions_by_motion,
                           top_shares, write_action_names)
from .checkpoint import CheckpointError, GenieModels, atomic_write_text, load_genie
from .config import on_off
from .data.clips import list_episodes
from .data.sampler import ClipSampler
from .metrics import kmeans, normalized_mutual_information, psnr_per_frame
from .motion import SEARCH_RADIUS, estimate_motion, frame_motions
from .vq import code_usage
from .world import Rollout, pick_device

HORIZON = 10  # generated frames per window, from 1 real context frame
DELTA_T = 4  # Genie reports delta-t PSNR at t = 4
CHANGED_LEVEL = 24  # a pixel counts as changed when a channel moves by more than this (of 255): not tokenizer noise
MOTION_CLASSES = 8  # k-means classes of motion for motion_nmi (as many as latent actions)


@dataclass(frozen=True)
class DecodeSettings:
    steps: int
    temperature: float
    order: str
    reuse_patches: bool = False  # see DynamicsConfig.reuse_unchanged_patches
    copy_bias: float = 0.0  # see DynamicsConfig.decode_copy_bias


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
    camera motion (dx, dy) of each from the frame before, measured on the pixels (B, HORIZON, 2)."""
    rollout = Rollout(models.tokenizer, models.dynamics, context=models.dynamics.config.max_frames,
                      reuse_patches=settings.reuse_patches)
    first = previous = rollout.start(frames_BTHW3[:, 0])
    scores, changed, motions = [], [], []
    for t in range(actions_BA.shape[1]):
        frame = rollout.next_frame(actions_BA[:, t], settings.steps, settings.temperature, settings.order, generator,
                                   settings.copy_bias)
        scores.append(psnr_per_frame(frame, frames_BTHW3[:, t + 1]))
        changed.append(changed_pixels(first, frame))
        motions.append(estimate_motion(previous, frame, SEARCH_RADIUS))
        previous = frame
    return (torch.stack(scores, dim=1).cpu(), torch.stack(changed, dim=1).cpu(),
            torch.stack(motions, dim=1).cpu())


def changed_pixels(before_BHW3: torch.Tensor, after_BHW3: torch.Tensor) -> torch.Tensor:
    """(B,) share of pixels where some channel differs by more than CHANGED_LEVEL."""
    moved = (before_BHW3.int() - after_BHW3.int()).abs().amax(-1) > CHANGED_LEVEL
    return moved.flatten(1).float().mean(1)


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


def confusion(latent: np.ndarray, true: np.ndarray, num_latent: int) -> tuple[np.ndarray, list[int]]:
    """Counts (num_latent, K) of latent action vs true action id, and the K true ids seen."""
    true_ids = sorted(set(true.tolist()))
    table = np.zeros((num_latent, len(true_ids)), dtype=np.int64)
    column = {a: i for i, a in enumerate(true_ids)}
    for l, t in zip(latent.tolist(), true.tolist()):
        table[l, column[t]] += 1
    return table, true_ids


def draw_confusion(table: np.ndarray, true_names: list[str], path: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .checkpoint import atomic_write_bytes

    share = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(true_names), 1 + 0.45 * len(table)))
    ax.imshow(share, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(true_names)), true_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(table)), [f"latent {i} (n={n})" for i, n in enumerate(table.sum(1))], fontsize=8)
    for (i, j), value in np.ndenumerate(share):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="w" if value < 0.5 else "k")
    ax.set_title("P(true action | latent action), held-out transitions", fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


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
    results["action_usage"] = code_usage(latent, num_actions).tolist()
    results["action_motion"] = [motions[latent == a].float().mean(0).tolist() if (latent == a).any() else None
                                for a in range(num_actions)]
    results["motion_nmi"] = normalized_mutual_information(latent.numpy(), kmeans(motions.numpy(), MOTION_CLASSES))
    known = true >= 0
    if known.any():
        results["action_nmi"] = normalized_mutual_information(latent[known].numpy(), true[known].numpy())
    results["transitions"] = int(latent.numel())
    results["settings"] = {"steps": settings.steps, "temperature": settings.temperature, "order": settings.order,
                           "reuse_patches": settings.reuse_patches, "copy_bias": settings.copy_bias, "seed": seed}
    results["seconds"] = round(time.time() - started, 1)
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
    lines.append(f"({r['windows']} windows, {r['transitions']} transitions; MaskGIT {s['steps']} steps, "
                 f"temperature {s['temperature']}, {s['order']} order{bias}{reuse}, seed {s['seed']}; "
                 f"{r['seconds']} s)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m genie_core.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (tokenizer/, lam/, dynamics/)")
    p.add_argument("--data", required=True, help="held-out episodes in the clip format")
    p.add_argument("--json", help="write all metrics to this JSON file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, help="MaskGIT steps (default: the checkpoint's, as the player)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default: the checkpoint's)")
    p.add_argument("--order", choices=["confidence", "random"],
                   help="MaskGIT unmasking order (default: the checkpoint's)")
    p.add_argument("--reuse-patches", type=on_off, metavar="on|off",
                   help="show unchanged patches from the previous frame (default: the checkpoint's)")
    p.add_argument("--copy-bias", type=float, metavar="B",
                   help="decoding bonus on keeping each token of the previous frame (default: the checkpoint's)")
    p.add_argument("--max-windows", type=int, default=256, help="11-frame windows to roll out (default 256)")
    p.add_argument("--random-draws", type=int, default=3,
                   help="draws of random actions that delta-t PSNR averages over (default 3)")
    p.add_argument("--confusion", help="write the latent x true action picture here (PNG)")
    p.add_argument("--name-actions", action="store_true",
                   help="name each latent action by the player's visible step in the transitions it is "
                        "inferred for; writes CHECKPOINT/actions.json")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    try:
        device = pick_device(args.device)
        models = load_genie(args.checkpoint, device)
        paths = list_episodes(args.data)
        if not paths:
            raise ValueError(f"{args.data}: no episode .npz files")
        clips = ClipSampler(paths, window=HORIZON + 1)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    d = models.dynamics.config
    settings = DecodeSettings(d.maskgit_steps if args.steps is None else args.steps,
                              d.temperature if args.temperature is None else args.temperature,
                              d.unmask_order if args.order is None else args.order,
                              d.reuse_unchanged_patches if args.reuse_patches is None else args.reuse_patches,
                              d.decode_copy_bias if args.copy_bias is None else args.copy_bias)
    torch.manual_seed(args.seed)
    latent, true, motions = latent_and_true_actions(models, clips, device)
    results = evaluate(models, clips, settings, args.seed, args.max_windows, device=device,
                       transitions=(latent, true, motions), random_draws=args.random_draws)
    results.update({"checkpoint": args.checkpoint, "data": args.data})
    print(format_table(results))
    known = (true >= 0).numpy()
    true_table = true_names = None
    if known.any() and (args.confusion or args.name_actions):  # only what a flag asked for
        true_table, true_ids = confusion(latent.numpy()[known], true.numpy()[known], models.lam.config.num_actions)
        true_names = [clips_action_name(args.data, a) for a in true_ids]
    if args.confusion:
        if true_table is None:
            print("no true actions in --data: no confusion picture", file=sys.stderr)
        else:
            draw_confusion(true_table, true_names, args.confusion)
            print(f"wrote {args.confusion}")
    if args.name_actions:
        # Named by what each action visibly does (no labels needed); true actions, when the data
        # has them, are kept beside as evidence.
        table = motion_table(latent.numpy(), motions.numpy(), models.lam.config.num_actions)
        still = models.lam.config.still_id
        names, directions = name_actions_by_motion(table, still), direction_actions(table, still)
        evidence = {"player step (from the scene's shift)": top_shares(table, [motion_name(m) for m in MOTIONS])}
        if true_table is not None:
            evidence["true action"] = top_shares(true_table, true_names)
        write_action_names(args.checkpoint, names, "average visible step of the player (the scene's global "
                           "shift between frames, reversed) over held-out transitions given each latent action",
                           evidence, directions)
        print("action names: " + ", ".join(f"{i}={n}" for i, n in enumerate(names))
              + "; direction keys: " + ", ".join(f"{k}={a}" for k, a in directions.items()))
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


def clips_action_name(data: str, action_id: int) -> str:
    """Name of a true action id from the data folder's meta.json, else the id itself."""
    try:
        with open(f"{data}/meta.json") as f:
            return str(json.load(f)["action_names"][action_id])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return str(action_id)


if __name__ == "__main__":
    sys.exit(main())
