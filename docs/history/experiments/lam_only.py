"""Throw-away probe used to pick the shipped LAM's settings (results: lam_only.jsonl beside it).

Trains a LAM alone (no dynamics) for MINUTES on one thread on data/coinrun, then reports on the
unseen dev levels data/coinrun_dev: NMI of its codes with the true actions, per-code usage, and
its PSNR on frames that changed next to the PSNR of copying the last frame.

    PYTHONPATH=. python docs/history/experiments/lam_only.py NAME MINUTES [LAMConfig_field=value ...]
"""
import ast, sys, time, json, dataclasses, numpy as np, torch
from genie_core.models.config import LAMConfig
from genie_core.models.lam import LatentActionModel
from genie_core.data.clips import list_episodes
from genie_core.data.sampler import ClipSampler
from genie_core.blocks.metrics import normalized_mutual_information, psnr_per_frame
from genie_core.blocks.vq import code_usage
from genie_core.train.schedule import warmup_cosine
name, minutes = sys.argv[1], float(sys.argv[2])
over = {k: ast.literal_eval(v) for k, v in (a.split("=") for a in sys.argv[3:])}
torch.set_num_threads(1); torch.manual_seed(0)
cfg = dataclasses.replace(LAMConfig(), **over)
lam = LatentActionModel(cfg)
train = ClipSampler(list_episodes("data/coinrun"), 16)
dev = ClipSampler(list_episodes("data/coinrun_dev"), 16)
opt = torch.optim.AdamW(lam.parameters(), 4e-4, weight_decay=0.05)
rng = np.random.default_rng(0); t0 = time.time(); step = 0; last = None
while time.time() - t0 < minutes * 60:
    lr = warmup_cosine(step, (time.time() - t0) / (minutes * 60), 200, 4e-4)
    for g in opt.param_groups: g["lr"] = lr
    fr = torch.from_numpy(train.sample(8, rng).frames)
    out = lam(fr); out.loss.backward()
    torch.nn.utils.clip_grad_norm_(lam.parameters(), 1.0); opt.step(); opt.zero_grad()
    step += 1
    if step % 50 == 0: lam.vq.restart_dead_codes(out.latents.detach().reshape(-1, cfg.code_dim))
lam.eval()
lat, tru, gain, lp, cp = [], [], [], [], []
with torch.inference_mode():
    for clip in dev.iter_windows(window=16, stride=15, batch_size=16):
        fr = torch.from_numpy(clip.frames)
        out = lam(fr)
        lat.append(out.actions.flatten()); tru.append(torch.from_numpy(clip.actions).flatten())
        a = psnr_per_frame(out.recon, fr[:, 1:]).flatten(); c = psnr_per_frame(fr[:, :-1], fr[:, 1:]).flatten()
        keep = c < 100; lp.append(a[keep]); cp.append(c[keep])
lat, tru = torch.cat(lat), torch.cat(tru); lp, cp = torch.cat(lp), torch.cat(cp)
known = tru >= 0
res = dict(name=name, steps=step, over=str(over), nmi=normalized_mutual_information(lat[known].numpy(), tru[known].numpy()),
           usage=[round(float(u), 3) for u in code_usage(lat, 8)], lam_psnr_changed=float(lp.mean()), copy_psnr_changed=float(cp.mean()))
print(json.dumps(res), flush=True)
