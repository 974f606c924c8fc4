# per start: each jump phase's rise (max cum camera-up within phase+10 ticks) for model and real; model min/max
import os, sys, numpy as np, torch, glob, json
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
from genie_core.loading import load_world
import os
if os.environ.get("AIR"): sys.path.insert(0, os.path.dirname(__file__)); import take_off_probe
if os.environ.get("ARC"): sys.path.insert(0, os.path.dirname(__file__)); import camera_bounds_probe
from genie_core.tools.key_motion import play_real_keys
from genie_core.blocks.motion import frame_motions
torch.set_num_threads(1)
ck, changes, n, data = sys.argv[1], eval(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
w = load_world(ck, device='cpu', precision='auto')
if changes: w.change_settings(**changes)
phases = [('right',90),('jump',22),('right',45),('left',45),('jump',22)]*4
keys = [k for k, L in phases for _ in range(L)]
ids = {'right': 0, 'left': 6, 'jump': 5}
def rises(cum, stop=None):
    out, t = [], 0
    for ph, L in phases:
        if ph == 'jump':
            if stop is not None and t + L + 10 > stop: out.append(None)
            else: seg = cum[t:t+L+10]; out.append(int(seg.max() - seg[0]))
        t += L
    return out
tot = {'m': [], 'r': []}
for path in sorted(glob.glob(data + '/*.npz'))[:n]:
    img = np.load(path)['frames'][0]; level = int(np.load(path)['level'])
    w.reset(img); cum = [0]
    for k in keys:
        w.step(ids[k]); cum.append(cum[-1] + w.rollout.last_motion()[0].tolist()[1])
    real = play_real_keys(level, 64, keys)
    rc = np.concatenate(([0], np.cumsum(frame_motions(real.frames).numpy()[:, 1])))
    mr, rr = rises(np.array(cum)), rises(rc, real.restart)
    tot['m'] += mr; tot['r'] += [x for x in rr]
    print(path.split('/')[-1], 'model', mr, 'range', int(min(cum)), int(max(cum)), '| real', rr, 'restart', real.restart, flush=True)
pairs = [(a, b) for a, b in zip(tot['m'], tot['r']) if b is not None]
print('pairs', len(pairs), 'model rise mean', np.mean([a for a, b in pairs]), 'real', np.mean([b for a, b in pairs]),
      'model zero', sum(a == 0 for a, b in pairs), 'real zero', sum(b == 0 for a, b in pairs), 'model>50', sum(a > 50 for a, _ in pairs))
