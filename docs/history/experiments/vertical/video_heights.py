import os, sys, glob, numpy as np, torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
from genie_core.blocks.motion import episode_motions
torch.set_num_threads(2)
lo, hi, L = [], [], []
for p in sorted(glob.glob('data/coinrun5/*.npz'))[:300]:
    f = torch.from_numpy(np.load(p)['frames'])
    y = np.cumsum(episode_motions(f, 8)[:, 1].numpy())
    lo.append(y.min()); hi.append(y.max()); L.append(len(y))
lo, hi = np.array(lo), np.array(hi)
print('below start (min y) pcts 1/10/50', np.percentile(lo, [0.5, 1, 10, 50]), 'min', lo.min())
print('above start (max y) pcts 50/90/99', np.percentile(hi, [50, 90, 99, 99.5]), 'max', hi.max(), 'mean len', np.mean(L))
