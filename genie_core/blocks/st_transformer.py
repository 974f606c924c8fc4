"""The memory-efficient spatiotemporal (ST) transformer shared by all three Genie models.

Genie, Section 2.1 and Figure 4: each block runs spatial attention among the N tokens of one
frame, causal temporal attention among the T frames at one spatial position, then an MLP.
Cost grows linearly with T instead of quadratically in T*N.

Shape convention used throughout genie_core: suffixes name the dimensions, B batch, T frames,
N tokens per frame, C channels, H heads, D head dim, P past frames, L layers.

Temporal attention uses rotary position embeddings over the frame index, so what a frame sees
depends only on relative time: together with an optional sliding window (a frame sees at most
`window` frames, itself included) this makes per-frame keys/values computed once during play
exactly equal to a full recomputation, for rollouts of any length.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch import nn


@dataclass(frozen=True)
class Rope:
    """Rotary positions for one pass: cos/sin tables (T, D) for a pass over frames, or the (D, D)
    rotation of the one new frame of a cached pass (rope_rotation); neither for a lone frame,
    which attends only to itself."""
    cos_TD: torch.Tensor | None = None
    sin_TD: torch.Tensor | None = None
    rotation_DD: torch.Tensor | None = None


def rope_angles(positions_T: torch.Tensor, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables (T, D/2) for rotary embeddings; computed in float64 so frame 10,000 is exact."""
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = positions_T.to(torch.float64)[:, None] * inv_freq.to(positions_T.device)[None, :]
    return angles.cos().float(), angles.sin().float()


def apply_rope(x_xTD: torch.Tensor, cos_TD: torch.Tensor, sin_TD: torch.Tensor) -> torch.Tensor:
    x1, x2 = x_xTD[..., 0::2], x_xTD[..., 1::2]
    rotated = torch.stack((x1 * cos_TD - x2 * sin_TD, x1 * sin_TD + x2 * cos_TD), dim=-1)
    return rotated.flatten(-2)


def rope_rotation(positions_T: torch.Tensor, head_dim: int) -> torch.Tensor:
    """(D, D) matrix R with x @ R == apply_rope(x) at the one position given: a frame made alone
    (cached play) rotates its queries and keys in one small matmul instead of six elementwise ops."""
    assert positions_T.numel() == 1, "one frame at a time"
    cos, sin = (table[0] for table in rope_angles(positions_T, head_dim))
    rotation = torch.zeros(head_dim, head_dim, device=positions_T.device)
    even = torch.arange(0, head_dim, 2, device=positions_T.device)
    odd = even + 1
    rotation[even, even], rotation[odd, odd] = cos, cos
    rotation[odd, even], rotation[even, odd] = -sin, sin
    return rotation


# Keys up to this many take torch's plain (math) kernel when training on a CPU: the fused kernel's
# backward is slow over many short sequences. Measured in bf16 on a Xeon with AMX (torch 2.13, 2
# threads, 4 heads of 32, forward and backward): 64 keys 165 against 74 ms, 16-32 keys 130-160
# against 14-49 ms, but 256 keys 35 against 89 ms in the fused kernel's favour.
SHORT_KEYS_FOR_MATH = 64


def attention(q_SHLD: torch.Tensor, k_SHKD: torch.Tensor, v_SHKD: torch.Tensor,
              mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
    """Scaled dot-product attention; mask: bool, True = may attend. torch's fused kernel, in play
    too: measured in bf16 on a Xeon with AMX (torch 2.13, 2 threads, 4 heads of 32 over 256 tokens),
    it beats the product spelled out at every batch, 0.14 against 0.27 ms for one frame and 1.7
    against 4.0 ms for 16 (the spelled-out path it replaced had measured 172 against 272 us the
    other way for one frame, on an AMD EPYC). Training on a CPU over short sequences takes the math
    kernel instead (SHORT_KEYS_FOR_MATH); play never does, so its frames do not change."""
    if q_SHLD.requires_grad and q_SHLD.device.type == "cpu" and k_SHKD.shape[-2] <= SHORT_KEYS_FOR_MATH:
        with sdpa_kernel(SDPBackend.MATH):
            return F.scaled_dot_product_attention(q_SHLD, k_SHKD, v_SHKD, attn_mask=mask, is_causal=causal)
    return F.scaled_dot_product_attention(q_SHLD, k_SHKD, v_SHKD, attn_mask=mask, is_causal=causal)


def clean_past_mask(T: int, window: int | None, device) -> torch.Tensor:
    """(2T, 2T) temporal mask for a clean stream (frames 0..T-1) followed by a masked stream.

    The clean stream is plain causal. Masked frame t sees the clean frames before it and only
    itself from the masked stream: exactly what a frame being generated sees at play time, for
    every frame of the clip in one pass.
    """
    window = T if window is None else window
    i = torch.arange(T, device=device)
    offset = i[:, None] - i[None, :]
    clean = (offset >= 0) & (offset < window)
    past_only = (offset > 0) & (offset < window)
    top = torch.cat((clean, torch.zeros_like(clean)), dim=1)
    bottom = torch.cat((past_only, torch.eye(T, dtype=torch.bool, device=device)), dim=1)
    return torch.cat((top, bottom), dim=0)


def banded_causal_mask(T: int, window: int | None, device) -> torch.Tensor | None:
    """(T, T) bool mask, True = may attend: causal, and at most `window` frames back (self included)."""
    if window is None or window >= T:
        return None  # plain causal; SDPA's is_causal path is faster
    i = torch.arange(T, device=device)
    offset = i[:, None] - i[None, :]
    return (offset >= 0) & (offset < window)


class KVBuffer:
    """A ring of temporal keys/values: the past frames a new frame attends to, plus its own slot.

    Used only at inference. Keys are stored with their rotary position already applied, so
    attention does not depend on the order of the slots: a new frame's keys/values go into the slot
    of the oldest frame once the window is full, and nothing is copied from frame to frame.
    `load` fills the ring from per-frame keys/values (a start, an undo); `advance` makes the new
    frame part of the past once its final tokens' keys/values are in its slot.
    """

    def __init__(self, depth: int, tokens: int, heads: int, head_dim: int, window: int, device, dtype):
        self.k_LXHPD = torch.zeros(depth, tokens, heads, window, head_dim, device=device, dtype=dtype)
        self.v_LXHPD = torch.zeros_like(self.k_LXHPD)
        self.window = window
        self.slots_W = torch.arange(window, device=device)
        self.past = 0  # past frames held (at most window - 1)
        self.slot = 0  # where the frame being made goes

    def load(self, frames_kv: list[torch.Tensor]) -> None:
        """frames_kv: per past frame a (L, 2, X, H, D) tensor, oldest first; keeps the newest window-1."""
        frames_kv = frames_kv[max(0, len(frames_kv) - (self.window - 1)):] if self.window > 1 else []
        for p, kv in enumerate(frames_kv):
            self.k_LXHPD[:, :, :, p] = kv[:, 0]
            self.v_LXHPD[:, :, :, p] = kv[:, 1]
        self.past = self.slot = len(frames_kv)

    def advance(self) -> None:
        """The frame in the new slot joins the past; the next frame takes the oldest slot when full."""
        self.past = min(self.past + 1, self.window - 1)
        self.slot = (self.slot + 1) % self.window if self.past == self.window - 1 else self.past

    def attend(self, layer: int, q_XHD, k_XHD, v_XHD) -> torch.Tensor:
        """The new frame's one query per position and head against the ring -> (X, H, 1, D)."""
        self.k_LXHPD[layer, :, :, self.slot] = k_XHD
        self.v_LXHPD[layer, :, :, self.slot] = v_XHD
        # Always all slots, the empty ones masked while the window fills: one shape for every frame.
        # bf16 kernels are built per shape on first use (measured: up to 1.5 s a frame for the first
        # 20 frames when the key count grew frame by frame).
        # One query against a few keys, spelled out: torch's fused kernel pays per (position, head)
        # (measured, bf16: 256 positions x 4 keys 331 -> 115 us, 64 x 16 keys 118 -> 75 us).
        scores_XHP = (q_XHD[:, :, None] * self.k_LXHPD[layer]).sum(-1) * q_XHD.shape[-1] ** -0.5
        if self.past < self.window - 1:
            scores_XHP = scores_XHP.masked_fill(self.slots_W > self.past, float("-inf"))
        weights_XHP = scores_XHP.float().softmax(-1).to(q_XHD.dtype)
        return (weights_XHP[..., None] * self.v_LXHPD[layer]).sum(-2)[:, :, None]

    def new_frame_kv(self) -> torch.Tensor:
        """(L, 2, X, H, D) keys/values of the frame in the new slot, kept for an undo's reload."""
        return torch.stack((self.k_LXHPD[:, :, :, self.slot], self.v_LXHPD[:, :, :, self.slot]), dim=1)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        assert dim % heads == 0, "dim must be divisible by heads"
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def split_heads(self, x_SLC: torch.Tensor):
        S, Lq, _ = x_SLC.shape
        qkv = self.qkv(x_SLC).view(S, Lq, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]  # each (S, H, L, D)

    def values(self, x_SLC: torch.Tensor) -> torch.Tensor:
        """Only the values (S, H, L, D): all that attention over a single key returns."""
        S, Lq, C = x_SLC.shape
        v = F.linear(x_SLC, self.qkv.weight[2 * C:], self.qkv.bias[2 * C:])
        return v.view(S, Lq, self.heads, self.head_dim).transpose(1, 2)

    def one_frame_qkv(self, x_S1C: torch.Tensor, rotation_DD: torch.Tensor):
        """Queries and keys rotated to the frame's position, and values, each (S, H, D)."""
        S, Lq, _ = x_S1C.shape
        assert Lq == 1, "cached stepping makes one frame at a time"
        qkv = self.qkv(x_S1C).view(S, 3, self.heads, self.head_dim)
        qk = (qkv[:, :2].reshape(-1, self.head_dim) @ rotation_DD).view(S, 2, self.heads, self.head_dim)
        return qk[:, 0], qk[:, 1], qkv[:, 2]

    def merge_heads(self, out_SHLD: torch.Tensor) -> torch.Tensor:
        S, H, Lq, D = out_SHLD.shape
        return self.proj(out_SHLD.transpose(1, 2).reshape(S, Lq, H * D))


class STBlock(nn.Module):
    """Pre-norm residual block: spatial attention, causal temporal attention, MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm_spatial, self.spatial = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm_temporal, self.temporal = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))

    def forward(self, x_BTNC, rope: Rope, window=None, kv: KVBuffer | None = None, layer: int = 0,
                temporal_mask=None):
        B, T, N, C = x_BTNC.shape
        # Spatial: every frame on its own.
        h = self.norm_spatial(x_BTNC).reshape(B * T, N, C)
        q, k, v = self.spatial.split_heads(h)
        x_BTNC = x_BTNC + self.spatial.merge_heads(attention(q, k, v)).view(B, T, N, C)
        # Temporal: every spatial position on its own, causal over frames.
        h = self.norm_temporal(x_BTNC).transpose(1, 2).reshape(B * N, T, C)  # (B*N, T, C)
        if T == 1 and kv is None:  # a lone frame attends only to itself: softmax over one key is 1
            out = self.temporal.values(h)
        else:
            out = self._temporal_attention(h, rope, window, kv, layer, temporal_mask)
        out = self.temporal.merge_heads(out).view(B, N, T, C).transpose(1, 2)
        x_BTNC = x_BTNC + out
        return x_BTNC + self.mlp(self.norm_mlp(x_BTNC))

    def _temporal_attention(self, h_SLC, rope: Rope, window, kv: KVBuffer | None, layer: int, temporal_mask):
        if kv is not None:  # one new frame, rotated to its position by one matrix (see rope_rotation)
            return kv.attend(layer, *self.temporal.one_frame_qkv(h_SLC, rope.rotation_DD))
        T = h_SLC.shape[1]
        q, k, v = self.temporal.split_heads(h_SLC)
        q, k = apply_rope(q, rope.cos_TD, rope.sin_TD), apply_rope(k, rope.cos_TD, rope.sin_TD)
        mask = temporal_mask if temporal_mask is not None else banded_causal_mask(T, window, h_SLC.device)
        if mask is None:
            return attention(q, k, v, causal=True)
        return attention(q, k, v, mask)


class STTransformer(nn.Module):
    """A stack of ST blocks with a final LayerNorm; tokens in, tokens out (B, T, N, C)."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.blocks = nn.ModuleList(STBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.depth, self.heads, self.head_dim = depth, heads, dim // heads

    def forward(self, x_BTNC, positions_T=None, window: int | None = None, kv: KVBuffer | None = None,
                temporal_mask: torch.Tensor | None = None):
        """Full causal forward, or (kv given) one new frame attending to the buffered past frames.

        positions_T: frame indices used by the rotary embedding (default 0..T-1).
        window: at most this many frames visible to each frame, itself included (None: all).
        temporal_mask: (T, T) bool overriding the causal mask (see clean_past_mask).
        """
        if positions_T is None:
            positions_T = torch.arange(x_BTNC.shape[1], device=x_BTNC.device)
        if kv is not None:
            rope = Rope(rotation_DD=rope_rotation(positions_T, self.head_dim).to(x_BTNC.dtype))
        elif x_BTNC.shape[1] == 1:
            rope = Rope()  # a lone frame attends only to itself (see STBlock): no positions to rotate by
        else:
            cos, sin = (table.to(x_BTNC.dtype) for table in rope_angles(positions_T, self.head_dim))
            rope = Rope(cos, sin)
        for layer, block in enumerate(self.blocks):
            x_BTNC = block(x_BTNC, rope, window=window, kv=kv, layer=layer, temporal_mask=temporal_mask)
        return self.norm(x_BTNC)

    def new_kv_buffer(self, tokens: int, window: int, device) -> KVBuffer:
        """In the dtype the weights run in (fp32, or bf16 for play on CPUs with native bf16)."""
        dtype = self.norm.weight.dtype
        return KVBuffer(self.depth, tokens, self.heads, self.head_dim, window, device, dtype)
