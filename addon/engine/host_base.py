"""The engine-host interface: where NEURON runs, as the session sees it (no bpy).

A host holds at most one model's NEURON and offers the same verbs whichever it is: load a
model, simulate (from 0 or continuing) into a frame cache, answer a command (`request`,
the protocol's `messages`), cancel, close. The session holds "the host" and never asks
which kind it is; `hosts.HOSTS` maps each `HostKind` to its class.
"""
from abc import ABC, abstractmethod
from enum import StrEnum


class HostKind(StrEnum):
    """Where NEURON runs; the values are the scene property's enum items (a StrEnum compares
    equal to them)."""
    PROCESS = "PROCESS"        # a NEURON process of its own (the default)
    IN_BLENDER = "IN_BLENDER"  # a thread in Blender's process: `h` in the Python console


DEFAULT_HOST = HostKind.PROCESS


class EngineHost(ABC):
    """One place NEURON runs. Blocking verbs (`load`, `simulate`, `request`) are called
    from jobs given to `submit`, never from Blender's main thread."""

    kind: HostKind

    def __init__(self, label="model"):
        self.label = label  # the model's file, for messages
        self.run_note = None  # why the last run used fewer cores than its settings asked for
        self.model_lost = False  # the last load failed after clearing the model this host held

    @abstractmethod
    def submit(self, fn, *args, **kwargs):
        """Run `fn` on this host's job thread; returns a Future."""

    @abstractmethod
    def post(self, kind, **data):
        """From a job: hand an event ("progress") to the main thread's pump."""

    @abstractmethod
    def drain(self):
        """The events posted since the last call (main thread)."""

    @property
    @abstractmethod
    def alive(self):
        """Whether the NEURON this host runs can still take commands."""

    @abstractmethod
    def load(self, path, options, *, on_line=None, may_move=False):
        """Load `path` with load_model's `options` (JSON-able: clamp as a dict); returns the
        Model. `may_move`: the caller moves a model this host cannot hold (NeedsOwnProcess)
        to another host, so refuse such a model rather than risk it."""

    @abstractmethod
    def simulate(self, settings, cache, *, start_frame=0, extend=False, progress=lambda t, frame: None):
        """Simulate the loaded model (a `RunSettings`) into `cache`'s frames, from
        `start_frame` (continuing the last run when `extend`); returns the frames done.
        `progress(t, frame)` runs as frames arrive; `cancel()` stops it within a chunk,
        keeping the frames done."""

    @abstractmethod
    def request(self, message):
        """Answer one command of `messages` (e.g. `Describe()`); returns its result dict."""

    @abstractmethod
    def cancel(self):
        """Stop the work in flight within a second (from any thread); the frames done stay."""

    @abstractmethod
    def close(self):
        """Let go of the model (a process ends; Blender's own NEURON stays)."""
