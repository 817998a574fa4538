"""Reading a frame cache back safely: meta.json and the npy headers are checked field by
field before anything is mapped, so a damaged or foreign cache gives a CacheError that
says what is wrong, never a numpy or zipfile traceback, a pickle, or a stall."""
import json
import math
import os
import zipfile

import numpy as np

FORMAT = "neuron_live.frame_cache"
VERSION = 1
UNITS = {"v": "mV", "cai": "mM", "cao": "mM", "nai": "mM", "ki": "mM", "ik": "mA/cm2",
         "ina": "mA/cm2", "ica": "mA/cm2", "i_membrane": "mA/cm2"}
META_LIMIT = 256 << 20  # a meta.json beyond this is not ours: refuse it rather than stall reading it
HEADER_LIMIT = 1 << 16  # npy headers we write are under 200 bytes
_INT, _BOOL, _NUMBER, _TEXT = "an integer", "true or false", "a number", "a text"


class CacheError(RuntimeError):
    """A cache folder is missing, corrupt or cannot be written."""



def _read_meta(folder):
    """meta.json as a dict, every field the cache relies on checked."""
    path = folder / "meta.json"
    size = path.stat().st_size
    if size > META_LIMIT:
        raise CacheError(f"The frame cache {folder} is corrupt (meta.json is {size >> 20} MB)")
    try:
        meta = json.loads(path.read_bytes())
    except ValueError as exc:
        raise CacheError(f"The frame cache {folder} is corrupt (meta.json is not JSON: {exc})") from exc
    if not isinstance(meta, dict):
        raise CacheError(f"The frame cache {folder} is corrupt (meta.json holds {type(meta).__name__}, not an object)")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CacheError(f"{folder} is not a version {VERSION} NEURON Live frame cache")
    _check_fields(folder, meta)
    return meta


def _check_fields(folder, meta):
    def bad(why):
        return CacheError(f"The frame cache {folder} is corrupt (meta.json: {why}); run the simulation again")

    for key, kind in (("n_frames", _INT), ("n_segments", _INT), ("frames_done", _INT),
                      ("variable", _TEXT), ("complete", _BOOL)):
        if key not in meta:
            raise bad(f"'{key}' is missing")
        if not _is(meta[key], kind):
            raise bad(f"'{key}' is {meta[key]!r}, not {kind}")
    for key, kind in (("frames_per_ms", _NUMBER), ("cancelled", _BOOL)):
        if key in meta and not _is(meta[key], kind):
            raise bad(f"'{key}' is {meta[key]!r}, not {kind}")
    if not isinstance(meta.get("units", ""), str):  # "" for a variable of unknown units
        raise bad(f"'units' is {meta['units']!r}, not a text")
    meta.setdefault("cancelled", False)
    meta.setdefault("error", None)
    if meta["error"] is not None and not isinstance(meta["error"], str):
        raise bad(f"'error' is {meta['error']!r}, not a text")
    n_frames, done, per_ms = meta["n_frames"], meta["frames_done"], meta.get("frames_per_ms", 1)
    if n_frames < 1 or meta["n_segments"] < 0:
        raise bad(f"{n_frames} frames × {meta['n_segments']} segments")
    if not 0 <= done <= n_frames:
        raise bad(f"frames_done is {done}, outside 0..{n_frames}")
    if not (math.isfinite(per_ms) and per_ms > 0):
        raise bad(f"frames_per_ms is {per_ms!r}")
    if meta["complete"] and done != n_frames:
        raise bad(f"complete with {done} of {n_frames} frames")
    names = meta.get("section_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise bad("'section_names' is not a list of texts")


def _is(value, kind):
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str) and bool(value)


def _npy_header(f, name):
    """(shape, fortran_order, dtype) from an npy header, refusing a header length no
    array of ours has (numpy's own refusal would advise allow_pickle)."""
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise CacheError(f"{name} is corrupt (npy format version {version})")
    size_bytes = 2 if version == (1, 0) else 4
    start = f.tell()
    length = int.from_bytes(f.read(size_bytes), "little")
    if length > HEADER_LIMIT:
        raise CacheError(f"{name} is corrupt (an npy header of {length} bytes)")
    f.seek(start)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        return read(f, max_header_size=HEADER_LIMIT + 1)
    except Exception as exc:  # numpy's header parser raises ValueError, TokenError, SyntaxError, ...
        raise CacheError(f"{name} is corrupt (an unreadable npy header: {exc}); run the simulation again") from exc


def _map_frames(path, meta, mode):
    """Memory-map frames.npy after reading only its header: float32, C order, n_segments
    columns, frames_done..n_frames rows, and the file long enough for them."""
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_header(f, path)
        offset = f.tell()
        size = os.fstat(f.fileno()).st_size
    if dtype != np.dtype("<f4") or fortran:
        raise CacheError(f"{path} is corrupt (holds {dtype}{' in Fortran order' if fortran else ''}, "
                         "not float32 frames); run the simulation again")
    rows = shape[0] if len(shape) == 2 else -1
    if len(shape) != 2 or shape[1] != meta["n_segments"] or not meta["frames_done"] <= rows <= meta["n_frames"]:
        raise CacheError(f"{path} is corrupt (shape {shape}, but meta.json says {meta['n_frames']} frames "
                         f"× {meta['n_segments']} segments, {meta['frames_done']} done); run the simulation again")
    needed = offset + rows * shape[1] * 4
    if size < needed:
        raise CacheError(f"{path} is truncated ({size} of {needed} bytes); run the simulation again")
    if rows * shape[1] == 0:  # mmap cannot map zero bytes
        return np.memmap(path, dtype=np.float32, mode=mode, offset=0, shape=(1,))[:0].reshape(shape)
    return np.memmap(path, dtype=np.float32, mode=mode, offset=offset, shape=shape)


def _check_segments(folder, meta):
    """segments.npz, when present: one int section index and one float x per column,
    section indices within section_names. Headers first: nothing big is read blindly."""
    path = folder / "segments.npz"
    if not path.exists():
        return
    n = meta["n_segments"]
    with zipfile.ZipFile(path) as archive:
        arrays = {}
        for key, kinds in (("section", "iu"), ("x", "f")):
            if key + ".npy" not in archive.namelist():
                raise CacheError(f"{path} is corrupt (no '{key}' array); run the simulation again")
            with archive.open(key + ".npy") as member:
                shape, fortran, dtype = _npy_header(member, f"{path}:{key}")
                if shape != (n,) or dtype.kind not in kinds:
                    raise CacheError(f"{path} is corrupt ('{key}' is {dtype} {shape}, not {n} segments); "
                                     "run the simulation again")
                arrays[key] = np.frombuffer(member.read(n * dtype.itemsize), dtype=dtype)
    names = meta.get("section_names")
    section = arrays["section"]
    if len(section) != n:
        raise CacheError(f"{path} is truncated; run the simulation again")
    if names is not None and n and (section.min() < 0 or section.max() >= len(names)):
        raise CacheError(f"{path} is corrupt (section indices outside the {len(names)} sections)")


def _rows_written(frames, known):
    """How many rows an interrupted run wrote: meta.json is written when a run ends, so
    after a crash only the rows tell. Unwritten rows are all NaN (the cache is NaN-filled
    when made) and written ones hold a number somewhere; rows are written in order, so a
    binary search reads about log2(rows) rows, never the whole file."""
    def written(row):
        return bool(np.isfinite(frames[row]).any())
    low, high = known, len(frames)  # rows below `low` are written; rows from `high` are not
    while low < high:
        middle = (low + high) // 2
        if written(middle):
            low = middle + 1
        else:
            high = middle
    return low
