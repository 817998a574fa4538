"""The Experiment panel's operators equal the scripting API (they take a 3-D point, as a
click gives), and the experiment across reloads: kept for the same model (entries whose
section is gone are skipped with a message), fresh for another model."""
import bpy
import numpy as np
import pytest

from conftest import session_of, write

CELL = """
create soma, dend
connect dend(0), soma(1)
soma { L = 20  diam = 20  insert hh }
dend { L = 200  diam = 2  nseg = 10  insert pas }
tstop = 10
"""


def world_point(nl, scene, section, x):
    """Where section(x) is drawn (Blender's world space)."""
    model = session_of(nl).model
    xyz = model.locate([model.section_names.index(section)], [x])[0].astype(np.float64)
    middle = np.array([(model.points[:, i].min() + model.points[:, i].max()) / 2 for i in range(3)])
    return tuple((xyz - middle) * scene.neuron_live.scale)


def test_the_operators_place_what_the_api_places(nl, scene, tmp_path):
    nl.load_model(str(write(tmp_path, "cell.hoc", CELL)))
    point = world_point(nl, scene, "dend", 0.35)
    assert bpy.ops.neuron_live.add_probe(location=point, variables="v, i_pas") == {"FINISHED"}
    assert bpy.ops.neuron_live.add_stimulus(location=point, kind="IClamp", params="amp=0.4, delay=1, dur=5") \
        == {"FINISHED"}
    assert bpy.ops.neuron_live.set_parameter(name="gnabar_hh", how="SCALE", number=0.5, where="soma") \
        == {"FINISHED"}
    by_operator = nl.experiment_dict()
    nl.clear_experiment()
    nl.add_probe(location=point, variables=("v", "i_pas"))
    nl.add_stimulus("IClamp", location=point, amp=0.4, delay=1, dur=5)
    nl.set_parameter("gnabar_hh", scale=0.5, where="soma")
    by_api = nl.experiment_dict()
    for key in ("probes", "stimuli", "changes"):
        assert [{**e, "id": 0} for e in by_operator[key]] == [{**e, "id": 0} for e in by_api[key]], key
    assert by_api["probes"][0]["section"] == "dend" and by_api["probes"][0]["x"] == pytest.approx(0.35)
    names = sorted(obj.name for obj in scene.objects if "neuron_live_entry" in obj)
    assert names == ["IClamp dend(0.35)", "dend(0.35)"]
    model_points = [obj.name for obj in scene.objects if "neuron_live_model_point" in obj]
    assert model_points == [], "this cell has no point process of its own"
    with pytest.raises(RuntimeError, match="No cell there"):  # (an operator's error report, from a script)
        bpy.ops.neuron_live.add_probe(location=(9.0, 9.0, 9.0))
    with pytest.raises(RuntimeError, match="'amp=oops' is not name=number"):
        bpy.ops.neuron_live.add_stimulus(location=point, kind="IClamp", params="amp=oops")
    stimulus = by_api["stimuli"][0]["id"]
    assert bpy.ops.neuron_live.edit_stimulus(entry=stimulus, params="amp=0.9") == {"FINISHED"}
    assert nl.experiment_dict()["stimuli"][0]["params"]["amp"] == 0.9
    assert bpy.ops.neuron_live.remove_entry(entry=stimulus) == {"FINISHED"}
    assert [obj.name for obj in scene.objects if "neuron_live_entry" in obj] == ["dend(0.35)"]
    nl.run()
    nl.run(tstop=5)
    assert bpy.ops.neuron_live.show_difference() == {"FINISHED"}
    assert session_of(nl).cache.meta["difference"] == ["Run 1: gnabar_hh × 0.5 (soma)", "Run 2: tstop 5"]
    assert bpy.ops.neuron_live.plot_probes(all_runs=True) == {"FINISHED"}
    assert bpy.data.images.get("NEURON Live probes") is not None
    assert bpy.ops.neuron_live.play_run(run="Run 1") == {"FINISHED"}
    assert session_of(nl).cache.meta["n_frames"] == 21
    script = tmp_path / "exported.py"
    assert bpy.ops.neuron_live.export_experiment(filepath=str(script)) == {"FINISHED"}
    assert "IClamp" not in script.read_text() and "i_pas" in script.read_text()
    assert bpy.ops.neuron_live.delete_run(run="Run 1") == {"FINISHED"}
    assert [run["name"] for run in nl.runs()] == ["Run 2: tstop 5"]


def test_a_reload_keeps_the_experiment_and_another_model_starts_fresh(nl, scene, tmp_path):
    path = write(tmp_path, "cell.hoc", CELL)
    nl.load_model(str(path))
    nl.add_probe("dend", 0.5)
    nl.add_probe("soma", 0.5)
    nl.load_model(str(path))
    assert len(nl.experiment_dict()["probes"]) == 2, "the same model: the experiment stays"
    path.write_text(CELL.replace("create soma, dend", "create soma, dend2").replace("dend", "dend2")
                    .replace("dend22", "dend2"))
    nl.load_model(str(path))
    nl.run()
    assert set(nl.probe_traces()) == {"t", "soma(0.5).v"}
    assert "dend(0.5) skipped: its section is not in the model" in scene.neuron_live.status
    drawn = " ".join(t.text for t in panel_probe(nl, scene).texts)
    assert "(its section is gone: skipped)" in drawn, drawn
    nl.load_model(str(write(tmp_path, "other.hoc", CELL)))
    assert nl.experiment_dict()["probes"] == [], "another model starts a fresh experiment"


def test_the_headless_job_takes_the_experiment_as_options(nl, scene, tmp_path):
    import importlib.util

    from conftest import REPO
    spec = importlib.util.spec_from_file_location("job_cli", REPO / "addon" / "job" / "cli.py")
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    path = write(tmp_path, "cell.hoc", CELL)
    args = cli.parser().parse_args([str(path), "--probe", "soma(0.5):v,m_hh", "--probe", "dend(0.95)",
                                    "--stimulus", "IClamp@soma(0.5):amp=0.6,delay=1,dur=5",
                                    "--set", "gnabar_hh*0.9@soma", "--set", "e_pas=-70@dend"])
    options = cli.job_options(args)
    result = nl.run_job(path, tmp_path / "out", video=False, stills=(), engine="WORKBENCH",
                        **{key: options[key] for key in ("probes", "stimuli", "changes", "experiment")})
    with np.load(result.probes) as traces:
        assert sorted(traces.files) == ["dend(0.95).v", "soma(0.5).m_hh", "soma(0.5).v", "t"]
        assert traces["soma(0.5).v"].max() > 0, "the clamp fired the soma"
    changes = [change["name"] for change in nl.experiment_dict()["changes"]]
    assert changes == ["gnabar_hh", "e_pas"]
    exported = nl.export_experiment(tmp_path / "exported.py").with_suffix(".json")
    again = nl.run_job(path, tmp_path / "again", video=False, stills=(), engine="WORKBENCH", experiment=exported)
    with np.load(result.probes) as first, np.load(again.probes) as second:
        for key in first.files:
            np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    with pytest.raises(nl.addon.engine.experiment.ExperimentError, match="not KIND@section"):
        nl.run_job(path, tmp_path / "out2", video=False, stills=(), stimuli=["IClamp soma(0.5)"])


def test_a_moved_marker_snaps_and_moves_its_stimulus_and_a_deleted_one_removes_it(nl, scene, tmp_path):
    nl.load_model(str(write(tmp_path, "cell.hoc", CELL)))
    follow = nl.addon.session.experiment.follow_markers
    stimulus = nl.add_stimulus("IClamp", "dend", 0.15, amp=0.3)
    probe = nl.add_probe("soma", 0.5)
    marker = next(obj for obj in scene.objects if obj.get("neuron_live_entry") == stimulus.id)
    marker.location = world_point(nl, scene, "dend", 0.81)  # as a drag (G) leaves it
    assert follow(scene) == ["moved to dend(0.85)"]
    assert stimulus.label == "dend(0.85)", "snapped to the segment's centre"
    marker = next(obj for obj in scene.objects if obj.get("neuron_live_entry") == stimulus.id)
    np.testing.assert_allclose(marker.location, world_point(nl, scene, "dend", 0.85), atol=1e-5)
    marker.location = (5.0, 5.0, 5.0)  # off the cells: it goes back
    assert "stays: No cell there" in follow(scene)[0] and stimulus.label == "dend(0.85)"
    bpy.data.objects.remove(next(obj for obj in scene.objects if obj.get("neuron_live_entry") == probe.id))
    assert follow(scene) == ["removed soma(0.5)"]
    assert nl.experiment_dict()["probes"] == [] and len(nl.experiment_dict()["stimuli"]) == 1
    assert follow(scene) == [], "nothing moved: nothing changes"


def panel_probe(nl, scene, width=220):
    """The Experiment panel drawn through the layout probe (tests/gui/layout_probe.py)."""
    import sys
    from importlib import import_module
    from pathlib import Path
    from types import SimpleNamespace
    sys.path.insert(0, str(Path(__file__).resolve().parent / "gui"))
    import layout_probe
    ui = import_module(nl.__name__ + ".addon.ui.panel_experiment")
    text_fit = import_module(nl.__name__ + ".addon.ui.text_fit")
    context = SimpleNamespace(scene=scene, region=SimpleNamespace(width=width), preferences=bpy.context.preferences,
                              space_data=None)
    room = width - text_fit.MARGIN + layout_probe.PAD
    return layout_probe.probe_panel(ui.NEURONLIVE_PT_experiment, context, room, text_fit.measure(context))


def test_the_experiment_panel_draws_every_text_whole_at_the_default_width(nl, scene, tmp_path):
    nl.load_model(str(write(tmp_path, "cell.hoc", CELL)))
    nl.add_probe("dend", 0.05, variables=("v", "i_pas", "e_pas"))
    nl.add_stimulus("Exp2Syn", "dend", 0.95, tau1=0.5, tau2=3, start=2, number=3, interval=4, weight=0.02)
    nl.set_parameter("gnabar_hh", scale=0.5, where="soma")
    nl.run(tstop=2)
    nl.run(tstop=1)
    probe = panel_probe(nl, scene)
    assert probe.too_wide() == []
    drawn = " ".join(t.text for t in probe.texts)
    assert "Exp2Syn" in drawn and "Run 2: tstop 1" in drawn
    assert {idname for idname, _ in probe.buttons} >= {"neuron_live.add_probe", "neuron_live.play_run",
                                                       "neuron_live.remove_entry", "neuron_live.edit_stimulus"}


def test_the_models_own_point_processes_show_as_markers(nl, scene, tmp_path):
    nl.load_model(str(write(tmp_path, "cell.hoc", CELL + "objref stim\ndend stim = new IClamp(0.75)\n")))
    nl.add_probe("soma", 0.5)
    markers = [obj for obj in scene.objects if "neuron_live_model_point" in obj]
    assert [obj.name for obj in markers] == ["IClamp dend(0.75) · model's"]
    np.testing.assert_allclose(markers[0].location, world_point(nl, scene, "dend", 0.75), atol=1e-5)
    nl.add_probe("dend", 0.5)
    assert len([obj for obj in scene.objects if "neuron_live_model_point" in obj]) == 1, "made once per load"


def test_an_experiment_runs_in_one_process_and_says_so(nl, scene, tmp_path):
    nl.load_model(str(write(tmp_path, "cell.hoc", CELL)))
    nl.add_probe("soma", 0.5)
    nl.run(processes=2)
    assert "soma(0.5).v" in nl.probe_traces()
    assert "the experiment ran in one process" in scene.neuron_live.status


def test_the_parameter_menu_lists_what_neuron_reports(nl, scene, tmp_path):
    import sys
    from importlib import import_module
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent / "gui"))
    import layout_probe
    ui = import_module(nl.__name__ + ".addon.ui.panel_experiment")
    nl.load_model(str(write(tmp_path, "cell.hoc", CELL)))

    def buttons():
        probe = layout_probe.Probe(len)
        layout = layout_probe.Layout(probe, 600)
        ui.NEURONLIVE_MT_parameters.draw(layout_probe._Self(layout), bpy.context)
        return [(idname, getattr(button, "name", "")) for idname, button in probe.buttons], probe.texts
    assert buttons()[0] == [("neuron_live.read_catalogue", "")]
    assert bpy.ops.neuron_live.read_catalogue() == {"FINISHED"}
    listed, texts = buttons()
    names = [name for _, name in listed]
    assert {"Ra", "cm", "gnabar_hh", "el_hh", "g_pas", "e_pas", "ena"} <= set(names), names
    assert "gnabar_hh (S/cm2)" in [t.text for t in texts]
