"""NEURON's side of every host: the model this process's NEURON holds and what can be
done with it. The child process runs one `Engine` on its main thread; the thread host runs
one on Blender's NEURON thread. Both hosts call the same methods, so a command added here
(and in `messages`) works wherever NEURON runs. No bpy.
"""
import os
import time

from ...model_loaders import Clamp, load_model, neuron_h
from . import cores, messages
from .experiment import Experiment
from .experiment_neuron import Applied, catalogue
from .experiment_stimuli import STIMULI, stimulus_kind
from .simulate import RunSettings, simulate

LIVE_EVERY = 0.25  # s of wall time between writes of the probes' traces during a run


class Engine:
    def __init__(self):
        self.model = None
        self.experiment, self.applied = Experiment(), Applied()
        self.live = ""  # the npz the probes' traces so far go to during a run

    def load(self, path, options, *, process, on_line=None):
        """Load `path` (load_model's `options`, as the protocol carries them) and hold it."""
        options = dict(options)
        if options.get("clamp") is not None and not isinstance(options["clamp"], Clamp):
            options["clamp"] = Clamp(**options["clamp"])
        self.experiment, self.applied = Experiment(), Applied()  # the model's own values, fresh
        self.model = load_model(path, process=process, on_line=on_line, **options)
        return self.model

    def simulate(self, settings, frames, *, start_frame=0, extend=False, cancelled=lambda: False,
                 progress=lambda t, frame: None):
        """Simulate the held model into `frames` (a FrameCache, or a child's ColumnBlock on
        the parent's cache); spikes are saved beside it. Returns the frames done."""
        if not isinstance(settings, RunSettings):
            settings = RunSettings(**settings)
        if start_frame == 0 and not extend:  # every run from 0: the model's values plus the experiment
            self.applied.apply(neuron_h(), self.model, self.experiment)
        progress = self._with_live_traces(progress)
        with cores.spike_recording(neuron_h(), self.model, frames, settings, extend=extend):
            return simulate(settings, frames, start_frame=start_frame, cancelled=cancelled,
                            progress=progress, replay=extend)

    def _with_live_traces(self, progress):
        """`progress` that also writes the probes' traces so far every LIVE_EVERY seconds
        (atomically: a reader never sees half a file), for the plot that grows during a run."""
        if not self.live or self.applied.t is None:
            return progress
        written = [time.monotonic()]

        def reporting(t, frame):
            progress(t, frame)
            if time.monotonic() - written[0] >= LIVE_EVERY:
                temporary = self.live + ".part.npz"
                self.applied.save_traces(temporary)
                os.replace(temporary, self.live)
                written[0] = time.monotonic()
        return reporting

    def set_experiment(self, data, live=""):
        """Hold the experiment the next runs from 0 apply; returns notes on the entries skipped
        (their section is gone). A stimulus kind or parameter that cannot work raises here."""
        experiment = Experiment.from_dict(data)
        for stimulus in experiment.stimuli:
            if stimulus.kind in STIMULI:  # (a model's own kinds are checked where NEURON is)
                stimulus_kind(stimulus.kind, stimulus.params)
        self.experiment, self.live = experiment, str(live or "")
        stale = experiment.stale(self.model.section_names) if self.model is not None else []
        return {"notes": [f"{entry.label}: no such section in this model, skipped" for entry in stale
                          if hasattr(entry, "label")]}

    def save_traces(self, path):
        """The last run's probe traces into an npz at `path`; returns its keys."""
        return {"keys": self.applied.save_traces(path), "path": str(path)}

    def catalogue(self):
        return catalogue(neuron_h())

    def describe(self):
        """Where this NEURON runs and what it holds."""
        h = neuron_h()
        return {"pid": os.getpid(), "t": float(h.t), "n_sections": sum(1 for _ in h.allsec()),
                "model": str(self.model.path) if self.model is not None else None}


# Commands that are one Engine call, as both hosts answer them (host_child.HANDLERS, ThreadHost.request).
REQUESTS = {
    messages.Describe: lambda engine, message: engine.describe(),
    messages.SetExperiment: lambda engine, message: engine.set_experiment(message.experiment, message.live),
    messages.SaveTraces: lambda engine, message: engine.save_traces(message.path),
    messages.Catalogue: lambda engine, message: engine.catalogue(),
}
