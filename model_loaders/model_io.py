"""Save and load a `Model` as one .npz file (arrays as arrays, the rest as JSON), so a
recording made outside Blender carries its morphology with it.

Generic over the dataclass fields, so new `Model` fields travel without changes here.
No pickle: the file never runs code when opened. Nor may it exhaust memory: numpy
allocates whatever shape an array's header claims before reading its data, so the
headers are checked first (each claim must fit in the bytes actually stored, and all
of them under a limit), and the arrays must agree with each other before a `Model`
is handed on (a claimed 10^9 segments would be allocated again by every later stage).
"""
import dataclasses
import json
import math
import zipfile

import numpy as np

from .errors import ModelLoadError
from .model import Model

MAX_ARRAY_BYTES = 4 << 30  # all arrays of one model file together
MAX_SEGMENTS = 50_000_000
MAX_NSEG = 32767  # NEURON's own limit per section
_NUMERIC = "biuf"
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def save_model(model, path):
    arrays, other = {}, {}
    for field in dataclasses.fields(Model):
        value = getattr(model, field.name)
        if isinstance(value, np.ndarray):
            arrays[field.name] = value
        else:
            other[field.name] = value
    np.savez(path, **arrays, _json=np.frombuffer(json.dumps(other).encode(), dtype=np.uint8))


def load_model_file(path):
    """The `Model` saved in `path`; `ModelLoadError` naming the file when it is not sane."""
    check_array_headers(path)
    with np.load(path, allow_pickle=False) as data:
        if "_json" not in data.files:
            raise ModelLoadError(f"{path}: not a NEURON Live model file (no _json member)")
        values = json.loads(data["_json"].tobytes().decode())
        if not isinstance(values, dict):
            raise ModelLoadError(f"{path}: not a NEURON Live model file (_json is not an object)")
        values.update({name: data[name] for name in data.files if name != "_json"})
    known = {field.name for field in dataclasses.fields(Model)}
    try:
        model = Model(**{key: value for key, value in values.items() if key in known})
    except TypeError as exc:  # a required field is missing
        raise ModelLoadError(f"{path}: not a NEURON Live model file ({exc})") from exc
    check_consistent(path, model)
    return model


def check_array_headers(path):
    """{name: (shape, dtype)} of every array, read from the .npy headers only."""
    headers, total = {}, 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                shape, dtype = _header(path, archive, info)
                claimed = math.prod(shape) * dtype.itemsize
                if claimed > info.file_size:
                    raise ModelLoadError(f"{path}: array {info.filename} claims {shape} {dtype} "
                                         f"({claimed:,} bytes) but holds {info.file_size:,} bytes")
                total += claimed
                headers[info.filename[:-4]] = shape, dtype
    except zipfile.BadZipFile as exc:
        raise ModelLoadError(f"{path}: not a NEURON Live model file ({exc})") from exc
    if total > MAX_ARRAY_BYTES:
        raise ModelLoadError(f"{path}: its arrays add up to {total / 2**30:.1f} GiB, more than the "
                             f"{MAX_ARRAY_BYTES >> 30} GiB a model file may hold")
    return headers


def _header(path, archive, info):
    if not info.filename.endswith(".npy"):
        raise ModelLoadError(f"{path}: holds {info.filename}, which is not a numpy array")
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            shape, _, dtype = _HEADER_READERS[version](f)
        except (ValueError, KeyError) as exc:
            raise ModelLoadError(f"{path}: array {info.filename} has an unreadable header ({exc!r})") from exc
    if dtype.kind not in _NUMERIC or dtype.hasobject:
        raise ModelLoadError(f"{path}: array {info.filename} is of type {dtype}, not numbers")
    return shape, dtype


def check_consistent(path, model):
    """Arrays sized by the sections, cells, points, point processes and NetCons they describe."""
    n_sections, n_cells = len(model.section_names), len(model.cell_names)
    _check_offsets(path, model, n_sections)
    n_points = int(model.section_point_start[-1])
    n_pp = _length(model.point_process_type)
    n_nc = _length(model.netcon_weight)
    shapes = {
        "section_type": (n_sections,), "section_cell": (n_sections,), "section_parent": (n_sections,),
        "section_length": (n_sections,), "points": (n_points, 4), "point_arc": (n_points,),
        "cell_offset": (n_cells, 3), "cell_laid_out": (n_cells,),
        "point_process_type": (n_pp,), "point_process_section": (n_pp,), "point_process_x": (n_pp,),
        "netcon_source_section": (n_nc,), "netcon_source_x": (n_nc,), "netcon_target_section": (n_nc,),
        "netcon_target_x": (n_nc,), "netcon_weight": (n_nc,), "netcon_delay": (n_nc,),
    }
    for name, shape in shapes.items():
        value = getattr(model, name)
        if value is not None and np.shape(value) != shape:
            raise ModelLoadError(f"{path}: {name} has shape {np.shape(value)}, expected {shape}")
    for name, low, high in (("section_cell", 0, n_cells), ("section_parent", -1, n_sections),
                            ("point_process_type", 0, len(model.point_process_names)),
                            ("point_process_section", -1, n_sections),
                            ("netcon_source_section", -1, n_sections), ("netcon_target_section", -1, n_sections)):
        _check_range(path, name, getattr(model, name), low, high)


def _length(array):
    return 0 if array is None else len(np.atleast_1d(array))


def _check_offsets(path, model, n_sections):
    """Point and segment offsets: integers from 0, never decreasing, nseg within NEURON's limit."""
    for name in ("section_point_start", "section_segment_start"):
        offsets = np.asarray(getattr(model, name))
        if offsets.shape != (n_sections + 1,) or offsets.dtype.kind not in "iu":
            raise ModelLoadError(f"{path}: {name} has shape {offsets.shape} {offsets.dtype}, "
                                 f"expected ({n_sections + 1},) integers")
        if offsets[0] != 0 or (np.diff(offsets) < 0).any():
            raise ModelLoadError(f"{path}: {name} must start at 0 and never decrease")
    nseg = np.diff(model.section_segment_start)
    if len(nseg) and nseg.max() > MAX_NSEG:
        raise ModelLoadError(f"{path}: a section claims {int(nseg.max()):,} segments (NEURON allows {MAX_NSEG})")
    if model.n_segments > MAX_SEGMENTS:
        raise ModelLoadError(f"{path}: claims {model.n_segments:,} segments, more than the "
                             f"{MAX_SEGMENTS:,} a model file may hold")


def _check_range(path, name, values, low, high):
    if values is None or not np.size(values):
        return
    values = np.asarray(values)
    if values.dtype.kind not in "iu" or values.min() < low or values.max() >= high:
        raise ModelLoadError(f"{path}: {name} holds values outside {low}..{high - 1}")
