"""Cap models that simulate while loading: most ModelDB entries call run() at the end.

A run that takes minutes would freeze Blender before the user sees a cell. Every
`finitialize` during the load schedules an event just after t=0 that sets `stoprun`,
which ends stdrun's `run()`/`continuerun()` loops (not `psolve` or Python `fadvance`
loops: those are reported, not capped). The handler goes away with the load.

How far the model meant to run is kept: during the load stdrun's `continuerun` notes its
target first (a Python model calling `h.continuerun(100)` never sets `tstop`), so Run
simulates the author's length.

Some models make their stimuli inside the function that runs them (a Python `simulate()`
with a local IClamp, a hoc proc with a `localobj` NetStim): they exist only during that run
at load. Counting point processes and NetCons at each `finitialize` and again after the
load finds them, and Run then replays the load itself (`run_to`: its runs go to tstop;
`on_init`: the engine's frame events start with each of its initialisations).
"""
import contextlib
from dataclasses import dataclass

from .sources import stdrun_definition

CAP_MS = 0.1  # how far a model may simulate at load: one event past t=0


@dataclass
class RunAtLoad:
    """How far the model simulated while loading."""
    t: float = 0.0
    initialized: int = 0  # finitialize calls during the load
    capped: bool = False  # a run was stopped by us
    v_init: float = None  # the voltage the model's last finitialize set everywhere (its own v_init)
    run_target: float = 0.0  # the longest continuerun()/run() the model asked for (ms)
    live_in_run: int = 0  # the most point processes and NetCons alive at a finitialize

    def summary(self):
        if self.t <= 0 and not self.initialized:
            return ""
        note = " (stopped there; Run simulates from 0)" if self.capped else ""
        return f"the model ran to t={self.t:g} ms at load{note}"


def _uniform_v(h):
    """v at the first and the last segment when they agree (finitialize(v) sets every
    segment to v; a model with its own init may not), else None."""
    sections = list(h.allsec())
    if not sections:
        return None
    first, last = sections[0](0.5).v, sections[-1](0.5).v
    return float(first) if abs(first - last) < 1e-9 else None


def live_objects(h):
    """How many point processes (stimuli, synapses) and NetCons exist now."""
    kinds, name = h.MechanismType(1), h.ref("")
    count = int(h.List("NetCon").count())
    for i in range(int(kinds.count())):
        kinds.select(i)
        kinds.selected(name)
        count += int(h.List(name[0]).count())
    return count


@contextlib.contextmanager
def capped_runs(h, cap_ms=CAP_MS, run_to=None, on_init=None):
    """While the model loads, stop any stdrun run shortly after t=0 (`cap_ms` None: never),
    or make it go to `run_to` ms; `on_init()` is called at each finitialize."""
    report = RunAtLoad()

    stopped_at = []

    def stop():
        h.stoprun = 1
        stopped_at.append(float(h.t))

    def initialised():
        report.initialized += 1
        report.v_init = _uniform_v(h)
        report.live_in_run = max(report.live_in_run, live_objects(h))
        if cap_ms is not None:
            h.cvode.event(h.t + cap_ms, stop)
        if on_init is not None:
            on_init()

    handler = h.FInitializeHandler(1, initialised)
    stdrun_continuerun = stdrun_definition(h, "continuerun")
    h(stdrun_continuerun.replace("proc continuerun(", "proc nl_load_continuerun_(", 1))
    h("nl_run_target_ = 0")
    h(f"nl_run_to_ = {float(run_to or 0)!r}")
    h("proc continuerun() { if ($1 > nl_run_target_) { nl_run_target_ = $1 }"
      "  if (nl_run_to_ > 0) { nl_load_continuerun_(nl_run_to_) } else { nl_load_continuerun_($1) } }")
    try:
        yield report
    finally:
        del handler  # gone with the load: Run must go to tstop, and another model is not watched
        h(stdrun_continuerun)
        report.run_target = float(h.nl_run_target_)
        report.t = float(h.t)
        # Capped only if the run ended there: a model's own fadvance loop ignores stoprun.
        report.capped = bool(stopped_at) and report.t - stopped_at[-1] <= 2 * float(h.dt) + 1e-9
        h.stoprun = 0
