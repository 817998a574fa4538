"""NEURON's side of every host: the model this process's NEURON holds and what can be
done with it. The child process runs one `Engine` on its main thread; the thread host runs
one on Blender's NEURON thread. Both hosts call the same methods, so a command added here
(and in `messages`) works wherever NEURON runs. No bpy.
"""
import os

from ...model_loaders import Clamp, load_model, neuron_h
from . import cores
from .simulate import RunSettings, simulate


class Engine:
    def __init__(self):
        self.model = None

    def load(self, path, options, *, process, on_line=None):
        """Load `path` (load_model's `options`, as the protocol carries them) and hold it."""
        options = dict(options)
        if options.get("clamp") is not None and not isinstance(options["clamp"], Clamp):
            options["clamp"] = Clamp(**options["clamp"])
        self.model = load_model(path, process=process, on_line=on_line, **options)
        return self.model

    def simulate(self, settings, frames, *, start_frame=0, extend=False, cancelled=lambda: False,
                 progress=lambda t, frame: None):
        """Simulate the held model into `frames` (a FrameCache, or a child's ColumnBlock on
        the parent's cache); spikes are saved beside it. Returns the frames done."""
        if not isinstance(settings, RunSettings):
            settings = RunSettings(**settings)
        with cores.spike_recording(neuron_h(), self.model, frames, settings, extend=extend):
            return simulate(settings, frames, start_frame=start_frame, cancelled=cancelled,
                            progress=progress, replay=extend)

    def describe(self):
        """Where this NEURON runs and what it holds."""
        h = neuron_h()
        return {"pid": os.getpid(), "t": float(h.t), "n_sections": sum(1 for _ in h.allsec()),
                "model": str(self.model.path) if self.model is not None else None}
