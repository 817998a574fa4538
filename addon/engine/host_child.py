"""NEURON in a process of its own: the child's side.

A model loaded here cannot take Blender down: a segfault, quit(), sys.exit() or an
endless loop ends or stalls only this process, which the parent (`host_process`) can
kill at any moment. No bpy. The parent starts it with Blender's own Python and the
extension's sys.path; they talk in `messages` (one JSON object per line): commands on
stdin, replies and events on stdout. Each command has one handler in `HANDLERS`, which
runs `engine.Engine` — the same methods the thread host calls in Blender.

The model's own output (print, NEURON's messages, a crash's traceback from faulthandler)
goes to stderr, which the parent keeps in a capped log: its last lines explain a crash.
"""
import atexit
import dataclasses
import faulthandler
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path

from ...model_loaders import neuron_h
from ...model_loaders.extract import extract_model
from ...model_loaders.menus import MenuOnlyModel
from ...model_loaders.model_io import save_model
from . import cores, messages, spikes
from .cache import ColumnBlock
from .child_boot import SPARE_ENV
from .engine import REQUESTS, Engine
from .simulate import RunSettings

FRAMES_EVERY = 0.02  # s between `Frames` events: a small model samples thousands a second
ORPHAN_GRACE = 2.0   # s a child may outlive its parent's pipe before it exits on its own
# Wall time per NEURON call here. Blender's chunks are 4 ms to keep its UI responsive; this
# process has no UI to keep, and each chunk restarts psolve. Cancel stays well under 1 s.
CHILD_CHUNK = 0.05


class _Child:
    def __init__(self, replies, commands, work):
        self._replies, self._lock = replies, threading.Lock()
        self.commands, self.cancel = queue.Queue(), threading.Event()
        self._latest = self.cancel  # the Cancel event of the newest command received
        self.work = Path(work)
        self.engine = Engine()
        self.kept = None  # what keeps a model's objects alive after it called sys.exit() at load
        self.current = None  # the command in flight: (id, message, writer or None)
        self._loads = 0
        threading.Thread(target=self._read, args=(commands,), name="neuron-live-child-commands",
                         daemon=True).start()

    def send(self, message, ident=None):
        with self._lock:
            self._replies.write(messages.encode(message, ident))
            self._replies.flush()

    def reply(self, ident, **answer):
        self.send(messages.Reply(**answer), ident)

    def _read(self, commands):
        """Commands from the parent; the rest queue for the main thread, each with its own
        Cancel event, which a `Cancel` sets at once (for the newest command: one in flight,
        or one still queued behind it, which then stops at its first chunk)."""
        for line in commands:
            try:
                ident, message = messages.decode(line)
            except messages.ProtocolError as exc:
                print(f"NEURON Live child: {exc}", file=sys.stderr)
                continue
            if isinstance(message, messages.Cancel):
                self._latest.set()
            else:
                self._latest = threading.Event()
                self.commands.put((ident, message, self._latest))
        self._latest.set()  # the parent is gone: stop, and exit even if the model hangs
        self.cancel.set()
        self.commands.put((None, messages.Close(), self._latest))
        timer = threading.Timer(ORPHAN_GRACE, _real_exit, args=(0,))
        timer.daemon = True
        timer.start()

    def serve(self):
        """Run commands until told to close (main thread: NEURON's own)."""
        while True:
            ident, message, self.cancel = self.commands.get()
            if isinstance(message, messages.Close):
                return
            self.current = [ident, message, None]
            try:
                result = HANDLERS[type(message)](self, message)
                if self.current is not None:  # (a load that ended the process has replied already)
                    self.reply(ident, ok=True, result=result)
            except BaseException as exc:  # the parent raises it again with the model's file
                self.reply(ident, ok=False, **_describe(exc))
            finally:
                self.current = None

    def load(self, message):
        def on_line(text):
            self.send(messages.Line(text=text))
        try:
            model = self.engine.load(message.path, message.options, process="own", on_line=on_line)
        except Exception as exc:
            if not isinstance(exc.__cause__, SystemExit):
                raise
            # sys.exit() at load: the cells it built are the model (as if it had quit()). Its
            # traceback holds the script's globals, and so its Python-made sections.
            self.kept = exc
            return self._ended_at_load(f"sys.exit({exc.__cause__.code})")
        return {"model_file": self._save(model)}

    def _save(self, model):
        self._loads += 1
        path = self.work / f"model-{self._loads}.npz"
        save_model(model, path)
        return str(path)

    def _ended_at_load(self, how):
        """The model ended the process while loading (its own run, then quit()): what it
        built is the model; reply with it (the process stays to run it)."""
        ident, message, _ = self.current
        h = neuron_h()
        model = extract_model(h, Path(message.path).resolve())
        model.t_at_load = float(h.t)
        if h.t > model.settings["tstop"]:  # its own run (a psolve, say) went further: Run goes as far
            model.settings["tstop"] = round(float(h.t), 6)
        model.notes.append(f"the model ended its process itself at load ({how}) at t = {h.t:g} ms; NEURON Live "
                           "kept that process to run it")
        self.engine.model = model
        self.current = None  # replied here: serve() must not reply again
        self.reply(ident, ok=True, result={"model_file": self._save(model), "ended": how})

    def simulate(self, message):
        settings = RunSettings(**{**message.settings, "chunk_seconds": CHILD_CHUNK})
        writer = ColumnBlock(message.folder, 0, int(message.n_segments), {"variable": settings.variable})
        writer.folder = self.work  # spikes.npz goes here; the parent moves it beside the frames
        self.current[2] = writer
        posted = [0.0]

        def progress(t, frame):
            now = time.monotonic()
            if frame == 0 or now - posted[0] >= FRAMES_EVERY or frame == settings.n_frames - 1:
                posted[0] = now
                self.send(messages.Frames(done=frame + 1, t=t))

        (self.work / spikes.SPIKES_FILE).unlink(missing_ok=True)
        try:
            done = self.engine.simulate(settings, writer, start_frame=message.start_frame, extend=message.extend,
                                        cancelled=self.cancel.is_set, progress=progress)
        finally:
            writer.flush()
        return {"done": done, "cancelled": self.cancel.is_set(), "spikes": str(self.work / spikes.SPIKES_FILE),
                "note": cores.thread_note() if message.start_frame == 0 else None}

    def describe(self, message):
        return self.engine.describe()

    def ended(self, how):
        """The model is ending the process (quit(), os._exit(), sys.exit() in a run)."""
        if self.current is None:
            return
        ident, message, writer = self.current
        if isinstance(message, messages.Load):
            try:
                self._ended_at_load(how)
            except Exception as exc:
                self.reply(ident, ok=False, **_describe(exc))
                return
            self.serve()  # keep serving runs: the model's quit() only ended its own load
            return
        self.send(messages.Ended(how=how, t=float(neuron_h().t), done=writer.frames_done if writer else 0))


HANDLERS = {messages.Load: _Child.load, messages.Simulate: _Child.simulate, messages.Describe: _Child.describe,
            **{kind: (lambda child, message: REQUESTS[type(message)](child.engine, message)) for kind in REQUESTS
               if kind is not messages.Describe}}


def _describe(exc):
    """An exception as the parent rebuilds it: its type, message and menu actions."""
    described = {"type": type(exc).__name__, "error": str(exc) or type(exc).__name__}
    if isinstance(exc, MenuOnlyModel):
        described["actions"] = [dataclasses.asdict(action) for action in exc.actions]
    if not isinstance(exc, (RuntimeError, ValueError, OSError)):
        described["traceback"] = traceback.format_exc()[-2000:]
    return described


_real_exit = os._exit
_child = None


def _os_exit(code=0):
    """os._exit from the model: report (and keep a load's cells) before really exiting."""
    if _child is not None:
        _child.ended(f"os._exit({code})")
    _real_exit(code)


def _at_exit():
    """hoc quit() ends the interpreter through its exit handlers: NEURON still works here."""
    if _child is not None:
        _child.ended("quit()")


def _warm_up():
    """Import NEURON now, so that a spare child's first load does not wait for it. A spare
    that cannot import it ends (it may have started while NEURON's files were being
    installed): the load then gets a fresh child. Any other child says why at its load."""
    try:
        neuron_h()
    except ImportError as exc:
        print(f"NEURON Live child: NEURON could not be imported: {exc}", file=sys.stderr)
        if os.environ.get(SPARE_ENV):
            _real_exit(3)


def main():
    """Entry point: the parent's pipes become the protocol, fd 1 and 0 go to the log and
    /dev/null (a model's print or getstr() must never touch the protocol)."""
    global _child
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    commands = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    faulthandler.enable(all_threads=False)  # a segfault's Python traceback goes to the log
    sys.stdin = open(os.devnull)
    _child = _Child(replies, commands, work=os.getcwd())
    os._exit = _os_exit
    atexit.register(_at_exit)
    _child.send(messages.Ready(pid=os.getpid(), python=sys.version.split()[0]))
    _warm_up()
    _child.serve()
