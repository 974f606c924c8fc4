"""The per-game code confusion: known latent actions per key give known tables and shares."""
import numpy as np

from genie_core.data.coinrun import ACTION_NAMES
from genie_core.tools.code_confusion import KEYS, its_way_shares, key_table

NAMES = ["noop", "right", "left", "jump", "down", "right+jump", "right+down", "still"]


def test_a_key_counts_the_latent_actions_of_its_transitions_and_their_way():
    right, up, noop, special = (ACTION_NAMES.index(k) for k in ("RIGHT", "UP", "NOOP", "Q"))
    true = np.array([right, right, right, right, up, up, noop, special])
    latent = np.array([1, 5, 6, 2, 3, 5, 7, 1])  # right, right+jump, right+down, left; jump, right+jump; still
    table = key_table(latent, true, 8)
    assert table.shape == (8, len(KEYS)) and table.sum() == 7  # the special key is no plain key's
    assert table[:, KEYS.index("RIGHT")].tolist() == [0, 1, 1, 0, 0, 1, 1, 0]
    shares = its_way_shares(table, NAMES)
    assert shares["RIGHT"] == 0.75 and shares["UP"] == 1.0 and shares["NOOP"] == 1.0
    assert shares["LEFT"] is None and shares["DOWN"] is None  # never pressed
    # Numbered names ("right 2") still say their way.
    assert its_way_shares(table, ["noop", "right 2", *NAMES[2:]])["RIGHT"] == 0.75
