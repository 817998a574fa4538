"""Loading models: formats, and bad input that must never crash Blender."""
import bpy
import pytest

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


@pytest.mark.in_blender
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
    path = write(tmp_path, "raises.py",
                 "from neuron import h\nsoma = h.Section()\n\nraise ValueError('bad parameter')\n")
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
        nl.load_model(str(path), host="IN_BLENDER")  # (by default such a model gets its own process)


def test_sys_exit_is_caught(nl, scene, tmp_path):
    path = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"sys.exit\(3\)"):
        nl.load_model(str(path), host="IN_BLENDER")


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


@pytest.mark.in_blender
def test_model_relative_paths_resolve_from_its_folder(nl, scene, tmp_path):
    (tmp_path / "params.hoc").write_text("soma_diam = 17\n")
    path = write(tmp_path, "main.hoc", 'load_file("params.hoc")\ncreate soma\nsoma { L = 10 diam = soma_diam }\n')
    model = nl.load_model(str(path))
    assert abs(model.points[:, 3].max() - 17) < 1e-4


# -- models as scientists download them: mechanisms, menus, networks, run-at-load -------------

def neuron_counts():
    """NEURON's own numbers for what is loaded now: sections, segments, 3-D points (a section
    without any gets the nseg + 2 define_shape would give it, in the Model only)."""
    from neuron import h
    sections = list(h.allsec())
    return (len(sections), sum(sec.nseg for sec in sections),
            sum(sec.n3d() or sec.nseg + 2 for sec in sections))


def model_counts(model):
    return model.n_sections, model.n_segments, len(model.points)


def cell_objects(scene):
    return [o for o in scene.objects if o.get("neuron_live_cells")]


@pytest.mark.in_blender
def test_hoc_cell_with_its_own_mod_compiles_and_loads(nl, scene):
    """examples/hoc_custom_mod: mod/kleak.mod is compiled (cached by content) and used."""
    result = bpy.ops.neuron_live.load_model(filepath=str(EXAMPLES / "hoc_custom_mod" / "cell.hoc"))
    assert result == {"FINISHED"} and cell_objects(scene)
    from neuron import h
    model = nl.load_model(str(EXAMPLES / "hoc_custom_mod" / "cell.hoc"), build=False)  # via the API too
    assert model.mechanisms == ["kleak"]
    assert model_counts(model) == neuron_counts() == (4, 28, 11)
    dend = next(sec for sec in h.allsec() if "dend" in sec.name())
    assert h.ismembrane("kleak", sec=dend) and dend(0.5).kleak.gbar == pytest.approx(2e-4)
    xyz = [(sec.x3d(i), sec.y3d(i), sec.z3d(i)) for sec in h.allsec() for i in range(sec.n3d())]
    import numpy as np
    xyz = np.array(xyz)  # real 3-D points stay where NEURON has them
    np.testing.assert_allclose(model.points[:, :3].min(0), xyz.min(0), atol=1e-4)
    np.testing.assert_allclose(model.points[:, :3].max(0), xyz.max(0), atol=1e-4)
    assert "mechanism" in scene.neuron_live.status or "kleak" in " ".join(model.notes)
    assert model.point_process_names == ["IClamp"]


def test_mod_compile_error_shows_compiler_lines(nl, scene, tmp_path):
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "brokenx.mod").write_text(
        "NEURON {\n    SUFFIX brokenx\n    NONSPECIFIC_CURRENT i\n}\nBREAKPOINT {\n    i = 0.001 * (v - \n}\n")
    path = write(tmp_path, "cell.hoc", "create soma\nsoma insert brokenx\n")
    with pytest.raises(nl.model_loaders.MechanismError, match=r"brokenx\.mod:7: compiling .*\n(.|\n)*Illegal"):
        nl.load_model(str(path))
    assert "brokenx.mod:7" in scene.neuron_live.status


def test_no_c_compiler_is_said_plainly(nl, scene, tmp_path, monkeypatch):
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "needsc.mod").write_text("NEURON { SUFFIX needsc }\n")
    path = write(tmp_path, "cell.hoc", "create soma\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(nl.model_loaders.MechanismError, match="C compiler"):
        nl.load_model(str(path))


def test_mechanism_already_loaded_from_elsewhere_is_refused(nl, scene, tmp_path):
    import shutil
    nl.load_model(str(EXAMPLES / "hoc_custom_mod" / "cell.hoc"), build=False)
    copy = tmp_path / "other"
    shutil.copytree(EXAMPLES / "hoc_custom_mod", copy)
    (copy / "mod" / "kleak.mod").write_text((copy / "mod" / "kleak.mod").read_text() + "\n: changed\n")
    with pytest.raises(nl.model_loaders.MechanismError, match=r"kleak\.mod: defines the mechanism 'kleak', "
                                                              r"already loaded from .*restart Blender"):
        nl.load_model(str(copy / "cell.hoc"), host="IN_BLENDER")
    assert neuron_counts()[0] == 4, "the loaded model stays as it was"


@pytest.fixture(scope="module")
def ring(nl):
    """examples/network/ring.hoc, loaded once through the operator (its template can only
    be defined once per process, like in NEURON itself)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.neuron_live.host = "IN_BLENDER"  # the tests read its cells in Blender's NEURON
    result = bpy.ops.neuron_live.load_model(filepath=str(EXAMPLES / "network" / "ring.hoc"))
    assert result == {"FINISHED"}
    from importlib import import_module
    return import_module(nl.__name__ + ".addon.session.tasks").session.model, bpy.context.scene.neuron_live.status


@pytest.mark.in_blender
def test_network_cells_netcons_and_synapses(nl, ring):
    import numpy as np
    from neuron import h
    model, status = ring
    assert model_counts(model) == neuron_counts() == (24, 72, 120)
    assert len(model.cell_names) == 12 and model.cell_laid_out.all()
    live = [nc for nc in h.List("NetCon") if nc.postseg() is not None]
    assert model.n_netcons == len(live) == 13
    assert model.point_process_names == ["ExpSyn", "NetStim"]
    assert np.bincount(model.point_process_type).tolist() == [h.List("ExpSyn").count(), h.List("NetStim").count()]
    assert (model.netcon_source_section == -1).sum() == 1  # the NetStim's kick
    assert np.allclose(model.netcon_delay[:12], 2) and np.allclose(model.netcon_weight, 0.05)
    source, target = model.netcon_points()
    assert np.isnan(source[-1]).all() and np.isfinite(target).all()
    # Laid out on a grid: each cell keeps NEURON's shape, no two cells overlap.
    point_cell = np.repeat(model.section_cell, np.diff(model.section_point_start))
    low = np.array([model.points[point_cell == c, :3].min(0) for c in range(12)])
    high = np.array([model.points[point_cell == c, :3].max(0) for c in range(12)])
    np.testing.assert_allclose(high - low, np.broadcast_to((high - low)[0], (12, 3)), atol=1e-3)
    assert (high[:, 0] - low[:, 0]).max() == pytest.approx(model.section_length[:2].sum(), abs=1e-3)
    centers = (low + high) / 2
    gaps = np.abs(centers[:, None, :2] - centers[None, :, :2]).max(axis=2) + np.eye(12) * 1e9
    assert gaps.min() > (high - low)[:, :2].max()
    spread = centers.max(0) - centers.min(0)
    assert spread[0] < 2000 and spread[2] == pytest.approx(0, abs=1e-3), "a grid, not a 2 m stack"
    # Sources sit in their cells: NetCon i comes from cell i's soma.
    for i in range(12):
        assert (source[i] >= low[i] - 1e-3).all() and (source[i] <= high[i] + 1e-3).all()


def test_model_that_runs_at_load_is_capped_and_says_so(nl, ring):
    model, status = ring
    assert 0 < model.t_at_load < 1, "run() with tstop=200 stopped just after t=0"
    assert model.settings["tstop"] == 200
    assert "the model ran to t=0.1 ms at load" in status


@pytest.mark.in_blender
def test_redefining_a_template_is_refused_and_the_model_stays(nl, ring, scene):
    with pytest.raises(nl.model_loaders.ModelLoadError,
                       match=r"ring\.hoc:\d+: defines the hoc template 'RingCell', which is already "
                             r"defined .*restart Blender"):
        nl.load_model(str(EXAMPLES / "network" / "ring.hoc"), host="IN_BLENDER")
    assert neuron_counts()[0] == 24


def test_python_model_with_psolve_loop_is_reported(nl, scene, tmp_path):
    path = write(tmp_path, "runs.py", "from neuron import h\nsoma = h.Section(name='soma')\n"
                 "soma.insert('hh')\nh.finitialize(-65)\nwhile h.t < 3:\n    h.fadvance()\n")
    model = nl.load_model(str(path))
    assert model.t_at_load == pytest.approx(3, abs=0.05)
    assert "ran to t=3" in scene.neuron_live.status


@pytest.mark.in_blender
def test_menu_entry_lists_buttons_then_runs_the_chosen_one(nl, scene):
    entry = str(EXAMPLES / "menu_model" / "mosinit.hoc")
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as caught:
        nl.load_model(entry)
    labels = [a.label for a in caught.value.actions]
    assert labels == ["Fig. 1: one compartment", "Fig. 2: soma and dendrite"]
    assert caught.value.actions[1].command == 'restart("fig2.hoc")'
    assert scene.neuron_live.menu_actions.splitlines() == labels
    model = nl.load_model(entry, action="Fig. 1: one compartment")
    assert model_counts(model) == neuron_counts() and model.n_sections == 1
    assert not scene.neuron_live.menu_actions
    with pytest.raises(nl.model_loaders.ModelLoadError, match="has no menu button 'Fig. 9'"):
        nl.load_model(entry, action="Fig. 9")


@pytest.mark.in_blender
def test_menu_entry_through_the_operator(nl, scene):
    entry = str(EXAMPLES / "menu_model" / "mosinit.hoc")
    assert bpy.ops.neuron_live.load_model(filepath=entry) == {"CANCELLED"}
    assert not cell_objects(scene) and "builds a menu" in scene.neuron_live.status
    label = scene.neuron_live.menu_actions.splitlines()[1]
    assert bpy.ops.neuron_live.load_model(filepath=entry, action=label) == {"FINISHED"}
    assert neuron_counts()[0] == 2 and cell_objects(scene)
    assert "ran to t=0.1 ms at load" in scene.neuron_live.status  # fig2.hoc calls run()


@pytest.mark.parametrize("language, before, after", [
    ("hoc", "soma_L = 42", "soma.diam = 7"),
    ("python", "from neuron import h\nh('soma_L = 42')", "h.soma.diam = 7"),
])
@pytest.mark.in_blender
def test_pre_and_post_load_statements(nl, scene, tmp_path, language, before, after):
    path = write(tmp_path, "param.hoc", "create soma\nsoma { L = soma_L  diam = 1 }\n")
    model = nl.load_model(str(path), before=before, after=after, language=language)
    from neuron import h
    assert h.soma.L == pytest.approx(42) and model.points[:, 3].max() == pytest.approx(7)


def test_failing_statement_is_named(nl, scene, tmp_path):
    path = write(tmp_path, "plain.hoc", "create soma\n")
    with pytest.raises(nl.model_loaders.ModelLoadError, match="post-load statement failed"):
        nl.load_model(str(path), after="this is not hoc")


@pytest.mark.in_blender
def test_add_current_clamp_at_soma(nl, scene, tmp_path):
    path = write(tmp_path, "silent.py", "from neuron import h\n\ndef build():\n"
                 "    soma = h.Section(name='soma')\n    soma.L = soma.diam = 20\n    soma.insert('hh')\n"
                 "    return soma\n\ncell = build()\n")
    result = bpy.ops.neuron_live.load_model(filepath=str(path), add_clamp=True, clamp_amp=0.3,
                                            clamp_delay=1, clamp_dur=5)
    assert result == {"FINISHED"}
    from neuron import h
    clamps = [clamp for clamp in h.List("IClamp") if clamp.has_loc()]  # (an earlier model's hoc
    assert len(clamps) == 1 and clamps[0].amp == pytest.approx(0.3)  # objrefs may keep its own, on no section)
    assert "soma" in clamps[0].get_segment().sec.name()
    model = nl.load_model(str(path), build=False, clamp=dict(amp=0.3, delay=1, dur=5))
    assert model.point_process_names == ["IClamp"]
    cache = nl.run(tstop=5)
    assert float(cache.frames[:, 0].max()) > 0, "the clamp fired a spike"


def test_python2_code_gets_a_clear_message(nl, scene, tmp_path):
    path = write(tmp_path, "old.py", "from neuron import h\n\nprint 'loading'\n")
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"old\.py:3: this is Python 2 code"):
        nl.load_model(str(path))


@pytest.mark.parametrize("name, sections, points", [
    ("h10.CNG.swc", None, None), ("ca2.CNG.swc", 2070, 10287),
    ("CA1.morph.xml", 173, 2416), ("cell1.asc", 195, 4274),
])
@pytest.mark.in_blender
def test_shared_morphologies(nl, scene, name, sections, points):
    path = MORPHOLOGIES / name
    if not path.exists():
        pytest.skip("shared morphologies absent")
    model = nl.load_model(str(path), build=False)
    assert model_counts(model) == neuron_counts()
    if sections is not None:
        assert (model.n_sections, len(model.points)) == (sections, points)
    from neuron import h
    assert sum(sec.has_membrane("hh") for sec in h.allsec()) == 1, "hh in the soma (or root) only"
    assert not model.cell_laid_out.any(), "real coordinates are kept"


def test_file_handler_accepts_model_files(nl):
    handler = bpy.types.FileHandler.bl_rna_get_subclass_py("NEURONLIVE_FH_model")
    assert handler is not None
    assert handler.bl_import_operator == "neuron_live.load_model"
    assert set(handler.bl_file_extensions.split(";")) >= {".hoc", ".py", ".swc", ".asc", ".xml", ".oc", ".nrn"}


def test_load_in_background_reports_compiler_progress(nl, scene, tmp_path):
    """wait_done=False: the pump finishes the load; the compiler's lines are the progress."""
    mod = (EXAMPLES / "hoc_custom_mod" / "mod" / "kleak.mod").read_text()
    (tmp_path / "mod").mkdir()
    # A mechanism name of its own: NEURON cannot load one name from two libraries.
    (tmp_path / "mod" / "kprogress.mod").write_text(mod.replace("kleak", "kprogress"))
    entry = tmp_path / "cell.hoc"
    entry.write_text("create soma\nsoma { L = 20 diam = 20 insert kprogress }\n")
    session = nl.addon.session.tasks
    task = nl.load_model(str(entry), wait_done=False)
    messages = set()
    while session.session.task is task:
        session.pump()
        messages.add(task.message)
    assert task.future.result().n_sections == 1
    assert any(m.startswith("Compiling mechanisms") for m in messages), messages
    assert [o for o in scene.objects if o.get("neuron_live_cells")], "the pump built the mesh"
