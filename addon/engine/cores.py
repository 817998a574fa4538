"""More than one core for a run: NEURON threads (`ParallelContext.nthread`) and MPI ranks.

bpy-free. Threads are set before a run initialises; a model NEURON cannot split (a
mechanism that is not thread safe raises at `finitialize`) runs on one thread with a
note saying why, never fails for it. The thread count is left in place after the run:
changing it mid-run resets NEURON's time, and Continue must step as the run did.
"""
import os
import shutil
from contextlib import contextmanager

from . import spikes

_note = [None]  # why the last run in this process did not use the threads it asked for


def use_threads(h, threads, v_init, *, own_run=False):
    """Give NEURON `threads` threads for the run about to initialise; returns the number
    used. With more than one, a trial `finitialize` finds mechanisms that are not thread
    safe now rather than in the middle of the run. The model's own run() samples frames
    from Python events, which NEURON's threads would call without the GIL (a deadlock)."""
    _note[0] = None
    pc = h.ParallelContext()
    threads = int(threads)
    if own_run and threads > 1:
        return _one_thread(pc, threads, "the model's own run() samples frames through Python events, "
                                        "which NEURON cannot call from its threads", quoted=False)
    if int(pc.nthread()) != threads:
        try:
            pc.nthread(threads)
        except RuntimeError as exc:  # e.g. an MPI build without thread support
            return _one_thread(pc, threads, str(exc))
    if threads > 1:
        try:
            h.finitialize(v_init)
        except RuntimeError as exc:
            return _one_thread(pc, threads, str(exc))
    return threads


def _one_thread(pc, asked, why, *, quoted=True):
    if int(pc.nthread()) != 1:
        pc.nthread(1)
    reason = why.split("hoc_execerror:")[-1].strip() or why
    _note[0] = f"ran on 1 thread, not {asked}: " + (f"NEURON says {reason!r}" if quoted else reason)
    return 1


def thread_note():
    """Why the last run in this process fell back to one thread (None: it did not)."""
    return _note[0]


@contextmanager
def spike_recording(h, model, cache, settings, *, extend=False):
    """`spikes.recording`, except on more than one thread: NEURON would call the recorder's
    Python callbacks from its worker threads while the run holds the GIL (a deadlock that
    NEURON ends by exiting). Such a run saves an empty raster that says why."""
    threads = int(h.ParallelContext().nthread()) if extend else int(settings.threads)
    if threads <= 1:
        with spikes.recording(model, cache, extend=extend) as recorder:
            yield recorder
        return
    current = spikes._current  # its callbacks must not stay attached to the threaded run
    recorder = current["recorder"]
    if recorder is not None:
        recorder.close(detach=True)
    current.update(model=None, recorder=None)
    try:
        yield None
    finally:
        spikes._Failed(f"No spike raster for a run on {threads} NEURON threads (NEURON cannot call "
                       "Python from its threads); run on 1 thread for the raster").save(cache.folder)


def mpiexec():
    """The mpiexec on PATH, or None."""
    return shutil.which("mpiexec")


def mpi_environment(environ=None):
    """OpenMPI's consent to run as root (containers) and to place more ranks than cores;
    other MPIs ignore these names."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env
