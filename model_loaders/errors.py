"""The one exception family of model loading, so callers catch `ModelLoadError` for all."""


class ModelLoadError(RuntimeError):
    """A model failed to load; the message names the file (and line when known)."""


class NeedsOwnProcess(ModelLoadError):
    """The model cannot load beside what this process already holds, or would end the
    process (quit(), sys.exit(), os._exit()): it must run in a NEURON process of its own.
    Raised before anything of the model runs, so the loaded model stays as it was."""
