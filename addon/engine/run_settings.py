"""The run settings in one place: each one's default, unit, bounds and meaning.

The Blender properties (ui/properties.py), the headless job's options (job/cli.py) and the
checks before a run (settings_check.py) are all built from `RunSettings`' fields, so they
cannot drift apart (tests/test_run_settings.py). Standard library only: cli.py loads this
file by path before bpy or the package is imported.
"""
import math
from dataclasses import asdict, dataclass, field, fields

MAX_CORES = 64  # threads or MPI processes for one run on one machine


class SettingsError(ValueError):
    """A run setting that cannot work; the message says which, why and what would."""


@dataclass(frozen=True)
class Spec:
    """What the user sees of one run setting. `min`/`max`: inclusive bounds (None: none);
    `from_model`: the scene adopts the model's own value at load."""
    name: str
    kind: type
    default: object
    label: str
    description: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    precision: int | None = None  # digits the panel shows
    from_model: bool = False

    @property
    def title(self):
        """The label with its unit: what the panel shows."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def bounds_text(self):
        unit = f" {self.unit}" if self.unit else ""
        if self.min is not None and self.max is not None:
            return f"from {self.min:g} to {self.max:g}{unit}"
        if self.min is not None:
            return f"at least {self.min:g}{unit}"
        return f"at most {self.max:g}{unit}" if self.max is not None else ""

    def check(self, value):
        """`value` if it can work for this setting, else SettingsError with the reason."""
        if self.kind is bool:
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise SettingsError(f"{self.name} must be True or False (it is {value!r})")
            return bool(value)
        if self.kind is str:
            return str(value)  # what a string may hold is the caller's to check (settings_check)
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or not self._within(value):
                raise SettingsError(f"{self.name} must be a whole number {self.bounds_text()} (it is {value!r})")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(f"{self.name} must be a number, not {value!r}")
        if not math.isfinite(value):
            raise SettingsError(f"{self.name} must be a finite number, not {value}")
        if not self._within(value):
            raise SettingsError(f"{self.name} must be {self.bounds_text()} (it is {value:g})")
        return float(value)

    def parse(self, text):
        """A command-line value: converted, then checked."""
        if self.kind is bool:
            raise SettingsError(f"{self.name} is a switch: --{self.name} or --no-{self.name}")
        try:
            value = self.kind(text)
        except ValueError:
            raise SettingsError(f"{text!r} is not {'a whole number' if self.kind is int else 'a number'}") from None
        return self.check(value)

    def _within(self, value):
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


def _setting(default, label, description, *, user=True, **spec):
    """A RunSettings field whose metadata holds its Spec (built once the field has a name)."""
    return field(default=default, metadata={"spec": dict(label=label, description=description, **spec),
                                            "user": user})


@dataclass
class RunSettings:
    tstop: float = _setting(50.0, "tstop", "Simulate from 0 to this time", unit="ms", min=0.001, from_model=True)
    dt: float = _setting(0.025, "dt", "Time step", unit="ms", min=1e-6, precision=6, from_model=True)
    v_init: float = _setting(-65.0, "v_init", "Initial membrane potential", unit="mV", from_model=True)
    celsius: float = _setting(6.3, "celsius", "Temperature", unit="°C", from_model=True)
    cvode: bool = _setting(False, "CVode", "Variable time step (NEURON's CVode)", from_model=True)
    atol: float = _setting(1e-3, "Tolerance", "CVode absolute tolerance", min=1e-9, precision=6, from_model=True)
    rtol: float = _setting(0.0, "Relative tolerance", "CVode relative tolerance (0: absolute tolerance only, "
                           "NEURON's default)", min=0.0, precision=6, from_model=True)
    secondorder: int = _setting(0, "secondorder", "0: implicit Euler; 1, 2: Crank-Nicolson (NEURON's "
                                "secondorder, fixed steps)", min=0, max=2, from_model=True)
    own_run: bool = _setting(False, "Model's own run()", "Run through the model's own run() (its stimuli, "
                             "init() and advance()), frames sampled at frame times; on for models that define "
                             "their own run procedures, and for models whose stimuli exist only in the run "
                             "they make while loading (loaded again)", from_model=True)
    frames_per_ms: float = _setting(2.0, "Frames per ms", "Animation frames (cache samples) per simulated "
                                    "millisecond", min=0.001)
    variable: str = _setting("v", "Variable", "Range variable to record (v, cai, ik, m_hh, ...)")
    chunk_seconds: float = _setting(0.004, "Chunk", "Wall time per NEURON call: bounds Blender's UI stall",
                                    unit="s", user=False)
    threads: int = _setting(1, "Threads", "NEURON threads for a run (ParallelContext.nthread): cells are dealt "
                            "out to the cores; a model with mechanisms that are not thread safe runs on 1",
                            min=1, max=MAX_CORES)
    processes: int = _setting(1, "Processes", "MPI processes (mpiexec) for a model written for ParallelContext "
                              "(cells by gid), with the Separate process host; 1 without mpiexec",
                              min=1, max=MAX_CORES)

    @property
    def n_frames(self):
        return sample_count(self.tstop, self.frames_per_ms)

    def time_of(self, sample):
        return sample_time(sample, self.frames_per_ms)

    def as_dict(self):
        return asdict(self)


def sample_time(sample, frames_per_ms):
    """The model time (ms) of cached sample `sample` (frame k of a run sits at t = k / frames_per_ms,
    whatever dt or CVode do): the one conversion between samples and model time."""
    return sample / frames_per_ms


def sample_count(tstop, frames_per_ms):
    """Samples of a run from 0 to tstop, both ends included."""
    return int(round(tstop * frames_per_ms)) + 1


def _specs():
    kinds = {"float": float, "int": int, "bool": bool, "str": str}
    return {f.name: Spec(name=f.name, kind=kinds.get(f.type, f.type), default=f.default, **f.metadata["spec"])
            for f in fields(RunSettings) if f.metadata["user"]}


SPECS = _specs()  # name → Spec, for every setting a user sets (the panel, run(), the job's options)
RUN_SETTINGS = tuple(SPECS)  # their names, in the panel's order
MODEL_SETTINGS = tuple(name for name, spec in SPECS.items() if spec.from_model)  # adopted from the model at load
