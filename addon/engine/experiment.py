"""An experiment as plain data: probes, stimuli and parameter changes on top of a model.

One JSON-able description travels everywhere the experiment goes: kept in the scene (so it
is saved with the .blend), sent to whichever host runs NEURON, kept with each run of the
history and written out as a plain-NEURON script. Everything names sections by their
NEURON names, so a reload of the same model finds them again; an entry whose section is
gone is stale and skipped with a message. No bpy, no NEURON.
"""
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import numpy as np

from ...model_loaders.model import SECTION_TYPES


class ExperimentError(ValueError):
    """A probe, stimulus or parameter change that cannot work, said in the user's terms."""


class Everywhere(StrEnum):
    """The `where` of a parameter change that covers the whole model."""
    ALL = "all"


SECTION_PROPERTIES = ("Ra",)  # a section's own value, not a range variable
NON_NEGATIVE = ("del", "delay", "dur", "dur1", "dur2", "dur3", "interval", "number", "start", "tau",
                "tau1", "tau2", "rs", "noise")


def segment_label(section, x):
    """`dend[12](0.35)`: how NEURON itself names a location."""
    return f"{section}({float(x):.6g})"


def finite(name, value):
    """`value` as a float; NaN and inf refused by name."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ExperimentError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ExperimentError(f"{name} must be finite, not {value!r}")
    return number


def checked_parameters(params):
    """Stimulus parameters as floats: finite, and durations, delays, intervals ≥ 0."""
    out = {}
    for name, value in params.items():
        number = finite(name, value)
        if number < 0 and name in NON_NEGATIVE:
            raise ExperimentError(f"{name} must not be negative (got {number:g})")
        out[name] = number
    return out


def checked_x(x):
    x = finite("x", x)
    if not 0.0 <= x <= 1.0:
        raise ExperimentError(f"x is a position along the section, from 0 to 1 (got {x:g})")
    return x


@dataclass
class Probe:
    """Record `variables` at section(x) at every time step of every run."""
    id: int
    section: str
    x: float
    variables: list = field(default_factory=lambda: ["v"])

    @property
    def label(self):
        return segment_label(self.section, self.x)

    def keys(self):
        return [f"{self.label}.{variable}" for variable in self.variables]


@dataclass
class Stimulus:
    """A point process of `kind` at section(x) (see experiment_stimuli for the kinds)."""
    id: int
    kind: str
    section: str
    x: float
    params: dict = field(default_factory=dict)

    @property
    def label(self):
        return segment_label(self.section, self.x)


@dataclass
class Change:
    """Set `name` to `value`, or multiply it by `scale`, over the sections of `where`."""
    id: int
    name: str
    value: float = None
    scale: float = None
    where: object = Everywhere.ALL  # "all", a section type, a cell name, or a list of section names

    def describe(self):
        how = f"× {self.scale:g}" if self.scale is not None else f"= {self.value:g}"
        where = self.where if isinstance(self.where, str) else f"{len(self.where)} sections"
        return f"{self.name} {how} ({where})"


@dataclass
class Experiment:
    model: str = ""
    probes: list = field(default_factory=list)
    stimuli: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    next_id: int = 1

    def new_id(self):
        self.next_id += 1
        return self.next_id - 1

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data or {})
        return cls(model=data.get("model", ""), next_id=int(data.get("next_id", 1)),
                   probes=[Probe(**p) for p in data.get("probes", ())],
                   stimuli=[Stimulus(**s) for s in data.get("stimuli", ())],
                   changes=[Change(**c) for c in data.get("changes", ())])

    def find(self, ident):
        for entry in (*self.probes, *self.stimuli, *self.changes):
            if entry.id == ident:
                return entry
        raise ExperimentError(f"No probe, stimulus or change {ident} in this experiment (removed?)")

    def remove(self, ident):
        entry = self.find(ident)
        for entries in (self.probes, self.stimuli, self.changes):
            if entry in entries:
                entries.remove(entry)

    def probe_keys(self):
        return ["t", *(key for probe in self.probes for key in probe.keys())]

    def stale(self, section_names):
        """Entries whose section this model does not have (gone after a reload)."""
        names = set(section_names)
        located = [e for e in (*self.probes, *self.stimuli) if e.section not in names]
        listed = [c for c in self.changes if not isinstance(c.where, str) and not set(c.where) <= names]
        return located + listed

    @property
    def empty(self):
        return not (self.probes or self.stimuli or self.changes)


def make_change(ident, name, value=None, scale=None, where=Everywhere.ALL):
    """A checked `Change`: exactly one of value and scale, finite."""
    if (value is None) == (scale is None):
        raise ExperimentError(f"set_parameter({name!r}): give either value= or scale=")
    value = None if value is None else finite("value", value)
    scale = None if scale is None else finite("scale", scale)
    if isinstance(where, (list, tuple)):
        where = [str(name) for name in where]
    return Change(id=ident, name=str(name), value=value, scale=scale, where=where or Everywhere.ALL)


def where_sections(model, where):
    """Section indices `where` names: everything, a section type (soma, axon, dend, apic), a
    cell, one section, or a list of section names. A section's own name wins over a type or
    a cell of the same name (a single-cell model's cell is named after its root section)."""
    names = model.section_names
    if isinstance(where, str) and where.lower() in (Everywhere.ALL, "everywhere", ""):
        return np.arange(len(names))
    if isinstance(where, str) and where in SECTION_TYPES[1:] and where not in names:
        return np.flatnonzero(model.section_type == SECTION_TYPES.index(where))
    if isinstance(where, str) and where in model.cell_names and where not in names:  # (a cell named after its soma)
        return np.flatnonzero(model.section_cell == model.cell_names.index(where))
    wanted = [where] if isinstance(where, str) else list(where)
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in wanted if name not in index]
    if missing:
        raise ExperimentError(
            f"where={missing[0]!r} is not 'all', a section type ({', '.join(SECTION_TYPES[1:])}), a cell "
            f"({', '.join(model.cell_names[:5])}{'…' if len(model.cell_names) > 5 else ''}) or a section "
            f"({', '.join(names[:5])}{'…' if len(names) > 5 else ''})")
    return np.array([index[name] for name in wanted], dtype=np.int64)
