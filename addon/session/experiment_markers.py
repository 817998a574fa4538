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
STYLE = {"probe": ("SPHERE", 0.6), "stimulus": ("SINGLE_ARROW", 1.2)}  # display type, size in µm × scale × 10


def _collection(scene):
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
    collection = _collection(scene)
    for obj in marker_objects(scene):
        bpy.data.objects.remove(obj, do_unlink=True)
    scene[SYNCED] = "[]"
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
        obj = bpy.data.objects.new(label, None)
        obj.empty_display_type, size = STYLE[kind]
        obj.empty_display_size = size * 10 * props.scale
        obj.location = obj[PLACED] = tuple(float(c) for c in xyz)
        obj[ENTRY] = entry.id
        obj.show_name = True
        collection.objects.link(obj)
    scene[SYNCED] = json.dumps([entry.id for _, entry, _ in placed])


def synced_ids(scene):
    return set(json.loads(scene.get(SYNCED, "[]")))


def moved(obj):
    """Whether the user moved this marker away from where it was placed."""
    placed = obj.get(PLACED)
    return placed is not None and max(abs(a - b) for a, b in zip(obj.location, placed)) > 1e-6


def entry_of(obj):
    """The experiment id a marker stands for, or None for any other object."""
    return int(obj[ENTRY]) if obj is not None and ENTRY in obj else None
