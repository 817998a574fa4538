"""Renders a figure can use: overlays (time stamp, scale bar, colour bar, inset traces and
raster, title), camera moves, resolution presets, a transparent background, and still
figures at chosen times (one PNG each, named with its time, and a strip or grid PNG).

The overlays are drawn by scene/overlays.py from what this module gathers out of the
frame cache (the traces and spikes the render's frames come from); the scripting API,
the Render panel and the headless job all go through these functions.
"""
import math
from pathlib import Path

import bpy
import numpy as np

from ..engine.run_settings import sample_time
from ..engine.state import session
from ..scene import camera_moves, framing, overlays, playback
from ..scene.overlays_layout import time_decimals
from ..shapes.cells import cell_roots, middle_segment
from . import plotting, render_files

# The job's names for the overlays (--overlays time,scale,colourbar,traces,title) → the setting.
OVERLAYS = {"time": "show_time", "scale": "show_scale", "colourbar": "show_colour_bar",
            "traces": "show_traces", "title": "show_title"}
STYLE = ("font_size", "colour", "margin", "inset_width", "inset_height", "corner_time", "corner_scale",
         "corner_colour_bar", "corner_traces", "corner_title", "trace_sections")
PRESETS = {"1080P": (1920, 1080), "4K": (3840, 2160), "SQUARE": (1080, 1080)}


def set_overlays(kinds=None, *, title=None, scene=None, **style):
    """Switch overlays on (`kinds`: names of OVERLAYS; None leaves the switches as they
    are, [] turns every one off), set the title and the style (STYLE: font_size and margin
    in % of the frame height, colour, corner_* as TOP_LEFT … BOTTOM_RIGHT, inset sizes,
    trace_sections: comma-separated section names, empty for the first cell's soma), and
    draw them. Saved with the scene. Returns `overlay_state()`."""
    scene = scene or bpy.context.scene
    props = scene.neuron_live_overlays
    unknown = sorted(set(kinds or ()) - set(OVERLAYS)) + sorted(set(style) - set(STYLE))
    if unknown:
        raise ValueError(f"unknown overlay or style {unknown[0]!r} (overlays: {', '.join(OVERLAYS)}; "
                         f"style: {', '.join(STYLE)})")
    with overlays.quiet:
        if kinds is not None:
            for name, key in OVERLAYS.items():
                setattr(props, key, name in kinds)
        if title is not None:
            props.title = title
            props.show_title = props.show_title or bool(title)  # a title given is a title shown
        for key, value in style.items():
            setattr(props, key, value)
    refresh_overlays(scene)
    return overlay_state(scene)


def refresh_overlays(scene=None, *, report=False):
    """Redraw the overlays from the scene's settings and the current run (after a run, a
    rebuild of the cells or a change of settings); nothing to do when none is on. With
    `report`, a failure goes to the status line (after a run: the run itself went well)."""
    scene = scene or bpy.context.scene
    props = overlays.settings(scene)
    if props is None or not overlays.enabled(props, traces=True, raster=True):
        overlays.build(scene)  # removes any left over
        return None
    if report:
        try:
            return refresh_overlays(scene)
        except (RuntimeError, ValueError) as exc:
            scene.neuron_live.status += f"; overlays not redrawn: {exc}"
            return None
    traces = raster = None
    if props.show_traces and session.cache is not None and session.cache.frames_done:
        traces = _traces(scene, props)
        raster = _raster(scene)
    return overlays.build(scene, traces=traces, raster=raster)


def _traces(scene, props):
    """The cached traces of the chosen sections' middles (default: the first cell's soma)."""
    cache, model = session.cache, session.model
    names = list(cache.meta.get("section_names") or [])
    sections = [s.strip() for s in props.trace_sections.split(",") if s.strip()]
    segments = None
    if not sections and model is not None and len(model.cell_names):
        segments = [int(middle_segment(model, cell_roots(model)[:1])[0])]
    picked = plotting._pick_segments(cache, scene, segments, sections, [])
    section, x = plotting._segment_table(cache)
    done, per_ms = cache.frames_done, cache.meta["frames_per_ms"]
    variable, units = cache.meta["variable"], cache.meta.get("units", "")
    return {"times": sample_time(np.arange(done), per_ms),
            "values": np.asarray(cache.frames[:done], np.float64)[:, picked],
            "labels": [f"{names[section[s]] if section[s] < len(names) else section[s]}({x[s]:.2g})"
                       for s in picked],
            "ylabel": f"{variable} ({units})" if units else variable}


def _raster(scene):
    """The run's spikes by cell, for a network (None for one cell or without spikes)."""
    model = session.model
    if model is None or len(model.cell_names) < 2:
        return None
    try:
        data = plotting.spike_times(scene=scene)
    except RuntimeError:  # no spikes recorded for this run (e.g. a threaded run): no raster
        return None
    return {"times": np.asarray(data["time"]), "rows": np.asarray(data["cell"]), "n_rows": len(model.cell_names)}


def overlay_state(scene=None):
    """What the overlays show at the current frame: {"time" (ms), "scale_um" (the scale
    bar's length), "boxes" ({overlay: (x, y, w, h)} in render pixels, y up)}."""
    scene = scene or bpy.context.scene
    overlays.update(scene)
    return {**overlays.state(scene), "boxes": overlays.pixel_boxes(scene)}


def figure_settings(scene, *, overlays=(), title="", orbit_seconds=None, transparent=False):
    """The headless job's figure options in one call: overlays and title, a turntable
    (seconds of one orbit; 0 for the whole movie; None for none), transparent background."""
    if overlays or title:
        set_overlays(list(overlays), title=title or None, scene=scene)
    if orbit_seconds is not None:
        turntable(orbit_seconds or None, scene=scene)
    set_transparent(transparent, scene=scene)


# -- camera, resolution, background --------------------------------------------------------------

def turntable(seconds=None, *, scene=None, axis="Z"):
    """One orbit of the camera around the cells' centre: over the scene's frame range, or
    over `seconds` of the movie from its first frame. The camera keeps its distance and
    aim (framing kept: a framed camera sees the cells' bounding sphere from any side).
    `seconds=0` removes the turntable. Returns the pivot empty (None when removed)."""
    scene = scene or bpy.context.scene
    camera_moves.remove_path(scene)  # a path through saved views and a turntable never fight
    camera_moves.remove_turntable(scene)
    camera = scene.camera
    if seconds == 0:
        return None
    cells = playback.cell_objects(scene)
    box = framing.bounds(cells)
    if camera is None:
        camera = framing.frame_camera(scene, cells)
    if box is None or camera is None:
        raise RuntimeError("No cells to turn around: load a model and build its mesh first")
    first = scene.frame_start
    frames = scene.frame_end - first + 1 if seconds is None else max(int(round(seconds * scene.render.fps)), 2)
    pivot = bpy.data.objects.new(camera_moves.TURNTABLE, None)
    scene.collection.objects.link(pivot)
    pivot.location = tuple((box[0] + box[1]) / 2)
    world = camera.matrix_world.copy()
    camera.parent = pivot
    camera.matrix_parent_inverse = pivot.matrix_world.inverted()
    camera.matrix_world = world
    index = "XYZ".index(axis)
    _linear_keys(pivot, index, first, 0.0, first + frames, 2 * math.pi)
    return pivot


def _linear_keys(obj, index, frame_a, angle_a, frame_b, angle_b):
    """Two rotation keys with linear interpolation (an orbit at constant speed)."""
    with camera_moves.new_keys("LINEAR"):
        for frame, angle in ((frame_a, angle_a), (frame_b, angle_b)):
            rotation = list(obj.rotation_euler)
            rotation[index] = angle
            obj.rotation_euler = rotation
            obj.keyframe_insert("rotation_euler", index=index, frame=frame)


def set_resolution(preset=None, *, width=None, height=None, scene=None):
    """Output size from a preset ("1080p", "4K", "square") or width × height; the
    overlays keep their places (they scale with the frame height)."""
    scene = scene or bpy.context.scene
    if preset is not None:
        key = str(preset).upper()
        if key not in PRESETS:
            raise ValueError(f"unknown resolution preset {preset!r} (known: 1080p, 4K, square)")
        width, height = PRESETS[key]
    render = scene.render
    render.resolution_x, render.resolution_y, render.resolution_percentage = int(width), int(height), 100
    refresh_overlays(scene)  # the blocks keep their corners at the new aspect
    return width, height


def set_transparent(transparent=True, *, scene=None):
    """A transparent background (the stills and the job's PNGs get alpha) for figure panels, or the world's."""
    scene = scene or bpy.context.scene
    scene.render.film_transparent = bool(transparent)


# -- still figures ------------------------------------------------------------------------------

def time_label(scene, t_ms):
    """A still's file label: "t5.00ms", its decimals those of the time stamp."""
    per_ms = session.cache.meta["frames_per_ms"] if session.cache else scene.neuron_live.frames_per_ms
    decimals = time_decimals(1.0 / (per_ms * (scene.neuron_live.frames_per_sample or 1.0)))
    return f"t{t_ms:.{decimals}f}ms"


def time_frames(scene, times_ms):
    """{label: scene frame} for model times in ms: the frame showing the sample nearest each
    time; its label names that frame's own time (what its time stamp reads)."""
    per_ms = session.cache.meta["frames_per_ms"] if session.cache else scene.neuron_live.frames_per_ms
    per_sample = scene.neuron_live.frames_per_sample or 1.0
    last = overlays.frame_time(scene, 1e12) if session.cache else float("inf")
    frames = {}
    for t in times_ms:
        if not 0 <= float(t) <= last + 1e-9:
            raise ValueError(f"still at {t:g} ms is outside the run (0 to {last:g} ms)")
        frame = scene.frame_start + int(round(float(t) * per_ms * per_sample))
        frames[time_label(scene, overlays.frame_time(scene, frame))] = frame
    return frames


def render_stills(times_ms, folder, *, name=None, sheet=True, columns=None, scene=None):
    """Render the frames at `times_ms` (ms) to `folder/<name>_t<time>ms.png` (full size,
    overlays on) and, with `sheet`, all of them as one strip (or a grid with `columns`)
    `<name>_stills.png`. Returns {label: path} (the sheet as "sheet")."""
    scene = scene or bpy.context.scene
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or Path(scene.neuron_live.model_path or "stills").stem
    label_of = {frame: label for label, frame in time_frames(scene, times_ms).items()}
    shown = scene.frame_current
    try:
        rendered = render_files.render_frames(scene, list(label_of), folder,
                                              name_of=lambda frame: f"{name}_{label_of[frame]}.png")
    finally:
        scene.frame_set(shown)
    paths = {label_of[frame]: path for frame, path in rendered.items()}
    if sheet and paths:
        paths["sheet"] = still_sheet(list(paths.values()), folder / f"{name}_stills.png", columns=columns)
    return paths


def still_sheet(pngs, target, *, columns=None, gap=0):
    """The PNGs side by side (one row, or `columns` per row) in one PNG, read and written
    by Blender itself (alpha kept)."""
    images = [bpy.data.images.load(str(p)) for p in pngs]
    try:
        w, h = images[0].size
        columns = columns or len(images)
        rows = math.ceil(len(images) / columns)
        sheet = np.zeros((rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap, 4), np.float32)
        for k, image in enumerate(images):
            if tuple(image.size) != (w, h):
                raise ValueError(f"{pngs[k]} is {tuple(image.size)}, not {w}x{h} like the others")
            pixels = np.empty(w * h * 4, np.float32)
            image.pixels.foreach_get(pixels)
            row, column = divmod(k, columns)
            top = (rows - 1 - row) * (h + gap)  # Blender's rows run bottom-up
            sheet[top:top + h, column * (w + gap):column * (w + gap) + w] = pixels.reshape(h, w, 4)
    finally:
        for image in images:
            bpy.data.images.remove(image)
    return render_files.write_png(sheet, Path(target))
