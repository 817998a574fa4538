#!/usr/bin/env python3
"""Record a NEURON model outside Blender into a frame cache NEURON Live opens.

    python tools/record.py model.hoc --tstop 100 --out run.nlcache

Needs NEURON in this Python (pip install neuron); never imports bpy.
"""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Import this checkout as the package `neuron_live`, whatever its folder is called.
spec = importlib.util.spec_from_file_location("neuron_live", ROOT / "__init__.py",
                                              submodule_search_locations=[str(ROOT)])
package = importlib.util.module_from_spec(spec)
sys.modules["neuron_live"] = package
spec.loader.exec_module(package)

from neuron_live.addon.engine.record import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
