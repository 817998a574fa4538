"""The experiment of a scene: probes, stimuli and parameter changes the user placed on the
cells, from the panel, the viewport or a script.

It lives in the scene (a JSON custom property, so it is saved with the .blend and a
reload of the same model keeps it: entries name sections, not indices); another model
starts a fresh one. Each Run sends it to whichever host holds the model
(`experiment_runs`). Checks that need NEURON (which parameters a section has, a model's
own point processes) use the model's catalogue, asked from the host once per load.
"""
import json

import bpy
import numpy as np

from ..engine import messages
from ..engine.experiment import (
    Everywhere,
    Experiment,
    ExperimentError,
    Probe,
    Stimulus,
    checked_x,
    make_change,
    where_sections,
)
from ..engine.experiment_locate import CentreLines
from ..engine.experiment_neuron import check_change
from ..engine.experiment_stimuli import STIMULI, stimulus_kind
from ..engine.state import session
from . import experiment_markers as markers, experiment_pick

KEY = "neuron_live_experiment"  # the scene's custom property holding the experiment's JSON


class _Known:
    """What is worked out once per loaded model: its catalogue and its centre-line index."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.model = self.catalogue = self.lines = None
        self.live = None  # the npz a run in flight writes its probes' traces so far to

    def of(self, model):
        if model is not self.model:
            self.reset()
            self.model = model
        return self


known = _Known()


def _model():
    if session.model is None:
        raise ExperimentError("No model loaded: load a model before placing probes or stimuli")
    return session.model


def experiment(scene=None):
    """The scene's experiment (a fresh one when it was made on another model)."""
    scene = scene or bpy.context.scene
    data = json.loads(scene.get(KEY, "{}"))
    current = Experiment.from_dict(data)
    model = session.model
    if model is not None and current.model != str(model.path):
        return Experiment(model=str(model.path))
    return current


def store(experiment_, scene=None):
    scene = scene or bpy.context.scene
    scene[KEY] = json.dumps(experiment_.as_dict())
    markers.sync(scene, experiment_)


def catalogue():
    """The loaded model's point processes, mechanisms and their parameters (from NEURON)."""
    state = known.of(_model())
    if state.catalogue is None:
        session.check_idle()
        host = session.host
        state.catalogue = host.submit(host.request, messages.Catalogue()).result(timeout=60)
    return state.catalogue


def centre_lines():
    state = known.of(_model())
    if state.lines is None:
        state.lines = CentreLines(state.model)
    return state.lines


def locate(location, scene=None):
    """(section name, x) of the segment nearest `location` (Blender's world space) along the
    cells' centre lines; ExperimentError when no cell is there."""
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    model = _model()
    point = np.asarray(location, dtype=np.float64) / props.scale
    if props.center and len(model.points):
        point = point + np.array([(float(model.points[:, i].min()) + float(model.points[:, i].max())) / 2
                                  for i in range(3)])
    hit = centre_lines().nearest(point, reach_scale=max(props.thickness, 1.0))
    return hit.name, hit.x


def _place(section, x, location, scene):
    """The (section, x) given, or the nearest segment to `location`, checked on the model."""
    if location is not None:
        return locate(location, scene)
    if section is None:
        raise ExperimentError("Give a section (and x), or location=(x, y, z)")
    names = _model().section_names
    if section not in names:
        raise ExperimentError(f"No section {section!r} in this model; it has: {', '.join(names[:8])}"
                              f"{'…' if len(names) > 8 else ''}")
    return section, checked_x(x)


class Entry:
    """A probe, stimulus or parameter change of the scene's experiment, by its id."""

    def __init__(self, ident, scene):
        self.id, self._scene = ident, scene

    def _get(self):
        return experiment(self._scene).find(self.id)

    def remove(self):
        current = experiment(self._scene)
        current.remove(self.id)
        store(current, self._scene)

    def __repr__(self):
        entry = self._get()
        return f"<{type(entry).__name__} {getattr(entry, 'label', '')} {getattr(entry, 'kind', '')}>".strip()


class ProbeHandle(Entry):
    @property
    def keys(self):
        return self._get().keys()

    @property
    def label(self):
        return self._get().label


class StimulusHandle(Entry):
    @property
    def label(self):
        return self._get().label

    @property
    def params(self):
        return dict(self._get().params)

    def set(self, **params):
        """Change parameters (the next Run uses them)."""
        current = experiment(self._scene)
        stimulus = current.find(self.id)
        stimulus.params = _checked_params(stimulus.kind, {**stimulus.params, **params})
        store(current, self._scene)
        return self

    def move(self, section=None, x=0.5, *, location=None):
        """Move it to section(x), or to the segment nearest `location`."""
        current = experiment(self._scene)
        stimulus = current.find(self.id)
        stimulus.section, stimulus.x = _place(section, x, location, self._scene)
        store(current, self._scene)
        return self


def _checked_params(kind, params):
    chosen = stimulus_kind(kind, params, None if kind in STIMULI else catalogue())
    return {name: chosen.params[name] for name in params}


def add_probe(section=None, x=0.5, *, variables=("v",), location=None, scene=None):
    """Record `variables` (v by default; any range variable: cai, ina, m_hh…) at section(x), or
    at the segment nearest `location`, at every time step of every run. Returns its handle;
    `probe_traces()` gives the traces, keyed like "dend[12](0.35).v"."""
    scene = scene or bpy.context.scene
    section, x = _place(section, x, location, scene)
    variables = [variables] if isinstance(variables, str) else [str(v) for v in variables]
    if not variables or not all(v.isidentifier() for v in variables):
        raise ExperimentError(f"variables must be NEURON range variable names, not {variables!r}")
    current = experiment(scene)
    probe = Probe(id=current.new_id(), section=section, x=x, variables=variables)
    current.probes.append(probe)
    store(current, scene)
    return ProbeHandle(probe.id, scene)


def add_stimulus(kind, section=None, x=0.5, *, location=None, scene=None, **params):
    """Place a stimulus: "IClamp" (delay, dur, amp), "SEClamp" (dur1, amp1, rs…), "ExpSyn"
    (tau, e) or "Exp2Syn" (tau1, tau2, e) driven by a NetStim (start, number, interval,
    noise) through a NetCon (weight, delay), or any POINT_PROCESS of the model by name with
    its own parameters. Returns its handle (`set`, `move`, `remove`)."""
    scene = scene or bpy.context.scene
    section, x = _place(section, x, location, scene)
    chosen = stimulus_kind(kind, params, None if kind in STIMULI else catalogue())
    current = experiment(scene)
    stimulus = Stimulus(id=current.new_id(), kind=kind, section=section, x=x, params=chosen.params)
    current.stimuli.append(stimulus)
    store(current, scene)
    return StimulusHandle(stimulus.id, scene)


def set_parameter(name, *, value=None, scale=None, where=Everywhere.ALL, scene=None):
    """Set a parameter (`value`) or scale it (`scale`) over `where`: "all", a section type
    (soma, axon, dend, apic), a cell name, a list of section names, or "picked" (the
    sections picked by clicking, as they are now). Applied on top of the
    model's own values before every run; `.remove()` the change to restore them."""
    scene = scene or bpy.context.scene
    model = _model()
    if where == experiment_pick.PICKED and where not in model.section_names:
        where = experiment_pick.picked_sections(scene)
        if not where:
            raise ExperimentError("No sections picked: click Pick Sections, then click on the sections")
    current = experiment(scene)
    change = make_change(current.new_id(), name, value, scale, where)
    if not len(where_sections(model, change.where)):
        raise ExperimentError(f"where={where!r} names no section of this model")
    check_change(model, catalogue(), change)
    current.changes.append(change)
    store(current, scene)
    return Entry(change.id, scene)


def pick_section(section=None, *, location=None, scene=None):
    """Pick the section nearest `location` (or `section`) for a parameter change, or unpick
    it when it is picked. Returns (its name, whether it is picked now)."""
    scene = scene or bpy.context.scene
    section, _ = _place(section, 0.5, location, scene)
    return section, experiment_pick.toggle(scene, section)


def follow_markers(scene=None):
    """Markers the user moved (G) snap to the nearest segment and take their probe or
    stimulus there; markers the user deleted take theirs away. Returns what changed."""
    scene = scene or bpy.context.scene
    if session.model is None or session.busy:
        return []
    current = experiment(scene)
    objects = {markers.entry_of(obj): obj for obj in markers.marker_objects(scene)}
    synced, changed = markers.synced_ids(scene), []
    for entry in [*current.probes, *current.stimuli]:
        obj = objects.get(entry.id)
        if obj is None and entry.id in synced:
            current.remove(entry.id)
            changed.append(f"removed {entry.label}")
        elif obj is not None and markers.moved(obj):
            try:
                entry.section, entry.x = locate(tuple(obj.location), scene)
                changed.append(f"moved to {entry.label}")
            except ExperimentError as exc:  # off the cells: back where it was
                changed.append(f"{entry.label} stays: {exc}")
    if changed:
        store(current, scene)
    return changed


def clear_experiment(*, scene=None):
    """Remove every probe, stimulus and parameter change."""
    scene = scene or bpy.context.scene
    store(Experiment(model=str(_model().path)), scene)


def experiment_dict(*, scene=None):
    """The scene's experiment as plain data (what a run records and the export writes)."""
    return experiment(scene).as_dict()
