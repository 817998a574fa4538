"""What the main thread holds of the engine: the loaded model, its frame cache, the task in
flight and the worker thread. Plain data (no bpy), so every layer above can read it."""
import threading
from dataclasses import dataclass, field

from .hosts import Hosts
from .worker import MainTurn, Worker


@dataclass
class Task:
    """Work in flight on another thread, seen from the main thread."""
    label: str
    future: object
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: float = 0.0
    message: str = ""
    on_done: object = None  # callable(task) run on the main thread when finished
    cache: object = None    # the FrameCache a simulation writes, once it exists
    on_cancel: object = None  # callable() that stops it harder than `cancel` (kills its process)
    host: object = None     # the EngineHost a load put the model in
    shown_progress: float = -1.0  # what the pump last showed: progress,
    shown_frames: int = 0         # frames done,
    show_after: float = 0.0       # and when it may colour the cells again (perf_counter)


class Session:
    def __init__(self):
        self._worker = None
        self.model = None
        self.recording = False  # the model came from a recording: NEURON does not hold it
        self.cache = None
        self.task = None
        self.message = ""  # outcome of the last task without a scene to report to
        self.host = None  # the EngineHost (hosts.HOSTS) holding the model
        self.main_turn = MainTurn()  # held while the main thread writes to Blender
        self._hosts = None

    @property
    def worker(self):
        """Blender's NEURON thread (also runs the NEURON install)."""
        if self._worker is None:
            self._worker = Worker()
        return self._worker

    @property
    def hosts(self):
        """Where models can run: Blender's NEURON thread, a (spare) NEURON process."""
        if self._hosts is None:
            self._hosts = Hosts(self.worker, self.main_turn)
        return self._hosts

    @property
    def busy(self):
        return self.task is not None

    def drain(self):
        """Events the worker (and the model's process) posted since the last call."""
        events = self._worker.drain() if self._worker else []
        return events + self.host.drain() if self.host is not None else events

    def check_idle(self):
        if self.busy:
            raise RuntimeError(f"NEURON Live is busy: {self.task.label} is still running")


session = Session()
