"""Which host runs a model: the table of host kinds, and a spare NEURON process kept warm.

The session asks `Hosts.open(kind)` for a host to load into and holds whatever it gets; it
never looks at which class that is. NEURON in a process of its own is the default: a
model can crash, quit or hang without touching Blender, and hoc work at load never
freezes its UI. The process costs nothing a user notices because a spare child is started
in the background (after enable and after each load) and the next load takes it. No bpy.
"""
import os
import threading

from .child_boot import child_sys_path
from .host_base import DEFAULT_HOST, EngineHost, HostKind
from .host_process import ProcessHost
from .host_thread import ThreadHost

__all__ = ("DEFAULT_HOST", "EngineHost", "HOSTS", "HostKind", "Hosts", "default_memory_limit")

HOSTS = {HostKind.PROCESS: ProcessHost, HostKind.IN_BLENDER: ThreadHost}
DEFAULT_MEMORY_SHARE = 0.6  # of the machine's RAM, for one model's process


def default_memory_limit():
    """Bytes a model's process may use by default: a share of RAM, so that a model that
    allocates without bound is stopped before the machine (and Blender) swaps."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * DEFAULT_MEMORY_SHARE)
    except (ValueError, OSError, AttributeError):  # no sysconf names (Windows): 8 GB
        return 8 << 30


class Hosts:
    """The hosts of one Blender session: Blender's own NEURON thread (made when first
    asked for) and a spare NEURON process."""

    def __init__(self, worker, main_turn):
        self._worker, self._main_turn = worker, main_turn
        self._thread = None
        self._spare = None
        self._generation = 0  # a spare started before the last close() is not kept
        self._lock = threading.Lock()
        self.memory_limit = default_memory_limit()

    @property
    def thread(self):
        """NEURON in Blender (one per process)."""
        if self._thread is None:
            self._thread = ThreadHost(self._worker, self._main_turn)
        return self._thread

    def open(self, kind, *, label="model"):
        """A host of `kind` to load a model into: the thread host, or a fresh process (the
        spare when one is ready). Returns (host, why it is not of `kind`, or "")."""
        kind = HostKind(kind)
        if kind is HostKind.IN_BLENDER and self.thread.busy_with_cancelled_load:
            return self._process(label), "NEURON in Blender is still busy with a cancelled load"
        if kind is HostKind.IN_BLENDER:
            return self.thread, ""
        return self._process(label), ""

    def _process(self, label):
        with self._lock:
            spare, self._spare = self._spare, None
        usable = spare is not None and spare.alive and spare.sys_path == child_sys_path()
        host = spare if usable else ProcessHost()
        if spare is not None and host is not spare:
            spare.close()
        host.label, host.memory_limit = label, self.memory_limit
        return host

    def keep_spare(self):
        """Start a spare process in the background unless one is ready (never blocks: a
        process start costs Blender's main thread nothing)."""
        with self._lock:
            if self._spare is not None and self._spare.alive:
                return
        threading.Thread(target=self._start_spare, args=(self._generation,), name="neuron-live-spare",
                         daemon=True).start()

    def _start_spare(self, generation):
        spare = ProcessHost(label="spare", spare=True)
        with self._lock:  # not kept when closed meanwhile (the add-on was disabled)
            vacant = self._spare is None or not self._spare.alive  # (a spare may die: killed, out of memory)
            if generation == self._generation and vacant:
                self._spare, spare = spare, self._spare
        if spare is not None:  # a dead spare, or one no longer wanted
            spare.close()

    def close(self):
        """End the spare, and one still starting (add-on disabled, Blender quitting)."""
        with self._lock:
            spare, self._spare = self._spare, None
            self._generation += 1
        if spare is not None:
            spare.close()

    @property
    def spare(self):
        return self._spare
