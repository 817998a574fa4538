"""Two runs side by side in one movie (or one PNG): what a parameter change does, seen at once.

Every frame is rendered with run A playing, then with run B, through the same camera and
under the same colour limits (the union of both runs' ranges, so neither saturates and one
colour means one value in both halves), each half titled with its run's name by the title
overlay. The halves are joined left | right by `rendering.still_sheet` and the pairs encoded
by Blender's FFmpeg. The run playing before, the colour limits and the title come back
afterwards.
"""
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import bpy
import numpy as np

from ..engine import FrameCache
from ..engine.experiment import ExperimentError
from ..engine.state import session
from ..scene import materials, overlays, playback
from . import colouring, experiment_runs, render_files, rendering


def render_side_by_side(run_a, run_b, target, *, scene=None, frames=None):
    """Render run A | run B to `target`: an MP4 of every frame (or the `frames` given), its
    joined frames kept in `<target>_frames/`; or, for a target ending in .png, the current
    frame only. Returns {"video": mp4, "frames": folder} or {"png": path}."""
    scene = scene or bpy.context.scene
    session.check_idle()
    entries = [experiment_runs.run_entry(scene, run) for run in (run_a, run_b)]
    if entries[0]["index"] == entries[1]["index"]:
        raise ExperimentError(f"{entries[0]['name']} twice: pick two different runs to put side by side")
    caches = [FrameCache.open(entry["folder"]) for entry in entries]
    if caches[0].meta["n_segments"] != caches[1].meta["n_segments"]:
        raise ExperimentError(f"{entries[0]['name']} and {entries[1]['name']} are runs of different models")
    target = Path(bpy.path.abspath(str(target)))
    still = target.suffix.lower() == ".png"
    if not still and target.suffix.lower() != ".mp4":
        raise ValueError(f"{target.name}: the target is an .mp4 (a movie) or a .png (the current frame)")
    frames = [scene.frame_current] if still else list(frames or range(scene.frame_start, scene.frame_end + 1))
    target.parent.mkdir(parents=True, exist_ok=True)
    halves = Path(tempfile.mkdtemp(prefix=f".{target.stem}_halves_", dir=target.parent))
    try:
        with _kept(scene):
            colouring.set_colormap(scene=scene, **_union_limits(caches))
            rendered = [_render_run(scene, entry, frames, halves / f"run{k}") for k, entry in enumerate(entries)]
        if still:
            return {"png": rendering.still_sheet([rendered[0][frames[0]], rendered[1][frames[0]]], target)}
        return _movie(scene, rendered, frames, target)
    finally:
        shutil.rmtree(halves)


def _union_limits(caches):
    """{"vmin", "vmax"}: the finite range of both runs' frames (NaN ignored)."""
    lows, highs = [], []
    for cache in caches:
        for start in range(0, cache.frames_done, 256):  # a block at a time: a cache may not fit in memory
            block = np.asarray(cache.frames[start:min(start + 256, cache.frames_done)], np.float64)
            block = block[np.isfinite(block)]
            if block.size:
                lows.append(block.min())
                highs.append(block.max())
    if not lows:
        raise RuntimeError("Neither run holds a value to colour by (all NaN)")
    low, high = float(min(lows)), float(max(highs))
    return {"vmin": low, "vmax": high if high > low else low + max(abs(low) * 1e-3, 1e-6)}


def _render_run(scene, entry, frames, folder):
    """Every frame with run `entry` playing and titled by its name; {frame: PNG}."""
    experiment_runs.play_run(entry["index"], scene=scene)
    rendering.set_overlays(title=entry["name"], scene=scene)
    folder.mkdir()
    return render_files.render_frames(scene, frames, folder)


def _movie(scene, rendered, frames, target):
    """Join each pair into `<target>_frames/`, then encode them into `target`."""
    folder = target.with_name(f"{target.stem}_frames")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    pairs = {frame: rendering.still_sheet([rendered[0][frame], rendered[1][frame]], folder / f"{frame:06d}.png")
             for frame in frames}
    return {"video": render_files.encode(pairs, target, scene.render.fps), "frames": folder}


@contextmanager
def _kept(scene):
    """Put back what the comparison changes: the run playing, colour limits and mode, the
    title, the status line and the current frame."""
    props, titles = scene.neuron_live, scene.neuron_live_overlays
    cache, frame, status = session.cache, scene.frame_current, props.status
    colours = {"vmin": props.vmin, "vmax": props.vmax}
    mode, title = props.colour_by, (titles.title, titles.show_title)
    try:
        yield
    finally:
        session.cache = cache
        colouring.set_colormap(scene=scene, **colours)
        if mode != "ACTIVITY":
            colouring.colour_by(mode, scene=scene)
        with overlays.quiet:
            titles.title, titles.show_title = title
        playback.refresh(scene)
        materials.refresh_all(scene)
        scene.frame_set(frame)
        rendering.refresh_overlays(scene)
        props.status = status
