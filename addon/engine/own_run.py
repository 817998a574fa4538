"""The model's own `run()`: the simulation exactly as the author's files run it in plain
NEURON (stimuli made inside `proc run()`, its own init() and advance()), with frames
sampled by events at the frame times.

NEURON calls a Python callback for every frame event; the callback samples the frame and
then sleeps for 0 s, which hands the GIL to Blender's main thread once per frame (NEURON
holds it for the rest of the run). `stoprun` ends stdrun's loops for Cancel.
"""
import time

from .errors import SimulationError


class _Frames:
    """The event chain: each frame's event samples it and schedules the next."""

    def __init__(self, h, settings, sample, cancelled, first):
        self.h, self.cvode = h, h.CVode()
        self.settings, self.sample, self.cancelled = settings, sample, cancelled
        self.next, self.error = first, None

    def schedule(self):
        if self.next < self.settings.n_frames:
            self.cvode.event(self.next / self.settings.frames_per_ms, self.at_frame)

    def restart(self):
        """Every finitialize starts the frames again from t = 0."""
        self.next = 0
        self.schedule()

    def at_frame(self):
        try:
            self.sample(self.next)
        except Exception as exc:  # raised again once NEURON has returned
            self.error = exc
            self.h.stoprun = 1
            return
        self.next += 1
        time.sleep(0)  # Blender's turn
        if self.cancelled():
            self.h.stoprun = 1
        else:
            self.schedule()


def run_own(h, settings, sample, cancelled, start_frame=0):
    """Call the model's `run()` to tstop (or, continuing, stdrun's `continuerun`), sampling
    frames from `start_frame`; returns the number of frames done."""
    frames = _Frames(h, settings, sample, cancelled, start_frame)
    h.stoprun = 0
    if start_frame == 0:
        handler = h.FInitializeHandler(1, frames.restart)
        try:
            h.run()
        finally:
            # Gone with this run: a handler left behind would add frame events (and CVode
            # stops) to every later initialisation, even another model's.
            del handler
    else:
        frames.schedule()
        h.continuerun(settings.tstop)
    if frames.error is not None:
        raise frames.error
    if frames.next < settings.n_frames and not cancelled():
        raise SimulationError(f"The model's run() stopped at t = {h.t:g} ms, before tstop = {settings.tstop:g} ms "
                              f"({frames.next} of {settings.n_frames} frames)")
    return frames.next
