"""The parent ↔ child protocol of a NEURON process of its own: every message, named and typed.

One JSON object per line. Commands go down the child's stdin, replies and events come up
its stdout. Each line carries the protocol version and the message's name; `decode`
refuses a line of another version (a child started from another copy of the extension)
rather than guessing. Adding a command means one dataclass here and one handler in
`host_child.HANDLERS`; the parent sends it with `ProcessHost.request` and a thread host
runs the same `engine.Engine` method.
"""
import dataclasses
import json
from dataclasses import dataclass, field
from typing import ClassVar

PROTOCOL = 2


class ProtocolError(RuntimeError):
    """A line from the other side that is not a message of this protocol version."""


@dataclass
class Message:
    name: ClassVar[str]


# -- commands (parent → child) -----------------------------------------------------------------
@dataclass
class Load(Message):
    """Load a model file; replies with the `Model` saved in the recording format."""
    name: ClassVar[str] = "load"
    path: str
    options: dict


@dataclass
class Simulate(Message):
    """Simulate into the frames of the cache in `folder` from `start_frame`."""
    name: ClassVar[str] = "simulate"
    folder: str
    n_segments: int
    settings: dict
    start_frame: int = 0
    extend: bool = False


@dataclass
class Describe(Message):
    """Where NEURON runs and what it holds: pid, t, sections (both hosts answer it alike)."""
    name: ClassVar[str] = "describe"


@dataclass
class SetExperiment(Message):
    """The experiment (`experiment.Experiment.as_dict`) put in before each run from t = 0."""
    name: ClassVar[str] = "set_experiment"
    experiment: dict
    live: str = ""  # where the probes' traces so far are written during the run (npz), "" for nowhere


@dataclass
class SaveTraces(Message):
    """Write the last run's probe traces to the npz at `path` (keys as `probe_traces()`)."""
    name: ClassVar[str] = "save_traces"
    path: str


@dataclass
class Catalogue(Message):
    """What an experiment can use: point processes, mechanisms' parameters, per section."""
    name: ClassVar[str] = "catalogue"


@dataclass
class Cancel(Message):
    """Stop the command in flight within one chunk (acted on at once, never queued)."""
    name: ClassVar[str] = "cancel"


@dataclass
class Close(Message):
    """Exit (end of input means the same)."""
    name: ClassVar[str] = "close"


# -- replies and events (child → parent) -------------------------------------------------------
@dataclass
class Reply(Message):
    """The answer to command `id`: its result, or the error the parent raises again."""
    name: ClassVar[str] = "reply"
    ok: bool
    result: dict = field(default_factory=dict)
    type: str = ""
    error: str = ""
    actions: list = None  # a menu-only entry's buttons
    traceback: str = ""


@dataclass
class Ready(Message):
    """The child is up (sent once, first)."""
    name: ClassVar[str] = "ready"
    pid: int
    python: str


@dataclass
class Line(Message):
    """A compiler line while .mod files build."""
    name: ClassVar[str] = "line"
    text: str


@dataclass
class Frames(Message):
    """Frames written to the cache so far, and the model time of the newest."""
    name: ClassVar[str] = "frames"
    done: int
    t: float


@dataclass
class Ended(Message):
    """The model is ending the child itself (quit(), sys.exit(), os._exit()) during a run."""
    name: ClassVar[str] = "ended"
    how: str
    t: float
    done: int


COMMANDS = (Load, Simulate, Describe, SetExperiment, SaveTraces, Catalogue, Cancel, Close)
EVENTS = (Ready, Line, Frames, Ended)
MESSAGES = {cls.name: cls for cls in (*COMMANDS, Reply, *EVENTS)}


def encode(message, ident=None):
    """One line of JSON for `message` (a command's or reply's `ident` pairs them)."""
    body = dataclasses.asdict(message)
    return json.dumps({"v": PROTOCOL, "message": message.name, "id": ident, **body}) + "\n"


def decode(line):
    """(id, message) from one line; ProtocolError for anything else."""
    try:
        data = json.loads(line)
        version, name, ident = data.pop("v"), data.pop("message"), data.pop("id")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"not a NEURON Live message: {line[:200]!r}") from exc
    if version != PROTOCOL:
        raise ProtocolError(f"protocol {version} from the other side, this side speaks {PROTOCOL}")
    cls = MESSAGES.get(name)
    if cls is None:
        raise ProtocolError(f"unknown message {name!r}")
    try:
        return ident, cls(**data)
    except TypeError as exc:
        raise ProtocolError(f"message {name!r} with wrong fields: {exc}") from exc
