"""A run across MPI ranks for a model in a process of its own (`processes` > 1): every rank
loads the model as the child did and runs `record.main_into` on its own cells, writing
their columns of the one frame cache; rank 0 reports over mpiexec's stdout. No bpy."""
import json
import subprocess
from pathlib import Path

from . import cores
from .child_boot import child_command, child_environment
from .errors import Cancelled, SimulationError

LOG_LINES = 12


def mpi_refusal(load_options, extend):
    """Why this run cannot go across ranks (None: it can)."""
    if cores.mpiexec() is None:
        return "mpiexec is not on PATH (install OpenMPI or MPICH)"
    if extend:
        return "Continue steps on from the one process's NEURON"
    if load_options is None:
        return "the model was not loaded by this process"
    return None


class MpiRun:
    """One mpiexec of the model's ranks; `cancel` asks every rank to stop at the same chunk."""

    def __init__(self, folder, label, load_options, exit_status):
        self.folder, self.label, self.load_options = Path(folder), label, dict(load_options)
        self.cancel_file = self.folder / "cancel-mpi"
        self.process, self.cancelled = None, False
        self._exit_status = exit_status

    def cancel(self):
        self.cancelled = True
        self.cancel_file.touch()

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def simulate(self, settings, cache, progress):
        """Returns (frames done, None) or (None, why the model cannot run across ranks:
        then nothing was written)."""
        self.cancel_file.unlink(missing_ok=True)
        args = [self.label, str(cache.folder), json.dumps(settings.as_dict()), json.dumps(self.load_options),
                str(self.cancel_file)]
        command = [cores.mpiexec(), "-n", str(settings.processes), *child_command(mpi_args=args)]
        with open(self.folder / "mpi.log", "wb") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                            cwd=self.folder, env=cores.mpi_environment(child_environment()),
                                            start_new_session=True)
            result = self._read(progress)
            code = self.process.wait()
        if result is not None and "refused" in result:
            return None, f"the model cannot run across processes: {result['refused']}"
        if result is None or "error" in result:
            raise self._failure(settings, result, code)
        if result["done"] > 0:
            progress(settings.time_of(result["done"] - 1), result["done"] - 1)
        return result["done"], None

    def _read(self, progress):
        result = None
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a model's print that reached mpiexec's stdout
            if message.get("event") == "frames":
                progress(message["t"], message["done"] - 1)
            elif "event" not in message:
                result = message
        return result

    def _failure(self, settings, result, code):
        if self.cancelled:
            return Cancelled(f"Cancelled: the MPI processes running {Path(self.label).name} were stopped")
        tail = (self.folder / "mpi.log").read_text(errors="replace").strip().splitlines()[-LOG_LINES:]
        why = result["error"] if result else f"mpiexec {self._exit_status(code)}"
        return SimulationError(f"{self.label}: the run across {settings.processes} processes failed: {why}"
                               + ("; their last output:\n" + "\n".join(tail) if tail else ""))
