"""NEURON in a thread of Blender's own process: `h` is at hand in Blender's Python console.

What it costs (the reason it is not the default): NEURON holds the GIL while hoc runs, so
hoc work at load freezes Blender's UI for its whole length, and a model that crashes
(a segfaulting `.mod`, a quit() built at run time) ends Blender. Runs step in
wall-time-bounded chunks, so simulating keeps the UI responsive. One per Blender process:
there is one NEURON in it. No bpy.
"""
import threading
from concurrent.futures import Future, InvalidStateError
from pathlib import Path

from ...model_loaders.load import current_load
from . import cores
from .engine import REQUESTS, Engine
from .errors import Cancelled
from .host_base import EngineHost, HostKind


class ThreadHost(EngineHost):
    kind = HostKind.IN_BLENDER

    def __init__(self, worker, main_turn):
        super().__init__()
        self.worker, self.main_turn = worker, main_turn
        self.engine = Engine()
        self.stuck = None  # the Future of a cancelled load that NEURON has not let go of yet
        self._current = None  # (inner, outer) Futures of the job in flight
        self._loading = False
        self._cancel = threading.Event()

    @property
    def busy_with_cancelled_load(self):
        return self.stuck is not None and not self.stuck.done()

    def submit(self, fn, *args, **kwargs):
        """A job on Blender's NEURON thread. The Future is the host's own, so that Cancel
        can let go of a load that hoc code holds (`cancel`)."""
        self._cancel.clear()
        inner, outer = self.worker.submit(fn, *args, **kwargs), Future()
        self._current = (inner, outer)
        inner.add_done_callback(lambda done: _copy(done, outer))
        return outer

    def post(self, kind, **data):
        self.worker.post(kind, **data)

    def drain(self):
        return self.worker.drain()

    @property
    def alive(self):
        return True  # Blender's own NEURON ends only with Blender

    def load(self, path, options, *, on_line=None, may_move=False):
        self.label, self.model_lost = str(path), False
        before = current_load()
        self._loading = True
        try:
            return self.engine.load(path, options, process="auto" if may_move else "shared", on_line=on_line)
        except BaseException:
            self.model_lost = current_load() != before  # it got as far as clearing the model
            raise
        finally:
            self._loading = False

    def simulate(self, settings, cache, *, start_frame=0, extend=False, progress=lambda t, frame: None):
        def between_chunks():  # Blender's turn first (it may be colouring the cells), then Cancel
            self.main_turn.wait()
            return self._cancel.is_set()
        self.run_note = None
        done = self.engine.simulate(settings, cache, start_frame=start_frame, extend=extend,
                                    cancelled=between_chunks, progress=progress)
        self.run_note = cores.thread_note()
        if self.run_note is None and settings.processes > 1:
            self.run_note = "processes > 1 needs the Separate process host: ran in one process"
        return done

    def request(self, message):
        answer = REQUESTS.get(type(message))  # the same Engine calls the child's HANDLERS make
        if answer is not None:
            return answer(self.engine, message)
        raise ValueError(f"NEURON in Blender does not answer {message.name!r}")

    def cancel(self):
        """A run stops by itself at its next chunk (it asks `cancelled()`). A load is
        interrupted at the model's next line of Python, but hoc code cannot be: the host
        lets go of it at once (Blender is free again) and keeps it as `stuck` until it ends."""
        self._cancel.set()
        if not self._loading or self._current is None:
            return
        inner, outer = self._current
        self.stuck, self.model_lost = inner, True
        self.worker.interrupt()
        _settle(outer, exception=Cancelled(
            f"Cancelled loading {Path(self.label).name}; until NEURON in Blender has stopped it, loads run "
            "in a NEURON process of their own"))

    def close(self):
        """Blender's NEURON stays: the next load clears the model's sections."""


def _copy(inner, outer):
    exc = inner.exception()
    if exc is not None:
        _settle(outer, exception=exc)
    else:
        _settle(outer, result=inner.result())


def _settle(future, *, result=None, exception=None):
    """Resolve `future` unless it already is (a cancelled load that ended later)."""
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass  # settled already: Cancel let go of it first, and that answer stands
