"""The core's shape, as issue 15 set it: short files and functions, a small top level, and an
engine (world.py) that uses the models only through their public methods."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_FILE_LINES, MAX_FUNCTION_LINES, MAX_TOP_LEVEL_MODULES = 300, 60, 8
# What the engine may call on a model: its narrow methods for cached play, nothing inside it.
MODEL_INTERNALS = {"embed", "frame_actions", "transformer", "head", "decoder", "encoder", "vq", "token_embed",
                   "decode_codes", "encode_latents"}


def sources():
    return sorted([*(REPO / "genie_core").rglob("*.py"), *(REPO / "play").rglob("*.py"), REPO / "main.py"])


def test_files_and_functions_are_short():
    long_files, long_functions = [], []
    for path in sources():
        text = path.read_text()
        if len(text.splitlines()) > MAX_FILE_LINES:
            long_files.append(f"{path.relative_to(REPO)} ({len(text.splitlines())} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(REPO)}:{node.name} ({length} lines)")
    assert not long_files and not long_functions, long_files + long_functions


def test_genie_core_top_level_stays_small():
    modules = [p.name for p in (REPO / "genie_core").glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, sorted(modules)


def test_world_uses_no_model_internals():
    for path in (REPO / "genie_core" / "world").glob("*.py"):
        tree = ast.parse(path.read_text())
        reached = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                   and isinstance(node.value, ast.Attribute) and node.value.attr in ("dynamics", "tokenizer", "d")}
        assert not reached & MODEL_INTERNALS, (path.name, sorted(reached & MODEL_INTERNALS))


def test_exactly_one_decode_settings_class():
    defined = [path for path in sources() if "class DecodeSettings" in path.read_text()]
    assert [p.relative_to(REPO).as_posix() for p in defined] == ["genie_core/decoding.py"]
