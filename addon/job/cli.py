"""The main job's command line, shared by examples/demo.py (Blender as a Python module) and
`blender -b --command neuron_live …` (registered in registration.py).

Standard library only, and no package-relative import at the top: demo.py loads this file
by path before `import bpy`, so `--help` and bad arguments answer at once.
"""
import argparse
import contextlib
import ctypes
import importlib.util
import os
import sys
import time
from pathlib import Path

ENGINES = ("CYCLES", "EEVEE", "WORKBENCH")


def parser(prog=None):
    p = argparse.ArgumentParser(
        prog=prog, description="Simulate a NEURON model and write OUT/<name>.blend (the animated cells, "
        "their frame cache beside it), <name>.mp4, PNG stills at rest and at the peak of activity, "
        "a trace plot and a colour bar. Exit code 0 on success, 1 (with the reason) on failure.")
    p.add_argument("model", type=Path, help="the model: a .hoc, .py, .swc, .asc or MorphML .xml file")
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    _add_run_settings(p.add_argument_group("run settings (the scene's, as in the panel)"))
    p.add_argument("--action", metavar="LABEL",
                   help="the menu button to press when the model file only builds a menu (its label)")
    p.add_argument("--clamp", action="store_true",
                   help="add a current clamp at the soma, strong enough to make the cell fire")
    p.add_argument("--engine", type=str.upper, choices=ENGINES, default="CYCLES",
                   help="render engine (default: CYCLES, on the CPU; WORKBENCH shows the shape only)")
    p.add_argument("--resolution", type=_resolution, default=(640, 360), metavar="WxH",
                   help="image size, even numbers for H.264, or 1080p, 4k, square (default: 640x360)")
    p.add_argument("--fps", type=_positive(int), default=24, help="movie frames per second (default: 24)")
    p.add_argument("--frames", type=_frame_range, metavar="FIRST-LAST",
                   help="render only these scene frames (default: every simulated frame)")
    p.add_argument("--samples", type=_positive(int), default=16, help="Cycles/EEVEE samples per pixel (default: 16)")
    p.add_argument("--palette", help="seaborn/matplotlib palette, e.g. rocket, mako, icefire (default: the add-on's)")
    p.add_argument("--no-video", dest="video", action="store_false", help="skip the movie: stills and plots only")
    _add_render_options(p.add_argument_group("figures (overlays, stills, camera)"))
    _add_experiment_options(p.add_argument_group("experiment (probes saved as OUT/<name>_probes.npz)"))
    p.add_argument("--keep-frames", action="store_true", help="keep the movie's PNG frames in OUT/<name>_frames")
    p.add_argument("--verbose", action="store_true",
                   help="show Blender's and NEURON's own output here (default: written to OUT/<name>.log)")
    return p


def _add_render_options(group):
    group.add_argument("--overlays", type=_overlays, default=(), metavar="time,scale,colourbar,traces,title",
                       help="overlays drawn on every frame: the time stamp, a scale bar in µm (true at the cells' "
                       "centre depth), the colour bar, inset traces of the soma (and a spike raster for a network)")
    group.add_argument("--title", default="", help="a title line on every frame")
    group.add_argument("--stills", type=_times, default=(), metavar="MS,MS,...",
                       help="a PNG at each of these model times (OUT/<name>_t<time>ms.png, the frame nearest "
                       "each time) and all of them side by side (OUT/<name>_stills.png)")
    group.add_argument("--turntable", type=float, nargs="?", const=0.0, default=None, metavar="SECONDS",
                       help="orbit the camera once around the cells: over the whole movie, or SECONDS long")
    group.add_argument("--transparent", action="store_true",
                       help="transparent background: the PNG stills get an alpha channel")


def _add_experiment_options(group):
    group.add_argument("--probe", action="append", default=[], metavar="SECTION(X)[:VAR,...]",
                       help="record at every time step, e.g. 'dend[12](0.35):v,cai' (repeatable)")
    group.add_argument("--stimulus", action="append", default=[], metavar="KIND@SECTION(X):NAME=VALUE,...",
                       help="e.g. 'IClamp@dend[3](0.5):amp=0.5,delay=5,dur=50'; ExpSyn, Exp2Syn, SEClamp or "
                       "a point process of the model (repeatable)")
    group.add_argument("--set", action="append", default=[], dest="changes", metavar="NAME*SCALE@WHERE",
                       help="a parameter change, 'gnabar_hh*0.5@dend' or 'e_pas=-60@soma' (where: all, soma, "
                       "axon, dend, apic, a cell, or sections joined by +; repeatable)")
    group.add_argument("--experiment", type=Path, metavar="FILE.json",
                       help="an experiment exported from the panel (Export Experiment's .json)")


def _overlays(text):
    known = ("time", "scale", "colourbar", "traces", "title")
    names = [n.strip().lower().replace("colorbar", "colourbar") for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown overlay {bad[0]!r} (known: {', '.join(known)})")
    return tuple(names)


def _times(text):
    try:
        times = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of times in ms (e.g. 0,5,10)") from None
    if not times or not all(0 <= t < float("inf") for t in times):
        raise argparse.ArgumentTypeError(f"{text}: times must be 0 ms or later")
    return times


def _run_settings():
    """engine/run_settings.py (standard library only): by path, as demo.py loads this file,
    or as the package's own module inside Blender."""
    if __package__:
        return importlib.import_module("..engine.run_settings", __package__)
    name = "neuron_live_run_settings"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "engine"
                                                      / "run_settings.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _add_run_settings(group):
    """One option per run setting (--tstop, --dt, --cvode/--no-cvode, ...), built from its Spec;
    unset, the model's own value (or the add-on's default) stays."""
    for spec in _run_settings().SPECS.values():
        unit = f", in {spec.unit}" if spec.unit else ""
        default = "the model's own" if spec.from_model else f"{spec.default:g}" if spec.kind in (int, float) \
            else spec.default
        bounds = f"; {spec.bounds_text()}" if spec.bounds_text() else ""
        kind = {"action": argparse.BooleanOptionalAction} if spec.kind is bool else {"type": _checked(spec)}
        group.add_argument("--" + spec.name.replace("_", "-"), dest=spec.name, default=None, **kind,
                           help=f"{spec.description}{unit} (default: {default}{bounds})".replace("%", "%%"))


def _checked(spec):
    """An argparse type for one run setting: converted and checked against its Spec (out of
    bounds, nan and inf are refused, never quietly changed)."""
    def parse(text):
        try:
            return spec.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = spec.kind.__name__
    return parse


def _positive(kind):
    """An argparse type: a finite number above 0 (0, negatives, nan and inf are refused,
    never quietly changed)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value
    parse.__name__ = kind.__name__
    return parse


PRESETS = {"1080p": (1920, 1080), "4k": (3840, 2160), "square": (1080, 1080)}


def _resolution(text):
    if text.lower() in PRESETS:
        return PRESETS[text.lower()]
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (e.g. 640x360)") from None
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f"{text}: H.264 needs an even width and height of at least 2")
    return width, height


def _frame_range(text):
    try:
        first, last = (int(v) for v in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST-LAST (e.g. 1-40)") from None
    if not 1 <= first <= last:
        raise argparse.ArgumentTypeError(f"{text}: frames start at 1 and FIRST must not exceed LAST")
    return first, last


def job_options(args):
    """Parsed arguments → run_job keywords."""
    settings = {name: getattr(args, name) for name in _run_settings().SPECS if getattr(args, name) is not None}
    return dict(settings, engine=args.engine,
                resolution=args.resolution, fps=args.fps, frame_range=args.frames, samples=args.samples,
                palette=args.palette, video=args.video, keep_frames=args.keep_frames, action=args.action,
                clamp=args.clamp, overlays=args.overlays, title=args.title, still_times=args.stills,
                turntable=args.turntable, transparent=args.transparent, experiment=args.experiment,
                probes=args.probe, stimuli=args.stimulus, changes=args.changes)


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; one line per stage elsewhere (logs, CI)."""

    def __init__(self, stream, width=28):
        self.stream, self.width, self.stage = stream, width, None
        self.tty = stream.isatty()

    def __call__(self, stage, fraction, message=""):
        filled = int(round(fraction * self.width))
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%}  {stage:<8} {message}"
        if self.tty:
            self.stream.write("\r" + line[:110].ljust(110))
        elif stage != self.stage:
            self.stream.write(line + "\n")
        self.stage = stage
        self.stream.flush()

    def close(self):
        if self.tty and self.stage:
            self.stream.write("\n")
            self.stream.flush()


def _flush_c_stdio():
    """Blender and NEURON write through C's stdio: flush it before file descriptors move."""
    if os.name == "posix":
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def output_to(log_path):
    """Send everything written to file descriptors 1 and 2 (Blender's and NEURON's C output
    included) to `log_path`; yields a stream on the original stderr for the progress bar."""
    sys.stdout.flush(), sys.stderr.flush(), _flush_c_stdio()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(2), "w")
    with open(log_path, "wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush(), sys.stderr.flush(), _flush_c_stdio()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
            terminal.close()


def one_line(exc):
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 400 else text[:397] + "..."


def main(argv, *, prog, prepare):
    """Parse `argv`, call `prepare(args)` (it starts Blender and returns `run_job`), run the
    job with a progress bar and list what it wrote. Returns the exit code: 0, or 1 with a
    one-line reason on stderr (2 for a bad option, found before anything loads)."""
    try:
        args = parser(prog).parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2): argparse has said why
        return exit_.code or 0
    if not args.model.is_file():  # before starting Blender: a typo should answer at once
        print(f"{prog}: failed: {args.model.resolve()}: no such model file", file=sys.stderr)
        return 1
    started = time.perf_counter()
    out = args.out.resolve()
    log = out / f"{args.model.stem}.log"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            terminal = sys.stderr if args.verbose else stack.enter_context(output_to(log))
            bar = ProgressBar(terminal)
            stack.callback(bar.close)
            run_job = prepare(args)
            result = run_job(args.model, out, on_progress=bar, **job_options(args))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the command's contract: a one-line reason and exit code 1 (2: an option)
        if type(exc).__name__ == "JobOptionError":  # the job module is not imported here (stdlib only)
            print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
            return 2
        where = "" if args.verbose or not log.is_file() else f" (full output: {log})"
        print(f"{prog}: failed: {one_line(exc)}{where}", file=sys.stderr)
        return 1
    report(result, time.perf_counter() - started)
    return 0


def blender_command(argv):
    """`blender -b --command neuron_live MODEL [options]` (registered by registration.py):
    NEURON Live is already enabled in that Blender, so the job just runs."""
    def prepare(_args):
        from importlib import import_module
        return import_module(".run", __package__).run_job
    return main(argv, prog="blender --command neuron_live", prepare=prepare)


def report(result, seconds):
    for path in result.files():
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"      {result.cache} (frame cache, beside the .blend)")
    frames = result.frames[1] - result.frames[0] + 1
    render = result.timings.get("render")
    per_frame = f", render {render / frames * 1000:.0f} ms/frame" if render and result.video else ""
    stages = ", ".join(f"{stage} {t:.1f}" for stage, t in result.timings.items())
    print(f"done in {seconds:.1f} s ({stages} s{per_frame})")
