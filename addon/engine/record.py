"""Record a model outside Blender: same engine, same frame cache, plus the morphology.

    python tools/record.py model.hoc --tstop 100 --out run.nlcache

Big models can be simulated on a cluster this way and opened in Blender afterwards
(`open_recording(folder)`); no bpy here. Networks written for NEURON's ParallelContext
run across ranks with `mpiexec -n N python tools/record.py --mpi …`: each rank records
its own cells into its block of columns of the one cache, and rank 0 writes the merged
morphology. `--sonata DIR` also writes the run as SONATA (nodes, spikes, a report of every
segment: engine/sonata_write.py) for BMTK, libsonata and the other tools of the field.
"""
import argparse
import sys
import time
from pathlib import Path

from ...model_loaders import load_model
from ...model_loaders.model_io import save_model
from . import spikes
from .cache import ColumnBlock, FrameCache, file_sha256
from .simulate import RunSettings, simulate

MODEL_FILE = "model.npz"


def record(model_path, out, *, mpi=False, sonata=None, **settings):
    """Load `model_path`, simulate with `settings` (RunSettings fields) into the cache `out`
    (and, given `sonata`, a folder, as SONATA files there too)."""
    if mpi:
        return _record_mpi(model_path, out, sonata=sonata, **settings)
    model = load_model(model_path)
    run = _settings(model, settings)
    cache = _create(out, model, run)
    save_model(model, Path(out) / MODEL_FILE)
    try:
        with spikes.recording(model, cache):  # NEURON's own spike times, for the raster and SONATA
            done = simulate(run, cache, progress=_print_progress(run))
    except Exception as exc:
        cache.finish(complete=False, error=str(exc))
        raise
    cache.finish(complete=done == run.n_frames)
    print(f"\nrecorded {done} frames × {model.n_segments} segments into {out}")
    _write_sonata(cache, model, sonata)
    return cache


def _write_sonata(cache, model, folder):
    if folder is not None:
        from .sonata_write import write_sonata

        paths = write_sonata(cache, model, folder)
        print(f"wrote SONATA {', '.join(p.name for p in paths.values())} into {folder}")


def _settings(model, settings):
    defaults = {key: model.settings[key] for key in ("tstop", "dt", "v_init", "celsius") if key in model.settings}
    return RunSettings(**{**defaults, **{k: v for k, v in settings.items() if v is not None}})


def _create(out, model, run):
    return FrameCache.create(out, run.n_frames, model.n_segments,
                             segments=(model.segment_section, model.segment_x),
                             variable=run.variable, frames_per_ms=run.frames_per_ms, model=model.path,
                             model_sha256=file_sha256(model.path), settings=run.as_dict(),
                             section_names=model.section_names)


def _record_mpi(model_path, out, *, sonata=None, **settings):
    from ...model_loaders import neuron_h
    from ...model_loaders.merge import merge_models

    h = neuron_h()
    h.nrnmpi_init()
    pc = h.ParallelContext()
    rank = int(pc.id())
    model = load_model(model_path)
    # Every rank must call psolve with the same targets: step by model time, not wall time.
    run = RunSettings(**{**_settings(model, settings).as_dict(), "chunk_seconds": float("inf")})
    models = pc.py_gather(model, 0)
    counts = pc.py_allgather(model.n_segments)
    cache = None
    if rank == 0:
        merged = merge_models(models, model.path)
        cache = _create(out, merged, run)
        save_model(merged, Path(out) / MODEL_FILE)
    pc.barrier()
    block = ColumnBlock(out, sum(counts[:rank]), model.n_segments, {"variable": run.variable})
    done = simulate(run, block, progress=_print_progress(run) if rank == 0 else lambda t, frame: None)
    block.flush()
    pc.barrier()
    if rank == 0:
        cache.meta["frames_done"] = done
        cache.finish(complete=done == run.n_frames)
        print(f"\nrecorded {done} frames × {sum(counts)} segments from {int(pc.nhost())} ranks into {out}")
        _write_sonata(cache, merged, sonata)  # spikes: soma crossings of the merged frames
    pc.barrier()
    return cache


def record_into(model_path, folder, settings, options, cancel_file, emit):
    """One MPI rank of a run across processes for NEURON Live's separate-process host: the
    parent made the (staged) cache at `folder` for the model it loaded in one process;
    every rank loads the model (`options`: load_model's), writes its own cells' columns
    where that model has them (matched by section name and x), and rank 0 `emit`s
    progress and the result. A model whose ranks do not split the sections between them
    exactly once (no ParallelContext gids, or names that differ by rank) is refused before
    anything runs. Every rank must call this (collectives)."""
    import os

    from ...model_loaders import Clamp, neuron_h

    h = neuron_h()
    h.nrnmpi_init()
    pc = h.ParallelContext()
    rank = int(pc.id())
    options = dict(options)
    if options.get("clamp") is not None:
        options["clamp"] = Clamp(**options["clamp"])
    try:
        model, error = load_model(model_path, process="own", **options), None
    except Exception as exc:  # every rank must still reach the gather below
        model, error = None, f"{type(exc).__name__}: {exc}"
    gathered = pc.py_gather((error, _segment_keys(model) if model is not None else None), 0)
    verdict = _columns(gathered, Path(folder)) if rank == 0 else None
    refused, columns = pc.py_broadcast(verdict, 0)
    if refused:
        if rank == 0:
            emit({"refused": refused})
        return None
    run = RunSettings(**{**settings, "chunk_seconds": float("inf"), "processes": 1})
    writer = _Columns(folder, columns[rank], run.variable)  # mapped before any frame is reported
    posted = [0.0]

    def progress(t, frame):  # rows before `frame` are whole on every rank (see `cancelled`)
        now = time.monotonic()
        if rank == 0 and frame and now - posted[0] >= 0.02:
            posted[0] = now
            emit({"event": "frames", "done": frame, "t": run.time_of(frame - 1)})

    def cancelled():
        """Collective: every rank stops at the same chunk. It also keeps every rank within a
        chunk of rank 0, so the frames rank 0 reports are written by all."""
        asked = rank == 0 and os.path.exists(cancel_file)
        return pc.allreduce(1.0 if asked else 0.0, 2) > 0

    done = simulate(run, writer, cancelled=cancelled, progress=progress)
    writer.flush()
    pc.barrier()
    if rank == 0:
        emit({"done": done, "cancelled": done < run.n_frames, "ranks": int(pc.nhost())})
    return done


def _segment_keys(model):
    """(section name, x) of each segment: what names a column in every rank and in one process."""
    names = model.section_names
    return [(names[s], round(float(x), 6)) for s, x in zip(model.segment_section, model.segment_x)]


def _columns(gathered, folder):
    """(None, [columns of each rank]) or (why the model cannot run across these ranks, None)."""
    import json

    import numpy as np

    for rank, (error, _) in enumerate(gathered):
        if error:
            return f"the model did not load on rank {rank}: {error}", None
    segments = np.load(folder / "segments.npz")
    names = json.loads((folder / "meta.json").read_text())["section_names"]
    wanted = {(names[s], round(float(x), 6)): i for i, (s, x) in enumerate(zip(segments["section"], segments["x"]))}
    columns, seen = [], set()
    for _, keys in gathered:
        found = [wanted.get(key) for key in keys]
        if None in found or seen.intersection(found) or len(set(found)) != len(found):
            break
        seen.update(found)
        columns.append(np.array(found, dtype=np.int64))
    if len(columns) != len(gathered) or len(seen) != len(wanted):
        return ("its ranks do not share out its sections (a model for ParallelContext deals cells out by "
                "gid, and its sections are named the same on every rank)"), None
    return None, columns


class _Columns:
    """A rank's columns of the shared frames, wherever the one-process model has them."""

    def __init__(self, folder, columns, variable):
        import numpy as np

        self.frames = np.load(Path(folder) / "frames.npy", mmap_mode="r+")
        self.columns = columns
        self.meta = {"variable": variable, "n_segments": len(columns), "frames_done": 0}

    @property
    def frames_done(self):
        return self.meta["frames_done"]

    def write(self, index, values):
        self.frames[index, self.columns] = values
        self.meta["frames_done"] = index + 1

    def flush(self):
        self.frames.flush()


def main_into(argv):
    """`record_into` from the command line the separate-process host gives mpiexec:
    MODEL FOLDER SETTINGS_JSON OPTIONS_JSON CANCEL_FILE; protocol lines go to stdout."""
    import json
    import os

    from ...model_loaders import neuron_h

    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the model's prints go to the log, never into the protocol

    def emit(message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()
    model, folder, settings, options, cancel_file = argv
    try:
        record_into(model, folder, json.loads(settings), json.loads(options), cancel_file, emit)
    except Exception as exc:  # the others wait in a collective: end the whole job
        emit({"error": f"{type(exc).__name__}: {exc}"})
        os._exit(1)
    neuron_h().quit()  # finalises MPI on every rank


def _print_progress(run):
    def progress(t, frame):
        if frame % max(1, run.n_frames // 20) == 0 or frame == run.n_frames - 1:
            print(f"\r  t = {t:.1f} / {run.tstop:g} ms", end="", flush=True)
    return progress


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="hoc, Python or morphology file")
    parser.add_argument("--out", type=Path, required=True, help="cache folder to write (NAME.nlcache)")
    parser.add_argument("--mpi", action="store_true", help="run under mpiexec across ranks (ParallelContext)")
    parser.add_argument("--sonata", type=Path, help="also write SONATA nodes, spikes and report into this folder")
    for name, kind in (("tstop", float), ("dt", float), ("v_init", float), ("celsius", float),
                       ("frames_per_ms", float), ("variable", str)):
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind)
    args = vars(parser.parse_args(argv))
    try:
        record(args.pop("model"), args.pop("out"), **args)
    except Exception as exc:  # a one-line reason and exit code 1
        print(f"record failed: {exc}", file=sys.stderr)
        return 1
    if args["mpi"]:
        from ...model_loaders import neuron_h
        neuron_h().quit()  # finalises MPI on every rank (exit code 0)
    return 0
