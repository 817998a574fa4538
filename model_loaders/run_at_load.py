"""Cap models that simulate while loading: most ModelDB entries call run() at the end.

A run that takes minutes would freeze Blender before the user sees a cell. While the model
loads, stdrun's `continuerun()` (which `run()` calls) simulates at most CAP_MS past where
it starts (not `psolve` or Python `fadvance` loops: those are reported, not capped). It
does not set `stoprun` to get there: a loop over runs that breaks on `stoprun` (NEURON's
Grapher sweeping a stimulus, an f-I curve) would stop after its first run and leave its
stimulus at the first value; cut short instead, the loop goes on and leaves the model's
parameters as its author's files do. Only what the model computes from the runs' results
(a threshold search) differs, which the notes say. A loop that is still running after
MAX_CUT_RUNS runs is ended with `stoprun`, and the notes say its state is not the author's.

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

CAP_MS = 0.1  # how far each run at load may simulate
MAX_CUT_RUNS = 1000  # runs cut short before a loop of them is ended with stoprun


@dataclass
class RunAtLoad:
    """How far the model simulated while loading."""
    t: float = 0.0
    initialized: int = 0  # finitialize calls during the load
    capped: bool = False  # a run was stopped by us
    v_init: float = None  # the voltage the model's last finitialize set everywhere (its own v_init)
    run_target: float = 0.0  # the longest continuerun()/run() the model asked for (ms)
    live_in_run: int = 0  # the most point processes and NetCons alive at a finitialize
    runs: int = 0  # continuerun() calls (run() makes one)
    cut: int = 0  # of them cut short at CAP_MS
    ended: bool = False  # a loop of runs was ended with stoprun after MAX_CUT_RUNS

    def summary(self):
        if self.t <= 0 and not self.initialized:
            return ""
        note = " (stopped there; Run simulates from 0)" if self.capped else ""
        return f"the model ran to t={self.t:g} ms at load{note}{self._sweep()}"

    def _sweep(self):
        if self.ended:
            return (f"; it ran a loop of {self.runs} runs (a sweep) that was still going after {self.cut} "
                    "runs cut short, and was stopped with stoprun: the model's state is not what its "
                    "files leave behind (its stimulus may be at an intermediate value)")
        if self.cut > 1:
            return (f"; it ran a sweep of {self.runs} runs (a figure drawn over several runs), each cut "
                    "short: Run starts from the values the sweep leaves (as in plain NEURON), but "
                    "anything the model computed from those runs' results (a threshold search) differs")
        return ""


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

    def initialised():
        report.initialized += 1
        report.v_init = _uniform_v(h)
        report.live_in_run = max(report.live_in_run, live_objects(h))
        if on_init is not None:
            on_init()

    handler = h.FInitializeHandler(1, initialised)
    stdrun_continuerun = stdrun_definition(h, "continuerun")
    h(stdrun_continuerun.replace("proc continuerun(", "proc nl_load_continuerun_(", 1))
    _define_load_continuerun(h, cap_ms, run_to)
    try:
        yield report
    finally:
        del handler  # gone with the load: Run must go to tstop, and another model is not watched
        h(stdrun_continuerun)
        report.run_target = float(h.nl_run_target_)
        report.t = float(h.t)
        report.runs, report.cut = int(h.nl_runs_), int(h.nl_cut_)
        report.ended = report.cut > MAX_CUT_RUNS
        # Capped only if the run ended there: a model's own fadvance loop goes on after it.
        report.capped = report.cut > 0 and report.t - float(h.nl_cut_at_) <= 2 * float(h.dt) + 1e-9
        h.stoprun = 0


def _define_load_continuerun(h, cap_ms, run_to):
    """stdrun's continuerun() for the load: it notes the run's target, goes to `run_to`
    instead when given, else at most `cap_ms` past t (None: as far as asked), counting the
    runs it cut; after MAX_CUT_RUNS of them it also sets stoprun, ending a loop of runs."""
    h("nl_run_target_ = 0\nnl_runs_ = 0\nnl_cut_ = 0\nnl_cut_at_ = -1")
    h(f"nl_run_to_ = {float(run_to or 0)!r}\nnl_cap_ = {-1.0 if cap_ms is None else float(cap_ms)!r}")
    h("proc continuerun() { if ($1 > nl_run_target_) { nl_run_target_ = $1 }  nl_runs_ += 1\n"
      "  if (nl_run_to_ > 0) { nl_load_continuerun_(nl_run_to_)  return }\n"
      "  if (nl_cap_ < 0 || $1 <= t + nl_cap_) { nl_load_continuerun_($1)  return }\n"
      "  nl_cut_ += 1  nl_cut_at_ = t + nl_cap_  nl_load_continuerun_(nl_cut_at_)\n"
      f"  if (nl_cut_ > {MAX_CUT_RUNS}) {{ stoprun = 1 }} }}")
