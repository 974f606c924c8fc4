# probe: take-off from level ground, and in the air the key's action steered away from rising once the rise
# is spent (or no rise may start) and from falling once a fall reached the video's longest; motion bounds as backstop
import os, torch, genie_core.world.rollout as R
os.environ.setdefault('ARC', '1')
import camera_bounds_probe as B  # (this folder) RISE, FALL, vertical_runs, the motion clamp
CUR = {}
orig_nf = R.Rollout._next_frame
def nf(self, action_B, *a, **k):
    CUR['r'] = self
    return orig_nf(self, action_B, *a, **k)
R.Rollout._next_frame = nf
orig_steer = R.steer_actions
FALLING = (2, 4)
def steer(prior, frames, moves, actions, yb, keep=None):
    out = orig_steer(prior, frames, moves, actions, yb, keep)
    r = CUR['r']
    rise, fall, may = B.vertical_runs(r)
    no_rise = (rise >= B.RISE) | ((rise == 0) & ~may)
    no_fall = fall >= B.FALL
    probs = torch.softmax(prior(frames, moves), -1)
    side = prior.config.sideways
    for b in range(len(out)):
        a = int(out[b])
        banned = set(r.rising) if (a in r.rising and bool(no_rise[b])) else set(FALLING) if (a in FALLING and bool(no_fall[b])) else None
        if banned:
            way = [c for c in range(len(side)) if side[c] is not None and side[c] == side[a] and c not in banned]
            if way:
                out[b] = max(way, key=lambda c: float(probs[b, c]))
    return out
R.steer_actions = steer
