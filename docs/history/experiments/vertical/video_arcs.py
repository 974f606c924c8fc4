import os, sys, glob, numpy as np, torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
from genie_core.blocks.motion import episode_motions
torch.set_num_threads(2)
rises, rise_len, fall_len, fall_px = [], [], [], []
for p in sorted(glob.glob('data/coinrun5/*.npz'))[:300]:
    f = torch.from_numpy(np.load(p)['frames'])
    dy = episode_motions(f, 8)[1:, 1].numpy()  # content dy; >0 camera up
    run = 0; acc = 0; frun = 0; facc = 0
    for v in list(dy) + [0]:
        if v > 0: run += 1; acc += v
        else:
            if run: rises.append(acc); rise_len.append(run)
            run = 0; acc = 0
        if v < 0: frun += 1; facc += -v
        else:
            if frun: fall_len.append(frun); fall_px.append(facc)
            frun = 0; facc = 0
for name, a in [('rise px', rises), ('rise ticks', rise_len), ('fall ticks', fall_len), ('fall px', fall_px)]:
    a = np.array(a); print(name, len(a), 'pcts 50/90/99/99.9/max', np.percentile(a, [50, 90, 99, 99.9]).round(1), a.max())
