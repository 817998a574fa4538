"""Architecture rules a test can check: bpy-free layers, lazy imports at enable."""
import subprocess
import sys
import textwrap

from conftest import REPO, isolated_env


def run_python(code, tmp_path):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, env=isolated_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_model_loaders_and_engine_run_without_bpy(tmp_path):
    """They must run in plain Python (and under MPI): importing them must not import bpy."""
    (tmp_path / "neuron_live").symlink_to(REPO)
    out = run_python(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import neuron_live.model_loaders, neuron_live.addon.engine
        print("bpy" in sys.modules)
    """, tmp_path)
    assert out.strip() == "False"


def test_no_bpy_import_statement_in_bpy_free_layers():
    for folder in (REPO / "model_loaders", REPO / "addon" / "engine"):
        for path in folder.rglob("*.py"):
            text = path.read_text()
            assert "import bpy" not in text and "from bpy" not in text, path
