"""bpy-free: find, install or point at NEURON for Blender's Python."""
