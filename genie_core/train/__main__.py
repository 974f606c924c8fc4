"""python -m genie_core.train {tokenizer,dynamics,critic,prior,export} ...

Phase 1:  python -m genie_core.train tokenizer --data data/coinrun --preset cpu --out runs/tok --minutes 30
Phase 2:  python -m genie_core.train dynamics --data data/coinrun --tokenizer runs/tok --out runs/dyn --minutes 60
Walls:    python -m genie_core.train critic --data data/coinrun --dynamics runs/dyn --out runs/critic --minutes 5
Physics:  python -m genie_core.train prior --data data/coinrun --dynamics runs/dyn --out runs/prior --minutes 5
Ship:     python -m genie_core.train export --run runs/dyn --critic runs/critic --prior runs/prior --out checkpoints/coinrun

Every command resumes from its --out folder after an interruption (use --fresh to start over).
Multi-GPU or multi-process: the same command under `torchrun --nproc_per_node=N -m genie_core.train ...`.
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
import time

import torch

from ..checkpoint import (CheckpointError, GenieModels, check_parts_agree, load_component, load_config, load_decode_settings,
                          read_json, save_component)
from ..data.clips import check_frame_size, list_episodes, split_episodes
from ..data.procgen_keys import checkpoint_keys
from ..data.sampler import ClipSampler
from ..decoding import resolve_decode_settings, write_settings
from ..device import pick_device
from ..files import atomic_copy, atomic_write_text, to_json
from ..models.config import TokenizerConfig, preset
from ..models.critic import CriticConfig, MoveCritic
from ..models.dynamics import DynamicsModel
from ..models.lam import LatentActionModel
from ..models.prior import ActionPrior, PriorConfig, sideways_of
from ..models.tokenizer import VideoTokenizer
from .critic_objective import CriticObjective
from .prior_objective import PriorObjective
from .loop import LoopOptions, check_resumable, train
from .flags import PRESET_SIZES, parse_args
from .starting import initial_followed, load_initial_weights, measure_followed
from .objectives import TokenizerObjective, WorldModelObjective, cached_pretokenize, freeze_tokenizer_encoder
from .own_context import OwnContext


def _samplers(args, size: int, model: str, other_fix: str):
    """Train and validation windows; refuses frames of another size than `model` takes (ValueError)."""
    paths = list_episodes(args.data)[:args.max_episodes]
    if not paths:
        raise ValueError(f"{args.data}: no episode .npz files")
    train_paths, val_paths = split_episodes(paths, args.val_fraction, seed=0)
    if not val_paths:  # tiny data sets: still validate on something
        val_paths = train_paths[-1:]
    window = preset(args.preset).dynamics.max_frames
    train_clips, val_clips = ClipSampler(train_paths, window), ClipSampler(val_paths, window)
    for clips in (train_clips, val_clips):
        check_frame_size(args.data, clips.frame_size, size, model, other_fix)
    print(f"train: {train_clips.describe()}\nval:   {val_clips.describe()}")
    return train_clips, val_clips


def _options(args) -> LoopOptions:
    return LoopOptions(out=args.out, steps=args.steps, minutes=args.minutes, batch_size=args.batch_size,
                       lr=args.lr, warmup_steps=args.warmup_steps, val_every=args.val_every, log_every=args.log_every,
                       save_every_minutes=args.save_every_minutes, seed=args.seed,
                       resume=not args.fresh, cpu_bf16=args.cpu_bf16)


def run_tokenizer(args) -> dict:
    device = pick_device(args.device)
    config = preset(args.preset).tokenizer if not args.freeze_encoder else frozen_encoder_config(args)
    if args.fsq_levels and not args.freeze_encoder:
        config = dataclasses.replace(config, fsq_levels=args.fsq_levels, num_codes=math.prod(args.fsq_levels),
                                     code_dim=len(args.fsq_levels))
    config = dataclasses.replace(config, decoder_depth=args.decoder_depth or config.decoder_depth)
    if not args.fresh:
        check_resumable(args.out, {"tokenizer": config})
    train_clips, val_clips = _samplers(args, config.image_size, f"--preset {args.preset}",
                                       f"pick the --preset of that size ({PRESET_SIZES})")
    tokenizer = VideoTokenizer(config)
    if args.init:  # a resumed run then overwrites these with its own latest weights
        load_initial_weights({"tokenizer": tokenizer}, args.init, grow=True)
    if args.freeze_encoder:
        freeze_tokenizer_encoder(tokenizer)
    objective = TokenizerObjective(tokenizer, train_clips, val_clips, freeze_encoder=args.freeze_encoder)
    return train(objective, _options(args), device, {"phase": "tokenizer", "data": args.data, "preset": args.preset,
                                                     "init": args.init, "freeze_encoder": args.freeze_encoder})


def frozen_encoder_config(args) -> TokenizerConfig:
    """--freeze-encoder: the --init tokenizer's config (its code kept; --decoder-depth may still grow it)."""
    if not args.init:
        raise ValueError("--freeze-encoder on needs --init: the tokenizer whose tokens to keep")
    folder = os.path.join(args.init, "tokenizer")
    # The config only: load_initial_weights loads (and checks) the weights afterwards.
    base = load_config(folder if os.path.isdir(folder) else args.init, "tokenizer")
    if args.fsq_levels and tuple(args.fsq_levels) != tuple(base.fsq_levels):
        raise ValueError(f"--freeze-encoder on keeps the code of --init ({base.fsq_levels}): drop --fsq-levels")
    return base


def run_dynamics(args) -> dict:
    device = pick_device(args.device)
    tok_dir = os.path.join(args.tokenizer, "tokenizer")
    tokenizer = load_component(tok_dir if os.path.isdir(tok_dir) else args.tokenizer, "tokenizer", device)
    for p in tokenizer.parameters():
        p.requires_grad_(False)
    config = preset(args.preset)
    size = tokenizer.config.image_size
    train_clips, val_clips = _samplers(args, size, f"the tokenizer in {args.tokenizer}",
                                       "train a tokenizer on this data first (phase 1)")
    if args.freeze_lam and not args.init:
        raise ValueError("--freeze-lam on needs --init: a fresh latent action model has nothing to keep")
    if args.own_context and not args.freeze_lam:
        raise ValueError("--own-context needs --freeze-lam on: the model plays the LAM's actions as fixed labels")
    followed = (initial_followed(args.init) or measure_followed(train_clips)) if args.keep_followed else ()
    dyn_config = dataclasses.replace(config.dynamics, followed_pixels=followed, num_codes=tokenizer.config.num_codes,
                                     tokens_per_frame=tokenizer.config.tokens_per_frame,
                                     num_actions=config.lam.num_actions, still_action=config.lam.still_id,
                                     mask_mode=args.mask_mode or config.dynamics.mask_mode,
                                     depth=args.depth or config.dynamics.depth,
                                     **{field: getattr(args, field) for field in DYNAMICS_FLAGS
                                        if getattr(args, field) is not None})
    lam_config = dataclasses.replace(config.lam, image_size=tokenizer.config.image_size,
                                     anchor=args.lam_anchor or config.lam.anchor,
                                     classes=args.lam_classes or config.lam.classes,
                                     measured_codes=(config.lam.measured_codes if args.lam_measured_codes is None
                                                     else args.lam_measured_codes))
    player = lam_config.motion_codes and lam_config.anchor == "player"
    if not args.fresh:
        check_resumable(args.out, {"lam": lam_config, "dynamics": dyn_config})
    lam, dynamics = LatentActionModel(lam_config), DynamicsModel(dyn_config)
    own_context = _own_context(args, tokenizer, dyn_config)  # its errors before minutes of pretokenizing
    if args.init:  # checked before pretokenizing; a resumed run then overwrites these with its own latest weights
        load_initial_weights({"lam": lam, "dynamics": dynamics}, args.init)
    started = time.time()
    bf16 = device.type == "cuda" or args.cpu_bf16
    train_tokens = cached_pretokenize(tokenizer, train_clips, device, bf16, dyn_config.motion_radius, followed, player)
    val_tokens = cached_pretokenize(tokenizer, val_clips, device, bf16, dyn_config.motion_radius, followed, player)
    print(f"pretokenized {train_clips.num_frames + val_clips.num_frames} frames in {time.time() - started:.0f} s")
    if lam_config.motion_codes and not lam.motion_centroids.any():  # fresh, or --init from a run without them
        anchors = "moves" if player else "motions"
        lam.set_motion_classes(torch.cat([episode[anchors][1:] for episode in train_tokens]), seed=args.seed)
        print("motion classes (dx, dy): " + " ".join(f"({x:+.2f},{y:+.2f})" for x, y in lam.motion_centroids.tolist()))
    save_component(tokenizer, os.path.join(args.out, "tokenizer"))  # the run folder is a whole checkpoint
    write_settings(os.path.join(args.out, "dynamics"), config.decoding)
    objective = WorldModelObjective(lam, dynamics, train_clips, val_clips, train_tokens, val_tokens,
                                    changed_weight=args.changed_weight, freeze_lam=args.freeze_lam,
                                    own_context=own_context)
    return train(objective, _options(args), device,
                 {"phase": "dynamics", "data": args.data, "preset": args.preset, "tokenizer": args.tokenizer,
                  "init": args.init, "changed_weight": args.changed_weight, "freeze_lam": args.freeze_lam,
                  "own_context": args.own_context,
                  "pretokenize_s": round(time.time() - started, 1)})


def _own_context(args, tokenizer, dyn_config) -> OwnContext | None:
    """--own-context's share of windows played by the model, with the --init checkpoint's decoding."""
    if not args.own_context:
        return None
    if not dyn_config.motion_radius:
        raise ValueError("--own-context needs a dynamics model with camera motion (the model plays the real camera)")
    settings = load_decode_settings(os.path.join(args.init, "dynamics"))
    return OwnContext(tokenizer, settings, args.own_context, dyn_config.snap_tolerance, seed=args.seed)


# DynamicsConfig fields that train dynamics' flags of the same name override.
DYNAMICS_FLAGS = ("mask_revealed", "copy_gates", "context_noise", "snap_tolerance", "hide_behind_player")


def judged_player(dynamics, clips) -> tuple[int, ...]:
    """The pixels a critic or prior looks around: the player the dynamics model keeps in its draft
    (--keep-followed on), else the one the camera follows in the data, measured as training does."""
    followed = dynamics.config.followed_pixels or measure_followed(clips, "the dynamics model keeps none: "
                                                                          "measured on the data")
    if not followed:
        raise ValueError("the camera follows no player in the data: there is no player to judge moves around")
    return followed


def run_critic(args) -> dict:
    device = pick_device(args.device)
    dynamics = load_component(os.path.join(args.dynamics, "dynamics"), "dynamics")
    if not dynamics.config.motion_radius:
        raise ValueError(f"--dynamics {args.dynamics}: its dynamics model has no camera motion for a critic to judge")
    size = load_component(os.path.join(args.dynamics, "tokenizer"), "tokenizer").config.image_size
    train_clips, val_clips = _samplers(args, size, f"the models in {args.dynamics}", "use the data they learned from")
    config = CriticConfig.around(judged_player(dynamics, train_clips), size, dynamics.config.motion_radius)
    if not args.fresh:
        check_resumable(args.out, {"critic": config})
    objective = CriticObjective(MoveCritic(config), train_clips, val_clips)
    return train(objective, _options(args), device, {"phase": "critic", "data": args.data, "dynamics": args.dynamics})


def run_prior(args) -> dict:
    device = pick_device(args.device)
    dynamics = load_component(os.path.join(args.dynamics, "dynamics"), "dynamics")
    lam = load_component(os.path.join(args.dynamics, "lam"), "lam").eval()
    if not dynamics.config.motion_radius or not lam.config.motion_codes:
        raise ValueError(f"--dynamics {args.dynamics}: the prior needs a dynamics model with camera motion and a "
                         f"LAM whose codes are motion classes")
    size = lam.config.image_size
    train_clips, val_clips = _samplers(args, size, f"the models in {args.dynamics}", "use the data they learned from")
    around = CriticConfig.around(judged_player(dynamics, train_clips), size, dynamics.config.motion_radius)
    sideways = sideways_of(lam.motion_centroids, lam.config.still_id, lam.config.num_actions)
    config = PriorConfig(size, lam.config.num_actions, dynamics.config.motion_radius, around.window, around.box,
                         history=args.history, sideways=sideways, keyed=args.keyed,
                         key_history=args.key_history if args.keyed else 1)
    key_latents = checkpoint_keys(args.dynamics, lam.config.num_actions) if args.keyed else None
    if not args.fresh:
        check_resumable(args.out, {"prior": config})
    objective = PriorObjective(ActionPrior(config), lam, dynamics.config.max_frames, train_clips, val_clips, key_latents)
    return train(objective, _options(args), device, {"phase": "prior", "data": args.data, "dynamics": args.dynamics})


def run_export(args) -> dict:
    """Copy the run's weights and configs (and a critic's), with its decoding settings and any given flags in decode.json."""
    # Validates every part, and the decoding settings, before copying anything.
    loaded = {kind: load_component(os.path.join(args.run, kind), kind) for kind in ("tokenizer", "lam", "dynamics")}
    sources = {kind: os.path.join(args.run, kind) for kind in loaded}
    for kind in ("critic", "prior"):
        given = getattr(args, kind)
        sources[kind] = os.path.join(given or args.run, kind)
        if given or os.path.isdir(sources[kind]):
            loaded[kind] = load_component(sources[kind], kind)
    check_parts_agree(args.run, GenieModels(**loaded))
    settings = resolve_decode_settings(args, load_decode_settings(os.path.join(args.run, "dynamics")))
    for kind, model in loaded.items():
        source = sources[kind]
        folder = os.path.join(args.out, kind)
        atomic_copy(os.path.join(source, "model.safetensors"), os.path.join(folder, "model.safetensors"))
        atomic_write_text(os.path.join(folder, "config.json"), to_json(model.config))
    write_settings(os.path.join(args.out, "dynamics"), settings)
    names = kept_action_names(args.run)
    if names:
        atomic_copy(names, os.path.join(args.out, "actions.json"))
    print(f"exported {args.run} -> {args.out}; decoding: " + ", ".join(
        f"{k}={v}" for k, v in dataclasses.asdict(settings).items()))
    return {}


def kept_action_names(run: str) -> str | None:
    """The path of the --init checkpoint's actions.json when the run kept that checkpoint's LAM (--freeze-lam
    on), so the key names still fit the exported model; else None (name the actions anew: tools.action_names)."""
    try:
        info = read_json(os.path.join(run, "run.json"))
    except (OSError, ValueError):
        return None
    path = os.path.join(info.get("init") or "", "actions.json")
    return path if info.get("freeze_lam") and os.path.isfile(path) else None


def main(argv=None) -> int:
    args = parse_args(argv, __doc__)
    try:
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            raise ValueError(f"--out {args.out} is a file; give a folder")
        result = {"tokenizer": run_tokenizer, "dynamics": run_dynamics, "critic": run_critic,
                  "prior": run_prior, "export": run_export}[args.phase](args)
    except (CheckpointError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result:
        print("final: " + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    torch.set_float32_matmul_precision("high")
    sys.exit(main())
