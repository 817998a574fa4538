"""NEURON in a process of its own, the default host: the parent's side (no bpy).

`ProcessHost` starts a child (`host_child`) running Blender's own Python with this
process's sys.path, so it imports the same NEURON and numpy; they talk in `messages`.
The blocking verbs (`load`, `simulate`, `request`) wait on the calling job thread for the
child's answer; the child writes frames straight into the memory-mapped frame cache the
parent made, and the parent only polls. Whatever the model does to its process
(segfault, abort, quit(), an endless loop, unbounded memory, a flood of output), Blender
lives: `kill()` ends the child at once; a crash raises `HostCrashed` with the model's
file, the exit status and the child's last output lines; the child is stopped at
`memory_limit` bytes of its own memory and its log is capped at `LOG_CAP` bytes.
"""
import collections
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from ...model_loaders import ModelLoadError
from ...model_loaders.errors import NeedsOwnProcess
from ...model_loaders.mechanisms import MechanismConflict, MechanismError
from ...model_loaders.menus import MenuAction, MenuOnlyModel
from ...model_loaders.model_io import load_model_file
from . import messages
from .cache import CacheError
from .child_boot import child_command, child_environment, child_sys_path
from .errors import Cancelled, HostCrashed, MemoryLimit, ModelEnded, SimulationError
from .experiment import ExperimentError
from .host_base import EngineHost, HostKind
from .host_mpi import MpiRun, mpi_refusal
from .run_settings import SettingsError
from .worker import Worker

CANCEL_GRACE = 0.5  # s a run has to stop by itself after Cancel (a chunk is 50 ms) before its process is killed
LOG_LINES = 12
LOG_CAP = 4 << 20  # bytes of a child's output kept on disk; past it only the last LOG_TAIL bytes
LOG_TAIL = 64 << 10
MEMORY_POLL = 0.1  # s between looks at the child's memory


def anonymous_memory(pid):
    """Bytes of the process's own (anonymous) memory: not the frame cache's mapped file
    pages, which the kernel can drop. None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass  # no /proc (macOS): ask ps for the resident size
    try:
        out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, timeout=2)
        return int(out.stdout.strip()) * 1024 if out.stdout.strip() else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


class ProcessHost(EngineHost):
    """One child process holding (at most) one model. Thread-safe: any thread may call.
    A fresh one can wait as a spare (`hosts.Spares`): started, NEURON imported, no model."""

    kind = HostKind.PROCESS

    def __init__(self, *, python=None, label="model", memory_limit=None, spare=False):
        super().__init__(label)
        self.memory_limit = memory_limit  # bytes of the child's own memory; None: no limit
        self.folder = Path(tempfile.mkdtemp(prefix="neuron-live-host-"))
        self.log_path = self.folder / "child.log"
        self._local = Worker(name="neuron-live-host-jobs")  # parent-side jobs; never NEURON
        self._pending = {}  # id -> (Future, on_event, convert)
        self._lock = threading.Lock()
        self._ids = iter(range(1, 1 << 62))
        self._cancelled = False  # Cancel stopped (or killed) the work: how a lost child is explained
        self._cancel_asked = False  # Cancel was pressed for the job in flight (maybe before its command)
        self._loading = False  # a load cannot stop half-way: Cancel kills it at once
        self._ended = None  # the model's own `Ended` event, when it quit during a run
        self._over_memory = None  # the bytes it used when stopped at the memory limit
        self._log_size, self._log_tail = 0, collections.deque()
        self.load_options = None  # what the model was loaded with: the MPI ranks load it the same way
        self._mpi = None  # the mpiexec of a run across processes, while it runs
        self.returncode = None
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.sys_path = child_sys_path()  # a spare started before NEURON was installed cannot find it
        self._process = subprocess.Popen(
            child_command(python=python, paths=self.sys_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.folder, env=child_environment(spare=spare),
            start_new_session=True)  # its own group: a kill also ends nrnivmodl's compilers
        self.pid = self._process.pid
        for target, name in ((self._read, "reader"), (self._read_log, "log"), (self._watch_memory, "memory")):
            threading.Thread(target=target, name=f"neuron-live-host-{name}", daemon=True).start()

    # -- jobs and events -------------------------------------------------------------------------
    def submit(self, fn, *args, **kwargs):
        """Run `fn` on this host's parent-side thread (it may block on the child); a Future."""
        self._cancel_asked = self._cancelled = False
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
        with self._lock:
            text = b"".join(self._log_tail).decode(errors="replace")
        kept = [line for line in text.splitlines()[-4 * lines:]
                if line.strip() and not line.startswith("Extension modules:")]
        fatal = next((i for i, line in enumerate(kept) if line.startswith("Fatal Python error")), None)
        return "\n".join(kept[fatal:fatal + lines] if fatal is not None else kept[-lines:])

    # -- commands ----------------------------------------------------------------------------
    def call(self, message, *, on_event=None, convert=None):
        """Send a command (a `messages` dataclass); returns a Future resolved (by the reader
        thread) with its result."""
        future = Future()
        with self._lock:
            if self.returncode is not None or not self.alive:
                future.set_exception(self._gone_error())
                return future
            ident = next(self._ids)
            self._pending[ident] = (future, on_event, convert)
            self._write(message, ident)
            if self._cancel_asked:  # Cancel came before the command: it stops at its first chunk
                self._write(messages.Cancel())
        return future

    def request(self, message):
        return self.call(message).result()

    def load(self, path, options, *, on_line=None, may_move=False):
        """Load `path` in the child (blocks this thread); returns the Model (its notes say
        when the model ended its process at load: the process stays to run it)."""
        def on_event(event):
            if isinstance(event, messages.Line) and on_line:
                on_line(event.text)

        def convert(result):
            return load_model_file(result["model_file"])
        self.label = str(path)
        self.load_options = dict(options)
        if self._cancel_asked:
            raise Cancelled(f"Cancelled loading {Path(path).name}")
        self._loading = True
        try:
            return self.call(messages.Load(path=str(path), options=options), on_event=on_event,
                             convert=convert).result()
        finally:
            self._loading = False

    def simulate(self, settings, cache, *, start_frame=0, extend=False, progress=lambda t, frame: None):
        """Simulate in the child into `cache`'s frames (blocks this thread); returns the frames
        done. The parent keeps the cache's meta as rows arrive. With `settings.processes` > 1
        the run goes across MPI ranks where it can (`host_mpi`), else in the child with
        `run_note` saying why."""
        self.run_note = None
        progress = _keeping_meta(cache, progress)
        if settings.processes > 1:
            why = mpi_refusal(self.load_options, extend)
            if why is None:
                self._mpi = MpiRun(self.folder, self.label, self.load_options, _exit_status)
                try:
                    done, why = self._mpi.simulate(settings, cache, progress)
                finally:
                    self._mpi = None
                if why is None:
                    return done
            self.run_note = f"ran in one process, not {settings.processes}: {why}"

        def on_event(event):  # `Ended`: the model quit mid-run; its last frames count too
            if isinstance(event, (messages.Frames, messages.Ended)) and event.done > 0:
                progress(event.t, event.done - 1)
        command = messages.Simulate(folder=str(cache.folder), n_segments=cache.meta["n_segments"],
                                    settings=settings.as_dict(), start_frame=start_frame, extend=extend)
        try:
            result = self.call(command, on_event=on_event).result()
        except Exception:  # a crash, or the run failed (NaN, NEURON's error): its frames done stay
            done = _rows_complete(cache.frames, cache.frames_done)  # written, not yet reported
            if done > cache.frames_done:
                progress(settings.time_of(done - 1), done - 1)
            self._spikes_into(cache)
            raise
        if result["done"] > cache.frames_done:  # the last frames came after the last event
            progress(settings.time_of(result["done"] - 1), result["done"] - 1)
        self._spikes_into(cache, result.get("spikes"))
        if result.get("note"):
            self.run_note = "; ".join(filter(None, (self.run_note, result["note"])))
        return result["done"]

    def _spikes_into(self, cache, path=None):
        """The child saves spikes.npz in its own folder (the cache may have moved since)."""
        source = Path(path) if path else self.folder / "spikes.npz"
        if source.is_file():
            shutil.copyfile(source, Path(cache.folder) / source.name)

    def cancel(self, grace=CANCEL_GRACE):
        """Stop the command in flight: the child stops a run within a chunk; one that does
        not answer within `grace` seconds (a model stuck in its own code) is killed. A load
        cannot stop half-way: its process is killed at once."""
        self._cancelled = self._cancel_asked = True
        if self._loading:
            self.kill()
            return
        if self._mpi is not None:  # every rank stops at the same chunk once rank 0 sees the file
            self._mpi.cancel()
        with self._lock:
            if not self._pending and self._mpi is None:
                return
            try:
                self._write(messages.Cancel())
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
        if mpi is not None and mpi.running:
            _kill_group(mpi.process.pid)

    def kill(self):
        """End the child (and the compilers it may have started) and any MPI run now."""
        self._cancelled = True
        mpi = self._mpi
        if mpi is not None and mpi.running:
            _kill_group(mpi.process.pid)
        if self.alive:
            _kill_group(self.pid)

    def close(self):
        """Ask the child to exit, killing it if it does not within a second; remove its folder."""
        if self.alive:
            try:
                with self._lock:
                    self._write(messages.Close())
                self._process.wait(timeout=1.0)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the reader threads ------------------------------------------------------------------
    def _write(self, message, ident=None):
        self._process.stdin.write(messages.encode(message, ident).encode())
        self._process.stdin.flush()

    def _read(self):
        for line in self._process.stdout:
            try:
                ident, message = messages.decode(line)
            except messages.ProtocolError as exc:
                self._note_log(f"[NEURON Live] {exc}\n".encode())
                continue
            if isinstance(message, messages.Reply):
                self._reply(ident, message)
            else:
                self._event(message)
        self.returncode = self._process.wait()
        with self._lock:
            pending, self._pending = self._pending, {}
        for future, _, _ in pending.values():
            future.set_exception(self._gone_error())

    def _read_log(self):
        """The child's stderr (the model's prints, NEURON's messages, a crash's traceback):
        the first LOG_CAP bytes to the log file, the last LOG_TAIL bytes kept for messages.
        A model that floods its output fills neither the disk nor Blender's memory."""
        stream = self._process.stderr
        while chunk := stream.read1(1 << 16):
            self._note_log(chunk)
        self._log.close()

    def _note_log(self, chunk):
        if self._log_size < LOG_CAP:
            kept = chunk[:LOG_CAP - self._log_size]
            self._log.write(kept)
            self._log.flush()
            if self._log_size + len(chunk) >= LOG_CAP:
                self._log.write(b"\n[NEURON Live: the rest of the model's output is not kept]\n")
        self._log_size += len(chunk)
        with self._lock:
            self._log_tail.append(chunk)
            while sum(map(len, self._log_tail)) > LOG_TAIL and len(self._log_tail) > 1:
                self._log_tail.popleft()

    def _watch_memory(self):
        """Stop the child once its own memory passes `memory_limit` (before the machine swaps)."""
        while self.alive:
            limit = self.memory_limit
            used = anonymous_memory(self.pid) if limit else None
            if used is not None and used > limit:
                self._over_memory = used
                _kill_group(self.pid)
                return
            time.sleep(MEMORY_POLL)

    def _event(self, message):
        if isinstance(message, messages.Ended):
            self._ended = message
        with self._lock:
            handlers = [on_event for _, on_event, _ in self._pending.values() if on_event]
        for on_event in handlers:
            on_event(message)

    def _reply(self, ident, reply):
        with self._lock:
            future, _, convert = self._pending.pop(ident, (None, None, None))
        if future is None:
            return
        if not reply.ok:
            future.set_exception(self._error(reply))
            return
        try:
            future.set_result(convert(reply.result) if convert else reply.result)
        except Exception as exc:  # a model file that does not read back: say so, with the file
            future.set_exception(exc)

    def _error(self, reply):
        if reply.actions is not None:
            return MenuOnlyModel(self.label, [MenuAction(**action) for action in reply.actions])
        kind = _ERRORS.get(reply.type, RuntimeError)
        text = reply.error
        if kind is RuntimeError and reply.type not in text:
            text = f"{reply.type}: {text}"
        return kind(text)

    def _gone_error(self):
        """Why the child answered nothing: cancelled, over memory, the model's own quit, or a crash."""
        code = self._process.poll() if self.returncode is None else self.returncode
        name = Path(self.label).name
        if self._over_memory is not None:
            return MemoryLimit(f"{self.label}: the NEURON process running the model was stopped: it used "
                               f"{_gigabytes(self._over_memory)}, over the memory limit of "
                               f"{_gigabytes(self.memory_limit)} (NEURON Live's preferences set the limit)")
        if self._cancelled:
            return Cancelled(f"Cancelled: the NEURON process running {name} was stopped")
        if self._ended is not None:
            return ModelEnded(f"{self.label}: the model ended its NEURON process itself ({self._ended.how}) "
                              f"at t = {self._ended.t:.4g} ms; the frames done are kept")
        how = _exit_status(code)
        tail = self.log_tail()
        return HostCrashed(f"{self.label}: the NEURON process running the model {how}"
                           + (f"; its last output:\n{tail}" if tail else " (it printed nothing)"))


# The child's errors as the parent raises them again: the same classes a thread host raises.
_ERRORS = {cls.__name__: cls for cls in (ModelLoadError, MechanismError, MechanismConflict, NeedsOwnProcess,
                                         SimulationError, CacheError, SettingsError, ExperimentError)}


def _keeping_meta(cache, progress):
    """`progress` that also keeps the parent's cache meta (the child writes only the rows):
    frames done at once, meta.json at most every half second."""
    saved = [time.monotonic()]

    def arrived(t, frame):
        cache.meta["frames_done"] = frame + 1
        if time.monotonic() - saved[0] > 0.5:
            saved[0] = time.monotonic()
            cache.save_meta()
        progress(t, frame)
    return arrived


def _gigabytes(size):
    return f"{size / (1 << 30):.2f} GB" if size >= 1 << 30 else f"{size / (1 << 20):.0f} MB"


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
