"""Place cells that have no 3-D points of their own on a grid.

Their points are laid out as `define_shape()` would (shape.py: from L and diam, NEURON is
given none), which stacks every tree 100 µm apart on one axis: a 356-cell network became
2.3 m long. Here each of those cells is centred on its own grid cell (rows and columns in
x/y, square, spaced by the largest cell), beside any cells that came with real coordinates.
Only the `Model` moves (`cell_offset` says by how much each cell was moved).
"""
import numpy as np

MARGIN = 1.2  # grid spacing as a multiple of the largest cell's footprint


def cell_bounds(points, point_cell, n_cells):
    """(n_cells, 3) minimum and maximum corners of each cell's points."""
    low = np.full((n_cells, 3), np.inf, dtype=np.float64)
    high = np.full((n_cells, 3), -np.inf, dtype=np.float64)
    np.minimum.at(low, point_cell, points)
    np.maximum.at(high, point_cell, points)
    return low, high


def grid_offsets(points, point_cell, laid_out):
    """Offsets (n_cells, 3) moving each `laid_out` cell onto a square grid in x/y."""
    n_cells = len(laid_out)
    offsets = np.zeros((n_cells, 3), dtype=np.float64)
    chosen = np.flatnonzero(laid_out)
    if not len(chosen) or not len(points):
        return offsets.astype(np.float32)
    low, high = cell_bounds(points[:, :3].astype(np.float64), point_cell, n_cells)
    size = np.where(np.isfinite(high - low), high - low, 0.0)
    footprint = size[chosen, :2].max() + float(points[:, 3].max())  # diameters stick out
    step = np.full(2, max(footprint, 10.0) * MARGIN)
    columns = int(np.ceil(np.sqrt(len(chosen))))
    row, column = np.divmod(np.arange(len(chosen)), columns)
    target = np.stack([column * step[0], -row * step[1], np.zeros(len(chosen))], axis=1)
    placed = ~laid_out & np.isfinite(low).all(axis=1)
    if placed.any():  # start the grid beside the cells that kept their own coordinates
        target[:, 0] += high[placed, 0].max() + step[0] / 2 + size[chosen[0], 0] / 2
    center = np.where(np.isfinite(low), (low + high) / 2, 0.0)
    offsets[chosen] = target - center[chosen]
    return offsets.astype(np.float32)
