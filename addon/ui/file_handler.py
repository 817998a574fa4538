"""Drag-and-drop of a model file (or a SONATA data set) onto the 3D View (Blender 4.1+ `FileHandler`; older
Blenders have no drop import, so nothing is registered there).

The drop sets the load operator's `filepath` and invokes it; its `invoke` then loads
at once with the default options (the file browser shows them for a picked file).
"""
from ...model_loaders import SUFFIXES
from ...model_loaders.sonata import SONATA_SUFFIXES
from ..scene import compat


class NEURONLIVE_FH_model(compat.FILE_HANDLER or object):
    bl_idname = "NEURONLIVE_FH_model"
    bl_label = "NEURON model"
    bl_import_operator = "neuron_live.load_model"
    bl_file_extensions = ";".join(sorted(SUFFIXES | SONATA_SUFFIXES))  # SONATA opens as a recording

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"


CLASSES = (NEURONLIVE_FH_model,) if compat.FILE_HANDLER else ()
