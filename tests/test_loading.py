"""Loading models: formats, and bad input that must never crash Blender."""
import pytest

import bpy
from conftest import EXAMPLES, MORPHOLOGIES


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_operator_builds_the_cell(nl, scene):
    result = bpy.ops.neuron_live.load_model(filepath=str(EXAMPLES / "ball_and_stick.hoc"))
    assert result == {"FINISHED"}
    cells = [o for o in scene.objects if o.get("neuron_live_cells")]
    assert len(cells) == 1 and len(cells[0].data.vertices) > 0
    assert cells[0].data.validate() is False, "the mesh is valid as built"
    props = scene.neuron_live
    assert props.model_path.endswith("ball_and_stick.hoc") and props.tstop == 40
    assert "2 sections" in props.status


@pytest.mark.skipif(not (MORPHOLOGIES / "h10.CNG.swc").exists(), reason="shared morphologies absent")
def test_swc_morphology_gets_hh_and_spikes(nl, scene):
    model = nl.load_model(str(MORPHOLOGIES / "h10.CNG.swc"))
    assert model.n_sections > 20 and (model.section_type == 1).any()
    from neuron import h
    soma = next(sec for sec in h.allsec() if "soma" in sec.name())
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 1, 10, 2.0
    cache = nl.run(tstop=10)
    assert cache.meta["complete"]


def test_broken_hoc_names_file_and_line(nl, scene, tmp_path):
    path = write(tmp_path, "broken.hoc", "create soma\nsoma { L = 10 \nthis is not hoc\n")
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"broken\.hoc:3: syntax error"):
        nl.load_model(str(path))


def test_python_model_that_raises_names_file_and_line(nl, scene, tmp_path):
    path = write(tmp_path, "raises.py", "from neuron import h\nsoma = h.Section()\n\nraise ValueError('bad parameter')\n")
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"raises\.py:4: ValueError: bad parameter"):
        nl.load_model(str(path))


def test_operator_reports_instead_of_crashing(nl, scene, tmp_path):
    path = write(tmp_path, "raises.py", "raise RuntimeError('boom')\n")
    with pytest.raises(RuntimeError, match="boom"):  # bpy.ops turns an ERROR report into this
        bpy.ops.neuron_live.load_model(filepath=str(path))
    assert not [o for o in scene.objects if o.get("neuron_live_cells")]


@pytest.mark.parametrize("name, text", [
    ("quits.hoc", "create soma\nquit()\n"),
    ("quits.py", "from neuron import h\nh.quit()\n"),
])
def test_quit_is_refused_before_running(nl, scene, tmp_path, name, text):
    path = write(tmp_path, name, text)
    with pytest.raises(nl.model_loaders.ModelLoadError, match=rf"{name}:2: calls quit\(\)"):
        nl.load_model(str(path))


def test_sys_exit_is_caught(nl, scene, tmp_path):
    path = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"sys.exit\(3\)"):
        nl.load_model(str(path))


@pytest.mark.parametrize("name, text, match", [
    ("notes.txt", "hello", "not a model file"),
    ("empty.hoc", "// nothing here\n", "created no sections"),
    ("garbage.swc", "this is not\na morphology\n", "garbage.swc"),
])
def test_not_a_model(nl, scene, tmp_path, name, text, match):
    path = write(tmp_path, name, text)
    with pytest.raises(nl.model_loaders.ModelLoadError, match=match):
        nl.load_model(str(path))


def test_missing_file(nl, scene, tmp_path):
    with pytest.raises(nl.model_loaders.ModelLoadError, match="no such file"):
        nl.load_model(str(tmp_path / "nope.hoc"))


def test_model_relative_paths_resolve_from_its_folder(nl, scene, tmp_path):
    (tmp_path / "params.hoc").write_text("soma_diam = 17\n")
    path = write(tmp_path, "main.hoc", 'load_file("params.hoc")\ncreate soma\nsoma { L = 10 diam = soma_diam }\n')
    model = nl.load_model(str(path))
    assert abs(model.points[:, 3].max() - 17) < 1e-4
