"""The Blender side of NEURON Live, one sub-package per layer, bottom to top:

  engine/   bpy-free: the worker thread, chunked stepping, the frame cache, spikes, state
  shapes/   bpy-free: cell polylines and tube meshes from a Model (numpy)
  colour/   bpy-free: palettes and plots
  install/  bpy-free: NEURON for Blender's Python
  scene/    bpy: meshes, attributes, playback, materials, legend, NetCons, camera, caches
  session/  bpy, main thread: load, run, colour, plot (what the scripting API offers)
  job/      the headless main job and its command line
  ui/       properties, operators, panels, preferences, registration
  api.py    the scripting API: a facade over session/ and job/ that nothing imports

Imports point down this list only (tests/test_layers.py checks it).
"""

# The extension's own package (bl_ext.<repo>.neuron_live): the key for preferences and
# the extension's user folder.
EXTENSION_PACKAGE = __package__.rpartition(".")[0]
