"""Read every segment's variable at a frame, in `Model` segment order.

NEURON's own way is one `PtrVector.gather` over the segments' data handles. In NEURON 9
each handle dereferences through a row number kept apart from the data, so on a large
network the gather costs 1–2 ms a frame, more than all the rest of our frame loop. NEURON 9
keeps every node's voltage in one array, so for `v` a frame is read from that array
directly (`NodeVoltages`): compared in full with the handles at the first frame of every
run and, at every frame, on a spread of segments after NEURON's structure count and its
pending-change flags. Any difference (a model that changes its structure mid-run) drops
back to the handles.
"""
import ctypes

import numpy as np

from ...model_loaders.load import current_load
from .errors import SimulationError

_pointers = {}  # (load, variable, segment counts) -> SegmentPointers: reruns skip the setup
SENTINELS = 64  # segments checked against their data handles at every frame
DIRECT_MIN_SEGMENTS = 1000  # below this the handles cost no more than the checks


class FrameReader:
    """Every segment's `variable` now, as a float64 array reused by the next read."""

    def __init__(self, h, variable, n_segments):
        self._h, self._variable, self._n = h, variable, n_segments
        self._pointers = _cached(h, variable, n_segments)
        self._gathered = h.Vector(n_segments)
        self._values = self._gathered.as_numpy()  # NEURON's own storage, read in place
        self._checked = False  # NEURON may have re-sorted its arrays at this run's start

    def rebind(self):
        """Point at the sections of the model loaded again (a replayed run at load)."""
        self._pointers = SegmentPointers(self._h, self._variable, self._n)
        self._checked = False

    def read(self):
        direct = self._pointers.direct
        if self._checked and direct is not None and direct.still_valid():
            return direct.read()
        self._pointers.handles.gather(self._gathered)
        if not self._checked:
            self._checked = True
            self._pointers.check_direct(self._h, self._values)
        return self._values


class SegmentPointers:
    """A PtrVector over every segment's `variable` (segments without it point at a NaN,
    shown as "no data"), and the direct reader of `v` where NEURON allows one.

    The pointers are set by a hoc loop per section (Python's per-segment `pset` calls
    took 0.2 s per 100,000 segments, a hoc loop 0.03 s)."""

    def __init__(self, h, variable, n_expected):
        total = sum(sec.nseg for sec in h.allsec())
        if total != n_expected:
            raise SimulationError(f"The model has {total} segments now but {n_expected} when loaded; reload it")
        self.nan = h.Vector(1)  # must outlive the pointers
        self.nan.x[0] = float("nan")
        self.handles = h.PtrVector(n_expected)
        point = _hoc_pointer_loop(h, variable)
        start, found = 0, False
        for sec in h.allsec():
            if _has(sec, variable):
                point(self.handles, start, sec=sec)
                found = True
            else:
                for i in range(start, start + sec.nseg):
                    self.handles.pset(i, self.nan._ref_x[0])
            start += sec.nseg
        if n_expected and not found:
            raise SimulationError(f"No segment of the model has {variable!r}; it has: {', '.join(range_variables(h))}")
        self.size, self.direct = n_expected, None
        self._direct_wanted = variable == "v" and n_expected >= DIRECT_MIN_SEGMENTS

    def check_direct(self, h, gathered):
        """At a run's first frame: keep the direct reader if it reads exactly what the
        handles just did, else build one (NEURON sorts its arrays when it initialises),
        else read through the handles for the rest of this load."""
        if not self._direct_wanted:
            return
        if self.direct is not None and self.direct.in_place(h) and np.array_equal(self.direct.read(), gathered):
            self.direct.settle()
            return
        self.direct = NodeVoltages.of(h, self.size)
        if self.direct is not None and np.array_equal(self.direct.read(), gathered):
            self.direct.settle()
            return
        self.direct, self._direct_wanted = None, False


def _has(sec, variable):
    try:
        getattr(sec(0.5), "_ref_" + variable)
    except (NameError, AttributeError):
        return False
    return True


def _hoc_pointer_loop(h, variable):
    """hoc `nl_point_<variable>(ptrvector, start)`: points entries start… at the current
    section's segments' `variable`."""
    if not (variable.isascii() and variable.isidentifier()):
        raise SimulationError(f"{variable!r} is not a NEURON range variable name")
    name = f"nl_point_{variable}"
    if not hasattr(h, name):
        h(f"proc {name}() {{ local i, xx  i = $2  for (xx, 0) {{ $o1.pset(i, &{variable}(xx))  i += 1 }} }}")
    return getattr(h, name)


def _cached(h, variable, n_expected):
    """`SegmentPointers`, kept while the same load is in NEURON and its segment count is
    unchanged (a changed nseg rebuilds them, or says to reload)."""
    key = (current_load(), variable, n_expected, sum(sec.nseg for sec in h.allsec()))
    if key not in _pointers:
        _pointers.clear()
        _pointers[key] = SegmentPointers(h, variable, n_expected)
    return _pointers[key]


class NodeVoltages:
    """Every segment's v read straight from NEURON 9's array of node voltages.

    A section's nodes lie next to each other in that array, in either direction (a
    section connected by its 1 end runs backwards), so NEURON's own accessors (the Node
    of a section at x, that Node's voltage) are asked for each section's first and last
    segment only, and for every segment of a section that is not laid out so. The
    array is viewed once; a frame is one numpy take. Before a frame is read, NEURON's
    structure count must be unchanged and no change pending (NEURON sets those flags at
    once for any new or deleted section, nseg or mechanism: the array may move, and a
    moved array's old memory must never be read), and a spread of segments must read
    the same through their data handles."""

    @classmethod
    def of(cls, h, size):
        """The reader, or None where this NEURON has no such accessors (before 9.0)."""
        try:
            access = _Accessors()
            addresses = np.concatenate([access.segments(section, sec) for section, sec in _sections(h)])
        except (AttributeError, OSError, ValueError):
            return None
        low, high = int(addresses.min()), int(addresses.max())
        if len(addresses) != size or low == 0 or (high - low) % 8:
            return None
        return cls(h, access, addresses, low, (high - low) // 8 + 1)

    def __init__(self, h, access, addresses, low, span):
        self.size, self._access, self._first = len(addresses), access, int(addresses[0])
        self._rows = ((addresses - np.uint64(low)) // np.uint64(8)).astype(np.intp)
        self._storage = np.frombuffer((ctypes.c_double * span).from_address(low), dtype=np.float64)
        self._out = np.empty(self.size)
        picks = np.unique(np.linspace(0, self.size - 1, min(SENTINELS, self.size)).astype(np.intp))
        self._sentinel_rows = self._rows[picks]
        self._sentinels = h.PtrVector(len(picks))
        for k, segment in enumerate(_segments_at(h, picks)):
            self._sentinels.pset(k, segment._ref_v)
        self._sentinel_values = h.Vector(len(picks))
        self._sentinel_view = self._sentinel_values.as_numpy()
        self._structure = None  # until checked in full

    def in_place(self, h):
        """Whether the model's first segment still has its voltage where it was viewed."""
        section, sec = next(_sections(h))
        return self._access.voltage(section, (0.5 / sec.nseg)) == self._first

    def settle(self):
        """Take NEURON's structure count now as the one this reader was checked at."""
        self._structure = self._access.structure_count()

    def read(self):
        return np.take(self._storage, self._rows, out=self._out)

    def still_valid(self):
        if self._access.structure_count() != self._structure or self._access.changing():
            return False
        self._sentinels.gather(self._sentinel_values)
        return np.array_equal(self._storage[self._sentinel_rows], self._sentinel_view)


def _sections(h):
    """(the Section's C address, section) in `Model` order. The address is in the
    section's internal name, which NEURON itself resolves that way."""
    for sec in h.allsec():
        name = sec.hoc_internal_name()
        if not name.startswith("__nrnsec_0x"):
            raise ValueError(f"unexpected internal section name {name!r}")
        yield int(name[len("__nrnsec_"):], 16), sec


def _segments_at(h, indices):
    """The segments at these `Model` segment indices (sorted)."""
    wanted, start = iter(indices), 0
    index = next(wanted, None)
    for sec in h.allsec():
        while index is not None and index < start + sec.nseg:
            yield sec((index - start + 0.5) / sec.nseg)
            index = next(wanted, None)
        start += sec.nseg


class _Accessors:
    """NEURON 9's C accessors, looked up by their C++ names: a NEURON whose signatures
    differ lacks these names, so it never gets a wrong call."""

    def __init__(self):
        from neuron import nrn_dll_sym
        self._node = nrn_dll_sym("_Z8node_ptrP7SectiondPd")  # Node* node_ptr(Section*, double x, double*)
        self._node.restype, self._node.argtypes = ctypes.c_void_p, (ctypes.c_void_p, ctypes.c_double, ctypes.c_void_p)
        self._voltage = nrn_dll_sym("_Z29_nrn_mechanism_access_voltageP4Node")  # double& (Node*)
        self._voltage.restype, self._voltage.argtypes = ctypes.c_void_p, (ctypes.c_void_p,)
        self._count = nrn_dll_sym("structure_change_cnt", ctypes.c_int)
        self._pending = [nrn_dll_sym(name, ctypes.c_int) for name in ("v_structure_change", "tree_changed")]

    def voltage(self, section, x):
        return self._voltage(self._node(section, x, None)) or 0

    def segments(self, section, sec):
        """The addresses of a section's segments' voltages, in segment order."""
        nseg = sec.nseg
        first, last = self.voltage(section, 0.5 / nseg), self.voltage(section, 1 - 0.5 / nseg)
        direction = 8 if last >= first else -8
        if last - first == direction * (nseg - 1):
            return (first + direction * np.arange(nseg, dtype=np.int64)).astype(np.uint64)
        return np.array([self.voltage(section, (i + 0.5) / nseg) for i in range(nseg)], dtype=np.uint64)

    def structure_count(self):
        return self._count.value

    def changing(self):
        return any(flag.value for flag in self._pending)


def range_variables(h, limit=40):
    """Range variables the loaded model's segments have (v and those of the mechanisms
    inserted anywhere), for a message that names what could be recorded instead."""
    names = {"v"}
    for sec in h.allsec():
        described = sec.psection()
        for mechanism, variables in described.get("density_mechs", {}).items():
            names.update(f"{name}_{mechanism}" for name in variables)
        for variables in described.get("ions", {}).values():
            names.update(variables)
    ordered = sorted(names, key=lambda name: (name != "v", name))
    return ordered[:limit] + (["…"] if len(ordered) > limit else [])
