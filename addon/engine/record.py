"""Record a model outside Blender: same engine, same frame cache, plus the morphology.

    python tools/record.py model.hoc --tstop 100 --out run.nlcache

Big models can be simulated on a cluster this way and opened in Blender afterwards
(`open_recording(folder)`); no bpy here. Networks written for NEURON's ParallelContext
run across ranks with `mpiexec -n N python tools/record.py --mpi …`: each rank records
its own cells into its block of columns of the one cache, and rank 0 writes the merged
morphology.
"""
import argparse
import sys
from pathlib import Path

from ...model_loaders import load_model
from ...model_loaders.model_io import save_model
from .cache import ColumnBlock, FrameCache, file_sha256
from .simulate import RunSettings, simulate

MODEL_FILE = "model.npz"


def record(model_path, out, *, mpi=False, **settings):
    """Load `model_path`, simulate with `settings` (RunSettings fields) into the cache `out`."""
    if mpi:
        return _record_mpi(model_path, out, **settings)
    model = load_model(model_path)
    run = _settings(model, settings)
    cache = _create(out, model, run)
    save_model(model, Path(out) / MODEL_FILE)
    try:
        done = simulate(run, cache, progress=_print_progress(run))
    except Exception as exc:
        cache.finish(complete=False, error=str(exc))
        raise
    cache.finish(complete=done == run.n_frames)
    print(f"\nrecorded {done} frames × {model.n_segments} segments into {out}")
    return cache


def _settings(model, settings):
    defaults = {key: model.settings[key] for key in ("tstop", "dt", "v_init", "celsius") if key in model.settings}
    return RunSettings(**{**defaults, **{k: v for k, v in settings.items() if v is not None}})


def _create(out, model, run):
    return FrameCache.create(out, run.n_frames, model.n_segments,
                             segments=(model.segment_section, model.segment_x),
                             variable=run.variable, frames_per_ms=run.frames_per_ms, model=model.path,
                             model_sha256=file_sha256(model.path), settings=run.as_dict(),
                             section_names=model.section_names)


def _record_mpi(model_path, out, **settings):
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
    pc.barrier()
    return cache


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
