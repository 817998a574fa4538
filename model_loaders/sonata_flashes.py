"""Spikes as flashes on the somata, for a SONATA data set with a spike file but no report
(BMTK's point-neuron runs, a network recorded for its spikes only). No bpy.

A report-like source (what `addon/engine/sonata.fill` reads): one soma column per drawn
node, 1 for `FLASH_MS` after each of its spikes and 0 otherwise, made block by block on
demand like a compartment report's rows, so a long run is never held in memory whole.
"""
import numpy as np

from .sonata import read_spikes

FLASH_MS = 2.0
DT = 0.25  # ms between frames
TAIL_MS = 5.0  # frames after the last spike


class SpikeFlashes:
    variable, units, element_pos, start = "spikes", "", None, 0.0

    def __init__(self, path, nodes, rows, *, dt=DT, flash_ms=FLASH_MS):
        self.path, self.population, self.dt, self.flash_ms = path, nodes.population, dt, flash_ms
        self.where = f"{path}: /spikes/{nodes.population}"
        node_ids, times = read_spikes(path, nodes.population)
        column_of_row = np.full(len(nodes), -1, np.int64)
        column_of_row[rows] = np.arange(len(rows))
        columns = column_of_row[nodes.row_of(node_ids, f"{self.where}/node_ids")]
        kept = columns >= 0  # virtual (input) nodes are not drawn
        self.spike_column, self.spike_time = columns[kept], times[kept]
        self.node_ids = nodes.node_id[rows]
        self.index_pointers = np.arange(len(rows) + 1, dtype=np.int64)
        self.element_ids = np.zeros(len(rows), np.int64)
        last = float(self.spike_time.max()) if len(self.spike_time) else 0.0
        self.stop = last + flash_ms + TAIL_MS
        self.n_times = int(np.ceil(self.stop / dt))

    @property
    def n_columns(self):
        return len(self.node_ids)

    def column_nodes(self):
        return self.node_ids

    def rows(self, start, stop):
        """Frames start..stop-1: 1 where a column's soma flashes (t in [spike, spike + flash))."""
        out = np.zeros((stop - start, self.n_columns), np.float32)
        first = np.ceil(self.spike_time / self.dt - 1e-9).astype(np.int64)
        last = np.ceil((self.spike_time + self.flash_ms) / self.dt - 1e-9).astype(np.int64)  # exclusive
        hit = (first < stop) & (last > start)
        for a, b, column in zip(np.maximum(first[hit], start), np.minimum(last[hit], stop), self.spike_column[hit]):
            out[a - start:b - start, column] = 1.0
        return out

    def close(self):
        """Nothing is held open (the spike file was read at once: spikes are small)."""
