"""The one place NEURON is imported: headless options first, and only when needed.

Blender always has a display, so NEURON would open its X11 GUI; ``-nogui`` turns every
GUI call in a model (nrngui, xpanel, Graph, PlotShape) into a harmless no-op.
"""
import os

os.environ.setdefault("MPLBACKEND", "Agg")


class NeuronMissing(ImportError):
    """NEURON cannot be imported; the message says how to get it."""


def neuron_h():
    """Return NEURON's ``h``, importing NEURON headless on first use."""
    os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")
    try:
        from neuron import h
    except ImportError as exc:
        raise NeuronMissing(
            "NEURON is not installed in Blender's Python. Open Preferences > Add-ons > "
            "NEURON Live and press 'Install NEURON', or point it to an existing NEURON "
            f"installation. ({exc})"
        ) from exc
    h.load_file("stdrun.hoc")
    return h
