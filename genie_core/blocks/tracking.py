"""The player's move where the screen stays still: its sprite tracked as a foreground blob.

Where the camera follows the player (CoinRun, Ninja, Jumper), the player's move shows as the whole
level sliding (motion.py). In bigfish, leaper and maze the screen stays and only the player's sprite,
a few pixels at 64 x 64, moves. These functions find that sprite on the pixels alone:
- the background is the per-pixel median of the episode (the screen does not move), and the
  foreground is every pixel whose colour differs from it;
- the foreground's 8-connected blobs are linked frame to frame into tracks, nearest first;
- the player's track is the one that crosses lanes most often. The rest of what moves in these games
  (other fish, cars, logs) keeps to its horizontal lane; the player is what moves up and down.
Recorded actions are never used here; tools/player_moves.py measures the result against them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

FOREGROUND_STEP = 60  # RGB sum: smaller steps are the background's own texture and compression noise
LARGEST_SPRITE = 200  # pixels; larger blobs are scenery the median kept out (a log, a wall of fish)
LONGEST_JUMP = 5.0  # px a tracked blob may move in one frame
MISSED_FRAMES = 2  # frames a track may go unseen (behind another sprite) before it ends
LANE_STEP = 0.5  # px of vertical move that counts as crossing a lane


@dataclass(frozen=True)
class Blob:
    centre: tuple[float, float]  # (x, y) in pixels
    size: int
    colour: tuple[float, float, float]


@dataclass
class Track:
    centres: dict[int, tuple[float, float]] = field(default_factory=dict)  # frame -> (x, y)
    last: Blob | None = None
    missed: int = 0

    def lane_crossings(self) -> int:
        frames = sorted(self.centres)
        return sum(1 for a, b in zip(frames, frames[1:])
                   if b == a + 1 and abs(self.centres[b][1] - self.centres[a][1]) > LANE_STEP)


def foreground(frames_THW3: torch.Tensor, step: int = FOREGROUND_STEP) -> torch.Tensor:
    """(T, H, W) bool: pixels whose colour differs from the episode's per-pixel median."""
    frames = frames_THW3.to(torch.int32)
    background = frames.median(dim=0).values
    return (frames - background).abs().sum(-1) > step


def label_blobs(mask_THW: torch.Tensor) -> torch.Tensor:
    """(T, H, W) int64: 8-connected components of each frame's mask, 0 off the mask.
    Each pixel starts with its own label and takes its neighbours' largest until nothing changes."""
    T, H, W = mask_THW.shape
    mask = mask_THW.unsqueeze(1).float()
    labels = torch.arange(1, T * H * W + 1, dtype=torch.float64).view(T, 1, H, W) * mask
    while True:
        grown = F.max_pool2d(labels, 3, stride=1, padding=1) * mask
        if torch.equal(grown, labels):
            return labels.squeeze(1).long()
        labels = grown


def frame_blobs(frames_THW3: torch.Tensor, labels_THW: torch.Tensor) -> list[list[Blob]]:
    """Each frame's blobs of up to LARGEST_SPRITE pixels: centre, size and mean colour."""
    T, H, W = labels_THW.shape
    flat = labels_THW.reshape(-1)
    on = flat.nonzero().squeeze(1)
    ids, inverse, sizes = torch.unique(flat[on], return_inverse=True, return_counts=True)
    ys = (on // W % H).double()
    xs = (on % W).double()
    colours = frames_THW3.reshape(-1, 3)[on].double()
    sums = torch.zeros(len(ids), 5, dtype=torch.float64).index_add_(
        0, inverse, torch.cat((xs[:, None], ys[:, None], colours), dim=1))
    means = sums / sizes[:, None]
    frame_of = ((ids - 1) // (H * W)).tolist()
    out: list[list[Blob]] = [[] for _ in range(T)]
    for i, (t, size) in enumerate(zip(frame_of, sizes.tolist())):
        if size <= LARGEST_SPRITE:
            row = means[i].tolist()
            out[t].append(Blob((row[0], row[1]), size, (row[2], row[3], row[4])))
    return out


def _link_cost(a: Blob, b: Blob) -> float | None:
    """How unlike two blobs in consecutive frames are; None when b is too far to be a's next place."""
    jump = max(abs(a.centre[0] - b.centre[0]), abs(a.centre[1] - b.centre[1]))
    if jump > LONGEST_JUMP:
        return None
    colour = sum(abs(x - y) for x, y in zip(a.colour, b.colour))
    return jump + 0.02 * colour + 0.5 * abs(math.log(b.size / a.size))


def link_tracks(blobs: list[list[Blob]]) -> list[Track]:
    """Greedy frame-to-frame linking: each live track takes its cheapest unclaimed blob."""
    live: list[Track] = []
    ended: list[Track] = []
    for t, frame in enumerate(blobs):
        claimed: set[int] = set()
        still_live = []
        for track in live:
            costs = [(cost, i) for i, blob in enumerate(frame) if i not in claimed
                     and (cost := _link_cost(track.last, blob)) is not None]
            if costs:
                _, i = min(costs)
                claimed.add(i)
                track.centres[t], track.last, track.missed = frame[i].centre, frame[i], 0
                still_live.append(track)
            else:
                track.missed += 1
                (still_live if track.missed <= MISSED_FRAMES else ended).append(track)
        still_live += [Track({t: blob.centre}, blob) for i, blob in enumerate(frame) if i not in claimed]
        live = still_live
    return ended + live


def player_steps(frames_THW3: torch.Tensor, foreground_THW: torch.Tensor | None = None) -> torch.Tensor:
    """(T, 2) float: the tracked player's screen step (dx, dy) into each frame; NaN where the
    player was not seen in both frames (and in frame 0). For episodes whose screen stays still.
    foreground_THW: foreground(frames) when the caller has it already."""
    frames = torch.as_tensor(frames_THW3)
    mask = foreground(frames) if foreground_THW is None else foreground_THW
    steps = torch.full((len(frames), 2), float("nan"))
    tracks = link_tracks(frame_blobs(frames, label_blobs(mask)))
    if not tracks:
        return steps
    player = max(tracks, key=lambda track: (track.lane_crossings(), len(track.centres)))
    for t in range(1, len(frames)):
        if t in player.centres and t - 1 in player.centres:
            (x0, y0), (x1, y1) = player.centres[t - 1], player.centres[t]
            steps[t] = torch.tensor((x1 - x0, y1 - y0))
    return steps


STILL_SCREEN_FOREGROUND = 0.1  # share of pixels off the median below which an episode's screen stays still
# (measured on 4 held-out episodes each: bigfish, leaper and maze 0-9%; coinrun, ninja, climber, caveflyer 11-49%)


def player_moves(frames_THW3: torch.Tensor, camera_T2: torch.Tensor) -> torch.Tensor:
    """(T, 2) float: the player's move into each frame, written as the camera's would be (the content's
    displacement, motion.py: running right is dx < 0), so that one move means one thing in every game.
    Where the camera follows, that is the camera's motion; where the screen stays still (the episode's
    median background explains nearly every pixel), the tracked sprite's step, negated: 0 where two
    frames are the same, NaN where the sprite was not seen. camera_T2: episode_motions' output."""
    frames = torch.as_tensor(frames_THW3)
    mask = foreground(frames)
    if mask.float().mean().item() >= STILL_SCREEN_FOREGROUND:
        return torch.as_tensor(camera_T2).float()
    moves = -player_steps(frames, mask)
    unchanged = torch.cat((torch.ones(1, dtype=torch.bool), (frames[1:] == frames[:-1]).flatten(1).all(1)))
    moves[unchanged] = 0.0
    return moves
