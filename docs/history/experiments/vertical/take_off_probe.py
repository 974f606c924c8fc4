# prototype: the prior steers keys differently on the ground and in the air
import torch, genie_core.models.prior as P, genie_core.world.rollout as R
RISING = (1, 5)
AIR_YIELD = float(__import__('os').environ.get('AIR_YIELD', '1.0'))
orig = P.steer_actions
def steer(prior, frames, moves, actions, yield_below):
    sideways = torch.tensor([9 if s is None else s for s in prior.config.sideways], device=actions.device)
    same_way = (sideways[None, :] == sideways[actions][:, None]) & (sideways[None, :] != 9)
    probs = torch.softmax(prior(frames, moves), -1).to(actions.device)
    best = probs.masked_fill(~same_way, -1.0).max(-1)
    own = probs.gather(1, actions[:, None])[:, 0]
    air = (moves[:, -1, 1] != 0) | (moves[:, -2, 1] != 0)
    rising_key = (actions[:, None] == torch.tensor(RISING, device=actions.device)).any(-1)
    threshold = torch.where(air, torch.full_like(own, AIR_YIELD), torch.full_like(own, yield_below))
    steer = (sideways[actions] != 9) & (own < threshold * best.values) & ~(~air & rising_key)
    return torch.where(steer, best.indices, actions)
R.steer_actions = steer
