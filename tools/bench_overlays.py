"""Benchmark rows for the overlays (issue 23): their cost per viewport frame and per render.

Called by bench.py (`overlay_rows`); nothing here is asserted. The model is the bundled
ball-and-stick cell, its run in Blender's own NEURON (what is timed is Blender's side).
"""
import shutil
import tempfile
import time
from importlib import import_module
from pathlib import Path

from headless import PACKAGE, REPO


def _frame_seconds(scene, frames, repeat):
    """Mean seconds of one frame_set (handlers and Blender's re-evaluation), best of `repeat`."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for frame in frames:
            scene.frame_set(frame)
        best = min(best, (time.perf_counter() - started) / len(frames))
    return best


def _render_seconds(bpy, scene, path, shown, repeat):
    """Best render seconds with the overlays shown and hidden, taking turns (the machine
    drifts from one minute to the next: turns keep the two comparable)."""
    collection = bpy.data.collections["NEURON Live overlays"]
    best = {True: float("inf"), False: float("inf")}
    scene.render.filepath = str(path)
    for _ in range(repeat):
        for visible in (True, False):
            collection.hide_render = not visible
            started = time.perf_counter()
            bpy.ops.render.render(write_still=True, scene=scene.name)
            best[visible] = min(best[visible], time.perf_counter() - started)
    collection.hide_render = not shown
    return best[True], best[False]


def overlay_rows(nl, row, *, smoke=False):
    """Rows: the overlays' own update per frame (the handler alone), a frame change with
    every overlay on minus one without (Blender re-evaluating the changed text and cursor
    included), and a Cycles render with them against one without."""
    import bpy
    rendering = import_module(PACKAGE + ".addon.session.rendering")
    overlays = import_module(PACKAGE + ".addon.scene.overlays")
    folder = Path(tempfile.mkdtemp(prefix="neuron-live-bench-overlays-"))
    shutil.copy(REPO / "examples" / "ball_and_stick.py", folder / "ball_and_stick.py")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.neuron_live.host = "IN_BLENDER"
    nl.load_model(str(folder / "ball_and_stick.py"))
    nl.run(tstop=10 if smoke else 50, frames_per_ms=4)
    frames = list(range(scene.frame_start, scene.frame_end + 1))
    repeat = 1 if smoke else 3
    without = _frame_seconds(scene, frames, repeat)
    rendering.set_overlays(["time", "scale", "colourbar", "traces"], title="Bench", scene=scene)
    with_overlays = _frame_seconds(scene, frames, repeat)
    started = time.perf_counter()
    for frame in frames:
        scene.frame_current = frame  # no handlers: the overlays' update alone below
        overlays.update(scene)
    handler = (time.perf_counter() - started) / len(frames)
    row("overlay update per frame, handler (ms)", handler * 1e3, 2.0, "≤ 2 ms")
    row("frame change with overlays − without (ms)", (with_overlays - without) * 1e3, 2.0, "≤ 2 ms")

    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.samples, scene.cycles.device, scene.cycles.use_denoising = (1 if smoke else 16), "CPU", False
    scene.frame_set(frames[len(frames) // 2])
    # Their cost is mostly per object (Cycles syncs ~20 small objects: ~0.05 s), so its share
    # falls as the frame grows: a figure's 1080p frame, and the quick preview size.
    for size in ([(160, 90)] if smoke else [(640, 360), (1920, 1080)]):
        render.resolution_x, render.resolution_y = size
        on, off = _render_seconds(bpy, scene, folder / "frame.png", True, repeat + (0 if smoke else 1))
        print(f"# render {size[0]}x{size[1]}: with overlays {on:.3f} s, without {off:.3f} s")
        row(f"render with overlays / without (×), Cycles {size[0]}x{size[1]}", on / off, 1.05, "≤ 1.05×")
    shutil.rmtree(folder, ignore_errors=True)
