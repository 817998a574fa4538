"""Run the add-on headless from this source tree, in an isolated Blender profile.

Shared by the demo, the benchmarks and the tests: the profile's environment must be
set before `import bpy`, and the add-on is enabled the way a developer installs it
from a folder (a link in the `user_default` extension repository). Blender then
installs the bundled wheels from `vendored_wheels/`, so NEURON comes from them.
"""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "bl_ext.user_default.neuron_live"


def isolate_profile(folder):
    """Point Blender's user folders at `folder` (call before importing bpy)."""
    if "bpy" in sys.modules:
        raise RuntimeError("isolate_profile() must run before bpy is imported")
    folder = Path(folder).resolve()
    os.environ["BLENDER_USER_RESOURCES"] = str(folder / "blender")
    os.environ["XDG_CACHE_HOME"] = str(folder / "xdg-cache")
    os.environ.setdefault("MPLBACKEND", "Agg")


def enable_from_source():
    """Enable NEURON Live from this repository; returns its package (the scripting API)."""
    import bpy
    import addon_utils  # importable only once bpy is

    repo = Path(bpy.utils.user_resource("EXTENSIONS", path="user_default", create=True))
    link = repo / "neuron_live"
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    addon_utils.enable(PACKAGE, default_set=True, handle_error=None)
    if PACKAGE not in sys.modules:
        raise RuntimeError(f"Enabling {PACKAGE} from {REPO} failed (see the messages above)")
    return sys.modules[PACKAGE]
