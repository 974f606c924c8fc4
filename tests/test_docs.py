"""The front page stays short and every relative link in README.md and docs/ leads somewhere."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), REPO / "checkpoints" / "coinrun" / "MODEL_CARD.md",
            REPO / "checkpoints" / "games" / "MODEL_CARD.md"]


def test_every_relative_link_exists():
    broken = []
    for page in pages():
        for target in LINK.findall(page.read_text()):
            if re.match(r"(https?:|mailto:|#)", target):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_the_readme_is_a_front_page():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 150, len(lines)
    first_screen = "\n".join(lines[:45])
    assert ".gif)" in first_screen and "pip install -r requirements.txt && python main.py" in first_screen
    assert "## Controls" in first_screen
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    test_command = next(line.strip() for line in lines if "python -m pytest" in line)
    assert ci.endswith(test_command)
