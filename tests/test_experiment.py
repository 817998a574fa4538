"""Experiments through the scripting API: probes, stimuli and parameter changes placed on a
loaded model, in both hosts, against plain NEURON's own recording of the same experiment
written by hand in hoc (a plain-NEURON subprocess: the oracle is never our own output)."""
import subprocess
import sys

import numpy as np
import pytest

from conftest import HOSTS, isolated_env, neuron_site, plain_neuron_json, session_of, write

CELL = """
create soma, dend
connect dend(0), soma(1)
soma { L = 20  diam = 20  insert hh }
dend { L = 300  diam = 2  nseg = 15  insert hh  gnabar_hh = 0.02  insert pas }
tstop = 20
"""
# The same cell with the experiment written by hand, recorded by NEURON itself at every step.
PLAIN = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
h.load_file("cell.hoc")
{hoc}
t = h.Vector().record(h._ref_t)
records = {{key: h.Vector().record(getattr(h, sec)(x)._ref_v, sec=getattr(h, sec))
           for key, sec, x in {probes!r}}}
h.finitialize(-65)
h.continuerun(h.tstop)
print(json.dumps({{"t": list(t), **{{key: list(v) for key, v in records.items()}}}}))
"""
PROBES = [("soma(0.5).v", "soma", 0.5), ("dend(0.8).v", "dend", 0.8)]
STIM = "objref stim\ndend stim = new IClamp(0.8)\nstim.del = 2\nstim.dur = 10\nstim.amp = {amp}\n"


def plain(folder, hoc, tmp_path):
    code = PLAIN.format(folder=str(folder), site=neuron_site(), hoc=f"h({hoc!r})", probes=PROBES)
    return {key: np.asarray(value) for key, value in plain_neuron_json(code, tmp_path).items()}


def assert_same(ours, theirs, keys=("t", "soma(0.5).v", "dend(0.8).v")):
    for key in keys:
        assert len(ours[key]) == len(theirs[key]), key
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-6, rtol=0, err_msg=key)


@pytest.fixture
def cell(nl, scene, tmp_path):
    def load(host="PROCESS"):
        path = write(tmp_path / "model", "cell.hoc", CELL)
        nl.load_model(str(path), host=host)
        return path
    return load


@pytest.mark.parametrize("host", HOSTS)
def test_a_clamp_placed_on_a_dendrite_equals_the_same_iclamp_in_hoc(nl, cell, host, tmp_path):
    path = cell(host)
    for _, section, x in PROBES:
        nl.add_probe(section, x)
    stim = nl.add_stimulus("IClamp", "dend", 0.8, amp=0.5, delay=2, dur=10)
    nl.run()
    traces = nl.probe_traces()
    assert set(traces) == {"t", "soma(0.5).v", "dend(0.8).v"}
    assert_same(traces, plain(path.parent, STIM.format(amp=0.5), tmp_path))
    assert traces["soma(0.5).v"].max() > 0, "the clamp on the dendrite fires the soma"
    assert len(traces["t"]) == int(round(20 / 0.025)) + 1, "every time step, not the frame rate"
    stim.set(amp=0.1)
    nl.run()
    assert_same(nl.probe_traces(), plain(path.parent, STIM.format(amp=0.1), tmp_path))
    stim.remove()
    nl.run()
    assert_same(nl.probe_traces(), plain(path.parent, "", tmp_path))


@pytest.mark.parametrize("host", HOSTS)
def test_a_scaled_conductance_equals_the_model_edited_by_hand(nl, cell, host, tmp_path):
    path = cell(host)
    for _, section, x in PROBES:
        nl.add_probe(section, x)
    nl.add_stimulus("IClamp", "dend", 0.8, amp=0.5, delay=2, dur=10)
    change = nl.set_parameter("gnabar_hh", scale=0.5, where="dend")
    nl.set_parameter("e_pas", value=-60, where=["dend"])
    nl.set_parameter("Ra", scale=2)
    edited = STIM.format(amp=0.5) + ("dend { gnabar_hh = 0.01  e_pas = -60 }\n"
                                     "forall Ra = Ra * 2\n")
    nl.run()
    assert_same(nl.probe_traces(), plain(path.parent, edited, tmp_path))
    change.remove()
    nl.run()
    restored = STIM.format(amp=0.5) + "dend { e_pas = -60 }\nforall Ra = Ra * 2\n"
    assert_same(nl.probe_traces(), plain(path.parent, restored, tmp_path))


def test_a_synapse_and_a_voltage_clamp(nl, cell, tmp_path):
    path = cell()
    for _, section, x in PROBES:
        nl.add_probe(section, x)
    nl.add_stimulus("Exp2Syn", "dend", 0.8, tau1=0.5, tau2=3, e=0, start=2, number=3, interval=4,
                    weight=0.02, delay=1)
    nl.add_stimulus("SEClamp", "soma", 0.5, dur1=5, amp1=-65, dur2=5, amp2=-20, rs=0.5)
    hoc = ("objref syn, ns, nc, se\ndend syn = new Exp2Syn(0.8)\nsyn.tau1 = 0.5\nsyn.tau2 = 3\n"
           "ns = new NetStim()\nns.start = 2\nns.number = 3\nns.interval = 4\nns.noise = 0\n"
           "nc = new NetCon(ns, syn)\nnc.weight = 0.02\nnc.delay = 1\n"
           "soma se = new SEClamp(0.5)\nse.dur1 = 5\nse.amp1 = -65\nse.dur2 = 5\nse.amp2 = -20\nse.rs = 0.5\n")
    nl.run()
    traces = nl.probe_traces()
    assert_same(traces, plain(path.parent, hoc, tmp_path))
    assert np.ptp(traces["dend(0.8).v"]) > 1, "the synapse moves the dendrite"


def test_a_probe_at_a_point_goes_to_the_nearest_segment_on_the_centre_lines(nl, cell, scene):
    cell()
    model = session_of(nl).model
    props = scene.neuron_live
    dend = model.section_names.index("dend")
    xyz = model.locate([dend], [0.62])[0].astype(np.float64)
    middle = np.array([(model.points[:, i].min() + model.points[:, i].max()) / 2 for i in range(3)])
    world = (xyz + [0, 0.8, 0] - middle) * props.scale  # on the tube's surface, 0.8 µm off the axis
    probe = nl.add_probe(location=tuple(world), variables=("v", "m_hh"))
    assert probe.label == "dend(0.633333)", "the centre of dend's segment 10 of 15 holds x = 0.62"
    assert probe.keys == ["dend(0.633333).v", "dend(0.633333).m_hh"]
    markers = [obj for obj in scene.objects if obj.get("neuron_live_entry") == probe.id]
    assert len(markers) == 1 and markers[0].name == "dend(0.633333)"
    np.testing.assert_allclose(markers[0].location, (model.locate([dend], [0.633333])[0] - middle) * props.scale,
                               atol=1e-4)
    with pytest.raises(nl.addon.engine.experiment.ExperimentError, match="No cell there"):
        nl.add_probe(location=(50.0, 50.0, 50.0))
    nl.run()
    assert "dend(0.633333).m_hh" in nl.probe_traces()


def test_bad_input_is_refused_with_the_reason(nl, cell):
    cell()
    error = nl.addon.engine.experiment.ExperimentError
    with pytest.raises(error, match=r"soma has no parameter 'g_pas'; it has: Ra, cm, .*gnabar_hh"):
        nl.set_parameter("g_pas", scale=2, where="soma")
    with pytest.raises(error, match="finite"):
        nl.add_stimulus("IClamp", "dend", 0.5, amp=float("nan"))
    with pytest.raises(error, match="dur must not be negative"):
        nl.add_stimulus("IClamp", "dend", 0.5, dur=-1)
    with pytest.raises(error, match="interval must not be negative"):
        nl.add_stimulus("ExpSyn", "dend", 0.5, interval=-5)
    with pytest.raises(error, match="No section 'axon'"):
        nl.add_probe("axon", 0.5)
    with pytest.raises(error, match="No stimulus 'Clamp'.*IClamp"):
        nl.add_stimulus("Clamp", "dend", 0.5)
    with pytest.raises(error, match="where='basal'"):
        nl.set_parameter("gnabar_hh", value=0.1, where="basal")
    with pytest.raises(error, match="value= or scale="):
        nl.set_parameter("gnabar_hh")
    probe = nl.add_probe("dend", 0.5, variables=("cai",))
    with pytest.raises(error, match="has no 'cai'"):
        nl.run()
    probe.remove()
    assert nl.experiment_dict()["probes"] == []


def test_a_model_point_process_with_its_parameters_from_neuron(nl, cell):
    cell()
    catalogue = nl.catalogue()
    assert catalogue["point_processes"]["AlphaSynapse"]["gmax"]["units"] == "uS"
    assert "NetStim" not in catalogue["point_processes"], "an artificial cell has no place on a section"
    nl.add_probe("soma", 0.5)
    stim = nl.add_stimulus("AlphaSynapse", "soma", 0.5, onset=2, tau=1, gmax=0.05, e=0)
    with pytest.raises(nl.addon.engine.experiment.ExperimentError, match="AlphaSynapse has no parameter 'amp'"):
        stim.set(amp=1)
    nl.run()
    assert nl.probe_traces()["soma(0.5).v"].max() > 0


def test_runs_are_kept_named_played_compared_and_survive_reopening(nl, cell, tmp_path):
    import bpy
    cell()
    nl.add_probe("soma", 0.5)
    stim = nl.add_stimulus("IClamp", "soma", 0.5, amp=0.05, delay=2, dur=10)
    nl.run()
    stim.set(amp=0.8)
    nl.run()
    nl.set_parameter("gnabar_hh", scale=0.5)
    nl.run(tstop=15)
    names = [run["name"] for run in nl.runs()]
    assert names == ["Run 1: IClamp at soma(0.5)", "Run 2: IClamp amp 0.8",
                     "Run 3: tstop 15, gnabar_hh × 0.5 (all)"]
    assert all(run["bytes"] > 0 for run in nl.runs())
    first, second = nl.probe_traces(run="Run 1"), nl.probe_traces(run=2)
    assert first["soma(0.5).v"].max() < 0 < second["soma(0.5).v"].max()
    compared = nl.compare_runs("Run 1", "Run 2")
    assert compared["probes"]["soma(0.5).v"] > 50 and compared["max_abs_difference"] > 50
    difference = nl.show_difference("Run 1", "Run 2")
    run1, run2 = (nl.addon.engine.FrameCache.open(nl.runs()[i]["folder"]) for i in (0, 1))
    np.testing.assert_array_equal(difference.frames[:], np.asarray(run2.frames) - np.asarray(run1.frames))
    assert session_of(nl).cache is difference
    props = bpy.context.scene.neuron_live
    assert props.vmin == -props.vmax and props.vmax > 50 and props.palette == "vlag", "diverging, symmetric"
    plot = nl.plot_probes(runs=["Run 1", "Run 2"], show=False)
    assert plot.labels == ["soma(0.5).v · Run 1: IClamp at soma(0.5)", "soma(0.5).v · Run 2: IClamp amp 0.8"]
    np.testing.assert_array_equal(plot.lines[1][1], second["soma(0.5).v"])
    cache = nl.play_run("Run 1")
    np.testing.assert_allclose(cache.frames[:, 0].max(), first["soma(0.5).v"].max(), atol=5)
    blend = tmp_path / "saved.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    assert [run["name"] for run in nl.runs()] == names
    np.testing.assert_array_equal(nl.probe_traces(run="Run 2")["soma(0.5).v"], second["soma(0.5).v"])
    nl.delete_run("Run 1")
    assert [run["name"] for run in nl.runs()] == names[1:]


@pytest.mark.parametrize("cvode", [False, True])
def test_the_exported_script_reproduces_the_traces_in_plain_neuron(nl, cell, tmp_path, cvode):
    cell()
    nl.run(cvode=cvode, atol=1e-4)  # the scene's settings go into the script
    for _, section, x in PROBES:
        nl.add_probe(section, x, variables=("v", "m_hh"))
    nl.add_stimulus("IClamp", "dend", 0.8, amp=0.5, delay=2, dur=10)
    nl.add_stimulus("ExpSyn", "soma", 0.5, tau=2, e=0, start=12, number=1, weight=0.05)
    nl.set_parameter("gkbar_hh", scale=1.5, where="soma")
    nl.set_parameter("Ra", value=80)
    nl.run()
    ours = nl.probe_traces()
    script = nl.export_experiment(tmp_path / "export" / "experiment.py")
    env = {**isolated_env(tmp_path), "NEURON_MODULE_OPTIONS": "-nogui",
           "PYTHONPATH": neuron_site()}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(script.with_suffix(".npz")) as theirs:
        assert sorted(theirs.files) == sorted(ours)
        for key in ours:
            np.testing.assert_allclose(ours[key], theirs[key], atol=1e-6, rtol=0, err_msg=key)


@pytest.mark.parametrize("host", HOSTS)
def test_the_probe_plot_grows_during_a_run(nl, cell, host, scene):
    cell(host)
    nl.add_probe("soma", 0.5)
    views = nl.addon.session.experiment_views
    lengths, swaps, stalls = [], [], []

    def watch(task):
        import time
        started = time.perf_counter()
        swaps.append(views.live_plot.refresh(scene))
        stalls.append(time.perf_counter() - started)
        lengths.append(len(nl.probe_traces().get("t", ())))
    nl.run(tstop=5)
    nl.plot_probes()  # the plot the user opened (and matplotlib imported)
    task = nl.run(tstop=12000, frames_per_ms=0.1, wait_done=False)  # about a second of wall time
    nl.addon.session.tasks.wait(task, on_progress=watch)
    views.live_plot.finish()
    final = len(nl.probe_traces()["t"])
    assert abs(final - (12000 * 40 + 1)) <= 1, final  # (t summed over 480,000 steps of 0.025 ms)
    partial = [n for n in lengths if 0 < n < final]
    assert len(set(partial)) >= 2, f"the traces so far arrive during the run: {sorted(set(lengths))[:10]}"
    assert any(swaps), "the plot's picture was swapped in during the run"
    assert max(stalls) < 0.05, f"main thread per refresh: {max(stalls) * 1e3:.1f} ms (drawing is off it)"
