"""The one exception family of model loading, so callers catch `ModelLoadError` for all."""


class ModelLoadError(RuntimeError):
    """A model failed to load; the message names the file (and line when known)."""
