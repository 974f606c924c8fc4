"""Linear layers with weights packed once for oneDNN: CPU inference only.

torch's plain CPU linear re-lays-out the weight on every call; for the small matrices of play
(64-256 rows, 128-512 wide) that costs as much as the multiply. Packing once at load and
calling oneDNN's linear directly gave, on the AMD EPYC (us per call, same results bit for bit):
256x128x384 fp32 167 -> 70, bf16 65 -> 43; 64x128x384 bf16 53 -> 24. A GELU right after a
linear runs inside the same kernel (bf16 256x128x512 + GELU: 104 -> 65).

Weights are packed from their values at the time of packing: a packed model is for inference
(with gradients on, the layers fall back to the plain linear of the same parameters).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

PACK_ROWS = 256  # rows the packing is tuned for (a frame's tokens); measured the same for 64-row calls


@functools.lru_cache(maxsize=4)
def can_pack(device_type: str, dtype: torch.dtype) -> bool:
    """Whether packed linears run, and agree with torch's, for this device and dtype: tried once on
    a small layer, so a CPU or build whose oneDNN lacks the kernel (bf16 forced on an old CPU, a
    torch without oneDNN) plays on torch's plain linear instead of failing mid-game."""
    if device_type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    try:
        layer = nn.Linear(8, 16).to(dtype)
        x = torch.randn(4, 8).to(dtype)
        with torch.inference_mode():
            return torch.allclose(PackedLinear(layer)(x).float(), layer(x).float(), atol=0.05)
    except RuntimeError:
        return False


class PackedLinear(nn.Module):
    """nn.Linear's parameters plus their oneDNN packing, optionally followed by a fused GELU."""

    def __init__(self, linear: nn.Linear, gelu: nn.GELU | None = None):
        super().__init__()
        self.weight, self.bias = linear.weight, linear.bias  # the same Parameters: state_dict keys unchanged
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.gelu = gelu
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), PACK_ROWS)
        self.post_op = ("gelu", [], gelu.approximate) if gelu is not None else ("none", [], "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            y = F.linear(x, self.weight, self.bias)
            return y if self.gelu is None else self.gelu(y)
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, *self.post_op)


def pack_linears(net: nn.Module) -> nn.Module:
    """Replace every nn.Linear in net (in place) by a PackedLinear, absorbing a GELU that directly
    follows one inside an nn.Sequential (its slot becomes nn.Identity); returns net."""
    for parent in list(net.modules()):
        children = list(parent.named_children())
        for i, (name, child) in enumerate(children):
            if not isinstance(child, nn.Linear):
                continue
            follower = children[i + 1][1] if i + 1 < len(children) else None
            gelu = follower if isinstance(parent, nn.Sequential) and isinstance(follower, nn.GELU) else None
            setattr(parent, name, PackedLinear(child, gelu))
            if gelu is not None:
                setattr(parent, children[i + 1][0], nn.Identity())
    return net
