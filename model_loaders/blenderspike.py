"""Open a BlenderSpike recording (`CellRecorder.save_pickle`) as a `Model` plus frames.

The pickle is a list of per-section dicts: ID, type, X/Y/Z/DIAM arrays of the 3-D points
and `Voltage = {frame: array(nseg)}`. A pickle can run code when loaded, so only builtin
containers, numbers and numpy arrays are allowed through; anything else is refused.
"""
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


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refused to load {module}.{name}: a pickle can run code, so only numbers, "
            "containers and numpy arrays are accepted")


def _type_code(text):
    text = str(text).lower()
    return next((code for code, kind in enumerate(SECTION_TYPES) if code and kind in text), 0)


def load_blenderspike(path):
    """Return (Model, frames float32 frames × segments) from a BlenderSpike pickle."""
    try:
        with open(path, "rb") as f:
            sections = _RestrictedUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ModelLoadError(f"{path}: not a BlenderSpike recording we can open safely ({exc})") from exc
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
