"""Markers of the experiment: one small object per probe and stimulus at its segment,
labelled the way NEURON names the place (`dend[12](0.35)`), so the user sees and selects
what they placed. Rebuilt from the experiment whenever it changes (a few objects: cheap);
each carries its entry's id so the panel and operators map it back. Main thread.
"""
import json

import bpy
import numpy as np

from ..engine.state import session
from ..shapes.polylines import to_blender

COLLECTION = "NEURON Live · Experiment"
ENTRY = "neuron_live_entry"  # the custom property with the probe's or stimulus's id
PLACED = "neuron_live_at"  # where the marker was put: moved away from it, it follows (experiment.follow_markers)
SYNCED = "neuron_live_markers"  # the scene's ids with a marker: one missing was deleted by the user
MODEL_POINT = "neuron_live_model_point"  # a marker of the model's own point process (its index)
STYLE = {"probe": ("SPHERE", 0.6), "stimulus": ("SINGLE_ARROW", 1.2),  # display type, size in µm × scale × 10
         "model": ("PLAIN_AXES", 0.8), "picked": ("CUBE", 0.4)}
MODEL_SHOWN = "neuron_live_model_points"  # the scene's: which load's point processes have markers
MODEL_MARKERS_MAX = 500  # more of the model's point processes (a network's synapses) get no markers


def experiment_collection(scene):
    collection = bpy.data.collections.get(COLLECTION)
    if collection is None:
        collection = bpy.data.collections.new(COLLECTION)
    if collection.name not in scene.collection.children:
        scene.collection.children.link(collection)
    return collection


def marker_objects(scene):
    collection = bpy.data.collections.get(COLLECTION)
    return [] if collection is None else [obj for obj in collection.objects if ENTRY in obj]


def sync(scene, experiment):
    """Make the markers match `experiment` (nothing to place without a loaded model)."""
    model = session.model
    collection = experiment_collection(scene)
    for obj in marker_objects(scene):
        bpy.data.objects.remove(obj, do_unlink=True)
    scene[SYNCED] = "[]"
    ensure_model_points(scene)
    if model is None or str(model.path) != experiment.model:
        return
    entries = [("probe", p, p.label) for p in experiment.probes]
    entries += [("stimulus", s, f"{s.kind} {s.label}") for s in experiment.stimuli]
    names = {name: i for i, name in enumerate(model.section_names)}
    placed = [(kind, entry, label) for kind, entry, label in entries if entry.section in names]
    if not placed:
        return
    where = model.locate([names[entry.section] for _, entry, _ in placed], [entry.x for _, entry, _ in placed])
    props = scene.neuron_live
    where = to_blender(model, np.nan_to_num(where), props)
    for (kind, entry, label), xyz in zip(placed, where):
        obj = place(collection, kind, label, xyz, props)
        obj[PLACED] = tuple(obj.location)
        obj[ENTRY] = entry.id
    scene[SYNCED] = json.dumps([entry.id for _, entry, _ in placed])


def synced_ids(scene):
    return set(json.loads(scene.get(SYNCED, "[]")))


def moved(obj):
    """Whether the user moved this marker away from where it was placed."""
    placed = obj.get(PLACED)
    return placed is not None and max(abs(a - b) for a, b in zip(obj.location, placed)) > 1e-6


def place(collection, kind, label, xyz, props):
    obj = bpy.data.objects.new(label, None)
    obj.empty_display_type, size = STYLE[kind]
    obj.empty_display_size = size * 10 * props.scale
    obj.location = tuple(float(c) for c in xyz)
    obj.show_name = True
    collection.objects.link(obj)
    return obj


def show_model_points(scene):
    """Markers of the point processes the model made itself (labelled as the model's), once
    per loaded model; none past MODEL_MARKERS_MAX (they would crowd the cells)."""
    model, collection = session.model, experiment_collection(scene)
    for obj in [obj for obj in collection.objects if MODEL_POINT in obj]:
        bpy.data.objects.remove(obj, do_unlink=True)
    if model is None or model.point_process_section is None:
        return []
    placed = np.flatnonzero(model.point_process_section >= 0)
    if not len(placed) or len(placed) > MODEL_MARKERS_MAX:
        return []
    sections, xs = model.point_process_section[placed], model.point_process_x[placed]
    where = to_blender(model, np.nan_to_num(model.locate(sections, xs)), scene.neuron_live)
    made = []
    for k, section, x, xyz in zip(placed, sections, xs, where):
        name = model.point_process_names[model.point_process_type[k]]
        obj = place(collection, "model", f"{name} {model.section_names[section]}({float(x):.4g}) · model's", xyz,
                      scene.neuron_live)
        obj[MODEL_POINT] = int(k)
        made.append(obj)
    return made


def ensure_model_points(scene):
    """Show the loaded model's own point processes unless this load's are shown already."""
    model = session.model
    key = f"{model.path}|{id(model)}" if model is not None else ""
    if scene.get(MODEL_SHOWN) != key:
        show_model_points(scene)
        scene[MODEL_SHOWN] = key


def entry_of(obj):
    """The experiment id a marker stands for, or None for any other object."""
    return int(obj[ENTRY]) if obj is not None and ENTRY in obj else None
