"""An experiment written as text, for the headless job's options and scripts:

    --probe "dend[12](0.35):v,cai"                 section(x), then variables (v by default)
    --stimulus "IClamp@dend[3](0.5):amp=0.5,delay=5,dur=50"
    --set "gnabar_hh*0.5@dend"  --set "e_pas=-60@soma+dend[2]"   (scale or value, @where)
    --experiment run.json                           an exported experiment's JSON

Each form is parsed into the scripting API's own calls, so the job places exactly what the
panel and `add_probe`/`add_stimulus`/`set_parameter` place.
"""
import json
import re
from pathlib import Path

from ..engine.experiment import Experiment, ExperimentError
from . import experiment as scene_experiment

LOCATION = re.compile(r"^\s*(?P<section>[^()]+?)\s*\(\s*(?P<x>[^()]*)\s*\)\s*$")
CHANGE = re.compile(r"^\s*(?P<name>\w+)\s*(?P<how>[*=])\s*(?P<number>[^@]+?)\s*(?:@\s*(?P<where>.+?))?\s*$")


def parse_location(text):
    """"dend[3](0.5)" → ("dend[3]", 0.5)."""
    match = LOCATION.match(text)
    if match is None:
        raise ExperimentError(f"{text!r} is not section(x), e.g. dend[3](0.5)")
    try:
        return match["section"], float(match["x"])
    except ValueError:
        raise ExperimentError(f"{text!r}: x must be a number from 0 to 1") from None


def _params(text):
    params = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError(part)
            params[name.strip()] = float(value)
        except ValueError:
            raise ExperimentError(f"{part!r} is not name=number") from None
    return params


def add_probe_text(text, scene=None):
    where, _, variables = text.partition(":")
    section, x = parse_location(where)
    names = [v.strip() for v in variables.split(",") if v.strip()] or ["v"]
    return scene_experiment.add_probe(section, x, variables=names, scene=scene)


def add_stimulus_text(text, scene=None):
    kind, at, rest = text.partition("@")
    if not at:
        raise ExperimentError(f"{text!r} is not KIND@section(x):name=value,…")
    where, _, params = rest.partition(":")
    section, x = parse_location(where)
    return scene_experiment.add_stimulus(kind.strip(), section, x, scene=scene, **_params(params))


def set_parameter_text(text, scene=None):
    match = CHANGE.match(text)
    if match is None:
        raise ExperimentError(f"{text!r} is not NAME*SCALE@WHERE or NAME=VALUE@WHERE")
    try:
        number = float(match["number"])
    except ValueError:
        raise ExperimentError(f"{text!r}: {match['number']!r} is not a number") from None
    where = match["where"] or "all"
    where = [w.strip() for w in where.split("+")] if "+" in where else where.strip()
    key = "scale" if match["how"] == "*" else "value"
    return scene_experiment.set_parameter(match["name"], where=where, scene=scene, **{key: number})


def add_experiment_file(path, scene=None):
    """Place the probes, stimuli and changes of an exported experiment's JSON."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ExperimentError(f"{path}: not an experiment file ({exc})") from exc
    try:
        experiment = Experiment.from_dict(data.get("experiment", data))
    except (TypeError, AttributeError) as exc:
        raise ExperimentError(f"{path}: not an experiment file ({exc})") from exc
    for probe in experiment.probes:
        scene_experiment.add_probe(probe.section, probe.x, variables=probe.variables, scene=scene)
    for stimulus in experiment.stimuli:
        scene_experiment.add_stimulus(stimulus.kind, stimulus.section, stimulus.x, scene=scene, **stimulus.params)
    for change in experiment.changes:
        scene_experiment.set_parameter(change.name, value=change.value, scale=change.scale, where=change.where,
                                       scene=scene)


def apply_text(scene=None, *, experiment=None, probes=(), stimuli=(), changes=()):
    """Place everything given as text (the job's options), after the experiment file."""
    if experiment:
        add_experiment_file(experiment, scene)
    for text in probes:
        add_probe_text(text, scene)
    for text in stimuli:
        add_stimulus_text(text, scene)
    for text in changes:
        set_parameter_text(text, scene)
