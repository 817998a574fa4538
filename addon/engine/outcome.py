"""What became of a run, in one wording: the status line after a run, the playback line of
a reopened scene and the headless job all say it the same way. No bpy."""
from .run_settings import sample_time


def run_outcome(meta, error=None):
    """The outcome of the run whose cache has `meta` (frames_done, n_frames, complete,
    cancelled, error, variable, frames_per_ms); `error`: the exception, while its text is
    not yet in the meta."""
    done, total = meta.get("frames_done", 0), meta["n_frames"]
    error = error or meta.get("error")
    if done == 0:
        return f"Simulation failed before its first frame: {error}" if error else "Cancelled before the first frame"
    if error:
        return f"Simulation failed after {done} of {total} frames: {error}"
    if meta.get("cancelled"):
        return f"Cancelled after {done} of {total} frames"
    if not meta.get("complete"):
        return f"incomplete: {done} of {total} frames (the run was interrupted: Blender ended during it)"
    return f"Simulated {total} frames of {meta['variable']} to {sample_time(total - 1, meta['frames_per_ms']):g} ms"
