"""The engine in a NEURON process of its own: the child's side.

A model loaded here cannot take Blender down: a segfault, quit(), sys.exit() or an
endless loop ends or stalls only this process, which the parent (`host_process`) can
kill at any moment. No bpy. The parent starts it with Blender's own Python and the
extension's sys.path; the protocol is one JSON object per line:

  commands (stdin)   {"id": n, "op": "load", "path", "options"}
                     {"id": n, "op": "simulate", "folder", "settings", "start_frame", "extend"}
                     {"op": "cancel"}   stop the command in flight within one chunk
                     {"op": "close"}    (or end of input) exit
  replies (stdout)   {"id": n, "ok": true, "result": {...}} or {"id": n, "ok": false, "type", "error"}
  events (stdout)    {"event": "line", "text"}           a compiler line while .mod files build
                     {"event": "frames", "done", "t"}    frames written to the cache so far
                     {"event": "ended", "how", ...}      the model ended the process itself

The model's own output (print, NEURON's messages, a crash's traceback from faulthandler)
goes to stderr, which the parent keeps in a log file: its last lines explain a crash.
"""
import atexit
import dataclasses
import faulthandler
import json
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path

from ...model_loaders import Clamp, load_model, neuron_h
from ...model_loaders.extract import extract_model
from ...model_loaders.menus import MenuOnlyModel
from ...model_loaders.model_io import save_model
from . import cores, spikes
from .cache import ColumnBlock
from .simulate import RunSettings, simulate

FRAMES_EVERY = 0.02  # s between "frames" events: a small model samples thousands a second
ORPHAN_GRACE = 2.0   # s a child may outlive its parent's pipe before it exits on its own


class _Child:
    def __init__(self, replies, commands, work):
        self._replies, self._lock = replies, threading.Lock()
        self.commands, self.cancel = queue.Queue(), threading.Event()
        self.work = Path(work)
        self.model = None
        self.kept = None  # what keeps a model's objects alive after it called sys.exit() at load
        self.current = None  # the command in flight: {"id", "op", "path"?, "writer"?}
        self._loads = 0
        threading.Thread(target=self._read, args=(commands,), name="neuron-live-child-commands",
                         daemon=True).start()

    def send(self, message):
        with self._lock:
            self._replies.write(json.dumps(message) + "\n")
            self._replies.flush()

    def _read(self, commands):
        """Commands from the parent; a cancel acts at once, the rest queue for the main thread."""
        for line in commands:
            message = json.loads(line)
            if message.get("op") == "cancel":
                self.cancel.set()
            else:
                self.commands.put(message)
        self.cancel.set()  # the parent is gone: stop, and exit even if the model hangs
        self.commands.put({"op": "close"})
        timer = threading.Timer(ORPHAN_GRACE, _real_exit, args=(0,))
        timer.daemon = True
        timer.start()

    def serve(self):
        """Run commands until told to close (main thread: NEURON's own)."""
        while True:
            message = self.commands.get()
            if message["op"] == "close":
                return
            self.cancel.clear()
            self.current = message
            try:
                result = getattr(self, "_" + message["op"])(message)
                if self.current is message:  # (a load that ended the process has replied already)
                    self.send({"id": message["id"], "ok": True, "result": result})
            except BaseException as exc:  # the parent re-raises it with the model's file
                self.send({"id": message["id"], "ok": False, **_describe(exc, message)})
            finally:
                self.current = None

    def _load(self, message):
        options = dict(message["options"])
        if options.get("clamp") is not None:
            options["clamp"] = Clamp(**options["clamp"])
        options["on_line"] = lambda text: self.send({"event": "line", "text": text})
        try:
            self.model = load_model(message["path"], process="own", **options)
        except Exception as exc:
            if not isinstance(exc.__cause__, SystemExit):
                raise
            # sys.exit() at load: the cells it built are the model (as if it had quit()). Its
            # traceback holds the script's globals, and so its Python-made sections.
            self.kept = exc
            return self._ended_at_load(message, f"sys.exit({exc.__cause__.code})")
        return {"model_file": self._save(self.model)}

    def _save(self, model):
        self._loads += 1
        path = self.work / f"model-{self._loads}.npz"
        save_model(model, path)
        return str(path)

    def _ended_at_load(self, message, how):
        """The model ended the process while loading (its own run, then quit()): what it
        built is the model; reply with it (the process stays to run it)."""
        h = neuron_h()
        model = extract_model(h, Path(message["path"]).resolve())
        model.notes.append(f"the model ended its process itself at load ({how}); NEURON Live kept "
                           "that process to run it")
        self.model = model
        self.current = None  # replied here: serve() must not reply again
        self.send({"id": message["id"], "ok": True, "result": {"model_file": self._save(model), "ended": how}})

    def _simulate(self, message):
        settings = RunSettings(**message["settings"])
        folder = Path(message["folder"])
        writer = ColumnBlock(folder, 0, int(message["n_segments"]), {"variable": settings.variable})
        writer.folder = self.work  # spikes.npz goes here; the parent moves it beside the frames
        message["writer"] = writer
        posted = [0.0]

        def progress(t, frame):
            now = time.monotonic()
            if frame + 1 == 1 or now - posted[0] >= FRAMES_EVERY or frame == settings.n_frames - 1:
                posted[0] = now
                self.send({"event": "frames", "done": frame + 1, "t": t})

        (self.work / spikes.SPIKES_FILE).unlink(missing_ok=True)
        try:
            with cores.spike_recording(neuron_h(), self.model, writer, settings, extend=message["extend"]):
                done = simulate(settings, writer, start_frame=message["start_frame"],
                                cancelled=self.cancel.is_set, progress=progress)
        finally:
            writer.flush()
        return {"done": done, "cancelled": self.cancel.is_set(), "spikes": str(self.work / spikes.SPIKES_FILE),
                "note": cores.thread_note() if message["start_frame"] == 0 else None}

    def ended(self, how):
        """The model is ending the process (quit(), os._exit(), sys.exit() in a run)."""
        current = self.current
        if current is None:
            return
        if current["op"] == "load":
            try:
                self._ended_at_load(current, how)
            except Exception as exc:
                self.send({"id": current["id"], "ok": False, **_describe(exc, current)})
                return
            self.serve()  # keep serving runs: the model's quit() only ended its own load
            return
        writer = current.get("writer")
        self.send({"event": "ended", "how": how, "t": float(neuron_h().t),
                   "done": writer.frames_done if writer is not None else 0})


def _describe(exc, message):
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
    _child.send({"event": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
    _child.serve()
