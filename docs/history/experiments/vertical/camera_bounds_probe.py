# prototype: the camera's vertical runs bounded as in the training video (rise <= R px, from the ground only; fall <= F px)
import os, torch, genie_core.world.rollout as R
from genie_core.blocks.motion import id_to_motion, motion_to_id
RISE, FALL = int(os.environ.get('RISE', 33)), int(os.environ.get('FALL', 56))
orig = R.Rollout._next_motion
def vertical_runs(self):
    """per world: (current rising px, current falling px, whether a rise may start)"""
    B = self.batch
    dys = [id_to_motion(r.motion_B, self.motion_radius)[:, 1] * (r.motion_B < self.dynamics.num_motions)
           for r in self.history[-40:][1:]] if len(self.history) > 1 else []
    rise, fall, may = torch.zeros(B, dtype=torch.long), torch.zeros(B, dtype=torch.long), torch.ones(B, dtype=torch.bool)
    for b in range(B):
        seq = [int(d[b]) for d in dys]
        r = f = 0
        for v in reversed(seq):
            if v > 0 and f == 0: r += v
            elif v < 0 and r == 0: f += v * -1
            else: break
        rise[b], fall[b] = r, f
        if r == 0 and f == 0:  # level now: a rise may start unless the last move before this still spell rose, after < 2 still ticks
            still = 0; last = 0
            for v in reversed(seq):
                if v == 0: still += 1
                else: last = v; break
            may[b] = not (last > 0 and still < 2)
    return rise, fall, may
def next_motion(self, action_B, temperature, generator):
    motion = orig(self, action_B, temperature, generator)
    shift = id_to_motion(motion, self.motion_radius).clone()
    rise, fall, may = vertical_runs(self)
    dy = shift[:, 1].cpu()
    up = dy > 0
    allowed_up = torch.where(rise > 0, (RISE - rise).clamp(min=0), torch.where(may, torch.full_like(rise, RISE), torch.zeros_like(rise)))
    down = dy < 0
    allowed_down = (FALL - fall).clamp(min=0)
    dy = torch.where(up, torch.minimum(dy, allowed_up), dy)
    dy = torch.where(down, -torch.minimum(-dy, allowed_down), dy)
    shift[:, 1] = dy.to(shift.device)
    return motion_to_id(shift, self.motion_radius)
R.Rollout._next_motion = next_motion
LOW, HIGH = int(os.environ.get('LOW', 4)), int(os.environ.get('HIGH', 92))
inner = R.Rollout._next_motion
def next_motion2(self, action_B, temperature, generator):
    motion = inner(self, action_B, temperature, generator)
    if len(self.history) == 1 or not hasattr(self, '_y'):
        self._y = torch.zeros(self.batch, dtype=torch.long)
    shift = id_to_motion(motion, self.motion_radius).clone()
    dy = shift[:, 1].cpu()
    new = (self._y + dy).clamp(-LOW, HIGH)
    shift[:, 1] = (new - self._y).to(shift.device)
    self._y = new
    return motion_to_id(shift, self.motion_radius)
if os.environ.get('YCLAMP'): R.Rollout._next_motion = next_motion2
