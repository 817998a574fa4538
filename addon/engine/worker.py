"""One thread that owns every NEURON call; jobs go in, futures and events come out.

NEURON is not thread-safe, and Blender may only be touched on its main thread: the
main thread submits jobs here and polls `events` from a timer (the "pump").
"""
import ctypes
import queue
import threading
from concurrent.futures import Future


class MainTurn:
    """The main thread's turn, held while it writes to Blender (`with session.main_turn:`).

    NEURON holds the GIL for a whole chunk, and numpy lets go of it inside every large
    operation: a pump that coloured 100 cell meshes let go of it hundreds of times and
    waited a chunk each time (0.3-0.65 s turns on the 100-cell network, for 15 ms of
    work). While the main thread holds its turn, the worker waits before its next NEURON
    call (`wait`); never longer than `longest` seconds, so nothing can deadlock on it."""

    def __init__(self, longest=1.0):
        self._free = threading.Event()
        self._free.set()
        self._depth = 0
        self._longest = longest

    def __enter__(self):
        self._depth += 1
        self._free.clear()
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:
            self._free.set()

    def wait(self):
        """Worker side: returns once the main thread's turn is over."""
        if not self._free.is_set():
            self._free.wait(self._longest)


class Interrupted(BaseException):
    """Raised inside the job running on the worker thread by `Worker.interrupt`."""


class Worker:
    def __init__(self, name="neuron-live-engine"):
        self.events = queue.Queue()
        self._jobs = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn, *args, **kwargs):
        """Run `fn(*args, **kwargs)` on the worker thread; returns a Future."""
        future = Future()
        self._jobs.put((future, fn, args, kwargs))
        return future

    def post(self, kind, **data):
        """Called from jobs: hand an event to the main thread."""
        self.events.put((kind, data))

    def drain(self):
        """Events posted since the last call (main thread)."""
        items = []
        while True:
            try:
                items.append(self.events.get_nowait())
            except queue.Empty:
                return items

    def interrupt(self):
        """Raise `Interrupted` in the running job at its next line of Python: a model's
        endless Python loop ends there. Code inside NEURON (a hoc `while (1) {}`) holds
        the thread until it returns, so this cannot reach it."""
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread.ident),
                                                   ctypes.py_object(Interrupted))

    def _loop(self):
        while True:
            try:
                self._run_one()
            except Interrupted:
                pass  # it arrived after its job had ended: nothing left to stop

    def _run_one(self):
        future, fn, args, kwargs = self._jobs.get()
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the main thread, which reports it
            future.set_exception(exc)
