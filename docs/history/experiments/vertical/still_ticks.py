import os, sys, numpy as np, torch, glob, collections
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../..'))
from genie_core.loading import load_world
from PIL import Image
torch.set_num_threads(1)
ck, changes, images = sys.argv[1], eval(sys.argv[2]), sys.argv[3:]
w = load_world(ck, device='cpu', precision='auto')
if changes: w.change_settings(**changes)
keys = (['right']*90 + ['jump']*22 + ['right']*45 + ['left']*45 + ['jump']*22) * 4
ids = {'right': 0, 'left': 6, 'jump': 5}
for path in images:
    img = np.load(path)['frames'][0] if path.endswith('.npz') else np.array(Image.open(path).convert('RGB'))
    w.reset(img)
    still = collections.Counter(); total = collections.Counter(); same = 0; prev = img
    for t, k in enumerate(keys):
        f = w.step(ids[k])
        if t >= 120:
            total[k] += 1
            m = w.rollout.last_motion()[0].tolist()
            still[k] += (m == [0, 0])
            same += bool((f == prev).all())
        prev = f
    print(path.split('/')[-1], 'ticks 121-896: camera still per key', {k: f'{still[k]}/{total[k]}' for k in total}, 'frames identical to the previous', f'{same}/{sum(total.values())}', flush=True)
