"""The frame cache: float32 frames × segments on disk, memory-mapped.

Format (version 1), a folder `<name>.nlcache/`:
  frames.npy    float32 array (rows, n_segments); row k holds t = k / frames_per_ms;
                NaN where a segment lacks the variable or the frame is not simulated yet.
                rows is n_frames, or frames_done once an unfinished run was trimmed
  segments.npz  the segment table: `section` (int32 index into `section_names`) and `x`
                (float32 segment centre), one entry per column of frames.npy
  meta.json     {"format": "neuron_live.frame_cache", "version": 1, "variable", "units",
                 "frames_per_ms", "n_frames", "n_segments", "frames_done", "complete",
                 "cancelled", "error", "model", "model_sha256", "settings", "section_names"}
Frames × segments (not × vertices) keeps it small; the memory map lets a run larger
than RAM still play.
"""
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from .cache_reading import FORMAT, UNITS, VERSION, CacheError, _check_segments, _map_frames, _read_meta, _rows_written


def _new_frames(path, n_frames, n_segments):
    """A NaN-filled memory-mapped array whose disk blocks are reserved up front: a full disk
    then fails here with an OSError instead of a SIGBUS in the middle of a run. The NaNs are
    written through the file, about 1 MB at a time: three times faster than filling the
    mapping, whose every page would fault in first."""
    shape, dtype = (n_frames, n_segments), np.dtype(np.float32)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    row = n_segments * dtype.itemsize
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        if hasattr(os, "posix_fallocate") and n_frames * row:
            os.posix_fallocate(f.fileno(), 0, f.tell() + n_frames * row)
        rows_per_block = max(1, (1 << 20) // max(row, 1))
        block = np.full((min(rows_per_block, n_frames), n_segments), np.nan, dtype).tobytes()
        for start in range(0, n_frames, rows_per_block):
            f.write(block[:min(rows_per_block, n_frames - start) * row])
    return np.lib.format.open_memmap(path, mode="r+")


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sibling(folder, kind):
    """A fresh hidden name beside `folder`: same file system, so a rename moves it at once."""
    return folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:12]}.{kind}")


def _remove(path):
    """Delete a folder (or a file in its place) that is no longer wanted."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class FrameCache:
    def __init__(self, folder, frames, meta, *, target=None):
        self.folder = Path(folder)
        self.frames = frames
        self._rows = frames.view(np.ndarray)  # same memory; skips np.memmap's per-access overhead
        self.meta = meta
        self.target = None if target is None else Path(target)  # where promote() puts a staged cache
        self._saved_at = 0.0

    @classmethod
    def create(cls, folder, n_frames, n_segments, *, segments=None, staged=False, **meta):
        """A new cache for `folder`, built in a fresh sibling folder so that a failed
        creation (a full disk, no permission) never costs the old cache in `folder`.

        staged=False: the new cache then replaces `folder` at once.
        staged=True: it stays in the sibling (`cache.folder`; `cache.staged` is True) and
        the old cache keeps playing until `cache.promote()` replaces it: call that once the
        run has its first frame (frames_done >= 1), or `cache.discard()` if the run failed
        before then. `segments`: optional (section index, x) arrays for the segment table.
        """
        folder = Path(folder)
        staging = _sibling(folder, "new")
        try:
            staging.mkdir(parents=True)
            frames = _new_frames(staging / "frames.npy", n_frames, n_segments)
            if segments is not None:
                np.savez(staging / "segments.npz", section=np.asarray(segments[0], np.int32),
                         x=np.asarray(segments[1], np.float32))
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)  # best effort: the error below is what matters
            raise CacheError(f"Cannot write the frame cache in {folder}: {exc.strerror or exc}") from exc
        meta = {"format": FORMAT, "version": VERSION, "n_frames": n_frames, "n_segments": n_segments,
                "frames_done": 0, "complete": False, "cancelled": False, "error": None,
                "units": UNITS.get(meta.get("variable", "v"), ""), **meta}
        cache = cls(staging, frames, meta, target=folder)
        cache.save_meta()
        if not staged:
            cache.promote()
        return cache

    @property
    def staged(self):
        """True while the cache still waits in its sibling folder for promote()."""
        return self.target is not None

    def promote(self):
        """Move a staged cache into its final folder, replacing the cache there; returns
        the folder. The memory map stays valid (a rename keeps the file)."""
        if self.target is None:
            return self.folder
        target, old = self.target, _sibling(self.target, "old")
        try:
            if target.exists() or target.is_symlink():
                target.rename(old)
            try:
                self.folder.rename(target)
            except OSError:
                if old.exists():
                    old.rename(target)  # put the previous cache back
                raise
            if old.exists():
                _remove(old)
        except OSError as exc:
            raise CacheError(f"Cannot replace the frame cache {target}: {exc.strerror or exc}") from exc
        self.folder, self.target = target, None
        return target

    def discard(self):
        """Delete a staged cache that will never be promoted (its run failed early)."""
        if self.target is None:
            raise CacheError(f"{self.folder} is the cache in use, not a staged one: not deleting it")
        shutil.rmtree(self.folder, ignore_errors=True)  # best effort: it holds nothing of value

    @classmethod
    def open(cls, folder):
        """Open an existing cache read-only (memory-mapped), after checking every field
        and the file layout; anything wrong raises CacheError, never another error."""
        folder = Path(folder)
        try:
            meta = _read_meta(folder)
            frames = _map_frames(folder / "frames.npy", meta, "r")
            _check_segments(folder, meta)
        except CacheError:
            raise
        except FileNotFoundError as exc:
            raise CacheError(f"The frame cache {folder} is gone ({exc.filename} is missing); "
                             "run the simulation again") from exc
        except Exception as exc:  # damaged bytes reach numpy's and zipfile's parsers, which raise many kinds
            raise CacheError(f"The frame cache {folder} is corrupt ({type(exc).__name__}: {exc}); "
                             "run the simulation again") from exc
        if not (meta.get("complete") or meta.get("cancelled") or meta.get("error")):
            meta["frames_done"] = _rows_written(frames, meta["frames_done"])
        return cls(folder, frames, meta)

    @property
    def frames_done(self):
        return self.meta["frames_done"]

    def extend(self, n_frames):
        """Grow to `n_frames` rows (Continue to a later tstop), keeping the frames done."""
        path = self.folder / "frames.npy"
        try:
            grown = _new_frames(self.folder / "frames.grow.npy", n_frames, self.meta["n_segments"])
            grown[:self.frames_done] = self.frames[:self.frames_done]
            grown.flush()
            (self.folder / "frames.grow.npy").replace(path)
        except OSError as exc:
            raise CacheError(f"Cannot grow the frame cache in {self.folder}: {exc.strerror or exc}") from exc
        self.frames = grown
        self._rows = grown.view(np.ndarray)
        self.meta.update(n_frames=n_frames, complete=False, cancelled=False, error=None)
        self.save_meta()

    def write(self, index, values):
        try:
            self._rows[index] = values
        except OSError as exc:  # e.g. the disk filled up under the memory map
            raise CacheError(f"Writing frame {index} to {self.folder} failed: {exc.strerror or exc}") from exc
        self.meta["frames_done"] = index + 1
        if time.monotonic() - self._saved_at > 0.5:
            self.save_meta()

    def finish(self, *, complete, cancelled=False, error=None):
        """Record how the run ended; an unfinished run's file shrinks to the frames done."""
        # No msync here: the pages of a shared mapping reach the file even if Blender dies,
        # and flushing a large cache would hold the GIL (a UI stall) for tens of ms.
        self.meta.update(complete=complete, cancelled=cancelled, error=error)
        self.save_meta()
        if not complete and len(self.frames) > self.frames_done:
            self._trim()

    def _trim(self):
        """Cut frames.npy to the frames done: header shape first, then the file, so a crash
        in between leaves a file longer than its header says (which open() accepts).
        Readers stay within frames_done, so views of the old map never touch the cut end."""
        path, done = self.folder / "frames.npy", self.frames_done
        offset, mode = self.frames.offset, "r" if getattr(self.frames, "mode", "r+") == "r" else "r+"
        try:
            with open(path, "r+b") as f:
                _rewrite_shape(f, offset, (done, self.meta["n_segments"]))
                f.truncate(offset + done * self.meta["n_segments"] * 4)
            frames = _map_frames(path, self.meta, mode)
        except (OSError, ValueError) as exc:
            raise CacheError(f"Cannot trim the frame cache in {self.folder}: {exc}") from exc
        self.frames, self._rows = frames, frames.view(np.ndarray)

    def save_meta(self):
        self._saved_at = time.monotonic()
        tmp = self.folder / "meta.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1))
        tmp.replace(self.folder / "meta.json")


def _rewrite_shape(f, offset, shape):
    """Write an npy header for `shape` in the same `offset` bytes, so the data stays put."""
    f.seek(0)
    version = np.lib.format.read_magic(f)
    size_bytes = 2 if version == (1, 0) else 4
    text = repr({"descr": "<f4", "fortran_order": False, "shape": tuple(shape)})
    room = offset - 6 - 2 - size_bytes
    if len(text) + 1 > room:
        raise ValueError(f"the new npy header does not fit in {room} bytes")
    f.seek(6 + 2 + size_bytes)
    f.write((text.ljust(room - 1) + "\n").encode("latin1"))



class ColumnBlock:
    """One MPI rank's columns of a shared cache: the rank simulates its own cells and
    writes their segments into frames[:, offset:offset + n_segments] of the one file."""

    def __init__(self, folder, offset, n_segments, meta):
        self.frames = np.load(Path(folder) / "frames.npy", mmap_mode="r+")
        self.offset, self.meta = offset, {**meta, "n_segments": n_segments, "frames_done": 0}

    @property
    def frames_done(self):
        return self.meta["frames_done"]

    def write(self, index, values):
        self.frames[index, self.offset:self.offset + len(values)] = values
        self.meta["frames_done"] = index + 1

    def flush(self):
        self.frames.flush()
