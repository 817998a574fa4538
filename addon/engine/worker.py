"""One thread that owns every NEURON call; jobs go in, futures and events come out.

NEURON is not thread-safe, and Blender may only be touched on its main thread: the
main thread submits jobs here and polls `events` from a timer (the "pump").
"""
import ctypes
import queue
import threading
from concurrent.futures import Future


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
