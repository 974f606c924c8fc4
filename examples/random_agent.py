"""A random agent in the dreamed world, saved as a GIF: python examples/random_agent.py [OUT.gif] [STEPS]"""
import sys

import gymnasium
import numpy as np
from PIL import Image

import genie_core.envs  # noqa: F401  (registers GeniePlay/CoinRun-v0)


def run(env: gymnasium.Env, steps: int, out: str, seed: int = 0) -> list[np.ndarray]:
    frame, info = env.reset(seed=seed)
    frames = [frame]
    for tick in range(steps):
        if tick % 5 == 0:  # hold a random key for 5 ticks, as a player would
            action = env.action_space.sample()
        frame, reward, terminated, truncated, info = env.step(action)
        frames.append(frame)
        if terminated or truncated:
            break
    print(f"{len(frames) - 1} steps; keys: {', '.join(info['action_names'])}")
    big = [Image.fromarray(f).resize((256, 256), Image.Resampling.NEAREST) for f in frames]
    big[0].save(out, save_all=True, append_images=big[1:], duration=100, loop=0)
    return frames


if __name__ == "__main__":
    env = gymnasium.make("GeniePlay/CoinRun-v0")
    env.action_space.seed(0)
    run(env, int(sys.argv[2]) if len(sys.argv) > 2 else 100, sys.argv[1] if len(sys.argv) > 1 else "random_agent.gif")
