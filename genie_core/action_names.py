"""Name each latent action by its dominant effect, from held-out transitions with true actions.

Writes CHECKPOINT/actions.json: {"names": [...], "evidence": ...}. The player shows the names in
its header and puts left/right/jump on the arrow and jump keys.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .checkpoint import atomic_write_text

# Game-specific true action labels -> words the player's keymap understands.
FRIENDLY = {"LEFT": "left", "RIGHT": "right", "UP": "jump", "DOWN": "down", "NOOP": "noop",
            "LEFT+UP": "left+jump", "RIGHT+UP": "right+jump", "LEFT+DOWN": "left+down",
            "RIGHT+DOWN": "right+down"}


def _direction(name: str) -> tuple[int, int]:
    """(horizontal, vertical) of a true action name: LEFT -1, RIGHT +1, UP (jump) +1, DOWN -1."""
    parts = name.upper().split("+")
    return (("RIGHT" in parts) - ("LEFT" in parts), ("UP" in parts) - ("DOWN" in parts))


def name_actions(table: np.ndarray, true_names: list[str]) -> list[str]:
    """table: counts (latent, true). Each latent is named by the average direction of the true
    actions behind it, relative to the data's overall mix (so data dominated by running right
    does not name everything "right")."""
    table = table.astype(np.float64)
    overall = table.sum(0) / max(table.sum(), 1)
    directions = np.array([_direction(n) for n in true_names], dtype=np.float64)  # (K, 2)
    mean_direction = overall @ directions
    names = []
    for row in table:
        if row.sum() == 0:
            names.append("unused")
            continue
        share = row / row.sum()
        dx, dy = share @ directions - mean_direction
        horizontal = "right" if dx > 0.15 else "left" if dx < -0.15 else ""
        vertical = "jump" if dy > 0.15 else "down" if dy < -0.15 else ""
        names.append("+".join(p for p in (horizontal, vertical) if p) or "noop")
    # The first latent with a name keeps it plain (so the player's arrow keys find it); later
    # ones with the same effect become "right 2", "right 3".
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} {seen[name]}"
    return names


def write_action_names(checkpoint: str, names: list[str], table: np.ndarray, true_names: list[str]) -> None:
    share = table / np.maximum(table.sum(1, keepdims=True), 1)
    evidence = {f"latent {i}": {true_names[j]: round(float(share[i, j]), 3) for j in np.argsort(-share[i])[:3]}
                for i in range(len(names))}
    payload = {"names": names, "method": "dominant direction of the true actions behind each latent "
               "action on held-out data, relative to the data's mix", "evidence": evidence}
    atomic_write_text(os.path.join(checkpoint, "actions.json"), json.dumps(payload, indent=2))
