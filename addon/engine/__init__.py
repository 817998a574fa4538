"""The simulation engine: no bpy, so it runs in plain Python and under MPI too.

`worker.Worker` owns every NEURON call on one thread; `simulate.simulate` steps NEURON
in wall-time-bounded chunks and samples at frame times into a `cache.FrameCache`.
"""
from .cache import CacheError, FrameCache
from .simulate import RunSettings, SimulationError, simulate
from .worker import Worker

__all__ = ("CacheError", "FrameCache", "RunSettings", "SimulationError", "Worker", "simulate")
