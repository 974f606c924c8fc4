"""Dynamics model: a decoder-only MaskGIT ST-transformer (Genie Section 2.1, "Dynamics Model").

Input: frames of tokens z_1..z_T plus latent actions; output: logits for the tokens of every
frame. The action of transition t -> t+1 is an additive embedding on the tokens of frame t+1
(never frame t): the frame being generated is the one that must know which key was pressed.
The first frame carries a learned "no action" embedding. The output head is tied to the token
embedding, so "same token as the previous frame" (the most common answer) is easy to express.

With token_merge m > 1, one transformer position holds an m x m square of tokens: their
embeddings are concatenated on the way in and their logit rows read out of one output vector on
the way out. Inputs, masks and logits stay per token (B, T, N), so MaskGIT, the player and patch
reuse never see the merge; only the transformer runs on N / m^2 positions.

With a still action (the LAM's reserved "nothing changed" code), a frame made with it keeps every
token of the frame before: its copy logit gets a bonus no learned logit can outbid.

With motion (motion_radius > 0), frame t+1 is made in two moves. First its camera motion: logits
over the (2R+1)^2 integer shifts, read from frame t's outputs (their mean and the centre, where
the player stands), the motion of frame t (the velocity) and the action of t -> t+1, so it never
depends on anything later. Then its tokens, against a draft: frame t moved by that motion and
encoded by the tokenizer, whose tokens are embedded at frame t+1's positions and get the main
copy bonus; the unmoved frame t keeps a smaller one (the player sprite stays at the centre while
the level slides under it). Training uses the motion measured on the pixels (motion.py); play
uses the predicted one.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks.motion import num_motions
from ..blocks.patches import merge_tokens, split_tokens
from ..blocks.st_transformer import KVBuffer, STTransformer, clean_past_mask
from .config import DynamicsConfig

# The share of a training frame's tokens masked, drawn from U(low, high): the paper's, or a wide range
# for a clean past (early MaskGIT rounds see few known tokens, late ones many).
MASK_RATES = {"paper": (0.5, 1.0), "clean_past": (0.0, 1.0)}
STILL_COPY_BONUS = 100.0  # far above any learned logit (they stay within tens): a still frame copies, even sampled


@dataclass
class DynamicsLoss:
    loss: torch.Tensor
    accuracy: torch.Tensor  # share of masked tokens predicted exactly (argmax)
    motion_loss: torch.Tensor | None = None  # cross-entropy of the predicted camera motion
    motion_accuracy: torch.Tensor | None = None  # share of frames whose motion class is right (argmax)


class DynamicsModel(nn.Module):
    def __init__(self, config: DynamicsConfig):
        super().__init__()
        self.config = c = config
        self.mask_id, self.no_action = c.num_codes, c.num_actions
        # With token_merge m, each token gets dim / m^2 channels and a position concatenates its m^2 tokens.
        token_dim = c.dim // c.token_merge ** 2
        self.token_embed = nn.Embedding(c.num_codes + 1, token_dim)
        nn.init.normal_(self.token_embed.weight, std=0.02)
        self.pos_NC = nn.Parameter(0.02 * torch.randn(c.positions_per_frame, c.dim))  # N: positions here
        self.action_embed = nn.Embedding(c.num_actions + 1, c.dim)
        nn.init.normal_(self.action_embed.weight, std=0.02)
        self.transformer = STTransformer(c.dim, c.depth, c.heads)
        # Merged positions read their m^2 tokens' output vectors out of a linear map; m = 1 needs none.
        self.to_tokens = nn.Linear(c.dim, c.dim) if c.token_merge > 1 else None
        self.logit_bias = nn.Parameter(torch.zeros(c.num_codes))
        # Copy prior: a learned bonus on the logit of the token at the same place in the previous
        # frame. Most tokens do not change between frames, so "copy" is right from step one and
        # the network spends its few CPU steps on what moves.
        self.copy_logit = nn.Parameter(torch.tensor(6.0))
        self.action_copy_logit = (nn.Parameter(torch.zeros(c.num_actions + 1)) if c.action_copy_prior else None)
        if c.motion_radius:
            self.num_motions = num_motions(c.motion_radius)  # id num_motions: unknown (a first frame)
            self.draft_embed = nn.Embedding(c.num_codes + 1, token_dim)  # mask_id: no draft
            nn.init.normal_(self.draft_embed.weight, std=0.02)
            self.previous_copy_logit = nn.Parameter(torch.tensor(2.0))
            g = c.grid // c.token_merge
            centre = [r * g + col for r in (max(0, g // 2 - 1), g // 2) for col in (max(0, g // 2 - 1), g // 2)]
            self.register_buffer("centre_positions", torch.tensor(sorted(set(centre))), persistent=False)
            self.motion_features = nn.Linear(c.dim * (1 + len(self.centre_positions)), c.dim)
            self.motion_action_embed = nn.Embedding(c.num_actions + 1, c.dim)
            self.motion_embed = nn.Embedding(self.num_motions + 1, c.dim)
            self.motion_head = nn.Sequential(nn.GELU(), nn.Linear(c.dim, c.dim), nn.GELU(),
                                             nn.Linear(c.dim, self.num_motions))
        # Per-token additions to the (draft, last frame) copy bonuses; zero at first: v5's fixed bonuses.
        self.copy_gate = nn.Linear(token_dim, 2) if c.copy_gates else None
        if self.copy_gate is not None:
            nn.init.zeros_(self.copy_gate.weight)
            nn.init.zeros_(self.copy_gate.bias)

    def frame_actions(self, actions_BA: torch.Tensor, frames: int) -> torch.Tensor:
        """(B, T-1) transition actions -> (B, T) action joined to each frame (none for frame 0)."""
        first = torch.full_like(actions_BA[:, :1], self.no_action)
        return torch.cat((first, actions_BA), dim=1)[:, :frames]

    def embed(self, tokens_BTN: torch.Tensor, frame_actions_BT: torch.Tensor,
              drafts_BTN: torch.Tensor | None = None) -> torch.Tensor:
        """Tokens (B, T, N) (and, with motion, each frame's draft tokens, mask_id for none) ->
        transformer inputs (B, T, positions, C)."""
        e = self.token_embed(tokens_BTN)
        if self.config.motion_radius:
            e = e + self.draft_embed(torch.full_like(tokens_BTN, self.mask_id) if drafts_BTN is None else drafts_BTN)
        x = merge_tokens(e, self.config.grid, self.config.token_merge)
        return x + self.pos_NC + self.action_embed(frame_actions_BT)[:, :, None, :]

    def head(self, h_BTPC: torch.Tensor, previous_BTN: torch.Tensor, frame_actions_BT: torch.Tensor,
             select_BTN: torch.Tensor | None = None, copy_bias: float = 0.0,
             drafts_BTN: torch.Tensor | None = None, unmoved_bias: float = 0.0) -> torch.Tensor:
        """Logits (..., N, V) from transformer outputs (..., positions, C); previous_BTN: the previous
        frame's tokens (mask_id where there is none); frame_actions_BT: each frame's action;
        drafts_BTN: with motion, the moved previous frame's tokens (the main copy source).
        select_BTN: a boolean mask; then only the selected tokens' logits, (S, V), are computed.
        copy_bias: added to the copy logits (decoding only; see DecodeSettings.copy_bias); unmoved_bias:
        added to the unmoved frame's copy logit only, with motion, where its token differs from the draft's
        (decoding only; DecodeSettings.unmoved_bias)."""
        if self.to_tokens is not None:
            h_BTPC = self.to_tokens(h_BTPC)
        h_BTNE = split_tokens(h_BTPC, self.config.grid, self.config.token_merge)
        copy = self.copy_logit.float() + copy_bias
        if self.action_copy_logit is not None:
            copy = copy + self.action_copy_logit.float()[frame_actions_BT][..., None]
        still = 0.0
        if self.config.still_action is not None:
            still = STILL_COPY_BONUS * (frame_actions_BT == self.config.still_action)[..., None]
        sources = []  # (token ids, bonus) pairs added onto the logits
        if self.config.motion_radius:
            if drafts_BTN is None:
                drafts_BTN = torch.full_like(previous_BTN, self.mask_id)
            # Only where the two sources differ: where both hold the same token there is no choice to bias.
            unmoved = unmoved_bias * (previous_BTN != drafts_BTN) if unmoved_bias else 0.0
            draft_bonus, previous_bonus = copy, self.previous_copy_logit.float() + copy_bias + unmoved + still
            if self.copy_gate is not None:
                gates = self.copy_gate(h_BTNE).float()  # (..., N, 2)
                draft_bonus, previous_bonus = draft_bonus + gates[..., 0], previous_bonus + gates[..., 1]
            sources.append((drafts_BTN, (drafts_BTN != self.mask_id) * draft_bonus))
            sources.append((previous_BTN, (previous_BTN != self.mask_id) * previous_bonus))
        else:
            sources.append((previous_BTN, (previous_BTN != self.mask_id) * (copy + still)))
        if select_BTN is not None:
            h_BTNE = h_BTNE[select_BTN]
            sources = [(ids[select_BTN], bonus[select_BTN]) for ids, bonus in sources]
        # In fp32 even when the network runs in bf16: the copy bonuses and MaskGIT's ranking need the precision.
        # One fp32 pass over the (tokens x codes) logits, the bonuses added in place at one entry per token.
        logits = F.linear(h_BTNE.float(), self.token_embed.weight[: self.config.num_codes].float(),
                          self.logit_bias.float())
        for ids, bonus in sources:
            logits.scatter_add_(-1, ids.clamp(max=self.mask_id - 1)[..., None], bonus[..., None].to(logits.dtype))
        return logits

    def corrupt_context(self, tokens_xN: torch.Tensor, rate_x1: torch.Tensor, generator=None) -> torch.Tensor:
        """Training only: each token (not mask_id) replaced by a random one with probability rate."""
        hit = torch.rand(tokens_xN.shape, generator=generator).to(tokens_xN.device) < rate_x1
        noise = torch.randint(0, self.config.num_codes, tokens_xN.shape, generator=generator).to(tokens_xN.device)
        return torch.where(hit & (tokens_xN != self.mask_id), noise, tokens_xN)

    def motion_logits(self, h_xPC: torch.Tensor, action_x: torch.Tensor, motion_x: torch.Tensor) -> torch.Tensor:
        """Camera-motion logits (..., num_motions) of the frame after each given one, from that frame's
        transformer outputs (..., positions, C), its own motion id (num_motions: unknown) and the
        action of the transition to the next frame."""
        features = torch.cat((h_xPC.mean(-2), h_xPC[..., self.centre_positions, :].flatten(-2)), dim=-1)
        x = self.motion_features(features) + self.motion_action_embed(action_x) + self.motion_embed(motion_x)
        return self.motion_head(x).float()

    def previous_frames(self, tokens_BTN: torch.Tensor) -> torch.Tensor:
        """(B, T, N) tokens of frame t-1 for every frame t (mask_id for frame 0)."""
        return torch.cat((torch.full_like(tokens_BTN[:, :1], self.mask_id), tokens_BTN[:, :-1]), dim=1)

    def forward(self, tokens_BTN: torch.Tensor, actions_BA: torch.Tensor, window: int | None = None,
                select_BTN: torch.Tensor | None = None, drafts_BTN: torch.Tensor | None = None,
                positions_T: torch.Tensor | None = None):
        """Plain causal pass: logits (B, T, N, V) for every frame, each seeing itself and its past
        (or (S, V) for the tokens select_BTN picks); drafts_BTN: see embed."""
        frame_actions = self.frame_actions(actions_BA, tokens_BTN.shape[1])
        x = self.embed(tokens_BTN, frame_actions, drafts_BTN)
        return self.head(self.transformer(x, positions_T, window=window), self.previous_frames(tokens_BTN),
                         frame_actions, select_BTN, drafts_BTN=drafts_BTN)

    def forward_clean_past(self, clean_BTN: torch.Tensor, masked_BTN: torch.Tensor, actions_BA: torch.Tensor,
                           select_BTN: torch.Tensor | None = None, drafts_BTN: torch.Tensor | None = None,
                           motions_BT: torch.Tensor | None = None):
        """(logits, motion logits): logits (B, T, N, V) for the masked frames, each seeing the clean
        frames before it (or (S, V) for the tokens select_BTN picks); with motion and motions_BT
        (each frame's motion id; frame 0's is treated as unknown) the motion logits (B, T-1, M) of
        frames 1..T-1, each from the clean frame before it, else None."""
        T = clean_BTN.shape[1]
        frame_actions = self.frame_actions(actions_BA, T)
        x = torch.cat((self.embed(clean_BTN, frame_actions, drafts_BTN),
                       self.embed(masked_BTN, frame_actions, drafts_BTN)), dim=1)
        positions = torch.arange(T, device=x.device).repeat(2)
        h = self.transformer(x, positions, temporal_mask=clean_past_mask(T, None, x.device))
        logits = self.head(h[:, T:], self.previous_frames(clean_BTN), frame_actions, select_BTN, drafts_BTN=drafts_BTN)
        if not self.config.motion_radius or motions_BT is None:
            return logits, None
        known = motions_BT[:, :-1].clone()
        known[:, 0] = self.num_motions
        return logits, self.motion_logits(h[:, :T - 1], actions_BA[:, :T - 1], known)

    def new_kv_buffer(self, batch: int, window: int, device) -> KVBuffer:
        """Keys/values of up to window-1 past frames for `batch` rollouts, plus the frame being made."""
        return self.transformer.new_kv_buffer(batch * self.config.positions_per_frame, window, device)

    def newest_outputs(self, tokens_BTN: torch.Tensor, actions_BA: torch.Tensor, drafts_BTN: torch.Tensor | None = None,
                       positions_T: torch.Tensor | None = None, window: int | None = None) -> torch.Tensor:
        """Transformer outputs (B, positions, C) of the newest frame, recomputed over all the frames
        given (the uncached reference for `step`); actions_BA: the T-1 transition actions."""
        x = self.embed(tokens_BTN, self.frame_actions(actions_BA, tokens_BTN.shape[1]), drafts_BTN)
        return self.transformer(x, positions_T, window=window)[:, -1]

    def newest_logits(self, tokens_BTN: torch.Tensor, actions_BA: torch.Tensor, drafts_BTN: torch.Tensor | None = None,
                      positions_T: torch.Tensor | None = None, window: int | None = None,
                      copy_bias: float = 0.0, unmoved_bias: float = 0.0) -> torch.Tensor:
        """Logits (B, N, V) of the newest frame (masked where unknown), recomputed over all the frames given."""
        h = self.newest_outputs(tokens_BTN, actions_BA, drafts_BTN, positions_T, window)
        return self.head(h, tokens_BTN[:, -2], actions_BA[:, -1], copy_bias=copy_bias,
                         drafts_BTN=None if drafts_BTN is None else drafts_BTN[:, -1], unmoved_bias=unmoved_bias)

    def step_outputs(self, tokens_BN: torch.Tensor, action_B: torch.Tensor, position: int, kv: KVBuffer,
                     draft_BN: torch.Tensor | None = None) -> torch.Tensor:
        """Transformer outputs (B, positions, C) of one new frame (B, N) at frame index `position`, seeing
        the past frames in `kv`; its keys/values are left in kv's spare slot (KVBuffer.new_frame_kv).
        draft_BN: with motion, its draft's tokens (None for a first frame)."""
        x = self.embed(tokens_BN[:, None], action_B[:, None], None if draft_BN is None else draft_BN[:, None])
        positions = torch.tensor([position], device=tokens_BN.device)
        return self.transformer(x, positions, kv=kv)[:, 0]

    def step(self, tokens_BN: torch.Tensor, action_B: torch.Tensor, position: int, kv: KVBuffer,
             previous_BN: torch.Tensor | None = None, copy_bias: float = 0.0,
             draft_BN: torch.Tensor | None = None, unmoved_bias: float = 0.0) -> torch.Tensor:
        """Logits (B, N, V) of one new frame (see step_outputs); previous_BN: the tokens of the frame
        before it (None for a first frame); copy_bias, unmoved_bias: see head."""
        h = self.step_outputs(tokens_BN, action_B, position, kv, draft_BN)
        if previous_BN is None:
            previous_BN = torch.full_like(tokens_BN, self.mask_id)
        return self.head(h, previous_BN, action_B, copy_bias=copy_bias, drafts_BTN=draft_BN, unmoved_bias=unmoved_bias)

    def masked_token_loss(self, tokens_BTN: torch.Tensor, actions_BA: torch.Tensor,
                          generator: torch.Generator | None = None, drafts_BTN: torch.Tensor | None = None,
                          motions_BT: torch.Tensor | None = None, changed_weight: float = 1.0,
                          context_BTN: torch.Tensor | None = None) -> DynamicsLoss:
        """MaskGIT training loss over frames 1..T-1 (frame 0 is always given); with motion, plus the
        cross-entropy of each frame's camera motion (drafts_BTN and motions_BT are then required:
        frame t's draft is frame t-1 moved by motion t, and frame 0's draft is mask_id).
        changed_weight: the weight of tokens that differ from their draft in the token loss (the rest
        weigh 1): the few a frame really changes (the level entering at an edge, the player) count
        for little among the many the draft already holds. context_BTN: the clean past frames the masked ones
        see, when not the targets themselves (the model's own frames, train/own_context.py)."""
        B, T, N = tokens_BTN.shape
        if self.config.mask_mode not in MASK_RATES:
            raise ValueError(f"unknown mask_mode {self.config.mask_mode!r}")
        low, high = MASK_RATES[self.config.mask_mode]
        device = tokens_BTN.device
        rate = low + (high - low) * torch.rand(B, T, 1, generator=generator).to(device)
        masked = torch.rand(B, T, N, generator=generator).to(device) < rate
        masked[:, 0] = False
        inputs = tokens_BTN.masked_fill(masked, self.mask_id)
        context, drafts_in = (tokens_BTN if context_BTN is None else context_BTN), drafts_BTN
        if self.training and self.config.context_noise > 0:
            rate = self.config.context_noise * torch.rand(B, 1, 1, generator=generator).to(device)
            context = self.corrupt_context(context, rate, generator)
            drafts_in = None if drafts_BTN is None else self.corrupt_context(drafts_BTN, rate, generator)
        # Logits of the masked tokens only: the full (B, T, N, V) tensor is mostly thrown away.
        if self.config.motion_radius:
            if self.config.mask_mode != "clean_past":
                raise ValueError("motion needs mask_mode clean_past")
            picked, motion_logits = self.forward_clean_past(context, inputs, actions_BA, masked, drafts_in,
                                                            motions_BT)
        elif self.config.mask_mode == "paper":
            picked = self(inputs, actions_BA, select_BTN=masked)
        else:
            picked, _ = self.forward_clean_past(context, inputs, actions_BA, select_BTN=masked)
        target = tokens_BTN[masked]
        if changed_weight != 1.0 and drafts_BTN is not None:
            weight = 1.0 + (changed_weight - 1.0) * (target != drafts_BTN[masked]).float()
            loss = (F.cross_entropy(picked.float(), target, reduction="none") * weight).sum() / weight.sum()
        else:
            loss = F.cross_entropy(picked, target)
        accuracy = (picked.argmax(-1) == target).float().mean()
        if not self.config.motion_radius:
            return DynamicsLoss(loss, accuracy)
        motion_target = motions_BT[:, 1:]
        motion_loss = F.cross_entropy(motion_logits.flatten(0, 1).float(), motion_target.flatten())
        motion_accuracy = (motion_logits.argmax(-1) == motion_target).float().mean()
        return DynamicsLoss(loss + motion_loss, accuracy, motion_loss, motion_accuracy)

