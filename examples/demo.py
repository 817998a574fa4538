"""The main job, headless: model → simulation → animated .blend (+ a still and a trace plot).

    python examples/demo.py examples/ball_and_stick.py --out out

Runs with the `bpy` module (Blender as a Python module); no display needed. Exit code 0
on success, 1 with a one-line reason on failure.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from headless import enable_from_source, isolate_profile  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="hoc, Python, SWC, ASC or MorphML file")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    parser.add_argument("--tstop", type=float, help="simulate to this time in ms (default: the model's)")
    parser.add_argument("--frames-per-ms", type=float, default=2.0)
    args = parser.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    isolate_profile(out / ".blender-profile")
    import bpy

    started = time.perf_counter()
    nl = enable_from_source()
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backups in out/
    blend = out / f"{args.model.stem}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # so the cache lands beside it

    model = nl.load_model(str(args.model))
    print(f"loaded {args.model.name}: {model.summary()}")
    settings = {"frames_per_ms": args.frames_per_ms}
    if args.tstop:
        settings["tstop"] = args.tstop
    cache = nl.run(on_progress=lambda task: print(f"\r  {task.message}  [{task.progress:4.0%}]",
                                                  end="", flush=True), **settings)
    print(f"\nsimulated {cache.meta['frames_done']} frames into {cache.folder.name}")
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    print(f"wrote {blend} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # the job's contract: a one-line reason and exit code 1
        print(f"neuron_live demo failed: {exc}", file=sys.stderr)
        sys.exit(1)
