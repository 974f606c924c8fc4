"""Latent actions against the true ones, where the data recorded them: counts and a picture."""
from __future__ import annotations

import io
import json
import sys

import numpy as np
import torch

from ..files import atomic_write_bytes


def confusion(latent: np.ndarray, true: np.ndarray, num_latent: int) -> tuple[np.ndarray, list[int]]:
    """Counts (num_latent, K) of latent action vs true action id, and the K true ids seen."""
    true_ids = sorted(set(true.tolist()))
    table = np.zeros((num_latent, len(true_ids)), dtype=np.int64)
    column = {a: i for i, a in enumerate(true_ids)}
    for l, t in zip(latent.tolist(), true.tolist()):
        table[l, column[t]] += 1
    return table, true_ids


def draw_confusion(table: np.ndarray, true_names: list[str], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    share = table / np.maximum(table.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(true_names), 1 + 0.45 * len(table)))
    ax.imshow(share, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(true_names)), true_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(table)), [f"latent {i} (n={n})" for i, n in enumerate(table.sum(1))], fontsize=8)
    for (i, j), value in np.ndenumerate(share):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="w" if value < 0.5 else "k")
    ax.set_title("P(true action | latent action), held-out transitions", fontsize=9)
    save_figure(fig, path, dpi=100)


def save_figure(fig, path: str, dpi: int) -> None:
    """A matplotlib figure as a PNG at path (written whole, then renamed), and closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def write_confusion(latent: torch.Tensor, true: torch.Tensor, num_actions: int, data: str, path: str) -> None:
    """The latent x true action picture at `path`, or a note when the data has no true actions."""
    known = (true >= 0).numpy()
    if not known.any():
        print("no true actions in --data: no confusion picture", file=sys.stderr)
        return
    table, true_ids = confusion(latent.numpy()[known], true.numpy()[known], num_actions)
    draw_confusion(table, [clips_action_name(data, a) for a in true_ids], path)
    print(f"wrote {path}")


def clips_action_name(data: str, action_id: int) -> str:
    """Name of a true action id from the data folder's meta.json, else the id itself."""
    try:
        with open(f"{data}/meta.json") as f:
            return str(json.load(f)["action_names"][action_id])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return str(action_id)
