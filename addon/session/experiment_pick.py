"""Sections picked by clicking, for a parameter change over exactly those sections.

The pick is a working set the user builds in the viewport (each click on a cell picks the
section under it, a second click on it unpicks it) and then hands to a parameter change
(`set_parameter(..., where="picked")`), which keeps its own copy of the names: picking
more later does not change a change already made. It lives in the scene (JSON, by section
name: saved with the .blend, kept by a reload of the same model, empty for another) and
shows as a small cube at each picked section's middle. Main thread.
"""
import json

import bpy
import numpy as np

from ..engine.state import session
from ..shapes.polylines import to_blender
from . import experiment_markers as markers

KEY = "neuron_live_picked"  # the scene's custom property: {"model": path, "sections": [names]}
PICKED = "picked"  # the `where` of a parameter change that means the sections picked now
MARK = "neuron_live_picked_section"  # the custom property of a pick's marker (its section's name)


def picked_sections(scene=None):
    """The names of the sections picked on the loaded model, in the order picked."""
    scene = scene or bpy.context.scene
    data = json.loads(scene.get(KEY, "{}"))
    model = session.model
    if model is None or data.get("model") != str(model.path):
        return []
    names = set(model.section_names)
    return [name for name in data.get("sections", []) if name in names]


def toggle(scene, name):
    """Pick section `name`, or unpick it when it is picked; True when it is picked now."""
    picked = picked_sections(scene)
    now = name not in picked
    _store(scene, [*picked, name] if now else [n for n in picked if n != name])
    return now


def clear_picked(*, scene=None):
    """Unpick every section."""
    _store(scene or bpy.context.scene, [])


def _store(scene, names):
    scene[KEY] = json.dumps({"model": str(session.model.path), "sections": names})
    show(scene, names)


def show(scene, names=None):
    """A cube at the middle of each picked section (and none for sections unpicked)."""
    names = picked_sections(scene) if names is None else names
    collection = markers.experiment_collection(scene)
    for obj in [obj for obj in collection.objects if MARK in obj]:
        bpy.data.objects.remove(obj, do_unlink=True)
    model = session.model
    if model is None or not names:
        return []
    index = {name: i for i, name in enumerate(model.section_names)}
    where = model.locate([index[name] for name in names], [0.5] * len(names))
    where = to_blender(model, np.nan_to_num(where), scene.neuron_live)
    made = []
    for name, xyz in zip(names, where):
        obj = markers.place(collection, "picked", f"{name} · picked", xyz, scene.neuron_live)
        obj[MARK] = name
        made.append(obj)
    return made
