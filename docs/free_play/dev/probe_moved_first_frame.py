import torch, numpy as np
torch.set_num_threads(1)
from genie_core.tools.evaluate import load_held_out
from genie_core.blocks.motion import frame_motions, shift_frames
from genie_core.blocks.metrics import psnr_per_frame
import inspect
_, clips = load_held_out("checkpoints/coinrun", "data/coinrun_dev", "cpu", 41)
res=[];cp=[]; n=0
for clip in clips.iter_windows(window=41, stride=41, batch_size=16):
    if n>=48: break
    real = torch.from_numpy(clip.frames[:48-n]); n+=len(real)
    B=len(real)
    m = frame_motions(real, 8)  # (B,40,2)
    cum = m.cumsum(1)
    preds = torch.stack([shift_frames(real[:,0], cum[:,t]) for t in range(40)],1)
    res.append(psnr_per_frame(preds, real[:,1:])); cp.append(psnr_per_frame(real[:,:1].expand(-1,40,-1,-1,-1), real[:,1:]))
r=torch.cat(res).mean(0); c=torch.cat(cp).mean(0)
for s in range(0,40,10): print(s+1, round(float(r[s:s+10].mean()),2), round(float(c[s:s+10].mean()),2))
