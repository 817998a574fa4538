"""NEURON for Blender's Python: which one is in use, install the bundled one, or use one
installed elsewhere."""
from ..engine.state import Task, session
from ..install import neuron_setup
from ..scene import cache_files
from .tasks import start, wait


def neuron_status():
    """Which NEURON Blender's Python would import (without importing it)."""
    return neuron_setup.neuron_status()


def install_neuron(*, wait_done=True, on_line=None):
    """Install NEURON into the extension's user folder: bundled wheels first, then PyPI."""
    target = cache_files.user_folder("site-packages")
    task = Task(label="NEURON installation", future=None)

    def line(text):
        task.message = text[-120:]
        if on_line:
            on_line(text)

    task.future = session.worker.submit(neuron_setup.install_neuron, target, on_line=line,
                                        cancelled=task.cancel.is_set)
    task.on_done = _install_done
    start(task)
    return wait(task) if wait_done else task


def _install_done(task):
    error = task.future.exception()
    session.message = f"Installing NEURON failed: {error}" if error else f"Installed {task.future.result().summary()}"


def use_existing_neuron(folder):
    """Use a NEURON installed elsewhere (site-packages folder or NEURONHOME)."""
    return neuron_setup.use_existing_neuron(folder)

