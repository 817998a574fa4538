"""Plots beside the 3-D cells: traces from the frame cache, the spike raster and the colour
bar, as PNGs that Blender shows as Images (Image Editor) and that refresh after each run.

Drawn with matplotlib's Agg canvas on a `Figure` of our own (never pyplot: no global
figure state, no GUI backend inside Blender) in seaborn's style; seaborn and matplotlib
are imported inside the functions, so enabling the add-on stays free of them.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Plot:
    path: Path
    size: tuple                      # (width, height) in pixels
    lines: list = field(default_factory=list)  # (x, y) arrays read back from the drawn lines
    labels: list = field(default_factory=list)
    image: object = None             # the bpy.types.Image showing the PNG, when shown


def _figure(width, height, dpi):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def trace_plot(path, times, values, labels, *, ylabel="v (mV)", current_time=None,
               width=800, height=400, dpi=100):
    """Time vs value, one line per column of `values`, a vertical line at `current_time`."""
    import seaborn

    values = np.asarray(values, dtype=np.float64).reshape(len(times), -1)
    with seaborn.axes_style("whitegrid"), seaborn.plotting_context("notebook"):
        fig = _figure(width, height, dpi)
        ax = fig.add_subplot()
        colours = seaborn.color_palette("deep", values.shape[1])
        traces = []
        for column, (label, colour) in enumerate(zip(labels, colours)):
            traces += ax.plot(times, values[:, column], color=colour, label=label, lw=1.5)
        if current_time is not None:
            ax.axvline(current_time, color="0.3", lw=1, ls="--")
        ax.set_xlabel("t (ms)")
        ax.set_ylabel(ylabel)
        if len(times):
            ax.set_xlim(times[0], times[-1])
        if labels:
            ax.legend(loc="upper right", fontsize="small", frameon=True)
        seaborn.despine(fig=fig)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    return Plot(Path(path), (width, height), [(t.get_xdata(), t.get_ydata()) for t in traces], list(labels))


def colour_bar(path, cmap, vmin, vmax, *, start=0.0, stop=1.0, label="", width=160, height=600,
               dpi=100):
    """The palette's sub-range start..stop from vmin to vmax, labelled: the render's legend."""
    import seaborn
    from matplotlib import cm, colors

    vertical = height >= width
    shown = colors.ListedColormap(cmap(np.linspace(start, stop, 256)))
    with seaborn.axes_style("white"), seaborn.plotting_context("notebook"):
        fig = _figure(width, height, dpi)
        rect = (0.2, 0.05, 0.3, 0.9) if vertical else (0.05, 0.45, 0.9, 0.3)
        ax = fig.add_axes(rect)
        mappable = cm.ScalarMappable(norm=colors.Normalize(vmin, vmax), cmap=shown)
        fig.colorbar(mappable, cax=ax, orientation="vertical" if vertical else "horizontal", label=label)
        fig.savefig(path, dpi=dpi)
    return Plot(Path(path), (width, height), labels=[label])


def spike_raster(path, times, rows, *, n_rows=None, row_labels=None, tstop=None, current_time=None,
                 ylabel="cell", width=800, height=400, dpi=100):
    """One tick per spike: time on x, the cell (row) on y; a vertical line at `current_time`.
    `lines` holds the drawn (times, rows) exactly as matplotlib has them."""
    import seaborn

    times = np.asarray(times, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64)
    n_rows = int(rows.max()) + 1 if n_rows is None and len(rows) else (n_rows or 1)
    with seaborn.axes_style("ticks"), seaborn.plotting_context("notebook"):
        fig = _figure(width, height, dpi)
        ax = fig.add_subplot()
        marker_size = max(2.0, min(12.0, 0.6 * height / max(n_rows, 1)))
        ticks = ax.plot(times, rows, linestyle="none", marker="|", markersize=marker_size,
                        markeredgewidth=1.2, color=seaborn.color_palette("deep")[0])
        if current_time is not None:
            ax.axvline(current_time, color="0.3", lw=1, ls="--")
        ax.set_xlabel("t (ms)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(n_rows - 0.5, -0.5)  # cell 0 on top, as in NEURON's raster plots
        if tstop:
            ax.set_xlim(0, tstop)
        if row_labels is not None and n_rows <= 24:
            ax.set_yticks(range(n_rows), [str(label) for label in row_labels][:n_rows], fontsize="x-small")
        ax.set_title(f"{len(times)} spikes", fontsize="small")
        seaborn.despine(fig=fig)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    return Plot(Path(path), (width, height), [(t.get_xdata(), t.get_ydata()) for t in ticks],
                list(row_labels) if row_labels is not None else [])
