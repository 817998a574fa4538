"""Model loading without bpy: hoc, Python and morphology files into a numpy `Model`.

Runs in plain Python (and later under MPI) as well as inside Blender.
"""
from .nrn import NeuronMissing, neuron_h
from .model import Model
from .load import ModelLoadError, load_model

__all__ = ("Model", "ModelLoadError", "NeuronMissing", "load_model", "neuron_h")
