# Issue 26 check: 30 headless ticks of the shipped checkpoint (seed 3; keys 0..7 twice, Right x6, Jump x4, then 3 sampled rounds at temperature 1), saved to compare before/after.
# PYTHONPATH=. python docs/history/refactor_check/frames_check.py OUT.npy
import sys, numpy as np, torch
torch.set_num_threads(1)
from genie_core.loading import load_world
from genie_core.imaging import load_image
w = load_world("checkpoints/coinrun", "cpu", seed=3)
img = load_image("assets/coinrun_level1000000.png", 64)[0]
frames = [w.reset(img)]
for a in list(range(8)) * 2 + [0] * 6 + [1] * 4:
    frames.append(w.step(a))
w.change_settings(**{f: v for f, v in dict(rounds=3, temperature=1.0, order="random").items()})
for a in [0, 5, 6, 1]:
    frames.append(w.step(a))
np.save(sys.argv[1], np.stack(frames))
print(len(frames))
