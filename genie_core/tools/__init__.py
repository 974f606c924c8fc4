"""Command-line tools around a checkpoint: evaluate, bench, action_sheet, action_names, key_motion."""
from __future__ import annotations

from ..files import atomic_write_json


def print_and_save(table: str, results: dict, json_path: str | None) -> None:
    """A tool's results: the table on stdout, and all of them as JSON at json_path when given."""
    print(table)
    if json_path:
        atomic_write_json(json_path, results)
        print(f"wrote {json_path}")
