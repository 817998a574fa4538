"""Export the scene's experiment as a plain-NEURON script (and its JSON beside it)."""
import json
from pathlib import Path

import bpy

from ..engine.experiment import ExperimentError
from ..engine.experiment_export import script
from ..engine.run_settings import RUN_SETTINGS, RunSettings
from ..engine.state import session
from .experiment import experiment


def _exact(value):
    """Blender keeps floats as float32: the 7 digits it holds, as the run uses them."""
    return float(f"{value:.7g}") if isinstance(value, float) else value


def export_experiment(path, *, scene=None):
    """Write a Python script at `path` that loads the model's files in plain NEURON, applies
    the scene's run settings, parameter changes and stimuli, records the probes and saves
    them beside itself (`<script>.npz`, the keys of `probe_traces()`). The experiment as
    JSON goes beside it too (`<script>.json`). Returns the script's path."""
    scene = scene or bpy.context.scene
    if session.model is None:
        raise ExperimentError("No model loaded: load the model whose experiment to export")
    props = scene.neuron_live
    settings = RunSettings(**{key: _exact(getattr(props, key)) for key in RUN_SETTINGS}).as_dict()
    current = experiment(scene)
    path = Path(bpy.path.abspath(str(path)))
    text = script(session.model, settings, current, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps({"model": str(session.model.path), "settings": settings,
                                                     "experiment": current.as_dict()}, indent=1))
    return path
