"""MaskGIT decoding (Chang et al. 2022) as pure functions, apart from any network.

A frame of N tokens starts fully masked; each of `rounds` rounds predicts every masked token,
then fixes some of them for good, following a cosine schedule, until none is masked.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..decoding import DecodeSettings


def num_masked(k: int, rounds: int, num_tokens: int) -> int:
    """Tokens still masked after round k (0-based) of `rounds`; 0 after the last round."""
    return int(math.floor(num_tokens * math.cos(math.pi / 2 * (k + 1) / rounds)))


def sample_tokens(logits_BNV: torch.Tensor, temperature: float, generator: torch.Generator | None):
    """-> (tokens (B, N), log-probability of each chosen token). temperature 0 is greedy."""
    if temperature <= 0:
        logp = logits_BNV.log_softmax(-1)
        top_logp, tokens = logp.max(-1)
        return tokens, top_logp
    logp = (logits_BNV / temperature).log_softmax(-1)
    B, N, V = logp.shape
    tokens = torch.multinomial(logp.exp().view(B * N, V), 1, generator=generator).view(B, N)
    return tokens, logp.gather(-1, tokens[..., None])[..., 0]


def maskgit_decode(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    batch: int,
    num_tokens: int,
    mask_id: int,
    settings: DecodeSettings,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    held_BN: torch.Tensor | None = None,
) -> torch.Tensor:
    """Generate (batch, num_tokens) token ids with settings.rounds rounds of masked prediction, at
    settings.temperature and in settings.order (copy_bias and reuse_patches are the caller's).

    logits_fn: (B, N) ids with `mask_id` at unknown places -> (B, N, V) logits.
    order: "random" fixes a random subset of the newly sampled tokens each round (Genie's
    default); "confidence" fixes the most probable ones first (MaskGIT's).
    held_BN: with settings.revealed_rounds > 0, these tokens stay masked through the settings.rounds
    rounds and are decoded after them in revealed_rounds rounds of their own (confidence order, at
    revealed_temperature), seeing the rest of the frame fixed; without, they are like the rest.
    Invariants: every masked token is filled by the end, and a token once fixed never changes.
    """
    tokens = torch.full((batch, num_tokens), mask_id, dtype=torch.long, device=device)
    held = torch.zeros(batch, num_tokens, dtype=torch.bool, device=device)
    if held_BN is not None and settings.revealed_rounds > 0:
        held = held_BN.to(device)
    tokens = decode_rounds(logits_fn, tokens, ~held, settings.rounds, settings.temperature, settings.order, generator)
    if held.any():
        tokens = decode_rounds(logits_fn, tokens, held, settings.revealed_rounds, settings.revealed_temperature,
                               "confidence", generator)
    return tokens


def decode_rounds(logits_fn, tokens_BN: torch.Tensor, open_BN: torch.Tensor, rounds: int, temperature: float,
                  order: str, generator: torch.Generator | None) -> torch.Tensor:
    """Fill the `open` places of tokens (B, N) over `rounds` rounds, each element's open tokens on
    its own cosine schedule; the other places never change."""
    batch, device = tokens_BN.shape[0], tokens_BN.device
    masked, counts = open_BN.clone(), open_BN.sum(1).tolist()
    tokens = tokens_BN
    for k in range(rounds):
        remains = [num_masked(k, rounds, count) if k < rounds - 1 else 0 for count in counts]
        if max(remains) == 0 and temperature <= 0:  # greedy and nothing left to rank: the argmax is all it takes
            # max(-1).indices, not argmax(-1): the same first maximum, and argmax over the last dimension
            # is several times slower on the CPU in bf16 (measured, 2 threads: 16 x 256 x 1024 logits 8.7 -> 2.2 ms)
            return torch.where(masked, logits_fn(tokens).max(-1).indices, tokens)
        sampled, logp = sample_tokens(logits_fn(tokens), temperature, generator)
        if order == "confidence":
            score = logp
        elif order == "random":
            score = torch.rand(batch, tokens.shape[1], generator=generator, device="cpu").to(device)
        else:
            raise ValueError(f"unknown unmask order {order!r}; use random or confidence")
        # Already-fixed tokens must stay fixed: rank only the masked ones.
        score = score.masked_fill(~masked, float("inf"))
        keep_masked = torch.zeros_like(masked)
        if len(set(remains)) == 1 and remains[0] > 0:  # one count for all: one batched top-k
            keep_masked.scatter_(1, score.topk(remains[0], dim=-1, largest=False).indices, True)
        elif len(set(remains)) > 1:
            for row, remain in enumerate(remains):
                if remain > 0:
                    keep_masked[row, score[row].topk(remain, largest=False).indices] = True
        newly_fixed = masked & ~keep_masked
        tokens = torch.where(newly_fixed, sampled, tokens)
        masked = keep_masked
    return tokens
