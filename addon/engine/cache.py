"""The frame cache: float32 frames × segments on disk, memory-mapped.

Format (version 1), a folder `<name>.nlcache/`:
  frames.npy    float32 array (n_frames, n_segments); row k holds t = k / frames_per_ms;
                NaN where a segment lacks the variable or the frame is not simulated yet
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
from pathlib import Path

import numpy as np

FORMAT = "neuron_live.frame_cache"
VERSION = 1
UNITS = {"v": "mV", "cai": "mM", "cao": "mM", "nai": "mM", "ki": "mM", "ik": "mA/cm2",
         "ina": "mA/cm2", "ica": "mA/cm2", "i_membrane": "mA/cm2"}


class CacheError(RuntimeError):
    """A cache folder is missing, corrupt or cannot be written."""


def _new_frames(path, n_frames, n_segments):
    """A NaN-filled memory-mapped array whose disk blocks are reserved up front: a full disk
    then fails here with an OSError instead of a SIGBUS in the middle of a run."""
    frames = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_frames, n_segments))
    if hasattr(os, "posix_fallocate") and frames.nbytes:
        with open(path, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, frames.offset + frames.nbytes)
    frames[:] = np.nan
    return frames


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FrameCache:
    def __init__(self, folder, frames, meta):
        self.folder = Path(folder)
        self.frames = frames
        self._rows = frames.view(np.ndarray)  # same memory; skips np.memmap's per-access overhead
        self.meta = meta
        self._saved_at = 0.0

    @classmethod
    def create(cls, folder, n_frames, n_segments, *, segments=None, **meta):
        """A new cache, replacing any old one in `folder`.

        `segments`: optional (section index, x) arrays for the segment table.
        """
        folder = Path(folder)
        try:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            frames = _new_frames(folder / "frames.npy", n_frames, n_segments)
            if segments is not None:
                np.savez(folder / "segments.npz", section=np.asarray(segments[0], np.int32),
                         x=np.asarray(segments[1], np.float32))
        except OSError as exc:
            raise CacheError(f"Cannot write the frame cache in {folder}: {exc.strerror or exc}") from exc
        meta = {"format": FORMAT, "version": VERSION, "n_frames": n_frames, "n_segments": n_segments,
                "frames_done": 0, "complete": False, "cancelled": False, "error": None,
                "units": UNITS.get(meta.get("variable", "v"), ""), **meta}
        cache = cls(folder, frames, meta)
        cache.save_meta()
        return cache

    @classmethod
    def open(cls, folder):
        """Open an existing cache read-only (memory-mapped)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            frames = np.load(folder / "frames.npy", mmap_mode="r")
        except FileNotFoundError as exc:
            raise CacheError(f"The frame cache {folder} is gone; run the simulation again") from exc
        except (OSError, ValueError) as exc:
            raise CacheError(f"The frame cache {folder} is corrupt ({exc}); run the simulation again") from exc
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise CacheError(f"{folder} is not a version {VERSION} NEURON Live frame cache")
        if frames.shape != (meta["n_frames"], meta["n_segments"]) or frames.dtype != np.float32:
            raise CacheError(f"The frame cache {folder} is corrupt (shape {frames.shape}); run again")
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
        # No msync here: the pages of a shared mapping reach the file even if Blender dies,
        # and flushing a large cache would hold the GIL (a UI stall) for tens of ms.
        self.meta.update(complete=complete, cancelled=cancelled, error=error)
        self.save_meta()

    def save_meta(self):
        self._saved_at = time.monotonic()
        tmp = self.folder / "meta.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1))
        tmp.replace(self.folder / "meta.json")


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
