"""The engine in a NEURON process of its own: the parent's side (no bpy).

`ProcessHost` starts a child (`host_child`) running the same Python as Blender
(`sys.executable`) with this process's sys.path, so it imports the same NEURON and
numpy. It offers the shape of `worker.Worker` (submit → Future, post/drain events) for
the session layer, plus `load` and `simulate`, which block the calling (non-main)
thread until the child answers. The child writes frames straight into the memory-mapped
frame cache the parent made; the parent only polls. Whatever the model does to its
process (segfault, abort, quit(), an endless loop), Blender lives: `kill()` ends the
child at once, and a crash raises `HostCrashed` with the model's file, the exit status
and the child's last output lines.
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from ...model_loaders import ModelLoadError
from ...model_loaders.menus import MenuAction, MenuOnlyModel
from ...model_loaders.model_io import load_model_file
from . import cores
from .cache import CacheError
from .simulate import SimulationError
from .worker import Worker

ROOT = Path(__file__).resolve().parents[2]  # the extension's root folder
CHILD_PACKAGE = "neuron_live_host"
CANCEL_GRACE = 0.8  # s a run has to stop by itself after Cancel before its process is killed (Cancel: ≤ 1 s)
LOG_LINES = 12

# Imports the child's module without running the extension's (bpy) package __init__ files.
_BOOT = """
import importlib, json, sys, types
root, package, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [p for p in paths if p not in sys.path]
for name, folder in ((package, root), (package + ".addon", root + "/addon")):
    module = types.ModuleType(name)
    module.__path__ = [folder]
    sys.modules[name] = module
importlib.import_module(package + ".addon.engine.host_child").main()
"""
# The same, for each MPI rank of a run across processes (`record.main_into`).
_MPI_BOOT = _BOOT.replace('".addon.engine.host_child").main()', '".addon.engine.record").main_into(sys.argv[4:])')


class HostCrashed(RuntimeError):
    """The model's process ended without answering: a crash, a kill, or the model's quit()."""


class ModelEnded(HostCrashed):
    """The model ended its own process (quit(), sys.exit(), os._exit()) during a run."""


class Cancelled(RuntimeError):
    """The user cancelled: the process was stopped (killed, for a load or a hung run)."""


_ERRORS = {"ModelLoadError": ModelLoadError, "MechanismError": ModelLoadError, "MechanismConflict": ModelLoadError,
           "NeedsOwnProcess": ModelLoadError, "SimulationError": SimulationError, "CacheError": CacheError}


def child_sys_path():
    """This process's sys.path, with the folder NEURON is imported from (found without
    importing it into Blender) first when it is not already there."""
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    spec = importlib.util.find_spec("neuron") if "neuron" not in sys.modules else None
    origin = sys.modules["neuron"].__file__ if "neuron" in sys.modules else (spec and spec.origin)
    if origin:
        site = str(Path(origin).resolve().parent.parent)
        if site not in paths:
            paths.insert(0, site)
    return paths


class ProcessHost:
    """One child process holding (at most) one model. Thread-safe: any thread may call."""

    kind = "PROCESS"

    def __init__(self, *, python=None, label="model"):
        self.label = label  # the model's file, for messages
        self.folder = Path(tempfile.mkdtemp(prefix="neuron-live-host-"))
        self.log_path = self.folder / "child.log"
        self._local = Worker(name="neuron-live-host-jobs")  # parent-side jobs; never NEURON
        self._pending = {}  # id -> (Future, on_event, convert)
        self._lock = threading.Lock()
        self._ids = iter(range(1, 1 << 62))
        self._cancelled = False
        self._ended = None  # the model's own "ended" event, when it quit during a run
        self.load_options = None  # what the model was loaded with: the MPI ranks load it the same way
        self.run_note = None  # why the last run used fewer cores than its settings asked for
        self._mpi = None  # the mpiexec of a run across processes, while it runs
        self.returncode = None
        env = dict(os.environ, NEURON_MODULE_OPTIONS="-nogui", MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self._process = subprocess.Popen(
            [python or sys.executable, "-u", "-c", _BOOT, str(ROOT), CHILD_PACKAGE, json.dumps(child_sys_path())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, cwd=self.folder, env=env,
            start_new_session=True)  # its own group: a kill also ends nrnivmodl's compilers
        self.pid = self._process.pid
        self._reader = threading.Thread(target=self._read, name="neuron-live-host-reader", daemon=True)
        self._reader.start()

    # -- the Worker shape ----------------------------------------------------------------------
    def submit(self, fn, *args, **kwargs):
        """Run `fn` on this host's parent-side thread (it may block on the child); a Future."""
        return self._local.submit(fn, *args, **kwargs)

    def post(self, kind, **data):
        self._local.post(kind, **data)  # the events of this host are the local worker's

    def drain(self):
        return self._local.drain()

    # -- state -------------------------------------------------------------------------------
    @property
    def alive(self):
        return self._process.poll() is None

    def log_tail(self, lines=LOG_LINES):
        """The child's last output lines (the model's prints, NEURON's errors, a crash's
        traceback from its "Fatal Python error" line on)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.splitlines()[-4 * lines:]
                if line.strip() and not line.startswith("Extension modules:")]
        fatal = next((i for i, line in enumerate(kept) if line.startswith("Fatal Python error")), None)
        return "\n".join(kept[fatal:fatal + lines] if fatal is not None else kept[-lines:])

    # -- commands ----------------------------------------------------------------------------
    def call(self, op, *, on_event=None, convert=None, **args):
        """Send a command; returns a Future resolved (by the reader thread) with its result."""
        future = Future()
        self._cancelled = False
        with self._lock:
            if self.returncode is not None or not self.alive:
                future.set_exception(self._gone_error(op))
                return future
            ident = next(self._ids)
            self._pending[ident] = (future, on_event, convert)
            self._write({"id": ident, "op": op, **args})
        return future

    def load(self, path, options, on_line=None):
        """Load `path` in the child (blocks this thread); returns the Model and how the model
        ended its process at load (None when it did not)."""
        def on_event(event):
            if event["event"] == "line" and on_line:
                on_line(event["text"])

        def convert(result):
            model = load_model_file(result["model_file"])
            return model, result.get("ended")
        self.label = str(path)
        self.load_options = dict(options)
        return self.call("load", path=str(path), options=options, on_event=on_event, convert=convert).result()

    def simulate(self, settings, cache, *, start_frame=0, extend=False, progress=lambda t, frame: None):
        """Simulate in the child into `cache`'s frames (blocks this thread); returns the frames
        done. `progress(t, frame)` runs on the reader thread as frames arrive. With
        `settings.processes` > 1 the run goes across MPI ranks where it can (`_simulate_mpi`),
        else in the child with `run_note` saying why."""
        self.run_note = None
        if settings.processes > 1:
            why = self._mpi_refusal(extend)
            if why is None:
                done, why = self._simulate_mpi(settings, cache, progress)
                if why is None:
                    return done
            self.run_note = f"ran in one process, not {settings.processes}: {why}"

        def on_event(event):  # "ended": the model quit mid-run; its last frames count too
            if event["event"] in ("frames", "ended") and event["done"] > 0:
                progress(event["t"], event["done"] - 1)
        future = self.call("simulate", folder=str(cache.folder), n_segments=cache.meta["n_segments"],
                           settings=settings.as_dict(), start_frame=start_frame, extend=extend,
                           on_event=on_event)
        try:
            result = future.result()
        except HostCrashed:
            done = _rows_complete(cache.frames, cache.frames_done)  # written, not yet reported
            if done > cache.frames_done:
                progress((done - 1) / settings.frames_per_ms, done - 1)
            self._spikes_into(cache)
            raise
        if result["done"] > cache.frames_done:  # the last frames came after the last event
            progress((result["done"] - 1) / settings.frames_per_ms, result["done"] - 1)
        self._spikes_into(cache, result.get("spikes"))
        if result.get("note"):
            self.run_note = "; ".join(filter(None, (self.run_note, result["note"])))
        return result["done"]

    def _mpi_refusal(self, extend):
        if cores.mpiexec() is None:
            return "mpiexec is not on PATH (install OpenMPI or MPICH)"
        if extend:
            return "Continue steps on from the one process's NEURON"
        if self.load_options is None:
            return "the model was not loaded by this process"
        return None

    def _simulate_mpi(self, settings, cache, progress):
        """Every rank runs `record.main_into` on its own cells into `cache`'s frames; rank 0
        reports over mpiexec's stdout. Returns (frames done, None) or (None, why the model
        cannot run across ranks: then nothing was written)."""
        cancel_file = self.folder / "cancel-mpi"
        cancel_file.unlink(missing_ok=True)
        options = dict(self.load_options)
        env = cores.mpi_environment(dict(os.environ, NEURON_MODULE_OPTIONS="-nogui", MPLBACKEND="Agg",
                                         PYTHONUNBUFFERED="1"))
        command = [cores.mpiexec(), "-n", str(settings.processes), sys.executable, "-u", "-c", _MPI_BOOT,
                   str(ROOT), CHILD_PACKAGE, json.dumps(child_sys_path()), self.label, str(cache.folder),
                   json.dumps(settings.as_dict()), json.dumps(options), str(cancel_file)]
        with open(self.folder / "mpi.log", "wb") as log:
            self._mpi = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                         cwd=self.folder, env=env, start_new_session=True)
            self._mpi_cancel = cancel_file
            result = None
            try:
                for line in self._mpi.stdout:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue  # a model's print that reached mpiexec's stdout
                    if message.get("event") == "frames":
                        progress(message["t"], message["done"] - 1)
                    elif "event" not in message:
                        result = message
                code = self._mpi.wait()
            finally:
                self._mpi = None
        if result is not None and "refused" in result:
            return None, f"the model cannot run across processes: {result['refused']}"
        if result is None or "error" in result:
            if self._cancelled:
                raise Cancelled(f"Cancelled: the MPI processes running {Path(self.label).name} were stopped")
            tail = (self.folder / "mpi.log").read_text(errors="replace").strip().splitlines()[-LOG_LINES:]
            why = result["error"] if result else f"mpiexec {_exit_status(code)}"
            raise SimulationError(f"{self.label}: the run across {settings.processes} processes failed: {why}"
                                  + ("; their last output:\n" + "\n".join(tail) if tail else ""))
        if result["done"] > 0:
            progress((result["done"] - 1) / settings.frames_per_ms, result["done"] - 1)
        return result["done"], None

    def _spikes_into(self, cache, path=None):
        """The child saves spikes.npz in its own folder (the cache may have moved since)."""
        source = Path(path) if path else self.folder / "spikes.npz"
        if source.is_file():
            shutil.copyfile(source, Path(cache.folder) / source.name)

    def cancel(self, grace=CANCEL_GRACE):
        """Stop the command in flight: the child stops a run within a chunk; one that does
        not answer within `grace` seconds (a model stuck in its own code) is killed."""
        self._cancelled = True
        if self._mpi is not None:  # every rank stops at the same chunk once rank 0 sees the file
            self._mpi_cancel.touch()
        with self._lock:
            if not self._pending and self._mpi is None:
                return
            try:
                self._write({"op": "cancel"})
            except OSError:
                pass  # the child is already gone: the reader thread reports it
        timer = threading.Timer(grace, self._kill_if_busy)
        timer.daemon = True
        timer.start()

    def _kill_if_busy(self):
        with self._lock:
            busy = bool(self._pending)
        if busy:
            self.kill()
        mpi = self._mpi
        if mpi is not None and mpi.poll() is None:
            _kill_group(mpi.pid)

    def kill(self):
        """End the child (and the compilers it may have started) and any MPI run now."""
        self._cancelled = True
        mpi = self._mpi
        if mpi is not None and mpi.poll() is None:
            _kill_group(mpi.pid)
        if self.alive:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended by itself meanwhile

    def close(self):
        """Ask the child to exit, killing it if it does not within a second; remove its folder."""
        if self.alive:
            try:
                with self._lock:
                    self._write({"op": "close"})
                self._process.wait(timeout=1.0)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._reader.join(timeout=2.0)
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the reader thread -------------------------------------------------------------------
    def _write(self, message):
        self._process.stdin.write((json.dumps(message) + "\n").encode())
        self._process.stdin.flush()

    def _read(self):
        for line in self._process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not ours (cannot happen: the child's prints go to the log)
            if "event" in message:
                self._event(message)
            else:
                self._reply(message)
        self.returncode = self._process.wait()
        self._log.close()
        with self._lock:
            pending, self._pending = self._pending, {}
        for future, _, _ in pending.values():
            future.set_exception(self._gone_error())

    def _event(self, message):
        if message["event"] == "ended":
            self._ended = message
        with self._lock:
            handlers = [on_event for _, on_event, _ in self._pending.values() if on_event]
        for on_event in handlers:
            on_event(message)

    def _reply(self, message):
        with self._lock:
            future, _, convert = self._pending.pop(message["id"], (None, None, None))
        if future is None:
            return
        if not message["ok"]:
            future.set_exception(self._error(message))
            return
        try:
            future.set_result(convert(message["result"]) if convert else message["result"])
        except Exception as exc:  # a model file that does not read back: say so, with the file
            future.set_exception(exc)

    def _error(self, message):
        if message.get("actions") is not None:
            return MenuOnlyModel(self.label, [MenuAction(**action) for action in message["actions"]])
        kind = _ERRORS.get(message["type"], RuntimeError)
        text = message["error"]
        if kind is RuntimeError and message["type"] not in text:
            text = f"{message['type']}: {text}"
        return kind(text)

    def _gone_error(self, op=None):
        """Why the child answered nothing: cancelled, the model's own quit, or a crash."""
        code = self._process.poll() if self.returncode is None else self.returncode
        name = Path(self.label).name
        if self._cancelled:
            return Cancelled(f"Cancelled: the NEURON process running {name} was stopped")
        if self._ended is not None:
            ended = self._ended
            return ModelEnded(f"{self.label}: the model ended its NEURON process itself ({ended['how']}) "
                              f"at t = {ended['t']:.4g} ms; the frames done are kept")
        how = _exit_status(code)
        tail = self.log_tail()
        return HostCrashed(f"{self.label}: the NEURON process running the model {how}"
                           + (f"; its last output:\n{tail}" if tail else " (it printed nothing)"))


def _rows_complete(frames, known):
    """Rows after the `known` ones that the child wrote whole before it died: NaN exactly
    where the first row has NaN (a row cut short by a kill is NaN at its end)."""
    if known == 0 or known >= len(frames):
        return known
    pattern = np.isfinite(frames[0])
    done = known
    while done < len(frames) and np.array_equal(np.isfinite(frames[done]), pattern):
        done += 1
    return done


def _kill_group(pid):
    """SIGKILL a process group we started (mpiexec's: its ranks stay in it)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it ended by itself meanwhile


def _exit_status(code):
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"crashed ({name})"
    return f"exited with status {code}"
