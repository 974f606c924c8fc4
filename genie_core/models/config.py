"""Frozen configs, one per component, and named size presets.

Each component's config is saved as config.json beside its weights; derive variants with
dataclasses.replace. Presets: `tiny` (tests), `cpu` (the shipped model, sized by measurement on
2 CPU cores), and `paper-coinrun` (Genie App. F CoinRun sizes, for GPUs).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..decoding import DecodeSettings


@dataclass(frozen=True)
class TokenizerConfig:
    image_size: int = 64
    patch: int = 8
    dim: int = 128
    heads: int = 4
    encoder_depth: int = 4
    decoder_depth: int = 4
    # "fsq": finite scalar quantisation on fsq_levels (no codebook to collapse; the default);
    # "vq": a learned codebook of num_codes x code_dim with dead-code restarts.
    quantizer: str = "fsq"
    fsq_levels: tuple[int, ...] = (8, 8, 4, 4)
    num_codes: int = 1024  # must equal prod(fsq_levels) for fsq
    code_dim: int = 4  # must equal len(fsq_levels) for fsq
    temporal_window: int = 4  # frames each frame sees in the causal temporal attention
    train_frames: int = 4  # clip length the tokenizer trains on

    def __post_init__(self):
        if self.quantizer == "fsq" and (self.num_codes != math.prod(self.fsq_levels)
                                        or self.code_dim != len(self.fsq_levels)):
            raise ValueError(f"fsq levels {self.fsq_levels} imply {math.prod(self.fsq_levels)} codes of dim "
                             f"{len(self.fsq_levels)}, config says {self.num_codes} x {self.code_dim}")

    @property
    def grid(self) -> int:
        return self.image_size // self.patch

    @property
    def tokens_per_frame(self) -> int:
        return self.grid * self.grid


@dataclass(frozen=True)
class LAMConfig:
    image_size: int = 64
    patch: int = 16
    dim: int = 128
    heads: int = 4
    encoder_depth: int = 2
    decoder_depth: int = 2
    num_actions: int = 8
    code_dim: int = 32
    # The encoder also sees each frame's difference from the one before, so motion (the action's
    # visible effect) is an input rather than something two layers must compute.
    difference_input: bool = False
    # > 0: the decoder predicts x_{t+1} as x_t shifted, per patch, by a learned mix of offsets up to
    # this many pixels along each axis (plus a residual). Scrolling and moving sprites, most of
    # what an action does in a 2D game, become cheap to express, so the action code pays off.
    decoder_shift: int = 0
    # Codebook upkeep: a code is restarted when its running share falls below dead_fraction / num_actions.
    dead_fraction: float = 0.25
    entropy_weight: float = 0.05
    # Reserve the last code for "nothing changed": a transition whose next frame is pixel-identical
    # gets it by rule, every other one is quantised to the remaining codes, so holding a still
    # picture exactly is an action of its own rather than a code that mostly means moving.
    still_action: bool = False
    # > 0: every code also predicts the transition's camera motion (the global shift within
    # +-motion_radius px that best maps x_t onto x_{t+1}, estimated from the pixels; see motion.py)
    # from the code alone, weighted by motion_weight: the decoder sees the past frames, so without
    # this a code need carry only what the past does not predict, and a key must mean a move.
    motion_radius: int = 0
    motion_weight: float = 0.1
    # The horizontal part of that loss counts this many times the vertical one (and dx is scaled
    # by it for motion_codes' k-means): where the camera moves mostly vertically (CoinRun), equal
    # weights spend the codes on fine falls and jumps and leave none for "left".
    motion_dx_weight: float = 1.0
    # Anchor the learned codes to motion classes: before phase 2, the training data's camera
    # motions are clustered into the learned codes' number of classes by k-means (dx scaled by
    # motion_dx_weight, so that left and right are as far apart as a jump); the encoder then learns
    # to tell a transition's class from its frames (cross-entropy), and its code is that class
    # (CoinRun's: right, left, jump, fall, right+jump, right+fall and idle).
    motion_codes: bool = False
    # What the motion classes are classes of: "camera", the camera's motion (the player's move in games
    # whose camera follows it); "player", the player's move in every game (blocks/tracking.py: the camera's
    # motion where it follows, the tracked sprite's step where the screen stays still), so that one code
    # means one move across games whose cameras differ.
    anchor: str = "camera"
    # How moves become classes: "kmeans" of the training data's moves, or "directions", fixed by the
    # player's way (idle, right, left, up, down, right+up, right+down; left+up and left+down count as left),
    # so that a top-down game's 1-pixel step up has a class beside the scrolling games' larger moves.
    # "directions" needs 7 learned codes.
    classes: str = "kmeans"
    # With motion_codes, in training: a transition whose move was measured takes that move's class as its
    # code, and the encoder's guess only where the move is unknown (the encoder still learns to tell the
    # class, and names the actions at evaluation). A one-pixel sprite step in a still-screen game is read
    # by the tracker long before the encoder learns to read it; the dynamics model learns the keys from it.
    measured_codes: bool = False

    @property
    def still_id(self) -> int | None:
        """The reserved "nothing changed" action id, or None without one."""
        return self.num_actions - 1 if self.still_action else None


@dataclass(frozen=True)
class DynamicsConfig:
    num_codes: int = 1024  # the tokenizer's vocabulary
    tokens_per_frame: int = 64
    dim: int = 128
    heads: int = 4
    depth: int = 4
    num_actions: int = 8
    max_frames: int = 16
    # Training mask: "clean_past" masks only the frame being predicted (as at play time);
    # "paper" masks a rate ~ U(0.5, 1) of every frame after the first (Genie Section 2.1).
    mask_mode: str = "clean_past"
    # Each transformer position holds a token_merge x token_merge square of tokenizer tokens (their
    # embeddings concatenated, their logits read out of one output vector). A patch-4 tokenizer's
    # 16x16 grid then costs the dynamics model what a patch-8 one does: 64 positions per frame.
    token_merge: int = 1
    # A learned bonus on the copy logit per action: an action that means "nothing moves" can make
    # keeping every token near certain without the network having to spell it out token by token.
    action_copy_prior: bool = False
    # The LAM's reserved "nothing changed" action (LAMConfig.still_id), or None. Frames made with it
    # copy every token of the frame before, by construction: that is what the action means.
    still_action: int | None = None
    # > 0: motion-compensated frames. Each new frame first predicts its camera motion (one of the
    # (2R+1)^2 integer shifts within +-motion_radius px) from the last frame, its motion and the
    # action; the last frame moved by it (its "draft", encoded by the tokenizer) feeds the new
    # frame's positions and is the copy prior's main source, so tokens that only moved are copies.
    motion_radius: int = 0
    # With motion: the draft's tokens on the patches the move reveals (the level entering at an edge,
    # which the moved frame can only fill by replicating its border) are mask_id, so the model must
    # draw that ground instead of copying stripes of the border (train and play alike).
    mask_revealed: bool = False
    # A per-token learned addition to each copy source's bonus (the moved draft, the unmoved last
    # frame), read from the token's own transformer output: the player, who stays where the camera
    # centres, can keep the unmoved copy while the level around it takes the moved one.
    copy_gates: bool = False
    # Training only: the largest share of context tokens (the past frames and the drafts) replaced
    # by random tokens, drawn per window from U(0, context_noise), so the model learns to repair a
    # context with errors in it, as its own frames will be at play time (1X GENIE's corruption).
    context_noise: float = 0.0
    # Training only: a target token becomes its copy source's token (the moved draft's, else the
    # last frame's) wherever that source's pixels are within this RMS error (0..1 scale) of the real
    # patch: copies show exact pixels at play time, so copying where it is close enough keeps the
    # picture sharp instead of passing it through the tokenizer each tick. 0: exact matches only.
    snap_tolerance: float = 0.0
    # With motion: where the player the camera follows stands, as flat pixel indices (y * W + x),
    # measured on the training video (motion.followed_pixels: pixels that keep their colour while the
    # camera moves). The draft keeps these pixels unmoved (train and play alike), so the player stays
    # put while the level slides under it; without it v6 dragged the player off with the level within
    # 20-30 ticks of a held key. Empty: the whole frame moves.
    followed_pixels: tuple[int, ...] = ()
    # With followed pixels: the draft's patches where the player's old place would have carried it
    # (motion.uncovered_by_player) are hidden like revealed ground, train and play alike. The draft
    # otherwise shows what lay there before the move, and a jump left a column of stale ledge under the
    # player, tick after tick (docs/history/experiments/redraw_behind). In play the ground memory
    # brings those pixels back when it holds them.
    hide_behind_player: bool = False

    def __post_init__(self):
        grid = self.grid
        if grid * grid != self.tokens_per_frame or grid % self.token_merge or self.dim % self.token_merge ** 2:
            raise ValueError(f"token_merge {self.token_merge} needs a square token grid divisible by it and a dim "
                             f"divisible by its square; got {self.tokens_per_frame} tokens, dim {self.dim}")

    @property
    def grid(self) -> int:
        return math.isqrt(self.tokens_per_frame)

    @property
    def positions_per_frame(self) -> int:
        return self.tokens_per_frame // self.token_merge ** 2


# Config fields that steer training only: two configs that differ in just these describe the same
# weights (train dynamics --init ignores them).
TRAINING_ONLY = ("mask_mode", "motion_weight", "motion_dx_weight", "entropy_weight", "dead_fraction",
                 "context_noise", "snap_tolerance", "measured_codes")


@dataclass(frozen=True)
class GenieConfig:
    tokenizer: TokenizerConfig = TokenizerConfig()
    lam: LAMConfig = LAMConfig()
    dynamics: DynamicsConfig = DynamicsConfig()
    decoding: DecodeSettings = DecodeSettings()  # what a trained checkpoint of this preset starts with


def _genie(tokenizer: TokenizerConfig, lam: LAMConfig, dynamics: DynamicsConfig,
           decoding: DecodeSettings = DecodeSettings()) -> GenieConfig:
    dynamics = dataclasses.replace(
        dynamics, num_codes=tokenizer.num_codes, tokens_per_frame=tokenizer.tokens_per_frame,
        num_actions=lam.num_actions, still_action=lam.still_id)
    return GenieConfig(tokenizer, lam, dynamics, decoding)


PRESETS: dict[str, GenieConfig] = {
    "tiny": _genie(
        TokenizerConfig(image_size=16, patch=4, dim=32, heads=2, encoder_depth=1, decoder_depth=1,
                        fsq_levels=(4, 4, 2), num_codes=32, code_dim=3, temporal_window=4, train_frames=4),
        LAMConfig(image_size=16, patch=8, dim=32, heads=2, encoder_depth=1, decoder_depth=1, code_dim=8,
                  difference_input=True, decoder_shift=1, still_action=True, motion_radius=2, motion_codes=True),
        DynamicsConfig(dim=32, heads=2, depth=2, max_frames=8, token_merge=2, action_copy_prior=True, motion_radius=2),
        DecodeSettings(rounds=4, temperature=1.0, order="random"),
    ),
    "cpu": _genie(TokenizerConfig(patch=4),
                  LAMConfig(difference_input=True, decoder_shift=6, still_action=True, motion_radius=8,
                            motion_dx_weight=3.0, motion_codes=True),
                  DynamicsConfig(token_merge=2, action_copy_prior=True, motion_radius=8)),
    # Genie App. F (CoinRun): tokenizer 8+8 layers d512 patch 4, LAM 8+8 d512 patch 16,
    # dynamics 12 layers d512; 1024 codes of dim 32. Meant for GPUs.
    "paper-coinrun": _genie(
        TokenizerConfig(patch=4, dim=512, heads=8, encoder_depth=8, decoder_depth=8, train_frames=8),
        LAMConfig(dim=512, heads=8, encoder_depth=8, decoder_depth=8),
        DynamicsConfig(dim=512, heads=8, depth=12),
        DecodeSettings(rounds=25, temperature=1.0, order="random"),
    ),
}


def preset(name: str) -> GenieConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]
