"""The scripting API: plain functions that the operators call, usable from any script.

    import neuron_live  # or bl_ext.user_default.neuron_live inside Blender
    neuron_live.load_model("cell.hoc")
    neuron_live.run(tstop=100)          # blocks; run(wait=False) returns the task
"""
from pathlib import Path

import bpy
import numpy as np

from . import attributes, cache_files, materials, neuron_setup, playback
from .engine import RunSettings
from .session import Task, session, start, start_run, wait

RUN_SETTINGS = ("tstop", "dt", "v_init", "celsius", "cvode", "atol", "frames_per_ms", "variable", "own_run")


def neuron_status():
    """Which NEURON Blender's Python would import (without importing it)."""
    return neuron_setup.neuron_status()


def install_neuron(*, wait_done=True, on_line=None):
    """Install NEURON into the extension's user folder: bundled wheels first, then PyPI."""
    target = cache_files.user_folder("site-packages")
    task = Task(label="NEURON installation", future=None)

    def line(text):
        task.message = text[-120:]
        if on_line:
            on_line(text)

    task.future = session.worker.submit(neuron_setup.install_neuron, target, on_line=line,
                                        cancelled=task.cancel.is_set)
    task.on_done = _install_done
    start(task)
    return wait(task) if wait_done else task


def _install_done(task):
    error = task.future.exception()
    session.message = f"Installing NEURON failed: {error}" if error else f"Installed {task.future.result().summary()}"


def use_existing_neuron(folder):
    """Use a NEURON installed elsewhere (site-packages folder or NEURONHOME)."""
    return neuron_setup.use_existing_neuron(folder)


def _scene(scene):
    return scene or bpy.context.scene


def load_model(path, *, scene=None, build=True, action=None, before="", after="", language="hoc",
               clamp=None, wait_done=True, on_progress=None):
    """Load a model file into NEURON (on the engine thread) and show its cells.

    Its `.mod` files are compiled once (cached by content); the compiler's lines arrive as
    the task's progress message. `action`: a menu button (label or command) to run when
    the entry only builds a menu: such an entry raises `model_loaders.MenuOnlyModel`,
    whose `.actions` list the choices. `before`/`after`: statements (`language` "hoc" or
    "python") around the load. `clamp=True` (or a `model_loaders.Clamp`, or a dict of
    amp/delay/dur) adds an IClamp at the soma. Failures raise
    `model_loaders.ModelLoadError` and leave the scene as it was. `wait_done=False`
    returns the task at once (the pump finishes the load).
    """
    from ..model_loaders import load_model as load

    scene = _scene(scene)
    if session.busy:
        raise RuntimeError(f"NEURON Live is busy: {session.task.label} is still running")
    task = Task(label=f"loading {Path(path).name}", future=None, message="Loading…")

    def compiler_line(text):
        task.message = f"Compiling mechanisms: {text.strip()[-80:]}"
        task.progress = min(0.9, task.progress + 0.02)  # nrnivmodl gives no total: creep forward

    options = dict(action=action or None, before=before, after=after, language=language,
                   clamp=_clamp(clamp), mechanisms_folder=cache_files.user_folder("mechanisms"),
                   on_line=compiler_line)
    task.future = session.worker.submit(load, path, **options)
    task.on_done = lambda task: _load_done(scene, path, task, build)
    start(task)
    if not wait_done:
        return task
    return wait(task, on_progress=on_progress)


def _load_done(scene, path, task, build):
    """Main thread, when the engine thread finished loading: show the result or the error."""
    props = scene.neuron_live
    error = task.future.exception()
    if error is not None:
        _show_menu(props, path, getattr(error, "actions", None))
        props.status = f"Loading {Path(path).name} failed: {error}"
        return
    model = task.future.result()
    _show_menu(props, path, None)
    session.model, session.cache, session.recording = model, None, False
    props.model_path = str(Path(path).resolve())
    for key in ("tstop", "dt", "v_init", "celsius"):
        setattr(props, key, model.settings[key])
    props.status = "; ".join([f"Loaded {Path(path).name}: {model.summary()}", *model.notes])
    if build:
        build_mesh(scene=scene)


def _clamp(clamp):
    """`clamp` as the loader takes it: None, or a Clamp (from True or a dict)."""
    from ..model_loaders import Clamp

    if not clamp:
        return None
    if isinstance(clamp, dict):
        return Clamp(**clamp)
    return clamp if isinstance(clamp, Clamp) else Clamp()


def _show_menu(props, path, actions):
    """Remember a menu-only entry's buttons for the panel (cleared by any other load)."""
    props.menu_path = str(Path(path).resolve()) if actions else ""
    props.menu_actions = "\n".join(action.label for action in actions or ())


def build_mesh(*, scene=None, groups=None, method="AUTO", **options):
    """(Re)build the objects of the loaded model's cells; returns them (a list).

    Options default to the scene's geometry settings: sides, segmentation, smooth, caps,
    soma_sphere, as_lines, thickness, homogeneity, center, scale, blend, frame_camera,
    dark_world. `groups`: None (the scene's groups, else one group of every cell) or a list
    of dicts {name, cells (indices or None), interaction, colour_level, options}.
    `method`: AUTO (Geometry Nodes for big objects, numpy for small), GEOMETRY_NODES, NUMPY.
    """
    from . import groups as cell_groups, scene_setup

    scene = _scene(scene)
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a .hoc, .py, .swc or .asc file first")
    props = scene.neuron_live
    for key, value in options.items():
        if key not in MESH_SETTINGS:
            raise TypeError(f"build_mesh() got an unknown option {key!r} (known: {', '.join(MESH_SETTINGS)})")
        setattr(props, key, value)
    build_options = cell_groups.BuildOptions(
        method=method, **{key: getattr(props, key) for key in MESH_SETTINGS[:-2]})
    if groups is None:
        chosen = cell_groups.groups_from_scene(scene, len(model.cell_names))
    else:
        chosen = [cell_groups.Group(**group) for group in groups]
    objects = cell_groups.build(scene, model, chosen, build_options, variable=props.variable)
    scene_setup.lock_interface_while_rendering(scene)
    if props.frame_camera:
        scene_setup.frame_camera(scene, objects)
    if props.dark_world:
        scene_setup.dark_world(scene)
    playback.refresh(scene)
    return objects


MESH_SETTINGS = ("sides", "segmentation", "smooth", "caps", "soma_sphere", "as_lines", "thickness",
                 "homogeneity", "center", "scale", "blend", "frame_camera", "dark_world")


def add_group(name=None, *, cells="", interaction="AUTO", colour_level="AUTO", sides=0, scene=None):
    """Add a cell group to the scene's groups (the next `build_mesh` builds it); returns its
    index. `cells`: indices or text like "0-4, 7" (empty: every cell); `interaction`: AUTO,
    GROUP, CELL, SECTION (objects per group); `colour_level`: AUTO, GROUP, CELL, SECTION,
    SEGMENT; `sides`: 0 uses the scene's setting."""
    from . import groups as cell_groups

    scene = _scene(scene)
    props = scene.neuron_live
    text = cells if isinstance(cells, str) else ", ".join(str(int(c)) for c in cells)
    if session.model is not None:  # a bad range raises here, before anything changes
        cell_groups.parse_cells(text, len(session.model.cell_names))
    for key, value, items in (("interaction", interaction, cell_groups.INTERACTION_ITEMS),
                              ("colour_level", colour_level, cell_groups.COLOUR_ITEMS)):
        known = [item[0] for item in items]
        if value not in known:
            raise ValueError(f"add_group: {key} {value!r} is not one of {', '.join(known)}")
    item = props.groups.add()
    item.name = name or f"Group {len(props.groups)}"
    item.cells, item.interaction, item.colour_level, item.sides = text, interaction, colour_level, sides
    props.groups_index = len(props.groups) - 1
    return props.groups_index


def remove_group(index=None, *, scene=None):
    """Remove the scene's group at `index` (default: the one selected in the panel)."""
    scene = _scene(scene)
    props = scene.neuron_live
    index = props.groups_index if index is None else index
    if not 0 <= index < len(props.groups):
        raise IndexError(f"No group {index}: the scene has {len(props.groups)} group(s)")
    props.groups.remove(index)
    props.groups_index = min(index, len(props.groups) - 1) if len(props.groups) else 0


def frame_camera(*, scene=None):
    """Aim the scene camera (made when missing) at the cells, all of them in view."""
    from . import scene_setup

    scene = _scene(scene)
    objects = playback.cell_objects(scene)
    if not objects:
        raise RuntimeError("No cells to frame: load a model or rebuild the mesh first")
    return scene_setup.frame_camera(scene, objects)


def run(*, scene=None, wait_done=True, on_progress=None, extend=False, **settings):
    """Simulate the loaded model from 0 to tstop into a new frame cache.

    Keyword settings (tstop, dt, v_init, celsius, cvode, frames_per_ms, variable)
    update the scene's settings first. Returns the cache (or the task when
    `wait_done=False`; `neuron_live.cancel()` stops it, keeping the frames done).
    `on_progress(task)` is called while waiting (task.progress, task.message).
    """
    scene = _scene(scene)
    props = scene.neuron_live
    for key, value in settings.items():
        if key not in RUN_SETTINGS:
            raise TypeError(f"run() got an unknown setting {key!r} (known: {', '.join(RUN_SETTINGS)})")
        setattr(props, key, value)
    if session.recording:
        raise RuntimeError(f"{Path(props.model_path).name} is a recording: load its model to run it again")
    if session.model is None and props.model_path and not session.busy:
        load_model(bpy.path.abspath(props.model_path), scene=scene, build=False)
    settings = RunSettings(**{key: _exact(getattr(props, key)) for key in RUN_SETTINGS})
    folder = cache_files.cache_folder(session.model.path) if session.model else None
    task = start_run(settings, folder, on_done=lambda task: _run_done(scene, task), extend=extend)
    scene.frame_start = 1
    scene.frame_end = playback.frame_of_sample(scene, settings.n_frames - 1)
    props.cache_path = cache_files.stored_path(session.cache.folder)
    if not wait_done:
        return task
    wait(task, on_progress=on_progress)
    return session.cache


def continue_run(*, tstop, scene=None, wait_done=True, on_progress=None):
    """Extend the last run from where it stopped (finished or cancelled) to a later tstop;
    the result equals one run straight to that tstop."""
    return run(scene=scene, wait_done=wait_done, on_progress=on_progress, tstop=tstop, extend=True)


def _exact(value):
    """Blender stores floats as float32: 0.025 comes back as 0.0250000004, which NEURON
    would step with. Keep the 7 significant digits float32 actually holds."""
    return float(f"{value:.7g}") if isinstance(value, float) else value


def _run_done(scene, task):
    props = scene.neuron_live
    meta = session.cache.meta
    error = task.future.exception()
    if error is not None:
        props.status = f"Simulation failed: {error}"
    elif meta["cancelled"]:
        props.status = f"Cancelled after {meta['frames_done']} of {meta['n_frames']} frames"
    else:
        props.status = f"Simulated {meta['n_frames']} frames to {meta['settings']['tstop']:g} ms"
    materials.refresh_all(scene)  # the material reads this run's variable
    playback.refresh(scene)
    refresh_plots(scene)  # issue 6: redraw the plots asked for before (none: nothing to do)


def cancel():
    """Stop the work in flight within one chunk; the frames done stay usable."""
    if session.task is not None:
        session.task.cancel.set()


def open_recording(path, *, scene=None):
    """Show a recording made outside Blender: a `.nlcache` folder written by
    tools/record.py, or a BlenderSpike `.pickle`. Returns the frame cache."""
    from ..model_loaders.blenderspike import load_blenderspike
    from ..model_loaders.model_io import load_model_file
    from .engine import CacheError, FrameCache
    from .engine.record import MODEL_FILE

    scene = _scene(scene)
    if session.busy:
        raise RuntimeError(f"NEURON Live is busy: {session.task.label} is still running")
    path = Path(path)
    if path.suffix == ".pickle":
        model, frames = load_blenderspike(path)
        cache = FrameCache.create(cache_files.cache_folder(str(path)), len(frames), model.n_segments,
                                  variable="v", frames_per_ms=1.0, model=str(path), source="BlenderSpike",
                                  section_names=model.section_names)
        cache.frames[:] = frames
        cache.meta["frames_done"] = len(frames)
        cache.finish(complete=True)
    else:
        cache = FrameCache.open(path)
        try:
            model = load_model_file(path / MODEL_FILE)
        except (OSError, ValueError, KeyError) as exc:
            raise CacheError(f"{path} has no readable {MODEL_FILE}: record it with tools/record.py") from exc
    session.model, session.cache, session.recording = model, cache, True
    props = scene.neuron_live
    props.model_path, props.cache_path = str(path), cache_files.stored_path(cache.folder)
    props.variable = cache.meta["variable"]
    scene.frame_start = 1
    scene.frame_end = playback.frame_of_sample(scene, cache.meta["n_frames"] - 1)
    build_mesh(scene=scene)
    playback.refresh(scene)
    props.status = f"Opened recording {path.name}: {model.summary()}, {cache.frames_done} frames"
    return cache


def frame_values(obj, frame=None):
    """The per-vertex values `obj` shows at `frame` (default: the current frame)."""
    scene = bpy.context.scene
    if frame is not None:
        scene.frame_set(frame)
    variable = session.cache.meta["variable"] if session.cache else scene.neuron_live.variable
    return attributes.read(obj.data, playback.attribute_name(variable))


# -- colour, plots (issue 6) ---------------------------------------------------------------

def set_colormap(palette=None, *, vmin=None, vmax=None, start=None, stop=None, brightness=None,
                 shading=None, scene=None):
    """Colour the cells' activity with a seaborn/matplotlib palette, from vmin to vmax.

    `start`/`stop` pick a sub-range of the palette (fractions 0..1). `shading`: "EMISSION"
    (glow, exact colours), "PRINCIPLED" (lit surface) or "BOTH"; `brightness`: the emission
    strength. The materials are recoloured in place (meshes untouched). An unknown name
    raises `PaletteError` listing close matches. Returns the fitted ColorRamp (`positions`,
    linear `colors`, `max_error` in sRGB 8-bit levels).
    """
    from . import colormaps

    scene = _scene(scene)
    props = scene.neuron_live
    palette = props.palette if palette is None else palette
    colormaps.colormap(palette)  # raises before anything changes
    if shading is not None and shading not in materials.SHADING:
        raise ValueError(f"shading: unknown mode {shading!r} (known: {', '.join(materials.SHADING)})")
    with materials.batch:
        props.palette = palette
        for key, value in (("vmin", vmin), ("vmax", vmax), ("palette_start", start),
                           ("palette_stop", stop), ("brightness", brightness), ("shading", shading)):
            if value is not None:
                setattr(props, key, value)
        props.colour_by = "ACTIVITY"
    materials.refresh_all(scene)
    return materials.ramp_for(props.palette, props.palette_start, props.palette_stop)


def fit_limits(*, scene=None, robust=False):
    """Set vmin/vmax to the range of the cached values (NaN ignored); `robust` uses the 2nd
    and 98th percentiles instead of min and max. Returns (vmin, vmax)."""
    cache = session.cache
    if cache is None or cache.frames_done == 0:
        raise RuntimeError("No simulation to fit the colour limits to: run first")
    data = np.asarray(cache.frames[:cache.frames_done])
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        raise RuntimeError(f"The cache holds no values of {cache.meta['variable']!r} (all NaN)")
    lo, hi = (np.percentile(finite, (2, 98)) if robust else (finite.min(), finite.max()))
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        hi = lo + max(abs(lo) * 1e-3, 1e-6)
    set_colormap(vmin=lo, vmax=hi, scene=scene)
    return lo, hi


def colour_by(mode="SECTION_TYPE", *, palette=None, scene=None):
    """Colour the cells without a simulation: by "SECTION_TYPE" (soma/axon/dend/apic/other) or
    "SECTION_NAME" (one colour per section) from a qualitative palette; "ACTIVITY" goes back
    to the recorded variable. Returns {label: linear RGBA} (the legend)."""
    scene = _scene(scene)
    props = scene.neuron_live
    modes = [item.identifier for item in props.bl_rna.properties["colour_by"].enum_items]
    if mode not in modes:
        raise ValueError(f"colour_by: unknown mode {mode!r} (known: {', '.join(modes)})")
    if palette is not None:
        from . import colormaps
        colormaps.colormap(palette)
    with materials.batch:
        props.colour_by = mode
        if palette is not None:
            props.static_palette = palette
    legend = static_colours(scene) if mode != "ACTIVITY" else {}
    materials.refresh_all(scene)
    return legend


def static_colours(scene):
    """Write each section's colour into the cell meshes (colour attribute); returns the legend."""
    from . import colormaps
    from ..model_loaders.model import SECTION_TYPES

    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a model to colour its sections")
    props = scene.neuron_live
    if props.colour_by == "SECTION_TYPE":
        palette = colormaps.qualitative_colors(len(SECTION_TYPES), props.static_palette)
        per_section = palette[np.asarray(model.section_type, dtype=np.int64)]
        present = np.unique(model.section_type)
        legend = {SECTION_TYPES[i]: tuple(palette[i]) for i in present}
    else:
        per_section = colormaps.qualitative_colors(model.n_sections, props.static_palette)
        legend = {name: tuple(colour) for name, colour in zip(model.section_names, per_section)}
    for obj in playback.cell_objects(scene):
        materials.write_static_colours(obj.data, per_section)
    return legend


def _segment_table(cache):
    with np.load(cache.folder / "segments.npz") as table:
        return table["section"], table["x"]


def _pick_segments(cache, scene, segments, sections, objects):
    """Segment indices from explicit indices, section names (their middle segment) or the
    selected vertices of cell objects (default: the selection, else section 0's middle)."""
    picked = [int(s) for s in segments] if segments is not None else []
    table = None
    names = list(cache.meta.get("section_names") or [])
    for name in sections or ():
        if name not in names:
            close = ", ".join(n for n in names if name in n)[:200]
            raise ValueError(f"No section named {name!r} in the run" + (f" (similar: {close})" if close else ""))
        table = table or _segment_table(cache)
        rows = np.flatnonzero(table[0] == names.index(name))
        picked.append(int(rows[np.argmin(np.abs(table[1][rows] - 0.5))]))
    if objects is None and segments is None and not sections:
        objects = [o for o in bpy.context.selected_objects if o.get(playback.OBJECT_TAG)] if bpy.context.view_layer else []
    for obj in objects or ():
        if obj.mode == "EDIT":
            obj.update_from_editmode()
        mesh = obj.data
        selected = np.zeros(len(mesh.vertices), dtype=bool)
        mesh.vertices.foreach_get("select", selected)
        segment = attributes.read(mesh, "segment", "INT")
        picked += [int(s) for s in np.unique(segment[selected])]
    if not picked:
        table = table or _segment_table(cache)
        rows = np.flatnonzero(table[0] == 0)
        picked = [int(rows[np.argmin(np.abs(table[1][rows] - 0.5))])] if len(rows) else [0]
    n = cache.meta["n_segments"]
    bad = [s for s in picked if not 0 <= s < n]
    if bad:
        raise ValueError(f"Segments {bad} are out of range (the run has {n} segments)")
    return list(dict.fromkeys(picked))


def plot_traces(segments=None, *, sections=None, objects=None, frame=None, path=None,
                width=800, height=400, show=True, scene=None):
    """Plot the cached traces of chosen segments (indices, section names, or the selected
    vertices of cell objects) with a line at the current frame, as a PNG and a Blender image
    ("NEURON Live traces"). Returns the plot: `path`, `lines` (the drawn x, y data),
    `labels`, `segments`, `image`."""
    from . import plots

    scene = _scene(scene)
    cache = session.cache
    if cache is None or cache.frames_done == 0:
        raise RuntimeError("No simulation to plot: run first")
    picked = _pick_segments(cache, scene, segments, sections, objects)
    done, per_ms = cache.frames_done, cache.meta["frames_per_ms"]
    times = np.arange(done) / per_ms
    values = np.asarray(cache.frames[:done])[:, picked]
    section, x = _segment_table(cache)
    names = cache.meta.get("section_names") or []
    labels = [f"{names[section[s]]}({x[s]:.3g})" if names else f"segment {s}" for s in picked]
    frame = scene.frame_current if frame is None else frame
    variable, units = cache.meta["variable"], cache.meta.get("units", "")
    path = Path(path) if path else plots.default_path("traces.png")
    plot = plots.trace_plot(path, times, values, labels, current_time=(frame - scene.frame_start) / per_ms,
                            ylabel=f"{variable} ({units})" if units else variable, width=width, height=height)
    plot.segments = picked
    _remember_plot("traces", segments=picked, path=path, width=width, height=height, show=show)
    if show:
        plot.image = plots.show_image(plot.path, "NEURON Live traces")
    return plot


def colour_bar(path=None, *, width=160, height=600, show=True, scene=None):
    """The legend of the current palette and limits as a PNG and a Blender image."""
    from . import colormaps, plots

    scene = _scene(scene)
    props = scene.neuron_live
    variable = session.cache.meta["variable"] if session.cache else props.variable
    units = session.cache.meta.get("units", "") if session.cache else ""
    path = Path(path) if path else plots.default_path("colour_bar.png")
    plot = plots.colour_bar(path, colormaps.colormap(props.palette), props.vmin, props.vmax,
                            start=props.palette_start, stop=props.palette_stop,
                            label=f"{variable} ({units})" if units else variable, width=width, height=height)
    _remember_plot("colour_bar", path=path, width=width, height=height, show=show)
    if show:
        plot.image = plots.show_image(plot.path, "NEURON Live colour bar")
    return plot


def spike_times(*, threshold=None, scene=None):
    """The last run's spikes: {"time" (ms, sorted), "cell" (cell index of each spike),
    "source" (row of the source arrays), "source_section", "source_x", "source_cell",
    "source_threshold", "source_added", "from"}. Recorded by NEURON during the run
    (`NetCon.record` at every NetCon source, and at the soma of cells without one: see
    engine/spikes.py); for a recording made outside Blender, upward crossings of
    `threshold` (default 0 mV) by the cached soma voltage instead."""
    from . import geometry
    from .engine import spikes

    cache, model = session.cache, session.model
    if cache is None or cache.frames_done == 0:
        raise RuntimeError("No simulation to take spikes from: run first")
    data = spikes.load(cache.folder) if threshold is None else None
    if data is not None:
        if str(data["error"]) and not len(data["source_cell"]):
            raise RuntimeError(str(data["error"]))
        data["cell"] = data["source_cell"][data["source"]]
        data["from"] = "NetCon.record"
        return data
    if cache.meta["variable"] != "v":
        raise RuntimeError(f"This run recorded {cache.meta['variable']!r} and no spike times: "
                           "run again (spikes are recorded with every run) or record 'v'")
    if model is None:
        raise RuntimeError("No model for this cache: load it to find its somas")
    threshold = spikes.DEFAULT_THRESHOLD if threshold is None else float(threshold)
    roots = geometry.cell_roots(model)
    cells = np.flatnonzero(roots >= 0)
    segments = geometry.middle_segment(model, roots[cells])
    done = cache.frames_done
    time, column = spikes.crossings(np.asarray(cache.frames[:done])[:, segments],
                                    np.arange(done) / cache.meta["frames_per_ms"], threshold)
    return {"time": time, "source": column, "cell": cells[column].astype(np.int32),
            "source_section": roots[cells].astype(np.int32), "source_x": np.full(len(cells), 0.5, np.float32),
            "source_cell": cells.astype(np.int32), "source_threshold": np.full(len(cells), threshold, np.float32),
            "source_added": np.ones(len(cells), bool), "from": "threshold crossings in the frame cache"}


def plot_spikes(path=None, *, threshold=None, frame=None, width=800, height=400, show=True, scene=None):
    """The spike raster of the last run (time × cell; see `spike_times`) as a PNG and a
    Blender image ("NEURON Live spikes"). Returns the plot: `path`, `lines` (the drawn
    times and cell rows), `labels` (cell names), `spikes` (the `spike_times` dict)."""
    from . import plots

    scene = _scene(scene)
    data = spike_times(threshold=threshold, scene=scene)
    cache = session.cache
    names = session.model.cell_names if session.model is not None else None
    n_rows = len(names) if names else (int(data["source_cell"].max()) + 1 if len(data["source_cell"]) else 1)
    frame = scene.frame_current if frame is None else frame
    per_ms = cache.meta["frames_per_ms"]
    path = Path(path) if path else plots.default_path("spikes.png")
    plot = plots.spike_raster(path, data["time"], data["cell"], n_rows=n_rows, row_labels=names,
                              tstop=(cache.meta["n_frames"] - 1) / per_ms,
                              current_time=(frame - scene.frame_start) / per_ms, width=width, height=height)
    plot.spikes = data
    _remember_plot("spikes", path=path, threshold=threshold, width=width, height=height, show=show)
    if show:
        plot.image = plots.show_image(plot.path, "NEURON Live spikes")
    return plot


_plots_asked = {}  # plot kind -> (model, the arguments the user last asked for)


def _remember_plot(kind, **arguments):
    if not _refreshing:
        _plots_asked[kind] = (session.model, arguments)


_refreshing = []


def refresh_plots(scene=None):
    """Redraw the plots asked for with the loaded model (traces of the same segments,
    raster, colour bar) from the current cache; returns {kind: plot or error text}.
    Called after each run; cheap (a few matplotlib figures, nothing when none was asked)."""
    scene = _scene(scene)
    drawers = {"traces": plot_traces, "spikes": plot_spikes, "colour_bar": colour_bar}
    done = {}
    _refreshing.append(True)
    try:
        for kind, (model, arguments) in list(_plots_asked.items()):
            if model is not session.model:  # asked for another model's run
                continue
            try:
                done[kind] = drawers[kind](scene=scene, **arguments)
            except (RuntimeError, ValueError, OSError) as exc:  # reported in the status line
                done[kind] = f"{kind} plot not refreshed: {exc}"
                scene.neuron_live.status = f"{scene.neuron_live.status}; {done[kind]}"
    finally:
        _refreshing.pop()
    return done


def show_connections(show=True, *, radius=None, scene=None):
    """Draw the loaded model's NetCons as thin curves from source to target: one Curves
    object per cell group (the connections onto its cells), in the cells' own placement
    (the scene's centre/scale geometry options). `show=False` hides them. `radius`: curve
    radius in µm. Rebuilt on each call (numpy, no operators). Returns the objects."""
    from . import connections_view, groups as cell_groups

    scene = _scene(scene)
    props = scene.neuron_live
    if radius is not None:
        with connections_view.quiet:
            props.netcon_radius = radius
    if not show:
        connections_view.set_visible(scene, False)
        if props.show_netcons:
            with connections_view.quiet:
                props.show_netcons = False
        return connections_view.netcon_objects(scene)
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a network to see its NetCons")
    options = cell_groups.BuildOptions(**{key: getattr(props, key) for key in MESH_SETTINGS[:-2]})
    chosen = cell_groups.groups_from_scene(scene, len(model.cell_names)) or [cell_groups.Group("cells")]
    objects, skipped = connections_view.build(scene, model, chosen, options, props.netcon_radius)
    drawn = sum(len(o.data.curves) for o in objects)
    note = f" ({skipped} without a place in space: artificial cells, recorders)" if skipped else ""
    props.status = f"{drawn} of {model.n_netcons} NetCons drawn{note}"
    if not props.show_netcons:
        with connections_view.quiet:  # no update callback re-entering this function
            props.show_netcons = True
    return objects


# -- the headless main job (issue 7) -------------------------------------------------------
from .job import JobResult, run_job  # noqa: E402,F401  (job.py uses this module's functions)


# -- in-scene colour legend (issue 6) ------------------------------------------------------

def show_legend(visible=True, *, scene=None):
    """Show the colour bar (palette, limits, unit label) on a small emissive plane in the
    bottom-right corner of the scene camera's view (a camera is made and framed when there
    is none), so it renders with the animation; it follows later palette/limit changes and
    runs. `visible=False` hides it. Returns the legend object (None if never shown)."""
    from . import legend

    scene = _scene(scene)
    obj = legend.show_legend(scene, visible)
    with legend.quiet:
        scene.neuron_live.show_legend = bool(visible)
    return obj
