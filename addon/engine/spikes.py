"""Spike times for the raster: NEURON's own threshold detection, recorded during a run.

bpy-free. Before a run, `SpikeRecorder(h, model)` puts one `NetCon(seg._ref_v, None)` on
every spike source: each distinct source location of the model's NetCons (same pointer,
so NEURON shares that source's PreSyn and its threshold: the times are exactly the ones
its NetCons fire at), and, for a cell none of whose sections feeds a NetCon, the middle
of its soma (else its first root section) with `DEFAULT_THRESHOLD`.

NEURON keeps one record *vector* per source (PreSyn): a second `NetCon.record(vec)` on
the same source silently replaces the first, so recording into a Vector would steal the
spikes of a model that records its own (`nc.record(tvec)`, `pc.spike_record`). We record
with a callback instead (`NetCon.record(callable)`, a separate slot of the PreSyn, called
with `h.t` set to the exact threshold time: measured equal to a Vector record's times
under fixed step and CVode). Only a model that itself records with a callback on the same
source would lose it. After the run `save(folder)` writes `spikes.npz` beside the frame
cache:

    time              float64 (N,) ms, sorted
    source            int32 (N,) row into the per-source arrays below
    source_section    int32 (R,) Model section index of each source
    source_x          float32 (R,) position in that section
    source_cell       int32 (R,) Model cell index
    source_threshold  float32 (R,) mV
    source_added      bool (R,) True: a soma detector of ours (the cell had no NetCon source)
    error             str: why no spikes were recorded ('' when they were)

`crossings()` finds the same kind of events in cached frames (upward threshold crossings,
interpolated linearly) for recordings made outside Blender, where NEURON is not at hand.
"""
from contextlib import contextmanager
from pathlib import Path

import numpy as np

SPIKES_FILE = "spikes.npz"
DEFAULT_THRESHOLD = 0.0  # mV, for a soma that no NetCon watches (NEURON's own default is 10)


def spike_sources(h, model, threshold=DEFAULT_THRESHOLD):
    """[(segment, Model section index, x, cell, threshold, added)], one per spike source."""
    from ...model_loaders.connections import live_netcons
    from ..shapes.cells import cell_roots  # the soma or first root of each cell

    sections = list(h.allsec())
    if len(sections) != model.n_sections:
        raise RuntimeError(f"The model has {len(sections)} sections now but {model.n_sections} "
                           "when loaded; reload it")
    index = {sec: i for i, sec in enumerate(sections)}
    found = {}
    for nc in live_netcons(h):
        segment = nc.preseg()
        if segment is None or segment.sec not in index:
            continue  # an artificial cell (NetStim…) or a source outside the model
        s = index[segment.sec]
        key = (s, float(segment.x))
        if key not in found:
            found[key] = (segment, s, float(segment.x), int(model.section_cell[s]), float(nc.threshold), False)
    watched = {row[3] for row in found.values()}
    for cell, root in enumerate(cell_roots(model)):
        if cell not in watched and root >= 0:
            segment = sections[root](0.5)
            found[(int(root), 0.5)] = (segment, int(root), 0.5, cell, float(threshold), True)
    return sorted(found.values(), key=lambda row: (row[3], row[1], row[2]))


class SpikeRecorder:
    """`NetCon.record` on every spike source of the loaded model (see the module docstring)."""

    def __init__(self, h, model, threshold=DEFAULT_THRESHOLD):
        self.error = ""
        self.sources = spike_sources(h, model, threshold)
        self._netcons, self._times = [], [[] for _ in self.sources]
        for (segment, _, _, _, source_threshold, _), times in zip(self.sources, self._times):
            netcon = h.NetCon(segment._ref_v, None, sec=segment.sec)
            netcon.threshold = source_threshold  # the source's own (shared PreSyn): unchanged
            netcon.record(lambda append=times.append: append(h.t))
            self._netcons.append(netcon)

    def arrays(self):
        """The recorded spikes as the arrays `spikes.npz` holds."""
        times = [np.array(t, dtype=np.float64) for t in self._times]
        time = np.concatenate(times) if times else np.zeros(0)
        source = np.repeat(np.arange(len(times), dtype=np.int32), [len(t) for t in times])
        order = np.argsort(time, kind="stable")
        rows = self.sources
        return {
            "time": time[order], "source": source[order],
            "source_section": np.array([r[1] for r in rows], dtype=np.int32),
            "source_x": np.array([r[2] for r in rows], dtype=np.float32),
            "source_cell": np.array([r[3] for r in rows], dtype=np.int32),
            "source_threshold": np.array([r[4] for r in rows], dtype=np.float32),
            "source_added": np.array([r[5] for r in rows], dtype=bool),
            "error": np.array(self.error),
        }

    def save(self, folder):
        path = Path(folder) / SPIKES_FILE
        np.savez(path, **self.arrays())
        return path

    def close(self, *, detach=False):
        """Drop our NetCons (NEURON deletes one when its last reference goes). `detach`:
        first take their callbacks off the sources, whose PreSyn keeps a callback while
        the model's own NetCons use it; a deleted source (an earlier model's) took its own."""
        if detach:
            for netcon in self._netcons:
                if netcon.preseg() is not None:
                    netcon.record(None)
        self._netcons.clear()


class _Failed:
    """Stands in for a recorder that could not be set up: saves the reason, no spikes."""

    def __init__(self, error):
        self.error = error

    def save(self, folder):
        path = Path(folder) / SPIKES_FILE
        empty = {"time": np.zeros(0), "source": np.zeros(0, np.int32)}
        for key, dtype in (("source_section", np.int32), ("source_x", np.float32), ("source_cell", np.int32),
                           ("source_threshold", np.float32), ("source_added", bool)):
            empty[key] = np.zeros(0, dtype)
        np.savez(path, **empty, error=np.array(self.error))
        return path

    def close(self, *, detach=False):
        pass  # nothing was attached


_current = {"model": None, "recorder": None}


@contextmanager
def recording(model, cache, *, extend=False, threshold=DEFAULT_THRESHOLD):
    """Record spikes around a run (on the NEURON thread) and save them into the cache's
    folder as it is when the run ends (a staged cache moves at its first frame), even
    when the run fails or is cancelled. `extend`: continue the last run's recorder (its
    vectors keep growing, since Continue does not re-initialise NEURON)."""
    from ...model_loaders import neuron_h

    recorder = _current["recorder"]
    if not (extend and recorder is not None and _current["model"] is model):
        if recorder is not None:  # (the cache may have moved beside a saved .blend meanwhile)
            recorder.close()
        _current["recorder"] = _current["model"] = None
        try:
            recorder = SpikeRecorder(neuron_h(), model, threshold)
        except RuntimeError as exc:  # the raster will say why; the run itself goes on
            recorder = _Failed(f"Spike recording could not be set up: {exc}")
        _current.update(model=model, recorder=recorder)
    try:
        yield recorder
    finally:
        recorder.save(cache.folder)


def load(folder):
    """The arrays of `folder`/spikes.npz, or None when the run recorded none."""
    path = Path(folder) / SPIKES_FILE
    if not path.exists():
        return None
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def crossings(values, times, threshold=DEFAULT_THRESHOLD):
    """Upward threshold crossings in sampled traces: (time, column) of every sample pair
    with v[k-1] < threshold <= v[k], the time interpolated linearly between the samples.

    `values`: (frames, columns) array; NaN never crosses."""
    values = np.asarray(values, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    before, after = values[:-1], values[1:]
    k, column = np.nonzero((before < threshold) & (after >= threshold))
    fraction = (threshold - before[k, column]) / (after[k, column] - before[k, column])
    time = times[k] + fraction * (times[k + 1] - times[k])
    order = np.lexsort((column, time))
    return time[order], column[order].astype(np.int32)
