"""The main job, headless: model → simulation → out/<name>.blend, .mp4, PNG stills and plots.

    python examples/demo.py examples/ball_and_stick.py --out out      (make demo)
    python examples/demo.py --help

Runs with the `bpy` module (Blender as a Python module); no display needed. The same job
runs inside a real Blender as `blender -b --command neuron_live MODEL [options]`. Exit
code 0 on success, 1 with a one-line reason on failure.
"""
import importlib.util
import sys
from importlib import import_module
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from headless import PACKAGE, enable_from_source, isolate_profile  # noqa: E402


def load_cli():
    """The command line (standard library only), loaded before bpy so --help is instant."""
    spec = importlib.util.spec_from_file_location("neuron_live_job_cli", REPO / "addon" / "job" / "cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_blender(args):
    """Blender with its user folders in OUT/.blender-profile (reused: wheels install once),
    NEURON Live enabled from this source tree; returns the job function."""
    isolate_profile(args.out.resolve() / ".blender-profile")
    import bpy  # noqa: F401  (after the profile is isolated)
    enable_from_source()
    return import_module(PACKAGE + ".addon.job.run").run_job


if __name__ == "__main__":
    sys.exit(load_cli().main(sys.argv[1:], prog="demo.py", prepare=start_blender))
