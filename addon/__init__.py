"""The Blender layer of NEURON Live.

Modules here touch `bpy` (except `engine/` and `neuron_setup`, which never do).
`registration` holds the ordered CLASSES tuple and the handlers.
"""

# The extension's own package (bl_ext.<repo>.neuron_live): the key for preferences and
# the extension's user folder.
EXTENSION_PACKAGE = __package__.rpartition(".")[0]
