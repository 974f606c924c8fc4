"""Keys -> latent actions and player commands, read from keymap.json (the keymap is data)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_KEYMAP = Path(__file__).with_name("keymap.json")

# What each command does, in the words the help overlay shows.
COMMAND_HELP = {
    "reset": "reset to the start image",
    "undo": "undo one step",
    "pause": "pause / resume",
    "step": "one step while paused",
    "more_steps": "more MaskGIT rounds",
    "fewer_steps": "fewer MaskGIT rounds",
    "steadier": "steadier world (more copy bias)",
    "livelier": "livelier world (less copy bias)",
    "record": "start / stop GIF recording",
    "screenshot": "save a PNG screenshot",
    "help": "show / hide this help",
    "quit": "quit",
}

_KEY_LABELS = {"return": "Enter", "escape": "Esc", "backspace": "Backspace",
               "space": "Space", "left": "Left", "right": "Right", "up": "Up", "down": "Down"}


def is_keypad(name: str) -> bool:
    """pygame names keypad keys '[1]', '[+]', 'enter' ('[' alone is the bracket key)."""
    return name == "enter" or (name.startswith("[") and len(name) > 1)


def key_label(name: str) -> str:
    """pygame key name -> what is printed on the key cap."""
    if name in _KEY_LABELS:
        return _KEY_LABELS[name]
    return name.upper() if len(name) <= 3 else name.title()


def normalise_action_name(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def action_ids_by_name(action_names: list[str]) -> dict[str, int]:
    """Normalised name -> action id; the first action wins if a checkpoint repeats a name."""
    ids: dict[str, int] = {}
    for action, name in enumerate(action_names):
        ids.setdefault(normalise_action_name(name), action)
    return ids


@dataclass(frozen=True)
class Keymap:
    """Resolved bindings for one world: key name -> action id, key name -> command."""

    action_for_key: dict[str, int]
    command_for_key: dict[str, str]
    idle_action: int | None  # the action named noop/idle, when the checkpoint names its actions
    action_names: list[str] | None

    def keys_for_action(self, action: int) -> list[str]:
        return [key for key, a in self.action_for_key.items() if a == action]

    def keys_for_command(self, command: str) -> list[str]:
        return [key for key, c in self.command_for_key.items() if c == command]

    def action_label(self, action: int) -> str:
        """'3' or '3 right': the id, and the checkpoint's name for it when there is one."""
        if self.action_names and action < len(self.action_names):
            return f"{action} {self.action_names[action]}"
        return str(action)

    def help_rows(self) -> list[tuple[str, str]]:
        """Every binding as (keys, meaning), built from the data so it is never out of date."""
        rows = []
        for command, meaning in COMMAND_HELP.items():
            keys = [key_label(k) for k in self.keys_for_command(command) if not is_keypad(k)]
            rows.append((" / ".join(keys[:3]), meaning))
        for action in sorted(set(self.action_for_key.values())):
            keys = [key_label(k) for k in self.keys_for_action(action) if not is_keypad(k)]
            idle = "  (idle)" if action == self.idle_action else ""
            rows.append((" / ".join(keys), f"action {self.action_label(action)}{idle}"))
        return rows


def load_keymap(num_actions: int, action_names: list[str] | None = None,
                path: str | Path = DEFAULT_KEYMAP, *, direction_keys: dict[str, int] | None = None) -> Keymap:
    """Bind number keys to actions 0..num_actions-1, arrows/space by action name, and the commands.
    direction_keys ({"left": id, ...}, from the checkpoint's actions.json): the action that moves
    most that way, for the arrow keys that no action's name claims.

    Raises ValueError when the file binds one key twice or names an unknown command.
    """
    data = json.loads(Path(path).read_text())
    command_for_key: dict[str, str] = {}
    for command, keys in data["commands"].items():
        if command not in COMMAND_HELP:
            raise ValueError(f"{path}: unknown command {command!r}; known: {', '.join(COMMAND_HELP)}")
        for key in keys:
            if key in command_for_key:
                raise ValueError(f"{path}: key {key!r} is bound to both {command_for_key[key]} and {command}")
            command_for_key[key] = command

    action_for_key: dict[str, int] = {}
    for action, keys in enumerate(data["action_keys"][:num_actions]):
        for key in keys:
            action_for_key[key] = action

    idle_action = None
    if action_names:
        ids_by_name = action_ids_by_name(action_names[:num_actions])
        # First entry to claim a key keeps it, so a checkpoint with both "up" and "jump" gets both.
        for name, keys in data["named_action_keys"]:
            if name in ids_by_name:
                for key in keys:
                    action_for_key.setdefault(key, ids_by_name[name])
        idle_action = next((ids_by_name[n] for n in data["idle_names"] if n in ids_by_name), None)
    for name, keys in data["named_action_keys"] if direction_keys else ():
        if 0 <= direction_keys.get(name, -1) < num_actions:
            for key in keys:
                action_for_key.setdefault(key, direction_keys[name])

    clashes = sorted(set(action_for_key) & set(command_for_key))
    if clashes:
        raise ValueError(f"{path}: keys {clashes} are bound to both an action and a command")
    return Keymap(action_for_key, command_for_key, idle_action, action_names)
