"""The engine's own error, shared by the steppers."""


class SimulationError(RuntimeError):
    """NEURON failed during init or run, or the state went NaN/inf."""
