"""An experiment as a plain Python script for plain NEURON: the same model files, settings,
parameter changes, stimuli and probes, so a result seen in Blender can be reproduced (and
published) without it. The script saves its probe traces in an npz beside itself with the
keys `probe_traces()` uses. Stimuli write their own lines (`StimulusKind.code`), so the
script builds what the add-on built. No bpy.
"""
import json
from pathlib import Path

from .experiment import SECTION_PROPERTIES, Experiment, ExperimentError, where_sections
from .experiment_stimuli import stimulus_kind

HEAD = '''"""NEURON Live experiment, reproduced in plain NEURON: python {script_name}
Model: {model}
Writes {script_stem}.npz beside this script: "t" and one array per probe and variable."""
import json
import os
import runpy
import sys

import numpy as np
from neuron import h

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = {model!r}
SETTINGS = json.loads({settings!r})
os.chdir(os.path.dirname(MODEL))  # the model's own folder: its mechanisms and relative paths
h.load_file("stdrun.hoc")
if MODEL.endswith(".py"):
    sys.path.insert(0, os.path.dirname(MODEL))
    runpy.run_path(MODEL, run_name="__main__")
else:
    h.load_file(os.path.basename(MODEL))
sections = {{sec.name(): sec for sec in h.allsec()}}
'''

RUN = '''
# -- run as NEURON Live ran it ---------------------------------------------------------------
h.dt, h.celsius, h.v_init = SETTINGS["dt"], SETTINGS["celsius"], SETTINGS["v_init"]
h.secondorder = SETTINGS["secondorder"]
h.tstop = SETTINGS["tstop"]
pc = h.ParallelContext()
pc.nthread(int(SETTINGS.get("threads", 1)))
cvode = h.CVode()
cvode.active(int(SETTINGS["cvode"]))
if SETTINGS["cvode"]:
    cvode.atol(SETTINGS["atol"])
    cvode.rtol(SETTINGS["rtol"])
pc.set_maxstep(10)
h.finitialize(SETTINGS["v_init"])
if SETTINGS["cvode"]:  # CVode steps as NEURON Live steps it: single steps, interpolated back at frame times
    for k in range(1, int(round(SETTINGS["tstop"] * SETTINGS["frames_per_ms"])) + 1):
        frame_time = k / SETTINGS["frames_per_ms"]
        while h.t < frame_time:
            h.fadvance()
        cvode.solve(frame_time)
else:
    pc.psolve(SETTINGS["tstop"])
traces = {{"t": np.array(t), **{{key: np.array(vector) for key, vector in records.items()}}}}
np.savez(os.path.join(HERE, {npz!r}), **traces)
print(json.dumps({{"npz": os.path.join(HERE, {npz!r}), "keys": sorted(traces)}}))
'''

LOADABLE = (".hoc", ".oc", ".py")


def script(model, settings, experiment, script_path):
    """The script's text: `model` the loaded Model, `settings` the run's settings (dict),
    `experiment` an Experiment or its dict."""
    experiment = experiment if isinstance(experiment, Experiment) else Experiment.from_dict(experiment)
    path = Path(model.path)
    if path.suffix.lower() not in LOADABLE:
        raise ExperimentError(f"Export writes scripts for hoc and Python models; {path.name} is a "
                              f"{path.suffix} file (load its cell from a hoc or Python file to export)")
    stale = experiment.stale(model.section_names)
    if stale:
        raise ExperimentError(f"{len(stale)} entries name sections this model lacks "
                              f"({getattr(stale[0], 'label', stale[0])}); remove them before exporting")
    script_path = Path(script_path)
    lines = [HEAD.format(script_name=script_path.name, script_stem=script_path.stem, model=str(path),
                         settings=json.dumps(settings))]
    lines += _changes(model, experiment.changes)
    lines += _stimuli(experiment.stimuli)
    lines += _probes(experiment.probes)
    lines.append(RUN.format(npz=script_path.stem + ".npz"))
    return "\n".join(lines)


def _changes(model, changes):
    lines = ["# -- parameter changes, in order, on the model's own values ---------------------------"]
    for change in changes:
        names = [model.section_names[i] for i in where_sections(model, change.where)]
        new = repr(change.value) if change.scale is None else f"old * {change.scale!r}"
        lines.append(f"for name in {names!r}:  # {change.describe()}")
        if change.name in SECTION_PROPERTIES:
            lines += [f"    old = sections[name].{change.name}", f"    sections[name].{change.name} = {new}"]
            continue
        lines += ["    for seg in sections[name]:", f"        old = getattr(seg, {change.name!r})",
                  f"        setattr(seg, {change.name!r}, {new})"]
    return lines


def _stimuli(stimuli):
    lines = ["# -- stimuli -------------------------------------------------------------------------"]
    for k, stimulus in enumerate(stimuli):
        kind = stimulus_kind(stimulus.kind, stimulus.params, {"point_processes": {stimulus.kind: {
            name: {"default": value, "units": ""} for name, value in stimulus.params.items()}}})
        lines += kind.code(f"stimulus_{k}", f"sections[{stimulus.section!r}]({stimulus.x!r})")
    return lines


def _probes(probes):
    lines = ["# -- probes: every time step -----------------------------------------------------------",
             "t = h.Vector().record(h._ref_t)", "records = {}"]
    for probe in probes:
        for variable, key in zip(probe.variables, probe.keys()):
            lines.append(f"records[{key!r}] = h.Vector().record(sections[{probe.section!r}]({probe.x!r})"
                         f"._ref_{variable}, sec=sections[{probe.section!r}])")
    return lines
