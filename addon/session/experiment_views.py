"""Looking at experiments: the probes' traces of one or several runs (overlaid, a legend, a
line at the current frame's time), and the mesh coloured by the difference of two runs.

The difference is a frame cache of its own (run B − run A, frame by frame, beside the
runs' caches) played like any run, with a diverging palette over symmetric limits, so
everything that plays a run (playback, renders, the frame's values) shows it unchanged.
"""
import threading
import time
from pathlib import Path

import bpy
import numpy as np

from ..colour.plots import Plot
from ..engine import FrameCache
from ..engine.experiment import ExperimentError
from ..engine.run_settings import sample_time
from ..engine.state import session
from ..scene import images, materials, playback
from . import colouring
from .experiment import known
from .experiment_runs import PROBES_FILE, probe_traces, run_entry

DIVERGING = "vlag"  # blue – white – red: B below A, equal, above
IMAGE = "NEURON Live probes"
REDRAW_EVERY = 0.5  # s at least between two drawings: each holds Python's lock for a while


def plot_probes(keys=None, *, runs=None, path=None, width=800, height=400, show=True, scene=None):
    """Plot the probes' traces (every time step) of the last run, or of `runs` (names)
    overlaid, one panel per variable, with a line at the current frame's time; a PNG and a
    Blender image ("NEURON Live probes"). Returns the plot (`path`, `lines`, `labels`)."""
    scene = scene or bpy.context.scene
    sets = [(None, probe_traces(scene=scene))] if not runs else [
        (run_entry(scene, run)["name"], probe_traces(run, scene=scene)) for run in runs]
    if not any(traces for _, traces in sets):
        raise ExperimentError("No probe traces: add a probe (add_probe) and run")
    wanted = keys or sorted({key for _, traces in sets for key in traces if key != "t"})
    per_ms = scene.neuron_live.frames_per_ms
    now = sample_time(scene.frame_current - scene.frame_start, per_ms)
    path = Path(path) if path else images.default_path("probes.png")
    plot = _draw(path, sets, wanted, now, width, height)
    if show:
        plot.image = images.show_image(plot.path, IMAGE)
    return plot


class LivePlot:
    """The probe plot growing during a run. The host's NEURON writes the traces so far
    every half second; drawing them (matplotlib, 0.1–0.3 s) happens on a thread of its own,
    so Blender's main thread only swaps the finished picture in (an image reload)."""

    def __init__(self):
        self.thread, self.drawn, self.seen, self.shown = None, None, None, 0
        self.started = 0.0

    def refresh(self, scene, width=800, height=400):
        """Main thread (a timer while a run goes, or a script's wait loop): show the last
        picture drawn, and start drawing the traces written since. Returns whether the
        picture changed."""
        changed = False
        if self.thread is not None and not self.thread.is_alive():
            self.thread = None
            if self.drawn is not None:
                images.show_image(self.drawn, IMAGE)
                self.shown += 1
                changed = True
        source = _traces_file(scene)
        stamp = (str(source), source.stat().st_mtime_ns, scene.frame_current) if source is not None else None
        if self.thread is None and stamp is not None and stamp != self.seen and (
                time.monotonic() - self.started >= REDRAW_EVERY):
            self.seen, self.started = stamp, time.monotonic()
            now = sample_time(scene.frame_current - scene.frame_start, scene.neuron_live.frames_per_ms)
            path = images.default_path("probes.png")
            self.thread = threading.Thread(target=self._draw, args=(path, source, now, width, height),
                                           name="neuron-live-probe-plot", daemon=True)
            self.thread.start()
        return changed

    def _draw(self, path, source, now, width, height):
        try:
            with np.load(source) as data:
                traces = {key: data[key] for key in data.files}
            _draw(path, [(None, traces)], sorted(key for key in traces if key != "t"), now, width, height)
            self.drawn = path
        except (OSError, ValueError, RuntimeError) as exc:  # a plot that fails must not stop the run
            self.drawn = None
            print(f"NEURON Live: the live probe plot failed: {exc}")

    def finish(self):
        if self.thread is not None:
            self.thread.join()
        self.thread, self.seen = None, None


live_plot = LivePlot()


def _traces_file(scene):
    """The npz with the newest traces: the run in flight's so far, else the playing run's."""
    live = known.of(session.model).live if session.model is not None else None
    if session.busy and live is not None and live.exists():
        return live
    final = session.cache.folder / PROBES_FILE if session.cache is not None else None
    return final if final is not None and final.exists() else None


def _draw(path, sets, keys, now, width, height, dpi=100):
    import seaborn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    variables = list(dict.fromkeys(key.rpartition(".")[2] for key in keys))
    lines, labels = [], []
    with seaborn.axes_style("whitegrid"), seaborn.plotting_context("notebook"):
        fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(variables), 1, sharex=True, squeeze=False)[:, 0]
        colours = seaborn.color_palette("deep", len(keys) * len(sets))
        for k, (run, traces) in enumerate(sets):
            for j, key in enumerate(k for k in keys if k in traces):
                ax = axes[variables.index(key.rpartition(".")[2])]
                label = f"{key} · {run}" if run else key
                (line,) = ax.plot(traces["t"], traces[key], lw=1.3, label=label,
                                  color=colours[(k * len(keys) + j) % len(colours)])
                lines.append((line.get_xdata(), line.get_ydata()))
                labels.append(label)
        for ax, variable in zip(axes, variables):
            ax.axvline(now, color="0.3", lw=1, ls="--")
            ax.set_ylabel(variable)
            ax.legend(loc="upper right", fontsize="x-small", frameon=True)
        axes[-1].set_xlabel("t (ms)")
        seaborn.despine(fig=fig)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    return Plot(Path(path), (width, height), lines, labels)


def show_difference(a, b, *, scene=None):
    """Colour the cells by run `b` − run `a` at every frame (a diverging palette, limits ±
    the largest difference); returns the difference's cache. `play_run` goes back to a run."""
    scene = scene or bpy.context.scene
    session.check_idle()
    first, second = (FrameCache.open(run_entry(scene, name)["folder"]) for name in (a, b))
    if first.meta["n_segments"] != second.meta["n_segments"]:
        raise ExperimentError(f"{a} and {b} are runs of models with different segments")
    if first.meta["frames_per_ms"] != second.meta["frames_per_ms"]:
        raise ExperimentError(f"{a} and {b} sample different frames per ms: nothing to subtract frame by frame")
    n = min(first.frames_done, second.frames_done)
    pair = f"{run_entry(scene, a)['index']}-{run_entry(scene, b)['index']}"
    folder = Path(run_entry(scene, b)["folder"]).parent / f"difference-{pair}"
    with np.load(first.folder / "segments.npz") as table:
        segments = (table["section"], table["x"])
    variable = first.meta["variable"]
    cache = FrameCache.create(folder, n, first.meta["n_segments"], segments=segments,
                              variable=variable, frames_per_ms=first.meta["frames_per_ms"],
                              model=first.meta.get("model"), section_names=first.meta.get("section_names"),
                              difference=[run_entry(scene, a)["name"], run_entry(scene, b)["name"]])
    cache.meta["units"] = first.meta.get("units", "")
    largest = 0.0
    for frame in range(n):
        row = np.asarray(second.frames[frame], np.float32) - np.asarray(first.frames[frame], np.float32)
        cache.write(frame, row)
        largest = max(largest, float(np.nanmax(np.abs(row))) if row.size else 0.0)
    cache.finish(complete=True)
    session.cache = cache
    limit = largest or 1.0
    colouring.set_colormap(DIVERGING, vmin=-limit, vmax=limit, scene=scene)
    materials.refresh_all(scene)
    playback.refresh(scene)
    scene.neuron_live.status = f"Showing {run_entry(scene, b)['name']} − {run_entry(scene, a)['name']} (±{limit:.3g})"
    return cache
