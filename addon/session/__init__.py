"""The main thread's work, one module per job: loading, running, meshes, colouring, plotting,
recordings, the NEURON install; `tasks` pumps the worker thread's progress into Blender.
The scripting API (`addon/api.py`) re-exports these functions; the operators call them."""
