"""An experiment put into the NEURON that holds the model, before each run from t = 0.

Every run starts from the model's own values: the first time a parameter of a section is
changed its values are kept, and before each run every kept value is put back before the
list of changes is applied again, so removing a change really restores the model. The
stimuli and recording Vectors of the previous run are dropped (NEURON deletes a point
process with its last reference). Probes record at every time step (`Vector.record`
without times: full resolution, whatever the frame rate). Runs on NEURON's thread of the
host; no bpy.
"""
import numpy as np

from .experiment import SECTION_PROPERTIES, Experiment, ExperimentError, where_sections
from .experiment_stimuli import STIMULI, stimulus_catalogue, stimulus_kind


def mechanism_parameters(h, name, point=False):
    """{parameter: {default, units}} of mechanism `name` as NEURON reports them (an ion's
    reversal potential and concentrations; not its currents)."""
    ion = name.endswith("_ion")
    standard, ref = h.MechanismStandard(name, 0 if ion else 1), h.ref("")
    found = {}
    for i in range(int(standard.count())):
        size = standard.name(ref, i)
        param = ref[0]
        if size != 1 or (ion and param.startswith(("i", "d"))):
            continue  # arrays, and an ion's currents
        found[param] = {"default": float(standard.get(param)), "units": _units(h, f"{name}.{param}" if point
                                                                              else param)}
    return found


def _units(h, name):
    try:
        return str(h.units(name))
    except RuntimeError:  # a name hoc has no units for
        return ""


def catalogue(h):
    """What an experiment can use in this model: the point processes it can place, every
    density mechanism's parameters, and which mechanisms each section has (sections share
    a few distinct sets: stored once each)."""
    sets, index, section_set = [], {}, []
    for sec in h.allsec():
        names = tuple(sorted(mechanism.name() for mechanism in sec(0.5)))
        if names not in index:
            index[names] = len(sets)
            sets.append(names)
        section_set.append(index[names])
    mechanisms = {name: mechanism_parameters(h, name) for names in sets for name in names}
    return {"point_processes": stimulus_catalogue(h, mechanism_parameters), "mechanisms": mechanisms,
            "mechanism_sets": [list(names) for names in sets], "section_set": section_set}


def section_parameters(catalogue, section):
    """Names a parameter change may use on section index `section`."""
    names = catalogue["mechanism_sets"][catalogue["section_set"][section]]
    return [*SECTION_PROPERTIES, "cm", *(p for name in names for p in catalogue["mechanisms"].get(name, {}))]


def check_change(model, catalogue, change):
    """Refuse a change that some chosen section lacks, with the names that section has."""
    for section in where_sections(model, change.where):
        names = section_parameters(catalogue, int(section))
        if change.name not in names:
            raise ExperimentError(f"{model.section_names[section]} has no parameter {change.name!r}; "
                                  f"it has: {', '.join(names)}")


class Applied:
    """What the experiment put into this NEURON: kept values, stimuli, recording Vectors."""

    def __init__(self):
        self.originals = {}  # (section name, parameter) -> the model's values, per segment
        self.objects, self.records, self.t = [], {}, None

    def apply(self, h, model, experiment):
        """Restore the model's values, then apply `experiment`; returns notes (skipped entries)."""
        experiment = experiment if isinstance(experiment, Experiment) else Experiment.from_dict(experiment)
        sections = {sec.name(): sec for sec in h.allsec()}
        self.objects, self.records, self.t = [], {}, None
        self._restore(sections)
        stale = experiment.stale(sections)
        notes = [f"skipped {type(e).__name__.lower()} at {getattr(e, 'label', '')}: its section is gone"
                 for e in stale]
        for change in experiment.changes:
            if change not in stale:
                self._change(model, sections, change)
        for stimulus in experiment.stimuli:
            if stimulus not in stale:
                self.objects += _kind(h, stimulus).make(h, sections[stimulus.section](stimulus.x))
        probes = [p for p in experiment.probes if p not in stale]
        if probes:
            self.t = h.Vector().record(h._ref_t)
        for probe in probes:
            self._record(h, sections[probe.section], probe)
        return notes

    def _restore(self, sections):
        for (name, parameter), values in self.originals.items():
            sec = sections.get(name)
            if sec is None:
                continue
            if parameter in SECTION_PROPERTIES:
                setattr(sec, parameter, values)
                continue
            for seg, value in zip(sec, values):
                setattr(seg, parameter, value)

    def _change(self, model, sections, change):
        for index in where_sections(model, change.where):
            name = model.section_names[index]
            sec = sections[name]
            key = (name, change.name)
            if change.name in SECTION_PROPERTIES:
                self.originals.setdefault(key, getattr(sec, change.name))
                old = getattr(sec, change.name)
                setattr(sec, change.name, change.value if change.scale is None else old * change.scale)
                continue
            try:
                values = [getattr(seg, change.name) for seg in sec]
            except (NameError, AttributeError):
                raise ExperimentError(f"{name} has no parameter {change.name!r}") from None
            self.originals.setdefault(key, values)
            for seg, old in zip(sec, values):
                setattr(seg, change.name, change.value if change.scale is None else old * change.scale)

    def _record(self, h, sec, probe):
        seg = sec(probe.x)
        for variable, key in zip(probe.variables, probe.keys()):
            try:
                pointer = getattr(seg, "_ref_" + variable)
            except (NameError, AttributeError):
                raise ExperimentError(f"{probe.label} has no {variable!r}; it has: "
                                      f"{', '.join(_segment_variables(h, seg))}") from None
            self.records[key] = h.Vector().record(pointer, sec=sec)

    def traces(self):
        """{"t": times, "<section>(<x>).<variable>": values} of the last run (float64)."""
        if self.t is None:
            return {}
        return {"t": self.t.as_numpy().copy(), **{key: vec.as_numpy().copy() for key, vec in self.records.items()}}

    def save_traces(self, path):
        traces = self.traces()
        np.savez(path, **traces)
        return sorted(traces)


def _segment_variables(h, seg):
    """Every range variable a segment has: v and its mechanisms' (parameters, assigned, states)."""
    ref, names = h.ref(""), ["v"]
    for mechanism in seg:
        standard = h.MechanismStandard(mechanism.name(), 0)
        for i in range(int(standard.count())):
            standard.name(ref, i)
            names.append(ref[0])
    return names


def _kind(h, stimulus):
    if stimulus.kind in STIMULI:
        return stimulus_kind(stimulus.kind, stimulus.params)
    if not hasattr(h, stimulus.kind):
        raise ExperimentError(f"This model has no point process {stimulus.kind!r}")
    known = {"point_processes": {stimulus.kind: mechanism_parameters(h, stimulus.kind, point=True)}}
    return stimulus_kind(stimulus.kind, stimulus.params, known)
