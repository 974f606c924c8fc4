"""Draw metrics.jsonl as PNG curves, one panel per metric."""
from __future__ import annotations

import json
import math
import os

from ..files import atomic_write_bytes


def read_metrics(path: str) -> list[dict]:
    rows = []
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut by a kill; the rest is still good
    return rows


def draw_curves(metrics_path: str, png_path: str) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    series: dict[str, tuple[list, list]] = {}
    for row in rows:
        for key, value in row.items():
            if key in ("step", "time_s", "split") or not isinstance(value, (int, float)):
                continue
            name = f"{row.get('split', 'train')}/{key}"
            xs, ys = series.setdefault(name, ([], []))
            xs.append(row["step"])
            ys.append(value)
    if not series:
        return
    cols = 4
    rows_n = math.ceil(len(series) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4 * cols, 2.6 * rows_n), squeeze=False)
    for ax, (name, (xs, ys)) in zip(axes.flat, sorted(series.items())):
        ax.plot(xs, ys, lw=1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(series):]:
        ax.axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    atomic_write_bytes(png_path, buffer.getvalue())
