"""The preferences' NEURON status and "use an existing NEURON" (install: test_install.py)."""
from pathlib import Path

import bpy


def prefs(nl):
    return bpy.context.preferences.addons[nl.__name__].preferences


def test_status_names_version_path_and_compiler(nl):
    status = nl.neuron_status()
    assert status.found and status.version == "9.0.2"
    assert Path(status.path, "__init__.py").is_file()
    assert status.compiler, "this machine has a C compiler for .mod files"
    assert "9.0.2" in status.summary()


def test_existing_neuron_folder_is_used(nl):
    import neuron
    site_packages = Path(neuron.__file__).parent.parent
    prefs(nl).neuron_path = str(site_packages)  # the update callback applies it at once
    session = nl.addon.session.tasks.session
    assert session.message.startswith("NEURON 9.0.2")


def test_wrong_existing_folder_says_where_it_looked(nl, tmp_path):
    prefs(nl).neuron_path = str(tmp_path)
    message = nl.addon.session.tasks.session.message
    assert "No NEURON Python package" in message and str(tmp_path) in message
    prefs(nl).neuron_path = ""
