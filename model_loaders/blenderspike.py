"""Open a BlenderSpike recording (`CellRecorder.save_pickle`) as a `Model` plus frames.

The pickle is a list of per-section dicts: ID, type, X/Y/Z/DIAM arrays of the 3-D points
and `Voltage = {frame: array(nseg)}`. A pickle can run code when loaded, so only builtin
containers, numbers and numpy arrays are allowed through; anything else is refused.

A pickle can also be a memory bomb: a few hundred bytes of lists that share one inner
list stand for billions of numbers, and `bytes(n)` / `ndarray(shape)` allocate what they
are told. Every number in an honest recording takes at least a byte of the file, so the
values allowed grow with the file's size; anything claiming more is refused before numpy
allocates it.
"""
import math
import os
import pickle

import numpy as np

from .errors import ModelLoadError
from .model import SECTION_TYPES, Model

_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "int"), ("builtins", "float"), ("builtins", "complex"),
    ("builtins", "str"), ("builtins", "bytes"), ("builtins", "bool"),
}


# Callables whose int / shape arguments say how much memory to allocate. `ndarray` itself
# is passed to `_reconstruct` as a type, so it cannot be wrapped; what it allocates is
# not touched before `count_values` counts it.
_SIZED = {("builtins", "bytes"),
          ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
MAX_FILE_BYTES = 4 << 30
MAX_DEPTH = 32  # BlenderSpike nests 4 deep: list > section dict > Voltage dict > array


class RecordingTooLarge(ValueError):
    """The pickle claims more values than its size can honestly hold."""


def value_budget(file_bytes):
    """How many numbers a pickle of `file_bytes` may hold (slack for shared small arrays)."""
    return 4 * file_bytes + 1_000_000


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, budget):
        super().__init__(file)
        self.budget = budget

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a pickle can run code, so only numbers, "
                "containers and numpy arrays are accepted")
        found = super().find_class(module, name)
        return _sized(found, f"{module}.{name}", self.budget) if (module, name) in _SIZED else found


def _sized(make, name, budget):
    """`make` refusing size arguments (bytes(n), ndarray(shape)) above the budget."""
    def checked(*args, **kwargs):
        for arg in (*args, *kwargs.values()):
            claimed = _claimed_size(arg)
            if claimed > budget:
                raise RecordingTooLarge(f"{name} asks for {claimed:,} values, more than a file "
                                        f"this size can hold ({budget:,})")
        return make(*args, **kwargs)
    return checked


def _claimed_size(arg):
    if isinstance(arg, int) and not isinstance(arg, bool):
        return arg
    if isinstance(arg, tuple) and arg and all(isinstance(n, int) for n in arg):
        return math.prod(max(n, 0) for n in arg)
    return 0


def count_values(data, budget):
    """Numbers in `data` counted as numpy would convert them, stopping past `budget`.
    Shared inner lists count every time they appear: that is what conversion costs."""
    count, stack = 0, [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RecordingTooLarge(f"containers nested more than {MAX_DEPTH} deep")
        if isinstance(item, np.ndarray):
            count += item.size
            if item.dtype == object:
                stack.extend((child, depth + 1) for child in item.flat)
        elif isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            count += len(item)
            stack.extend((child, depth + 1) for child in item
                         if isinstance(child, (list, tuple, dict, set, frozenset, np.ndarray)))
        if count > budget:
            raise RecordingTooLarge(f"it holds more than {budget:,} values, more than a file this "
                                    "size can hold (lists sharing one inner list?)")
    return count


def _read(path):
    """The unpickled sections, refused before they can run code or exhaust memory."""
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ModelLoadError(f"{path}: {size / 2**30:.1f} GiB is larger than the "
                             f"{MAX_FILE_BYTES >> 30} GiB a BlenderSpike recording may be")
    budget = value_budget(size)
    try:
        with open(path, "rb") as f:
            sections = _RestrictedUnpickler(f, budget).load()
        count_values(sections, budget)
    except RecordingTooLarge as exc:
        raise ModelLoadError(f"{path}: refused to open this recording: {exc}") from exc
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, MemoryError) as exc:
        raise ModelLoadError(f"{path}: not a BlenderSpike recording we can open safely ({exc})") from exc
    return sections


def _type_code(text):
    text = str(text).lower()
    return next((code for code, kind in enumerate(SECTION_TYPES) if code and kind in text), 0)


def load_blenderspike(path):
    """Return (Model, frames float32 frames × segments) from a BlenderSpike pickle."""
    sections = _read(path)
    try:
        sections = sorted(sections, key=lambda s: s["ID"])
        points, arcs, point_counts, nseg, names, types, lengths, voltages = [], [], [], [], [], [], [], []
        for section in sections:
            xyzd = np.column_stack([np.asarray(section[k], dtype=np.float32) for k in ("X", "Y", "Z", "DIAM")])
            steps = np.linalg.norm(np.diff(xyzd[:, :3], axis=0), axis=1)
            arc = np.concatenate([[0.0], np.cumsum(steps)])
            points.append(xyzd)
            arcs.append(arc / arc[-1] if len(arc) and arc[-1] > 0 else np.zeros(len(arc)))
            point_counts.append(len(xyzd))
            lengths.append(arc[-1] if len(arc) else 0.0)
            frames = section["Voltage"]
            per_frame = np.stack([np.asarray(frames[k], dtype=np.float32) for k in sorted(frames)])
            voltages.append(per_frame)
            nseg.append(per_frame.shape[1])
            names.append(f"section[{section['ID']}]")
            types.append(_type_code(section.get("type", "")))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelLoadError(f"{path}: not a BlenderSpike recording (missing or malformed {exc})") from exc
    model = Model(
        path=str(path), section_names=names,
        section_type=np.array(types, dtype=np.int8),
        section_cell=np.zeros(len(sections), dtype=np.int32),
        section_parent=np.full(len(sections), -1, dtype=np.int32),
        section_length=np.array(lengths, dtype=np.float32),
        section_point_start=np.concatenate([[0], np.cumsum(point_counts)]).astype(np.int64),
        section_segment_start=np.concatenate([[0], np.cumsum(nseg)]).astype(np.int64),
        points=np.concatenate(points) if points else np.zeros((0, 4), np.float32),
        point_arc=np.concatenate(arcs).astype(np.float32) if arcs else np.zeros(0, np.float32),
        cell_names=["cell"],
    )
    return model, np.concatenate(voltages, axis=1)
