"""The model's own `run()`: the simulation exactly as the author's files run it in plain
NEURON (stimuli made inside `proc run()`, its own init() and advance()), with frames
sampled by events at the frame times.

NEURON calls a Python callback for every frame event; the callback samples the frame and
then sleeps for 0 s, which hands the GIL to Blender's main thread once per frame (NEURON
holds it for the rest of the run). `stoprun` ends stdrun's loops for Cancel.

A model whose stimuli exist only during the run it makes while loading is loaded again
instead, its runs going to tstop: each of its initialisations restarts the frames, on
the sections that load made (`rebind`).
"""
import time

from ...model_loaders.load import replay_load, replays_load
from .errors import SimulationError


class _Frames:
    """The event chain: each frame's event samples it and schedules the next."""

    def __init__(self, h, settings, sample, cancelled, first):
        self.h, self.cvode = h, h.CVode()
        self.settings, self.sample, self.cancelled = settings, sample, cancelled
        self.next, self.error = first, None

    def schedule(self):
        if self.next < self.settings.n_frames:
            self.cvode.event(self.settings.time_of(self.next), self.at_frame)

    def restart(self, rebind=None):
        """Every finitialize starts the frames again from t = 0 (a cancelled run's later
        runs, as a model that runs several at load makes, stop at once instead)."""
        if self.cancelled() or self.error is not None:
            # just after t: continuerun() clears stoprun after initialising
            self.cvode.event(self.h.t + 1e-6, self.stop)
            return
        if rebind is not None and not self._guarded(rebind):
            return
        self.next = 0
        self.schedule()

    def stop(self):
        self.h.stoprun = 1

    def _guarded(self, step, *args):
        """Run `step` inside a NEURON callback; an error is kept, raised again once NEURON
        has returned, and ends the run."""
        try:
            step(*args)
            return True
        except Exception as exc:
            self.error = exc
            self.stop()
            return False

    def at_frame(self):
        if not self._guarded(self.sample, self.next):
            return
        self.next += 1
        time.sleep(0)  # Blender's turn
        if self.cancelled():  # asked last: it waits out the rest of Blender's turn
            self.stop()
            return
        self.schedule()


    def finish(self):
        """Sample the frames the run ended on: an event at the very time the run stops
        may go undelivered (a fixed step ends up to dt/2 short of it)."""
        reach = 1e-9 * max(1.0, abs(self.h.t)) if self.cvode.active() else float(self.h.dt) / 2
        while (self.error is None and not self.cancelled() and self.next < self.settings.n_frames
               and self.settings.time_of(self.next) <= self.h.t + reach):
            if not self._guarded(self.sample, self.next):
                return
            self.next += 1


def _run_length(settings):
    """How far the model's run must go: to tstop, or to the last frame when tstop falls
    between frames (the frame count rounds: tstop 90.3 at 2 frames per ms ends at 90.5)."""
    return max(settings.tstop, settings.time_of(settings.n_frames - 1))


def run_own(h, settings, sample, cancelled, start_frame=0, rebind=None):
    """Call the model's `run()` to tstop (or, continuing, stdrun's `continuerun`), sampling
    frames from `start_frame`; returns the number of frames done. A model whose own run
    is its run at load is loaded again, from frame 0, calling `rebind()` at each of its
    initialisations before the frames restart."""
    frames = _Frames(h, settings, sample, cancelled, start_frame)
    h.stoprun = 0
    what = "run()"
    until = _run_length(settings)
    if replays_load():
        what = "run while loading"
        replay_load(until, lambda: frames.restart(rebind))
    elif start_frame == 0:
        handler = h.FInitializeHandler(1, frames.restart)
        h.tstop = until
        try:
            h.run()
        finally:
            # Gone with this run: a handler left behind would add frame events (and CVode
            # stops) to every later initialisation, even another model's.
            del handler
            h.tstop = settings.tstop
    else:
        frames.schedule()
        h.continuerun(until)
    frames.finish()
    if frames.error is not None:
        raise frames.error
    if frames.next < settings.n_frames and not cancelled():
        raise SimulationError(f"The model's {what} stopped at t = {h.t:g} ms, before tstop = {settings.tstop:g} ms "
                              f"({frames.next} of {settings.n_frames} frames)")
    return frames.next
