"""Step NEURON to tstop in short wall-time chunks, sampling at fixed frame times.

NEURON holds the GIL for the whole of every call, so one long `continuerun` freezes
Blender's UI. Here every `psolve` call is sized to take about `chunk_seconds` of wall
time, and frames are sampled at t = k / frames_per_ms whatever dt or CVode do.
"""
import gc
import math
import sys
import time

import numpy as np

from ...model_loaders import neuron_h
from ...model_loaders.load import replays_load
from .cache import CacheError
from .cores import use_threads
from .errors import SimulationError
from .own_run import run_own
from .run_settings import RunSettings
from .sampling import FrameReader

__all__ = ("RunSettings", "SimulationError", "simulate")  # RunSettings: re-exported, defined in run_settings


def simulate(settings, cache, *, start_frame=0, cancelled=lambda: False, progress=lambda t, frame: None,
             replay=False):
    """Run to tstop, writing frames into `cache`; returns the number of frames done.

    From t=0 when `start_frame` is 0; otherwise continue from NEURON's current state,
    which must lie between frame `start_frame - 1` and frame `start_frame`: where a
    finished, cancelled or failed run stopped (Continue to a later tstop). Stops within
    one chunk when `cancelled()` turns true, leaving NEURON mid-frame (it is asked
    before every NEURON call, and may wait there: Blender's main thread has its turn
    first); the frames done stay usable and continuing from there steps exactly as the
    uninterrupted run would.
    Frames sample at exact frame times with CVode (interpolated there), at the nearest
    dt step with fixed steps. `replay`: when NEURON no longer holds the state at
    `start_frame` (the model was loaded again, e.g. after reopening a .blend whose run was
    interrupted), simulate from 0 instead, rewriting the frames done with the same values.
    """
    h = neuron_h()
    n_segments = cache.meta["n_segments"]
    reader = FrameReader(h, settings.variable, n_segments)
    has_data = None

    def sample(frame):
        nonlocal has_data
        values = reader.read()  # reused by the next read: the cache write casts it to float32
        if has_data is None:  # NaN now means "this segment lacks the variable"
            has_data = slice(None) if not np.isnan(values).any() else ~np.isnan(values)
        total = values.sum() if isinstance(has_data, slice) else values[has_data].sum()
        if not math.isfinite(total):  # a NaN/inf anywhere
            raise SimulationError(f"NaN or inf in '{settings.variable}' at t = {h.t:.4g} ms "
                                  "(try a smaller dt, or check the model's mechanisms)")
        cache.write(frame, values)
        progress(settings.time_of(frame), frame)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # hand the GIL back to Blender's UI promptly
    collecting = gc.isenabled()
    gc.disable()  # a cyclic collection over Blender's big heap holds the GIL for tens of ms
    try:
        h.tstop = settings.tstop
        pc = h.ParallelContext()
        pc.set_maxstep(10)
        cvode = h.CVode()
        if settings.own_run and replays_load():
            start_frame = 0  # its stimuli exist only in its run at load: that run is replayed whole
        if start_frame and replay and not _resumable(h, cvode, settings, start_frame):
            start_frame = 0  # NEURON no longer holds that state (a reopened .blend): replay from 0
        if start_frame == 0:
            _initialise(h, cvode, settings)
        else:
            _check_resumable(h, cvode, settings, start_frame)
        if settings.own_run:  # the model's run(): its stimuli, init() and advance()
            _tell_stdrun(h, cvode)
            return run_own(h, settings, sample, cancelled, start_frame, reader.rebind)
        if start_frame == 0:
            h.finitialize(settings.v_init)
            sample(0)
            start_frame = 1
        if cvode.active() and pc.nhost() == 1:
            return _step_cvode_frames(h, cvode, settings, start_frame, sample, cancelled)
        return _step_frames(h, settings, start_frame, _reached_within(h, cvode), pc.psolve, sample, cancelled)
    except RuntimeError as exc:
        if isinstance(exc, (SimulationError, CacheError)):
            raise
        raise SimulationError(f"NEURON failed at t = {h.t:.4g} ms: {exc}") from exc
    finally:
        if collecting:
            gc.collect(1)  # only the young generations: cheap, and no full sweep cascades from it
            gc.enable()
        sys.setswitchinterval(switch)


def _initialise(h, cvode, settings):
    """Set the run's numerics (the run itself initialises NEURON at t = 0)."""
    h.dt, h.celsius, h.v_init = settings.dt, settings.celsius, settings.v_init
    h.secondorder = settings.secondorder
    use_threads(h, settings.threads, settings.v_init, own_run=settings.own_run)
    cvode.active(int(settings.cvode))
    if settings.cvode:
        cvode.atol(settings.atol)
        cvode.rtol(settings.rtol)


def _tell_stdrun(h, cvode):
    """stdrun's continuerun() steps by `using_cvode_`, which only its own cvode_active()
    sets: out of step with CVode it stops up to a dt away from the frame time."""
    if hasattr(h, "using_cvode_"):
        h.using_cvode_ = int(cvode.active())


def _reached_within(h, cvode):
    """How close to a frame time NEURON must be to sample it: CVode stops exactly at
    each psolve target, fixed steps land on the dt grid (nearest step)."""
    return 1e-9 if cvode.active() else h.dt / 2


def _resumable(h, cvode, settings, start_frame):
    """Continuing needs NEURON between the last frame sampled and the next one."""
    slack = 1e-6 if cvode.active() else max(h.dt, settings.dt)
    last, following = settings.time_of(start_frame - 1), settings.time_of(start_frame)
    return last - slack <= h.t <= following + slack


def _check_resumable(h, cvode, settings, start_frame):
    if not _resumable(h, cvode, settings, start_frame):
        last = settings.time_of(start_frame - 1)
        raise SimulationError(f"NEURON is at t = {h.t:g} ms, not where the run stopped "
                              f"({last:g} ms, frame {start_frame - 1}); run from 0 instead")


def _step_frames(h, settings, start_frame, within, advance, sample, cancelled):
    """Step to each frame time in wall-time-sized chunks and sample it; returns the frames
    done. A cancel returns between two chunks, NEURON short of the next frame time.

    Every chunk of wall time the GIL is offered to the main thread (`_offer_turn`)."""
    step, clock = settings.dt, time.perf_counter
    chunk = settings.chunk_seconds
    offered = clock()
    t = h.t  # each hoc attribute read costs ~1 µs: a tiny model samples 4,000 frames a second,
    for frame in range(start_frame, settings.n_frames):  # so t is read once per advance
        t_frame = settings.time_of(frame)
        while t < t_frame - within:
            if cancelled():
                return frame
            started = clock()
            advance(min(t_frame, t + step))
            t, t_before = h.t, t
            if t <= t_before:  # within rounding of the frame time: NEURON will not step
                break
            elapsed = max(clock() - started, 1e-6)
            # Builtin min/max, not np.clip: this runs thousands of times a second.
            step = max(min(step * chunk / elapsed, step * 2), step / 2, settings.dt)
        sample(frame)
        offered = _offer_turn(offered, chunk)
    return settings.n_frames


def _step_cvode_frames(h, cvode, settings, start_frame, sample, cancelled):
    """CVode in one process: every stop at a requested time restarts the integrator
    (`psolve` in wall-time chunks cost 1.5× plain NEURON), so frames are reached by single
    steps (`fadvance`), and `solve(t_frame)` then interpolates back to the frame time, as
    plain NEURON's Vector.record at given times does (the same steps, the same values).
    `cancelled()` is asked before every step: one CVode step of a big network takes longer
    than a chunk."""
    clock, chunk = time.perf_counter, settings.chunk_seconds
    fadvance, solve = h.fadvance, cvode.solve
    offered = clock()
    for frame in range(start_frame, settings.n_frames):
        t_frame = settings.time_of(frame)
        while h.t < t_frame:
            if cancelled():
                return frame
            fadvance()
        solve(t_frame)
        sample(frame)
        offered = _offer_turn(offered, chunk)
    return settings.n_frames


def _offer_turn(since, chunk):
    """Hand the GIL to the main thread once a chunk of wall time has passed since `since`;
    returns when it was last offered. Needed outright: numpy lets go of the GIL briefly in
    each sample, which restarts CPython's switch timer, so with frames under 1 ms apart
    Blender's UI waited up to 0.5 s for a turn."""
    now = time.perf_counter()
    if now - since <= chunk:
        return since
    time.sleep(0)
    return time.perf_counter()
