"""Cap models that simulate while loading: most ModelDB entries call run() at the end.

A run that takes minutes would freeze Blender before the user sees a cell. Every
`finitialize` during the load schedules an event just after t=0 that sets `stoprun`,
which ends stdrun's `run()`/`continuerun()` loops (not `psolve` or Python `fadvance`
loops: those are reported, not capped). The handler goes away with the load.

How far the model meant to run is kept: during the load stdrun's `continuerun` notes its
target first (a Python model calling `h.continuerun(100)` never sets `tstop`), so Run
simulates the author's length.
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


@contextlib.contextmanager
def capped_runs(h, cap_ms=CAP_MS):
    """While the model loads, stop any stdrun run shortly after t=0."""
    report = RunAtLoad()

    def stop():
        h.stoprun = 1
        report.capped = True

    def on_init():
        report.initialized += 1
        report.v_init = _uniform_v(h)
        h.cvode.event(h.t + cap_ms, stop)

    handler = h.FInitializeHandler(1, on_init) if cap_ms is not None else None
    stdrun_continuerun = stdrun_definition(h, "continuerun")
    h(stdrun_continuerun.replace("proc continuerun(", "proc nl_load_continuerun_(", 1))
    h("nl_run_target_ = 0")
    h("proc continuerun() { if ($1 > nl_run_target_) { nl_run_target_ = $1 }  nl_load_continuerun_($1) }")
    try:
        yield report
    finally:
        del handler  # no more capping once the model is loaded: Run must go to tstop
        h(stdrun_continuerun)
        report.run_target = float(h.nl_run_target_)
        report.t = float(h.t)
        h.stoprun = 0
