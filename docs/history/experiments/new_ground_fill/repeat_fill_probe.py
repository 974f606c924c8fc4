# probe: revealed pixels the memory does not hold filled with the ground it holds one view back along x
import torch, genie_core.world.rollout as R
import genie_core.world.memory as M
def repeat_known(moved, new, memory):
    at = memory._under_view()
    side, size = memory.canvas_BSS3.shape[1], memory.view_size
    b = at // (side * side); rows = (at // side) % side; cols = at % side
    steps = torch.arange(size, device=cols.device)
    back = torch.where(steps >= size // 2, -size, size)[None, None, :]
    source = (cols + back).clamp(0, side - 1)
    flat = (b * side + rows) * side + source
    pixels = memory.canvas_BSS3.reshape(-1, 3)[flat.flatten()].reshape(*flat.shape, 3)
    known = memory.known_BSS.reshape(-1)[flat.flatten()].reshape(flat.shape)
    fill = new & known
    return torch.where(fill[..., None], pixels, moved), new & ~fill
orig = R.recall_revealed
def recall(moved, memory, revealed):
    moved, new = orig(moved, memory, revealed)
    return repeat_known(moved, new, memory)
R.recall_revealed = recall
