"""The world as a Gymnasium environment, for agents (Genie trains agents from its latent actions).

    import gymnasium
    import genie_core.envs  # registers GeniePlay/CoinRun-v0
    env = gymnasium.make("GeniePlay/CoinRun-v0")
    vec = gymnasium.make_vec("GeniePlay/CoinRun-v0", num_envs=16, vectorization_mode="vector_entry_point")

GenieEnv is one world; GenieVectorEnv steps N worlds in one batched forward pass (Rollout is
batched), with Gymnasium's next-step auto-reset. Observations are the generated frames, uint8
(H, W, 3); actions are the latent action ids. Nothing ends an episode (terminated is always
False): a dreamed level has no goal the model knows of. Episodes are truncated at
max_episode_steps. The reward is 0.0 unless a reward_fn(frame, action) -> float is given.
"""
from __future__ import annotations

import glob
import os
from typing import Any, Callable

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .imaging import fit_frame, load_image
from .loading import load_models, read_action_labels
from .world import World
from .world.rollout import Rollout

ENV_ID = "GeniePlay/CoinRun-v0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CHECKPOINT = os.path.join(ROOT, "checkpoints", "coinrun")
DEFAULT_STARTS = os.path.join(ROOT, "assets", "coinrun_level*.png")
MAX_EPISODE_STEPS = 600  # a minute of play at 10 frames a second
RewardFn = Callable[[np.ndarray, int], float]


def start_pictures(starts: str | list | None, size: int) -> list[np.ndarray]:
    """Start pictures as uint8 (size, size, 3): from a glob pattern, or a list of paths and arrays;
    None: the level pictures in assets/."""
    starts = DEFAULT_STARTS if starts is None else starts
    items = sorted(glob.glob(starts)) if isinstance(starts, str) else list(starts)
    if not items:
        raise ValueError(f"no start pictures in {starts!r}; pass options={{'image': ...}} or starts=[...]")
    return [picture(item, size) for item in items]


def picture(image: str | np.ndarray, size: int) -> np.ndarray:
    """A path or an array -> uint8 (size, size, 3), fitted as the player fits a start image."""
    return load_image(image, size)[0] if isinstance(image, (str, os.PathLike)) else fit_frame(np.asarray(image), size)


class HumanView:
    """A pygame window showing the newest frame, scaled up (render_mode "human")."""

    def __init__(self, scale: int = 8):
        import pygame

        self.pygame, self.scale, self.screen = pygame, scale, None

    def show(self, frame: np.ndarray) -> None:
        pygame = self.pygame
        if self.screen is None:
            pygame.init()
            self.screen = pygame.display.set_mode((frame.shape[1] * self.scale, frame.shape[0] * self.scale))
            pygame.display.set_caption("genie-play")
        surface = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        self.screen.blit(pygame.transform.scale(surface, self.screen.get_size()), (0, 0))
        pygame.event.pump()
        pygame.display.flip()

    def close(self) -> None:
        if self.screen is not None:
            self.pygame.display.quit()
            self.screen = None


class GenieEnv(gymnasium.Env):
    """One dreamed world: reset(seed, options={"image": path or array}) -> frame; step(action id)."""

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 10}

    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, render_mode: str | None = None,
                 max_episode_steps: int = MAX_EPISODE_STEPS, reward_fn: RewardFn | None = None,
                 starts: str | list | None = None, device: str = "auto", world: World | None = None):
        """world: a ready World (tests pass a tiny random one); else the checkpoint's is loaded."""
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be at least 1, got {max_episode_steps}")
        if world is None:
            from .loading import load_world

            world = load_world(checkpoint, device)
        self.world, self.render_mode, self.reward_fn = world, render_mode, reward_fn
        self.max_episode_steps, self.starts = max_episode_steps, starts
        size = world.image_size
        self.observation_space = spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.action_space = spaces.Discrete(world.num_actions)
        self.action_names = world.action_names or [str(i) for i in range(world.num_actions)]
        self.ticks, self.view = 0, HumanView() if render_mode == "human" else None

    def _info(self) -> dict[str, Any]:
        # played_action: the latent action the last step was made with, the agent's own or the one the
        # checkpoint's action prior steered it to (models/prior.py); None after a reset.
        return {"action_names": self.action_names, "tick": self.ticks, "played_action": self.world.played_action}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        image = (options or {}).get("image")
        if image is None:
            pictures = start_pictures(self.starts, self.world.image_size)
            image = pictures[int(self.np_random.integers(len(pictures)))]
        if seed is not None:
            self.world.reseed(seed)  # MaskGIT's sampling, when the temperature is above 0
        frame = self.world.reset(picture(image, self.world.image_size))
        self.ticks = 0
        self._show(frame)
        return frame, self._info()

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        frame = self.world.step(int(action))
        self.ticks += 1
        reward = float(self.reward_fn(frame, int(action))) if self.reward_fn else 0.0
        self._show(frame)
        return frame, reward, False, self.ticks >= self.max_episode_steps, self._info()

    def _show(self, frame: np.ndarray) -> None:
        if self.view is not None:
            self.view.show(frame)

    def render(self):
        if self.render_mode == "rgb_array":
            return self.world.frame
        if self.view is not None and self.world.frame is not None:
            self.view.show(self.world.frame)
        return None

    def close(self):
        if self.view is not None:
            self.view.close()


class GenieVectorEnv(VectorEnv):
    """num_envs worlds stepped together in one batched pass, with next-step auto-reset.

    The worlds share one clock: they start together and, since no episode terminates, are truncated
    together at max_episode_steps; the step after that resets all of them to new start pictures."""

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 8, checkpoint: str = DEFAULT_CHECKPOINT, render_mode: str | None = None,
                 max_episode_steps: int = MAX_EPISODE_STEPS, reward_fn: RewardFn | None = None,
                 starts: str | list | None = None, device: str = "auto", models=None):
        """models: ready GenieModels (tests pass tiny random ones); else the checkpoint's are loaded."""
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None for {num_envs} worlds, got {render_mode!r}")
        if num_envs < 1 or max_episode_steps < 1:
            raise ValueError(f"num_envs and max_episode_steps must be at least 1, got {num_envs}, {max_episode_steps}")
        names = None
        if models is None:
            models = load_models(checkpoint, device, "auto")  # as load_world: bf16 where the hardware has it
            names, _ = read_action_labels(checkpoint, models.dynamics.config.num_actions)
        self.models, self.num_envs, self.render_mode = models, num_envs, render_mode
        self.max_episode_steps, self.reward_fn, self.starts = max_episode_steps, reward_fn, starts
        self.context = models.dynamics.config.max_frames
        self.rollout = Rollout.of(models, models.decoding, self.context, undoable=False)
        size, actions = models.tokenizer.config.image_size, models.dynamics.config.num_actions
        self.single_observation_space = spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.single_action_space = spaces.Discrete(actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.action_names = names or [str(i) for i in range(actions)]
        self.ticks, self.frames, self.generator = 0, None, torch.Generator()
        self.needs_reset = False

    def _info(self) -> dict[str, Any]:
        """played_action: per world, the latent action its last step was made with (the agent's own or the
        one the action prior steered it to), -1 after a reset."""
        last = self.rollout.history[-1].action_B if self.rollout.history else None
        played = np.full(self.num_envs, -1) if last is None or self.ticks == 0 else last.cpu().numpy().astype(np.int64)
        return {"tick": np.full(self.num_envs, self.ticks), "action_names": self.action_names, "played_action": played}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "reset_mask" in options and not np.all(options["reset_mask"]):
            raise ValueError("GenieVectorEnv resets its worlds together (they share one batched rollout)")
        size = self.single_observation_space.shape[0]
        images = options.get("images", options.get("image"))
        if images is None:
            pictures = start_pictures(self.starts, size)
            images = [pictures[int(i)] for i in self.np_random.integers(len(pictures), size=self.num_envs)]
        elif isinstance(images, (str, os.PathLike)) or np.asarray(images).ndim == 3:
            images = [images] * self.num_envs
        if len(images) != self.num_envs:
            raise ValueError(f"options['images'] holds {len(images)} pictures for {self.num_envs} worlds")
        if seed is not None:
            self.generator.manual_seed(seed)
        start = torch.from_numpy(np.stack([picture(image, size) for image in images]))
        self.frames = self.rollout.start(start).cpu().numpy()
        self.ticks, self.needs_reset = 0, False
        return self.frames.copy(), self._info()

    @torch.inference_mode()
    def step(self, actions):
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not self.action_space.contains(actions.astype(np.int64)):
            raise ValueError(f"actions must be {self.num_envs} ids in 0..{self.single_action_space.n - 1}, got {actions!r}")
        zeros = np.zeros(self.num_envs, dtype=bool)
        if self.needs_reset:  # next-step auto-reset: this step starts new episodes and ignores the actions
            frames, info = self.reset()
            return frames, np.zeros(self.num_envs), zeros, zeros.copy(), info
        frames = self.rollout.next_frame(torch.from_numpy(actions.astype(np.int64)), self.generator)
        self.rollout.trim(self.context)
        self.frames = frames.cpu().numpy()
        self.ticks += 1
        rewards = np.array([float(self.reward_fn(f, int(a))) if self.reward_fn else 0.0
                            for f, a in zip(self.frames, actions)])
        truncated = np.full(self.num_envs, self.ticks >= self.max_episode_steps)
        self.needs_reset = bool(truncated[0])
        return self.frames.copy(), rewards, zeros, truncated, self._info()

    def render(self):
        return None if self.frames is None else self.frames.copy()


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="genie_core.envs:GenieEnv",
                       vector_entry_point="genie_core.envs:GenieVectorEnv",
                       kwargs={"checkpoint": DEFAULT_CHECKPOINT, "max_episode_steps": MAX_EPISODE_STEPS})
