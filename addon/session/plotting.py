"""Plots of the last run: traces of chosen segments, the spike raster and the colour bar,
as PNGs and Blender images, redrawn after each run for the plots the user asked for."""
from pathlib import Path

import bpy
import numpy as np

from ..colour import plots
from ..engine import spikes
from ..engine.run_settings import sample_time
from ..engine.state import session
from ..scene import attributes, images, playback
from ..shapes.cells import cell_roots, middle_segment


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
        selected = bpy.context.selected_objects if bpy.context.view_layer else []
        objects = [o for o in selected if o.get(playback.OBJECT_TAG)]
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
    scene = scene or bpy.context.scene
    cache = session.cache
    if cache is None or cache.frames_done == 0:
        raise RuntimeError("No simulation to plot: run first")
    picked = _pick_segments(cache, scene, segments, sections, objects)
    done, per_ms = cache.frames_done, cache.meta["frames_per_ms"]
    times = sample_time(np.arange(done), per_ms)
    values = np.asarray(cache.frames[:done])[:, picked]
    section, x = _segment_table(cache)
    names = cache.meta.get("section_names") or []
    labels = [f"{names[section[s]]}({x[s]:.3g})" if names else f"segment {s}" for s in picked]
    frame = scene.frame_current if frame is None else frame
    variable, units = cache.meta["variable"], cache.meta.get("units", "")
    path = Path(path) if path else images.default_path("traces.png")
    plot = plots.trace_plot(path, times, values, labels, current_time=sample_time(frame - scene.frame_start, per_ms),
                            ylabel=f"{variable} ({units})" if units else variable, width=width, height=height)
    plot.segments = picked
    _remember_plot("traces", segments=picked, path=path, width=width, height=height, show=show)
    if show:
        plot.image = images.show_image(plot.path, "NEURON Live traces")
    return plot


def colour_bar(path=None, *, width=160, height=600, show=True, scene=None):
    """The legend of the current palette and limits as a PNG and a Blender image."""
    scene = scene or bpy.context.scene
    path = Path(path) if path else images.default_path("colour_bar.png")
    plot = images.colour_bar(scene, path, width, height)
    _remember_plot("colour_bar", path=path, width=width, height=height, show=show)
    if show:
        plot.image = images.show_image(plot.path, "NEURON Live colour bar")
    return plot


def spike_times(*, threshold=None, scene=None):
    """The last run's spikes: {"time" (ms, sorted), "cell" (cell index of each spike),
    "source" (row of the source arrays), "source_section", "source_x", "source_cell",
    "source_threshold", "source_added", "from"}. Recorded by NEURON during the run
    (`NetCon.record` at every NetCon source, and at the soma of cells without one: see
    engine/spikes.py); for a recording made outside Blender, upward crossings of
    `threshold` (default 0 mV) by the cached soma voltage instead."""
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
    roots = cell_roots(model)
    cells = np.flatnonzero(roots >= 0)
    segments = middle_segment(model, roots[cells])
    done = cache.frames_done
    time, column = spikes.crossings(np.asarray(cache.frames[:done])[:, segments],
                                    sample_time(np.arange(done), cache.meta["frames_per_ms"]), threshold)
    return {"time": time, "source": column, "cell": cells[column].astype(np.int32),
            "source_section": roots[cells].astype(np.int32), "source_x": np.full(len(cells), 0.5, np.float32),
            "source_cell": cells.astype(np.int32), "source_threshold": np.full(len(cells), threshold, np.float32),
            "source_added": np.ones(len(cells), bool), "from": "threshold crossings in the frame cache"}


def plot_spikes(path=None, *, threshold=None, frame=None, width=800, height=400, show=True, scene=None):
    """The spike raster of the last run (time × cell; see `spike_times`) as a PNG and a
    Blender image ("NEURON Live spikes"). Returns the plot: `path`, `lines` (the drawn
    times and cell rows), `labels` (cell names), `spikes` (the `spike_times` dict)."""
    scene = scene or bpy.context.scene
    data = spike_times(threshold=threshold, scene=scene)
    cache = session.cache
    names = session.model.cell_names if session.model is not None else None
    n_rows = len(names) if names else (int(data["source_cell"].max()) + 1 if len(data["source_cell"]) else 1)
    frame = scene.frame_current if frame is None else frame
    per_ms = cache.meta["frames_per_ms"]
    path = Path(path) if path else images.default_path("spikes.png")
    plot = plots.spike_raster(path, data["time"], data["cell"], n_rows=n_rows, row_labels=names,
                              tstop=sample_time(cache.meta["n_frames"] - 1, per_ms),
                              current_time=sample_time(frame - scene.frame_start, per_ms), width=width, height=height)
    plot.spikes = data
    _remember_plot("spikes", path=path, threshold=threshold, width=width, height=height, show=show)
    if show:
        plot.image = images.show_image(plot.path, "NEURON Live spikes")
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
    scene = scene or bpy.context.scene
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

