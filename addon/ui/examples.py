"""The bundled example models (the add-on's examples/ folder) and the "Load Example" menu.

Each entry is loaded exactly as a user's file is: the menu's buttons are the Load NEURON
Model operator with the example's path (and, for the reconstructed cell, the soma clamp
a user would tick), so an example exercises the same path a newcomer's own model takes.
"""
from dataclasses import dataclass
from pathlib import Path

import bpy

FOLDER = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Example:
    label: str
    path: str         # inside examples/
    description: str  # one line: what it shows
    clamp: bool = False  # add the current clamp at the soma (a morphology has no stimulus)

    @property
    def file(self):
        return FOLDER / self.path


EXAMPLES = (
    Example("Ball and Stick", "ball_and_stick.hoc",
            "One cell (soma with hh, passive dendrite) firing under a current clamp"),
    Example("Reconstructed Cell", "reconstructed/h10.CNG.swc",
            "A cortical neuron's real morphology (SWC), driven by a clamp at the soma", clamp=True),
    Example("Network", "network/ring.hoc",
            "A ring of 12 cells linked by NetCons: one spike travels round it"),
    Example("Own Mechanism", "hoc_custom_mod/cell.hoc",
            "A cell with its own .mod file, compiled when it loads"),
    Example("Menu Model", "menu_model/mosinit.hoc",
            "A ModelDB-style entry that only builds a menu: pick one of its buttons"),
)


def example_of(filepath):
    """The Example whose file `filepath` is, or None."""
    if not filepath:
        return None
    path = Path(filepath).resolve()
    return next((example for example in EXAMPLES if example.file == path), None)


class NEURONLIVE_MT_examples(bpy.types.Menu):
    """Models bundled with the add-on: load one to see NEURON Live work in a click"""
    bl_idname = "NEURONLIVE_MT_examples"
    bl_label = "Load Example"

    def draw(self, context):
        for example in EXAMPLES:
            button = self.layout.operator("neuron_live.load_model", text=f"{example.label}: {example.description}",
                                          icon="FILE_SCRIPT")
            button.filepath, button.add_clamp = str(example.file), example.clamp


CLASSES = (NEURONLIVE_MT_examples,)
