"""Every run kept with its experiment: the history of a scene.

Before a run the scene's experiment goes to the host (`job_hooks`: the host's NEURON
applies it at t = 0); after it the probes' traces are saved beside the frames
(`probes.npz`). Each finished run is then kept in the history: its cache's files are
hard-linked (copied across file systems) into a folder of its own beside the scene's
cache, so the next run's cache replaces the playing one without touching it. The history
itself (names, experiments, settings, folders) is JSON in the scene, saved with the .blend.
A run is named by what changed since the run before ("Run 3: IClamp amp 0.8").
"""
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import bpy
import numpy as np

from ..engine import FrameCache, messages
from ..engine.experiment import Experiment, ExperimentError
from ..engine.state import session
from ..scene import materials, playback
from . import experiment as scene_experiment

RUNS = "neuron_live_runs"  # the scene's custom property: the history's JSON
PROBES_FILE = "probes.npz"
LIVE_FILE = "live-probes.npz"  # the traces so far of the run in flight (written by the host's NEURON)


def spec_for_run(scene):
    """(the experiment to send, notes on entries skipped): stale entries (sections gone after
    a reload) are left out and named."""
    scene_experiment.markers.ensure_model_points(scene)
    current = scene_experiment.experiment(scene)
    stale = current.stale(session.model.section_names)
    notes = [f"{getattr(e, 'label', getattr(e, 'name', ''))} skipped: its section is not in the model"
             for e in stale]
    for entry in stale:
        current.remove(entry.id)
    return current.as_dict(), notes


def one_process(settings, spec):
    """(settings, notes): an experiment runs in one NEURON process (MPI ranks do not take it)."""
    if settings.processes > 1 and not Experiment.from_dict(spec).empty:
        return replace(settings, processes=1), ["the experiment ran in one process (MPI ranks do not take one yet)"]
    return settings, []


def live_path(cache_folder):
    """Where the run for `cache_folder` writes its probes' traces while it goes."""
    return Path(str(cache_folder) + ".runs") / LIVE_FILE


def job_hooks(spec, extend, live):
    """(before(host), after(host, cache)) for the run's job (worker thread, no bpy); `live`:
    the npz the traces so far go to during the run (removed once it ends)."""
    live.unlink(missing_ok=True)
    live.parent.mkdir(parents=True, exist_ok=True)
    scene_experiment.known.of(session.model).live = live if spec["probes"] else None

    def before(host):  # (a Continue applies nothing again: its run goes on from NEURON's state)
        host.request(messages.SetExperiment(experiment=spec, live=str(live)))

    def after(host, cache):
        if spec["probes"] and cache is not None and cache.folder.exists():
            host.request(messages.SaveTraces(path=str(cache.folder / PROBES_FILE)))
        live.unlink(missing_ok=True)
    return before, after


def _history(scene):
    return json.loads(scene.get(RUNS, "[]"))


def _store(scene, history):
    scene[RUNS] = json.dumps(history)


def record(scene, cache, settings, spec, extend):
    """Keep the run that just ended (main thread); a Continue updates the last run instead."""
    if cache is None or cache.frames_done == 0:
        return None
    history = _history(scene)
    if extend and history:
        entry = history[-1]
    else:
        entry = {"index": (history[-1]["index"] + 1) if history else 1}
        entry["name"] = _name(entry["index"], history[-1] if history else None, settings, spec)
        history.append(entry)
    folder = Path(str(cache.folder) + ".runs") / f"run-{entry['index']:03d}"
    _link_files(cache.folder, folder)
    entry.update(folder=str(folder), settings=settings, experiment=spec, model=str(cache.meta.get("model")),
                 frames_done=int(cache.frames_done))
    _store(scene, history)
    return entry["name"]


def _link_files(source, target):
    """Hard links of every file of `source` in `target` (copies where links cannot be made)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            try:
                os.link(path, target / path.name)
            except OSError:  # another file system, or links not allowed
                shutil.copy2(path, target / path.name)


def _name(index, previous, settings, spec):
    """"Run N: what changed since the previous run" (the first run: its experiment)."""
    before = previous or {"settings": settings, "experiment": Experiment().as_dict()}
    parts = [f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
             for key, value in settings.items() if before["settings"].get(key) != value]
    parts += _stimulus_changes(before["experiment"]["stimuli"], spec["stimuli"])
    old = [c.describe() for c in Experiment.from_dict(before["experiment"]).changes]
    new = [c.describe() for c in Experiment.from_dict(spec).changes]
    parts += [text for text in new if text not in old] + [f"no {text}" for text in old if text not in new]
    if not parts:
        return f"Run {index}" + (": no change" if previous else "")
    return f"Run {index}: " + ", ".join(parts[:3]) + (" …" if len(parts) > 3 else "")


def _stimulus_changes(old, new):
    before = {s["id"]: s for s in old}
    parts = []
    for stimulus in new:
        was = before.pop(stimulus["id"], None)
        where = f"{stimulus['section']}({stimulus['x']:.4g})"
        if was is None:
            parts.append(f"{stimulus['kind']} at {where}")
            continue
        parts += [f"{stimulus['kind']} {key} {value:g}" for key, value in stimulus["params"].items()
                  if was["params"].get(key) != value]
        if (was["section"], was["x"]) != (stimulus["section"], stimulus["x"]):
            parts.append(f"{stimulus['kind']} moved to {where}")
    return parts + [f"no {s['kind']} at {s['section']}({s['x']:.4g})" for s in before.values()]


def runs(*, scene=None):
    """The scene's runs, oldest first: name, index, settings, experiment, folder, bytes on disk."""
    scene = scene or bpy.context.scene
    history = _history(scene)
    for entry in history:
        folder = Path(entry["folder"])
        entry["bytes"] = sum(p.stat().st_size for p in folder.iterdir()) if folder.exists() else 0
    return history


def run_entry(scene, name):
    history = _history(scene)
    for entry in history:
        if name in (entry["name"], entry["index"], f"Run {entry['index']}"):
            return entry
    raise ExperimentError(f"No run {name!r}; the runs are: {', '.join(e['name'] for e in history) or 'none yet'}")


def play_run(name, *, scene=None):
    """Play run `name` (its name, "Run N", or N) on the cells."""
    scene = scene or bpy.context.scene
    entry = run_entry(scene, name)
    session.check_idle()
    session.cache = FrameCache.open(entry["folder"])
    materials.refresh_all(scene)
    playback.refresh(scene)
    scene.neuron_live.status = f"Playing {entry['name']}"
    return session.cache


def delete_run(name, *, scene=None):
    """Forget run `name` and delete its kept cache."""
    scene = scene or bpy.context.scene
    entry = run_entry(scene, name)
    shutil.rmtree(entry["folder"], ignore_errors=True)
    _store(scene, [e for e in _history(scene) if e["index"] != entry["index"]])


def probe_traces(run=None, *, scene=None):
    """{"t": times, "dend[12](0.35).v": values, …} of the last run's probes (every time step),
    or of the run named `run`."""
    scene = scene or bpy.context.scene
    live = scene_experiment.known.of(session.model).live if session.model is not None else None
    if run is None and session.busy and live is not None and live.exists():
        with np.load(live) as data:  # the run in flight: its traces so far
            return {key: data[key] for key in data.files}
    if run is None:
        history = _history(scene)
        folder = session.cache.folder if session.cache is not None else (
            Path(history[-1]["folder"]) if history else None)
    else:
        folder = Path(run_entry(scene, run)["folder"])
    path = folder / PROBES_FILE if folder is not None else None
    if path is None or not path.exists():
        return {}
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def save_traces(path, *, run=None, scene=None):
    """The probe traces of the last run (or `run`) as an npz at `path`; None without probes."""
    traces = probe_traces(run, scene=scene)
    if not traces:
        return None
    np.savez(path, **traces)
    return Path(path)


def compare_runs(a, b, *, scene=None):
    """How run `b` differs from run `a`: the largest |b − a| over the frames they share, per
    segment's frame values, and per probe trace (same time steps)."""
    scene = scene or bpy.context.scene
    first, second = FrameCache.open(run_entry(scene, a)["folder"]), FrameCache.open(run_entry(scene, b)["folder"])
    if first.meta["n_segments"] != second.meta["n_segments"]:
        raise ExperimentError(f"{a} and {b} are runs of models with different segments")
    n = min(first.frames_done, second.frames_done)
    frames = np.abs(np.asarray(second.frames[:n], np.float64) - np.asarray(first.frames[:n], np.float64))
    traces_a, traces_b = probe_traces(a, scene=scene), probe_traces(b, scene=scene)
    probes = {}
    for key in sorted(set(traces_a) & set(traces_b) - {"t"}):
        m = min(len(traces_a[key]), len(traces_b[key]))
        probes[key] = float(np.max(np.abs(traces_b[key][:m] - traces_a[key][:m]))) if m else 0.0
    return {"a": run_entry(scene, a)["name"], "b": run_entry(scene, b)["name"], "frames": n,
            "max_abs_difference": float(np.nanmax(frames)) if frames.size else 0.0, "probes": probes}
