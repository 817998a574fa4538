"""Read every segment's variable at a frame, in `Model` segment order.

NEURON's own way is one `PtrVector.gather` over the segments' data handles. In NEURON 9
each handle dereferences through a row number kept apart from the data, so on a large
network the gather costs 1.3–2.1 ms a frame, more than the frame's stepping costs
beyond plain NEURON. NEURON 9 keeps every node's voltage in one array, so for `v` the
frame is read from that array directly (`NodeVoltages`), checked against the handles
at the first frame of every run and on a sample of segments at every frame; any
mismatch (a model that changes its structure mid-run) drops back to the handles.
"""
import ctypes

import numpy as np

from ...model_loaders.load import current_load
from .errors import SimulationError

_pointers = {}  # (load, variable, segment counts) -> SegmentPointers: reruns skip the setup
SENTINELS = 64  # segments checked against their data handles at every frame
DIRECT_MIN_SEGMENTS = 1000  # below this the handles cost less than the checks


class FrameReader:
    """Every segment's `variable` now, as a float64 array reused by the next read."""

    def __init__(self, h, variable, n_segments):
        self._h, self._variable, self._n = h, variable, n_segments
        self._pointers = _cached(h, variable, n_segments)
        self._gathered = h.Vector(n_segments)
        self._values = self._gathered.as_numpy()  # NEURON's own storage, read in place
        self._checked = False  # the direct read is compared in full once per run

    def rebind(self):
        """Point at the sections of the model loaded again (a replayed run at load)."""
        self._pointers = SegmentPointers(self._h, self._variable, self._n)
        self._checked = False

    def read(self):
        direct = self._pointers.direct
        if direct is not None and self._checked and direct.still_valid():
            return direct.read()
        self._pointers.handles.gather(self._gathered)
        if direct is not None and not self._checked:
            self._checked = True
            self._pointers.direct = _matching(self._h, direct, self._values)
        return self._values


class SegmentPointers:
    """A PtrVector over every segment's `variable` (segments without it point at a NaN,
    shown as "no data"), and the direct reader of `v` where NEURON allows one."""

    def __init__(self, h, variable, n_expected):
        self.nan = h.Vector(1)  # must outlive the pointers
        self.nan.x[0] = float("nan")
        refs, found = [], 0
        for sec in h.allsec():
            for seg in sec:
                try:
                    refs.append(getattr(seg, "_ref_" + variable))
                    found += 1
                except (NameError, AttributeError):
                    refs.append(self.nan._ref_x[0])
        if len(refs) != n_expected:
            raise SimulationError(f"The model has {len(refs)} segments now but {n_expected} when loaded; reload it")
        if refs and not found:
            raise SimulationError(f"No segment of the model has {variable!r}; it has: {', '.join(range_variables(h))}")
        self.handles = h.PtrVector(len(refs))
        for i, ref in enumerate(refs):
            self.handles.pset(i, ref)
        wanted = variable == "v" and n_expected >= DIRECT_MIN_SEGMENTS
        self.direct = NodeVoltages.of(h, n_expected) if wanted else None


def _cached(h, variable, n_expected):
    """`SegmentPointers`, kept while the same load is in NEURON (0.2 s per 100k segments)
    and its segment count is unchanged (a changed nseg rebuilds them, or says to reload)."""
    key = (current_load(), variable, n_expected, sum(sec.nseg for sec in h.allsec()))
    if key not in _pointers:
        _pointers.clear()
        _pointers[key] = SegmentPointers(h, variable, n_expected)
    return _pointers[key]


def _matching(h, direct, gathered):
    """`direct` if it reads exactly what the handles just did; else one rebuilt (NEURON
    re-sorts its storage at initialisation when the threads or the structure changed)
    if that one does; else None: the handles are read from then on."""
    def candidates():
        if direct.in_place(h):
            yield direct
        yield NodeVoltages.of(h, direct.size)

    for candidate in candidates():
        if candidate is not None and np.array_equal(candidate.read(), gathered):
            candidate.settle()
            return candidate
    return None


class NodeVoltages:
    """Every segment's v read straight from NEURON 9's array of node voltages.

    The segments' addresses come from NEURON's own accessors (the Node of a section at
    x, that Node's voltage); the array is viewed once and a frame is one numpy take.
    Before each frame it checks NEURON's structure count and its flags for a pending
    change (set at once by any new or deleted section, nseg or mechanism: the array
    may then move, so it is not touched), then that a spread of segments reads the
    same through their data handles."""

    @classmethod
    def of(cls, h, size):
        """The reader, or None where this NEURON has no such accessors (before 9.0)."""
        try:
            access = _Accessors()
        except (AttributeError, OSError, ValueError):
            return None
        picks = set(np.linspace(0, size - 1, min(SENTINELS, size)).astype(int).tolist())
        addresses, sentinels = np.empty(size, dtype=np.uint64), []
        for i, (section, seg) in enumerate(_segments(h)):
            addresses[i] = access.voltage(section, seg.x)
            if i in picks:
                sentinels.append((i, seg._ref_v))
        low, high = int(addresses.min()), int(addresses.max())
        if low == 0 or (high - low) % 8:
            return None
        return cls(h, access, addresses, low, (high - low) // 8 + 1, sentinels)

    def __init__(self, h, access, addresses, low, span, sentinels):
        self.size, self._access, self._first = len(addresses), access, int(addresses[0])
        self._rows = ((addresses - np.uint64(low)) // np.uint64(8)).astype(np.intp)
        self._storage = np.frombuffer((ctypes.c_double * span).from_address(low), dtype=np.float64)
        self._out = np.empty(self.size)
        self._sentinel_rows = self._rows[[i for i, _ in sentinels]]
        self._sentinels = h.PtrVector(len(sentinels))
        for k, (_, ref) in enumerate(sentinels):
            self._sentinels.pset(k, ref)
        self._sentinel_values = h.Vector(len(sentinels))
        self._sentinel_view = self._sentinel_values.as_numpy()
        self._structure = None  # until checked in full

    def in_place(self, h):
        """Whether NEURON's array is still where it was viewed (sorting or growing it may
        move it: a moved array's old memory must never be read)."""
        section, seg = next(_segments(h))
        return self._access.voltage(section, seg.x) == self._first

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


def _segments(h):
    """(the Section's C address, segment) for every segment, in `Model` order. The
    address is in the section's internal name, which NEURON itself resolves that way."""
    for sec in h.allsec():
        name = sec.hoc_internal_name()
        if not name.startswith("__nrnsec_0x"):
            raise ValueError(f"unexpected internal section name {name!r}")
        section = int(name[len("__nrnsec_"):], 16)
        for seg in sec:
            yield section, seg


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
