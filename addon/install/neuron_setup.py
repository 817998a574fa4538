"""Which NEURON Blender's Python uses, and how to get one where there is none.

No bpy and no `import neuron` here: the preferences show the status at add-on enable
time, which must stay as fast as Blender without the add-on.
"""
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WHEELS_DIR = Path(__file__).resolve().parents[2] / "vendored_wheels"  # beside the extension root
REQUIREMENTS = ("neuron==9.0.2", "seaborn==0.13.2")


class InstallError(RuntimeError):
    """Installing NEURON failed; the message carries pip's own last lines."""


@dataclass(frozen=True)
class NeuronStatus:
    version: str | None  # None when NEURON cannot be imported
    path: str | None
    compiler: str | None  # C compiler that nrnivmodl would use, for .mod files

    @property
    def found(self):
        return self.path is not None

    def summary(self):
        if not self.found:
            return "NEURON not found"
        return f"NEURON {self.version or '?'} at {self.path}"


def find_compiler():
    """The C compiler nrnivmodl would call (it honours $CC), or None."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and (found := shutil.which(name)):
            return found
    return None


def neuron_status():
    """Locate NEURON without importing it (find_spec + package metadata)."""
    importlib.invalidate_caches()
    spec = importlib.util.find_spec("neuron")
    if spec is None or not spec.origin:
        return NeuronStatus(None, None, find_compiler())
    package_dir = Path(spec.origin).parent
    version = getattr(sys.modules.get("neuron"), "__version__", None)
    if version is None:
        dist = next(importlib.metadata.distributions(name="neuron", path=[str(package_dir.parent)]), None)
        version = dist.version if dist else None
    return NeuronStatus(version, str(package_dir), find_compiler())


def add_to_path(folder, *, first):
    """Make packages in `folder` importable now, without restarting Blender."""
    folder = str(folder)
    if folder in sys.path:
        return
    if first:
        sys.path.insert(0, folder)
    else:
        site.addsitedir(folder)  # appends and runs .pth files, so Blender's numpy still wins
    importlib.invalidate_caches()


def use_existing_neuron(folder):
    """Use a NEURON installed elsewhere: a site-packages folder or NEURONHOME.

    Returns the status; raises FileNotFoundError naming where it looked.
    """
    folder = Path(folder).expanduser()
    candidates = (folder, folder / "lib" / "python", folder.parent)
    for candidate in candidates:
        if (candidate / "neuron" / "__init__.py").is_file():
            add_to_path(candidate, first=True)
            return neuron_status()
    looked = ", ".join(str(c / "neuron") for c in candidates)
    raise FileNotFoundError(f"No NEURON Python package in {folder} (looked for {looked})")


def _local_wheel_names(wheels_dir):
    """Distribution names of the vendored wheels (pip picks the ones fitting this Python)."""
    return sorted({w.name.split("-")[0].replace("_", "-").lower() for w in Path(wheels_dir).glob("*.whl")})


def install_commands(target, wheels_dir=WHEELS_DIR):
    """pip commands to try in order: offline from the vendored wheels, then from PyPI."""
    base = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            "--upgrade", "--no-compile", "--target", str(target)]  # bytecode compiles at first import: 5× faster
    commands = []
    names = _local_wheel_names(wheels_dir)
    if "neuron" in names:
        # --no-deps: the folder holds the whole locked set except numpy, which Blender ships.
        commands.append(base + ["--no-index", "--find-links", str(wheels_dir), "--no-deps", *names])
    numpy = importlib.metadata.version("numpy")
    commands.append(base + [*REQUIREMENTS, f"numpy=={numpy}"])
    return commands


def install_neuron(target, *, wheels_dir=WHEELS_DIR, on_line=None, cancelled=None):
    """Install NEURON (+ seaborn) into `target` and make it importable now.

    Tries the bundled wheels first (works offline), then PyPI. `on_line` receives pip's
    output line by line (progress); `cancelled()` returning True stops pip.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    failures = []
    for command in install_commands(target, wheels_dir):
        ok, lines = _run_streaming(command, on_line, cancelled)
        if not ok:
            failures.append("\n".join(lines[-8:]))
            continue
        add_to_path(target, first=False)
        status = neuron_status()
        if status.found:
            return status
        failures.append(f"pip finished but NEURON is still not importable from {target}")
    raise InstallError("Installing NEURON failed:\n" + "\n---\n".join(failures))


def _run_streaming(command, on_line, cancelled):
    """Run pip, forwarding its output; return (succeeded, lines)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if on_line:
            on_line(lines[-1])
        if cancelled and cancelled():
            process.kill()
            process.wait()
            raise InstallError("Installing NEURON was cancelled")
    return process.wait() == 0, lines
