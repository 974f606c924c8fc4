"""Quality metrics with known answers: PSNR on the 0..255 scale, normalized mutual information."""
from __future__ import annotations

import numpy as np
import torch


def _unit(frames: torch.Tensor) -> torch.Tensor:
    return frames.float() / 255.0 if frames.dtype == torch.uint8 else frames.float().clamp(0, 1)


def psnr_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each frame (..., H, W, 3); uint8 (0..255) or float (0..1) inputs.

    Identical frames get 100 dB (a cap instead of infinity, so means stay finite).
    """
    mse = (_unit(prediction) - _unit(target)).pow(2).flatten(-3).mean(-1)
    return (10 * torch.log10(1.0 / mse.clamp(min=1e-10))).clamp(max=100.0)


def psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over frames of the per-frame PSNR (dB)."""
    return float(psnr_per_frame(prediction, target).mean())


def normalized_mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """NMI (arithmetic-mean normalisation, as scikit-learn's default) of two labelings; 1 = same partition."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    _, a_ids = np.unique(a, return_inverse=True)
    _, b_ids = np.unique(b, return_inverse=True)
    joint = np.zeros((a_ids.max() + 1, b_ids.max() + 1))
    np.add.at(joint, (a_ids, b_ids), 1)
    joint /= joint.sum()
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    if ha == 0 and hb == 0:
        return 1.0
    denom = (ha + hb) / 2
    return mi / denom if denom > 0 else 0.0


def kmeans(points: np.ndarray, k: int, seed: int = 0, iterations: int = 50) -> np.ndarray:
    """Cluster labels (X,) of points (X, D) into k classes (k-means++ seeding, Lloyd iterations);
    deterministic for a seed. Used to turn camera motions into k motion classes for NMI."""
    points = np.asarray(points, dtype=np.float64)
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, min(k, len(points))):
        distance = ((points[:, None] - np.array(centres)[None]) ** 2).sum(-1).min(1)
        if distance.sum() == 0:
            break
        centres.append(points[rng.choice(len(points), p=distance / distance.sum())])
    centres = np.array(centres)
    for _ in range(iterations):
        labels = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        moved = np.array([points[labels == c].mean(0) if (labels == c).any() else centres[c]
                          for c in range(len(centres))])
        if np.allclose(moved, centres):
            break
        centres = moved
    return ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
