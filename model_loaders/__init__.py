"""Model loading without bpy: hoc, Python and morphology files into a numpy `Model`.

Runs in plain Python (and later under MPI) as well as inside Blender.
"""
from .errors import ModelLoadError
from .load import LANGUAGES, SUFFIXES, load_model
from .mechanisms import MechanismError, default_cache_folder
from .menus import MenuAction, MenuOnlyModel
from .model import Model
from .nrn import NeuronMissing, neuron_h
from .stimulus import Clamp

__all__ = ("Clamp", "LANGUAGES", "MechanismError", "MenuAction", "MenuOnlyModel", "Model",
           "ModelLoadError", "NeuronMissing", "SUFFIXES", "default_cache_folder", "load_model",
           "neuron_h")
