"""Stimuli: one class per kind behind a small base, chosen from `STIMULI`.

Each kind knows its parameters (our names, defaults, units), how to make itself in a
NEURON (`make`) and how to write the same thing as plain-NEURON Python (`code`), so the
exported script builds exactly what the add-on built. Any POINT_PROCESS the model's
mechanisms define goes through `PointProcess`, whose parameters are read from NEURON.
No bpy.
"""
from typing import ClassVar

from .experiment import ExperimentError, checked_parameters


class StimulusKind:
    """A point process at one segment, with parameters set by attribute."""
    kind: ClassVar[str]
    hoc_name: ClassVar[str]
    PARAMETERS: ClassVar[dict]  # our name -> (default, units)
    HOC_NAMES: ClassVar[dict] = {}  # our name -> NEURON's, where they differ ("delay" -> "del")

    def __init__(self, params):
        unknown = [name for name in params if name not in self.PARAMETERS]
        if unknown:
            raise ExperimentError(f"{self.kind} has no parameter {unknown[0]!r}; it has: "
                                  f"{', '.join(self.PARAMETERS)}")
        self.params = {name: default for name, (default, _units) in self.PARAMETERS.items()}
        self.params.update(checked_parameters(params))

    def hoc_values(self, names):
        return {self.HOC_NAMES.get(name, name): self.params[name] for name in names}

    def own_values(self):
        """NEURON attributes of the point process itself."""
        return self.hoc_values(self.PARAMETERS)

    def make(self, h, seg):
        """Make it at `seg`; returns the NEURON objects to keep alive for the run."""
        point = getattr(h, self.hoc_name)(seg)
        for name, value in self.own_values().items():
            setattr(point, name, value)
        return [point]

    def code(self, var, seg):
        """Plain-NEURON Python lines making the same at the segment expression `seg`."""
        lines = [f"{var} = h.{self.hoc_name}({seg})"]
        lines += [f"setattr({var}, {name!r}, {value!r})" for name, value in self.own_values().items()]
        return lines  # (setattr: IClamp's `del` is a Python keyword)


class IClamp(StimulusKind):
    kind = hoc_name = "IClamp"
    PARAMETERS = {"delay": (0.0, "ms"), "dur": (0.0, "ms"), "amp": (0.0, "nA")}
    HOC_NAMES = {"delay": "del"}


class SEClamp(StimulusKind):
    kind = hoc_name = "SEClamp"
    PARAMETERS = {"dur1": (0.0, "ms"), "amp1": (0.0, "mV"), "dur2": (0.0, "ms"), "amp2": (0.0, "mV"),
                  "dur3": (0.0, "ms"), "amp3": (0.0, "mV"), "rs": (1.0, "MΩ")}


DRIVER = {"start": (5.0, "ms"), "number": (1.0, ""), "interval": (10.0, "ms"), "noise": (0.0, ""),
          "weight": (0.01, "µS"), "delay": (1.0, "ms")}


class Synapse(StimulusKind):
    """A synapse driven by a NetStim through a NetCon (weight, delay)."""
    SYNAPSE: ClassVar[dict]

    def own_values(self):
        return {name: self.params[name] for name in self.SYNAPSE}

    def driver_values(self):
        return {name: self.params[name] for name in ("start", "number", "interval", "noise")}

    def make(self, h, seg):
        (synapse,) = super().make(h, seg)
        stim = h.NetStim()
        for name, value in self.driver_values().items():
            setattr(stim, name, value)
        netcon = h.NetCon(stim, synapse)
        netcon.weight[0], netcon.delay = self.params["weight"], self.params["delay"]
        return [synapse, stim, netcon]

    def code(self, var, seg):
        lines = super().code(var, seg) + [f"{var}_stim = h.NetStim()"]
        lines += [f"setattr({var}_stim, {name!r}, {value!r})" for name, value in self.driver_values().items()]
        return lines + [f"{var}_netcon = h.NetCon({var}_stim, {var})",
                        f"{var}_netcon.weight[0] = {self.params['weight']!r}",
                        f"{var}_netcon.delay = {self.params['delay']!r}"]


class ExpSyn(Synapse):
    kind = hoc_name = "ExpSyn"
    SYNAPSE = {"tau": (0.1, "ms"), "e": (0.0, "mV")}
    PARAMETERS = {**SYNAPSE, **DRIVER}


class Exp2Syn(Synapse):
    kind = hoc_name = "Exp2Syn"
    SYNAPSE = {"tau1": (0.1, "ms"), "tau2": (10.0, "ms"), "e": (0.0, "mV")}
    PARAMETERS = {**SYNAPSE, **DRIVER}

    def __init__(self, params):
        super().__init__(params)
        if self.params["tau1"] >= self.params["tau2"] or self.params["tau1"] <= 0:
            raise ExperimentError("Exp2Syn needs 0 < tau1 < tau2 (NEURON would change them itself)")


class PointProcess(StimulusKind):
    """Any other POINT_PROCESS: its PARAMETERs, units and defaults as NEURON reports them."""

    def __init__(self, kind, parameters, params):
        self.kind = self.hoc_name = kind
        self.PARAMETERS = parameters
        super().__init__(params)


STIMULI = {cls.kind: cls for cls in (IClamp, SEClamp, ExpSyn, Exp2Syn)}
LOCATIONLESS = ("NetStim", "IntFire1", "IntFire2", "IntFire4", "PatternStim", "APCount")


def stimulus_kind(kind, params, catalogue=None):
    """The `StimulusKind` for `kind` with `params` checked: a table entry, or a point process
    of the model (its parameters from `catalogue["point_processes"]`)."""
    if kind in STIMULI:
        return STIMULI[kind](params)
    known = (catalogue or {}).get("point_processes", {})
    if kind not in known:
        raise ExperimentError(f"No stimulus {kind!r}: choose one of {', '.join([*STIMULI, *sorted(known)])}")
    parameters = {name: (info["default"], info["units"]) for name, info in known[kind].items()}
    return PointProcess(kind, parameters, params)


def stimulus_catalogue(h, mechanism_parameters):
    """{kind: {parameter: {default, units}}} of every POINT_PROCESS this NEURON has that can be
    placed at a segment (artificial cells and spike counters cannot)."""
    types, name = h.MechanismType(1), h.ref("")
    found = {}
    for i in range(int(types.count())):
        types.select(i)
        types.selected(name)
        if name[0] not in LOCATIONLESS and not types.is_artificial(i):
            found[name[0]] = mechanism_parameters(h, name[0], point=True)
    return found
