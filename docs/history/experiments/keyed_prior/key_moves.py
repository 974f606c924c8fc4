"""The real camera's move per tick by the recorded key's sideways way, per game, on 16 held-out episodes a game
(200 ticks at most each): run from the repository root with PYTHONPATH=. (output: key_moves.txt)."""
import glob, numpy as np, torch
from genie_core.blocks.motion import frame_motions
from genie_core.data.coinrun import ACTION_NAMES
torch.set_num_threads(1)
way = np.array([1 if 'RIGHT' in n else -1 if 'LEFT' in n else 0 for n in ACTION_NAMES])
print(f"{'game':<10}{'key':>6}{'n':>6}{'mean dx':>9}{'|dx|<1':>8}{'same way':>9}{'other way':>10}")
for g in ['coinrun', 'ninja', 'climber', 'jumper', 'caveflyer']:
    dx, keys = [], []
    for p in sorted(glob.glob(f'data/games/{g}_heldout/*.npz'))[:16]:
        d = np.load(p)
        if len(d['frames']) < 3: continue
        f = torch.from_numpy(d['frames'][:200]); a = d['actions'][:199]
        m = frame_motions(f[None]).numpy()[0]  # (T-1, 2)
        dx.append(-m[:, 0]); keys.append(way[a])  # content moves left when the camera goes right
    dx, keys = np.concatenate(dx), np.concatenate(keys)
    for k, name in ((1, 'right'), (-1, 'left'), (0, 'none')):
        s = dx[keys == k]
        print(f"{g:<10}{name:>6}{len(s):>6}{s.mean():>+9.2f}{(abs(s) < 1).mean():>8.0%}{(np.sign(s) == k).mean() if k else 0:>9.0%}{(np.sign(s) == -k).mean() if k else 0:>10.0%}")
