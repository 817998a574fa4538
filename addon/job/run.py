"""The main job in one call: model → simulation → coloured cells → .blend, MP4, PNG stills, plots.

Built only from the functions behind the scripting API and `scene.framing`, so a script
can do the same by hand. Frames are rendered one by one into PNGs and then encoded by Blender's own FFmpeg
through a temporary sequencer scene: this gives a per-frame progress, free stills, and
frame ranges that do not start at the first frame (playback ties cache sample 0 to
`scene.frame_start`, so the scene's range itself must not move).
"""
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy
import numpy as np

from ..colour import palettes
from ..engine.run_settings import RUN_SETTINGS, sample_count
from ..engine.settings_check import SettingsError, check_settings
from ..scene import compat, framing
from ..session import (
    colouring,
    experiment_runs,
    experiment_text,
    loading,
    meshes,
    plotting,
    render_files,
    rendering,
    running,
)

ENGINES = {"CYCLES": ("CYCLES",), "EEVEE": ("BLENDER_EEVEE_NEXT", "BLENDER_EEVEE"),
           "WORKBENCH": ("BLENDER_WORKBENCH",)}
STILLS = ("rest", "peak")
# Share of the whole job each stage takes (renormalised over the stages that run).
WEIGHTS = {"load": 0.06, "simulate": 0.2, "build": 0.04, "colour": 0.02, "save": 0.03,
           "render": 0.6, "encode": 0.03, "plots": 0.02}


class JobError(RuntimeError):
    """A job input that cannot work; the message is the one-line reason."""


class JobOptionError(JobError):
    """A job option that cannot work, found before anything is loaded (the CLI exits 2)."""


@dataclass
class JobResult:
    name: str
    blend: Path
    cache: Path
    video: Path | None
    stills: dict = field(default_factory=dict)  # label → PNG path
    traces: Path | None = None
    colour_bar: Path | None = None
    frames: tuple = (1, 1)  # first and last frame rendered (or the scene's range)
    limits: tuple = (0.0, 1.0)  # colour limits fitted to the run
    timings: dict = field(default_factory=dict)  # stage → seconds
    probes: Path | None = None  # the probes' traces at every time step (npz), when there were probes

    def files(self):
        return [p for p in (self.blend, self.video, *self.stills.values(), self.traces, self.colour_bar,
                            self.probes) if p]


class _Progress:
    """Turns (stage, fraction within the stage) into the job's overall fraction."""

    def __init__(self, stages, callback):
        total = sum(WEIGHTS[s] for s in stages)
        self.start, before = {}, 0.0
        for stage in stages:
            self.start[stage] = before / total
            before += WEIGHTS[stage]
        self.weight = {s: WEIGHTS[s] / total for s in stages}
        self.callback = callback

    def __call__(self, stage, fraction=0.0, message=""):
        if self.callback:
            overall = self.start[stage] + self.weight[stage] * min(max(fraction, 0.0), 1.0)
            self.callback(stage, overall, message)


def run_job(model_path, out_dir, *, tstop=None, frames_per_ms=None, engine="CYCLES",
            resolution=(640, 360), fps=24, frame_range=None, samples=16, palette=None,
            stills=STILLS, video=True, keep_frames=False, new_file=True, on_progress=None, action=None,
            clamp=False, overlays=(), title="", still_times=(), turntable=None, transparent=False,
            experiment=None, probes=(), stimuli=(), changes=(), **settings):
    """Load, simulate, build, colour, save `out_dir/<name>.blend` (its frame cache beside it),
    render `<name>.mp4` (H.264) and PNG stills, and write the trace plot and colour bar.

    `stills`: "rest" (the range's first frame), "peak" (the frame most unlike the first)
    and/or frame numbers. `frame_range`: (first, last) scene frames; default all simulated.
    `new_file` starts from an empty file (File › New) so nothing else lands in the .blend.
    `action`: the menu button to press for an entry that only builds a menu; `clamp`: add
    a current clamp at the soma. `overlays` (names of rendering.OVERLAYS), `title`,
    `still_times` (ms: `<name>_t<time>ms.png` each and `<name>_stills.png`), `turntable`
    (seconds of one orbit; 0: the whole movie), `transparent`: see session/rendering.py.
    `experiment` (an exported experiment's .json), `probes`, `stimuli`, `changes`: the
    experiment as text (session/experiment_text.py); the probes go to `<name>_probes.npz`.
    `settings`: other run settings (dt, v_init, cvode, ...; see
    engine/run_settings.py), None or absent for the model's own (or the add-on's default).
    `on_progress(stage, overall_fraction, message)`.
    Every option is checked before anything loads (JobOptionError). Returns a `JobResult`.
    """
    model_path, out = Path(model_path).resolve(), Path(out_dir).resolve()
    if not model_path.is_file():
        raise JobError(f"{model_path}: no such model file")
    settings = {k: v for k, v in dict(settings, tstop=tstop, frames_per_ms=frames_per_ms).items() if v is not None}
    width, height, engine_id = _check_options(resolution, engine, stills, palette, settings, fps, samples)
    stages = ["load", "simulate", "build", "colour", "save"]
    stages += ["render"] if (video or stills) else []
    stages += ["encode"] if video else []
    progress = _Progress([*stages, "plots"], on_progress)
    name = model_path.stem
    out.mkdir(parents=True, exist_ok=True)
    blend = out / f"{name}.blend"
    timings, clock = {}, time.perf_counter()

    def lap(stage):
        nonlocal clock
        now = time.perf_counter()
        timings[stage], clock = now - clock, now

    progress("load", 0, f"loading {model_path.name}")
    if new_file:
        bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    model = loading.load_model(str(model_path), scene=scene, build=False, action=action, clamp=clamp or None)
    _planned_frame_range(scene, tstop, frames_per_ms, frame_range)  # before the simulation, not after
    experiment_text.apply_text(scene, experiment=experiment, probes=probes, stimuli=stimuli, changes=changes)
    _save(blend)  # before the run, so the frame cache is written beside the .blend
    lap("load")
    progress("simulate", 0, model.summary())
    cache = running.run(scene=scene, on_progress=lambda task: progress("simulate", task.progress, task.message),
                    **settings)
    lap("simulate")
    probes_file = experiment_runs.save_traces(out / f"{name}_probes.npz", scene=scene)
    progress("build", 0, "building the cells' mesh")
    objects = meshes.build_mesh(scene=scene, frame_camera=False, dark_world=False)
    lap("build")
    progress("colour", 0, "colours, camera, render settings")
    if palette:
        colouring.set_colormap(palette, scene=scene)
    limits = colouring.fit_limits(scene=scene)
    first, last = _frame_range(scene, frame_range)
    _render_settings(scene, engine_id, width, height, fps, samples, objects)
    framing.frame_camera(scene, objects)
    framing.dark_world(scene)
    rendering.figure_settings(scene, overlays=overlays, title=title, orbit_seconds=turntable,
                              transparent=transparent)
    lap("colour")
    progress("save", 0, f"saving {blend.name}")
    render_files.video_output(scene, f"//{name}.mp4")  # so the saved .blend renders the same movie
    _save(blend)
    lap("save")
    result = JobResult(name=name, blend=blend, cache=Path(bpy.path.abspath(scene.neuron_live.cache_path)),
                       video=None, frames=(first, last), limits=limits, timings=timings, probes=probes_file)
    peak = _peak_frame(cache, scene, first, last)
    wanted = _still_frames(stills, first, peak)
    timed = _timed_stills(scene, still_times)
    wanted.update(timed)
    movie_frames = list(range(first, last + 1)) if video else []
    if movie_frames or wanted:
        _render_outputs(result, scene, movie_frames, wanted, keep_frames, progress, lap)
    if timed:
        result.stills["stills"] = rendering.still_sheet([result.stills[k] for k in timed], out / f"{name}_stills.png")
    progress("plots", 0, "trace plot and colour bar")
    segments = _trace_segments(cache, scene, peak)
    result.traces = plotting.plot_traces(segments, frame=peak, path=out / f"{name}_traces.png", show=False,
                                    scene=scene).path
    result.colour_bar = plotting.colour_bar(out / f"{name}_colour_bar.png", show=False, scene=scene).path
    lap("plots")
    progress("plots", 1, "done")
    return result


def _render_outputs(result, scene, movie_frames, wanted, keep_frames, progress, lap):
    """Render the frames the movie and the stills need once each, then copy the stills
    out and encode the movie; the frame PNGs go (unless `keep_frames`)."""
    out, name = result.blend.parent, result.name
    frames = sorted({*movie_frames, *wanted.values()})
    folder = Path(tempfile.mkdtemp(prefix=f".{name}_frames_", dir=out))
    try:
        pngs = render_files.render_frames(scene, frames, folder,
                                          lambda i, n: progress("render", i / n, f"frame {min(i + 1, n)}/{n}"))
        lap("render")
        for label, frame in wanted.items():
            result.stills[label] = out / f"{name}_{label}.png"
            shutil.copyfile(pngs[frame], result.stills[label])
        if movie_frames:
            progress("encode", 0, f"encoding {name}.mp4")
            result.video = render_files.encode({f: pngs[f] for f in movie_frames}, out / f"{name}.mp4",
                                               scene.render.fps)
            lap("encode")
        if keep_frames:
            kept = out / f"{name}_frames"
            if kept.exists():
                shutil.rmtree(kept)
            folder.rename(kept)
    finally:
        if folder.exists():
            shutil.rmtree(folder)
    scene.frame_set(movie_frames[0] if movie_frames else scene.frame_start)


def _timed_stills(scene, times):
    """{label: frame} of the stills asked for by model time; a time outside the run fails."""
    try:
        return rendering.time_frames(scene, times)
    except ValueError as exc:
        raise JobError(str(exc)) from exc


def _save(blend):
    """Save as `blend`, replacing an older one without leaving a `.blend1` backup."""
    blend.unlink(missing_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))


def _check_options(resolution, engine, stills, palette, settings, fps, samples):
    """Every option that can be checked without the model, so a typo fails in a second
    rather than after the simulation. Returns (width, height, Blender's engine id)."""
    width, height = (int(v) for v in resolution)
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise JobOptionError(f"resolution {width}x{height}: H.264 needs an even width and height of at least 2")
    for name, value in (("fps", fps), ("samples", samples)):
        if int(value) < 1:
            raise JobOptionError(f"{name} must be at least 1 (it is {value})")
    try:
        unknown = sorted(settings.keys() - set(RUN_SETTINGS))
        if unknown:
            raise JobError(f"unknown run setting {unknown[0]!r} (known: {', '.join(RUN_SETTINGS)})")
        check_settings(settings)
        if palette:
            palettes.colormap(palette)
        _still_frames(stills, 1, 1)
    except (SettingsError, palettes.PaletteError, JobError) as exc:
        raise JobOptionError(str(exc)) from exc
    return width, height, _engine_id(engine)


def _planned_frame_range(scene, tstop, frames_per_ms, frame_range):
    """`frame_range` checked against the frames the run will make (the model's own tstop
    is known once it is loaded), before simulating."""
    if frame_range is None:
        return
    props = scene.neuron_live
    samples = sample_count(tstop or props.tstop, frames_per_ms or props.frames_per_ms)
    start, end = (int(f) for f in frame_range)
    last = scene.frame_start + int(round((samples - 1) * (props.frames_per_sample or 1.0)))
    if not scene.frame_start <= start <= end <= last:
        raise JobOptionError(f"frame range {start}-{end} is outside the frames this run makes "
                             f"({scene.frame_start}-{last})")


def _engine_id(engine):
    """Blender's id of "CYCLES", "EEVEE" or "WORKBENCH" (EEVEE is EEVEE_NEXT in 4.2–4.x)."""
    key = str(engine).upper().removeprefix("BLENDER_").removesuffix("_NEXT")
    if key not in ENGINES:
        raise JobOptionError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    render = bpy.context.scene.render
    previous = render.engine
    try:
        for candidate in ENGINES[key]:
            try:
                render.engine = candidate
                return candidate
            except TypeError:  # this Blender names the engine differently: try the next name
                continue
    finally:
        render.engine = previous
    raise JobError(f"this Blender has no {key} engine")


def _frame_range(scene, frame_range):
    first, last = scene.frame_start, scene.frame_end
    if frame_range is None:
        return first, last
    start, end = (int(f) for f in frame_range)
    if not first <= start <= end <= last:
        raise JobError(f"frame range {start}-{end} is outside the simulated frames {first}-{last}")
    return start, end


def _render_settings(scene, engine_id, width, height, fps, samples, objects):
    """Engine, size, fps and a colour-true view: the palette's colours land in the pixels."""
    render = scene.render
    render.engine = engine_id
    render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
    render.fps, render.fps_base = int(fps), 1.0
    render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    framing.lock_interface_while_rendering(scene)
    if engine_id == "CYCLES":
        scene.cycles.device, scene.cycles.samples, scene.cycles.use_denoising = "CPU", int(samples), False
        # The cells light nothing (emission only, dark world): sampling them as lights only
        # builds a light tree. Measured at 640x360, 16 samples: 224 vertices 0.40 s either
        # way; 36k vertices 0.42 s vs 0.64 s (AUTO); 98k 0.44 s vs 1.1 s; 1M 2.5 s vs 7.6 s.
        for material in {m for obj in objects for m in obj.data.materials if m}:
            compat.no_emission_sampling(material)
    elif engine_id.startswith("BLENDER_EEVEE"):
        scene.eevee.taa_render_samples = int(samples)


def _activity(cache):
    """Per sample: the mean |value − first sample| over segments with data (NaN skipped)."""
    done = cache.frames_done
    first = np.asarray(cache.frames[0], dtype=np.float64)
    scores = np.zeros(done)
    for start in range(0, done, 256):  # a block at a time: the cache may not fit in memory
        block = np.abs(np.asarray(cache.frames[start:start + 256], dtype=np.float64) - first)
        finite = np.isfinite(block)
        counts = finite.sum(axis=1)
        scores[start:start + len(block)] = np.where(finite, block, 0).sum(axis=1) / np.maximum(counts, 1)
    return scores


def _sample_frame(scene, sample):
    return scene.frame_start + int(round(sample * scene.neuron_live.frames_per_sample))


def _peak_frame(cache, scene, first, last):
    """The frame in first..last whose sample differs most from the first sample."""
    scores = _activity(cache)
    frames = np.array([_sample_frame(scene, k) for k in range(len(scores))])
    inside = (frames >= first) & (frames <= last)
    if not inside.any():
        return first
    return int(frames[inside][np.argmax(scores[inside])])


def _still_frames(stills, first, peak):
    wanted = {}
    for still in stills or ():
        if still == "rest":
            wanted["rest"] = first
        elif still == "peak":
            wanted["peak"] = peak
        elif isinstance(still, int):
            wanted[f"frame{still:04d}"] = still
        else:
            raise JobError(f"unknown still {still!r}: use 'rest', 'peak' or a frame number")
    return wanted


def _trace_segments(cache, scene, peak):
    """The most and the least active segments at the peak frame (their contrast tells)."""
    sample = min(max(int(round((peak - scene.frame_start) / scene.neuron_live.frames_per_sample)), 0),
                 cache.frames_done - 1)
    deviation = np.abs(np.asarray(cache.frames[sample], dtype=np.float64) - cache.frames[0])
    finite = np.flatnonzero(np.isfinite(deviation))
    if finite.size == 0:
        return [0]
    order = finite[np.argsort(deviation[finite])]
    return list(dict.fromkeys([int(order[-1]), int(order[0])]))
