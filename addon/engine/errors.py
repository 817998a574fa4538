"""The engine's errors: a failed simulation, and what can happen to the host running NEURON."""


class SimulationError(RuntimeError):
    """NEURON failed during init or run, or the state went NaN/inf."""


class HostCrashed(RuntimeError):
    """The model's NEURON process ended without answering: a crash, a kill, or the model's quit()."""


class ModelEnded(HostCrashed):
    """The model ended its own process (quit(), sys.exit(), os._exit()) during a run."""


class MemoryLimit(HostCrashed):
    """The model's NEURON process used more memory than the limit and was stopped."""


class Cancelled(RuntimeError):
    """The user cancelled: the work stopped (its process killed, for a load or a hung run)."""
