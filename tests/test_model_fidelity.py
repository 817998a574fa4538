"""Load → Run with nothing else touched equals plain NEURON's own run of the same files: the
model's integrator settings (CVode and its tolerances, dt, secondorder, celsius, v_init,
tstop) carry over. The reference is a plain-NEURON subprocess (the bundled NEURON, no
Blender) running the model's entry and recording soma(0.5).v at the frame times."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import HOSTS, crossings, isolated_env, neuron_site, plain_neuron_json

CELL = """
create soma
soma { L = 20  diam = 20  insert hh }
objref stim
soma stim = new IClamp(0.5)
stim.del = 2
stim.dur = 100
stim.amp = 0.3
"""
MODELS = {
    "cvode_left_on.hoc": CELL + """
objref cv
cv = new CVode()
cv.active(1)
cv.atol(1e-5)
tstop = 60
dt = 1.85  // what a .ses file or CVode's last step leaves behind
""",
    "crank_nicolson.hoc": CELL + """
secondorder = 2
steps_per_ms = 20
dt = 0.01   // stdrun runs it at 1 / steps_per_ms / int(...) = 0.01
celsius = 16
v_init = -70
tstop = 40
""",
    "stimulus_in_run.hoc": """
create soma
soma { L = 20  diam = 20  insert hh }
objref stim
tstop = 30
proc run() {  // the stimulus exists only during the author's own run
    soma stim = new IClamp(0.5)
    stim.del = 1
    stim.dur = 25
    stim.amp = 0.4
    stdinit()
    continuerun(tstop)
}
""",
    "local_time_steps.hoc": CELL + """
objref cv
cv = new CVode()
cv.active(1)
cv.use_local_dt(1)  // each cell its own time step
cv.atol(1e-5)
tstop = 40
""",
    "session_file.hoc": 'load_file("nrngui.hoc")\n' + CELL + 'load_file("run.ses")\n',
}
# Files an entry loads beside it: a session file as NEURON's GUI saves it (its Variable
# Time Step panel turns CVode on, its RunControl sets v_init, tstop, dt).
BESIDE = {"session_file.hoc": {"run.ses": """
objectvar save_window_, rvp_
objectvar scene_vector_[3]
objectvar ocbox_, ocbox_list_, scene_, scene_list_
{ocbox_list_ = new List()  scene_list_ = new List()}
{pwman_place(0,0,0)}

//Begin VariableTimeStep
{
ocbox_ = NumericalMethodPanel[0]
}
{object_push(ocbox_)}
{
atol_ = 1e-05  CVode[0].atol(atol_)
restore(301, 1)
}
{object_pop()}
{
ocbox_.map("VariableTimeStep", 504, 406, 272.64, 106.56)
}
objref ocbox_
//End VariableTimeStep

{
xpanel("RunControl", 0)
v_init = -70
xvalue("Init","v_init", 1,"stdinit()", 1, 1 )
xbutton("Init & Run","run()")
xbutton("Stop","stoprun=1")
runStopAt = 5
xvalue("Continue til","runStopAt", 1,"{continuerun(runStopAt) stoprun=1}", 1, 1 )
runStopIn = 1
xvalue("Continue for","runStopIn", 1,"{continuerun(t + runStopIn) stoprun=1}", 1, 1 )
xbutton("Single Step","steprun()")
t = 0
xvalue("t","t", 2 )
tstop = 45
xvalue("Tstop","tstop", 1,"tstop_changed()", 0, 1 )
dt = 0.025
xvalue("dt","dt", 1,"setdt()", 0, 1 )
steps_per_ms = 40
xvalue("Points plotted/ms","steps_per_ms", 1,"setdt()", 0, 1 )
screen_update_invl = 0.05
xvalue("Scrn update invl","screen_update_invl", 1,"", 0, 1 )
realtime = 0
xvalue("Real Time","realtime", 0,"", 0, 1 )
xpanel(105,126)
}
objectvar scene_vector_[1]
{doNotify()}
"""}}
FRAMES_PER_MS = 2.0

PLAIN = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
h.load_file({entry!r})
frames = int(round(h.tstop * {per_ms})) + 1
times = h.Vector([k / {per_ms} for k in range(frames)])
v = h.Vector()
v.record(h.soma(0.5)._ref_v, times)
spikes = h.Vector()
nc = h.NetCon(h.soma(0.5)._ref_v, None, sec=h.soma)
nc.threshold = 0
nc.record(spikes)
h.run()  # the author's run: stdrun's, or the model's own proc run()
print(json.dumps({{"v": list(v), "spikes": list(spikes), "tstop": h.tstop}}))
"""


def plain_neuron(folder, entry, tmp_path):
    code = PLAIN.format(folder=str(folder), site=neuron_site(), entry=entry, per_ms=FRAMES_PER_MS)
    return plain_neuron_json(code, tmp_path)


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("entry", sorted(MODELS))
def test_load_then_run_equals_plain_neuron(nl, scene, entry, host, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / entry).write_text(MODELS[entry])
    for name, text in BESIDE.get(entry, {}).items():
        (folder / name).write_text(text)
    reference = plain_neuron(folder, entry, tmp_path)
    model = nl.load_model(str(folder / entry), host=host)
    props = scene.neuron_live
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)  # everything else as the model left it
    assert props.tstop == pytest.approx(reference["tstop"])
    soma = int(model.section_segment_start[model.section_names.index("soma")])
    ours = np.asarray(cache.frames[:, soma], np.float64)
    theirs = np.asarray(reference["v"])
    assert len(ours) == int(round(reference["tstop"] * FRAMES_PER_MS)) + 1
    assert len(theirs) >= len(ours) - 1  # NEURON's own recording may stop one sample short of tstop
    ours = ours[:len(theirs)]
    ours_spikes, their_spikes = crossings(ours, FRAMES_PER_MS), crossings(theirs, FRAMES_PER_MS)
    assert len(ours_spikes) == len(their_spikes) == len(reference["spikes"]) > 1
    np.testing.assert_allclose(ours_spikes, their_spikes, atol=1 / FRAMES_PER_MS)
    tolerance = 0.05 if props.cvode else 1e-3  # CVode: both stop at the frame times, within its tolerance
    np.testing.assert_allclose(ours, theirs, atol=tolerance)


def test_the_models_integrator_shows_in_the_panel(nl, scene, tmp_path):
    (tmp_path / "cvode_left_on.hoc").write_text(MODELS["cvode_left_on.hoc"])
    nl.load_model(str(tmp_path / "cvode_left_on.hoc"), build=False)
    props = scene.neuron_live
    assert props.cvode and props.atol == pytest.approx(1e-5) and props.tstop == pytest.approx(60)
    assert props.dt == pytest.approx(0.025), "not CVode's leftover 1.85 ms step"
    (tmp_path / "crank_nicolson.hoc").write_text(MODELS["crank_nicolson.hoc"])
    nl.load_model(str(tmp_path / "crank_nicolson.hoc"), build=False)
    assert not props.cvode and props.secondorder == 2 and props.dt == pytest.approx(0.01)
    assert props.celsius == pytest.approx(16) and props.v_init == pytest.approx(-70)
    (tmp_path / "session_file.hoc").write_text(MODELS["session_file.hoc"])
    (tmp_path / "run.ses").write_text(BESIDE["session_file.hoc"]["run.ses"])
    nl.load_model(str(tmp_path / "session_file.hoc"), build=False)
    assert props.cvode and props.atol == pytest.approx(1e-5), "the session file's Variable Time Step panel"
    assert props.tstop == pytest.approx(45) and props.v_init == pytest.approx(-70), "its RunControl"


def test_a_model_passing_v_init_to_finitialize_keeps_it(nl, scene, tmp_path):
    path = tmp_path / "own_v_init.py"
    path.write_text("from neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\n"
                    "h.finitialize(-72.5)\n")
    nl.load_model(str(path), build=False)
    assert scene.neuron_live.v_init == pytest.approx(-72.5)
    cache = nl.run(tstop=1)
    assert cache.frames[0, 0] == pytest.approx(-72.5)


@pytest.mark.parametrize("name", ["h10.CNG.swc", "cell1.asc"])
def test_the_clamp_makes_a_real_reconstruction_fire(nl, scene, name):
    from conftest import MORPHOLOGIES
    model = nl.load_model(str(MORPHOLOGIES / name), clamp=True, build=False)
    note = next(n for n in model.notes if n.startswith("IClamp"))
    assert "rheobase" in note, note
    cache = nl.run(tstop=25, frames_per_ms=4)
    soma = model.section_names.index(next(n for n in model.section_names if "soma" in n.lower()))
    column = int(model.section_segment_start[soma])
    assert np.nanmax(cache.frames[:, column]) > 0, "the soma spikes"


def test_a_button_from_another_buttons_menu_is_one_choice_away(nl, scene, tmp_path):
    (tmp_path / "mosinit.hoc").write_text(
        'xpanel("Paper")\nxbutton("Figure menu", "load_file(\\"figs_menu.hoc\\")")\nxpanel()\n')
    (tmp_path / "figs_menu.hoc").write_text(
        'proc fig1d() { execute("create soma, dend")  execute("connect dend(0), soma(1)") }\n'
        'xpanel("Figures")\nxbutton("Fig 1d", "fig1d()")\nxpanel()\n')
    with pytest.raises(Exception) as menu:
        nl.load_model(str(tmp_path / "mosinit.hoc"), build=False)
    labels = [action.label for action in menu.value.actions]
    assert labels == ["Figure menu", "Fig 1d"]
    model = nl.load_model(str(tmp_path / "mosinit.hoc"), build=False, action="Fig 1d")
    assert model.n_sections == 2


def test_a_python_model_that_never_sets_tstop_runs_its_own_length(nl, scene, tmp_path):
    path = tmp_path / "no_tstop.py"
    path.write_text("from neuron import h\nh.load_file('stdrun.hoc')\nsoma = h.Section(name='soma')\n"
                    "soma.insert('hh')\nh.finitialize(-65)\nh.continuerun(37.5)\n")
    nl.load_model(str(path), build=False)
    assert scene.neuron_live.tstop == pytest.approx(37.5), "the author's run length, not NEURON's 5 ms"
    assert nl.run().meta["n_frames"] == int(37.5 * scene.neuron_live.frames_per_ms) + 1


def test_mechanisms_compile_and_load_from_a_user_folder_with_a_space_and_unicode(nl, scene, tmp_path):
    """macOS keeps user data in "Application Support"; user names may be non-ASCII:
    nrnivmodl and nrn_load_dll take neither."""
    model = tmp_path / "model"
    (model / "mod").mkdir(parents=True)
    (model / "mod" / "nlwide.mod").write_text(
        "NEURON { SUFFIX nlwide RANGE g }\nPARAMETER { g = 0.001 }\n"
        "ASSIGNED { v (millivolt) i (milliamp/cm2) }\nNEURON { NONSPECIFIC_CURRENT i }\n"
        "BREAKPOINT { i = g * (v + 70) }\n")
    (model / "cell.hoc").write_text("create soma\nsoma { L = 20 diam = 20 insert nlwide }\n")
    folder = tmp_path / "Application Support" / "José 模型"
    loaded = nl.model_loaders.load_model(str(model / "cell.hoc"), mechanisms_folder=folder)
    assert loaded.n_sections == 1 and "nlwide" in loaded.mechanisms
    assert any(folder.glob("*/*/libnrnmech.*")), "compiled into the user's folder"


def test_an_entry_with_a_non_ascii_name_loads(nl, scene, tmp_path):
    folder = tmp_path / "modèles"
    folder.mkdir()
    (folder / "cellule_à_étudier.hoc").write_text("create soma\nsoma { L = 20 diam = 20 insert hh }\n")
    model = nl.load_model(str(folder / "cellule_à_étudier.hoc"), build=False)
    assert model.n_sections == 1
    assert nl.run(tstop=2).frames_done == 5


def test_a_templates_init_is_its_constructor_not_an_own_run(nl):
    from conftest import EXAMPLES
    procs = nl.model_loaders.sources.own_run_procs
    assert procs(EXAMPLES / "network" / "ring.hoc") == [], "RingCell's init() builds a cell, it is no run procedure"


# Stimuli made inside the function that runs the model at load: gone once the load is over.
STIMULUS_IN_A_FUNCTION = {
    "stimulus_in_a_function.py": """
from neuron import h
h.load_file("stdrun.hoc")
soma = h.Section(name="soma")
soma.L = soma.diam = 20
soma.insert("hh")
trace = h.Vector()


def simulate(amp):
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 2, 20, amp
    trace.record(soma(0.5)._ref_v)  # the author's own recording, every step
    h.finitialize(-65)
    h.continuerun(30)


simulate(0.3)
""",
    "stimulus_in_a_proc.hoc": """
create soma
soma { L = 20  diam = 20  insert hh }
objref trace
trace = new Vector()
proc simulate() { localobj stim, input, syn, nc
    soma stim = new IClamp(0.5)
    stim.del = 2  stim.dur = 8  stim.amp = $1
    input = new NetStim()
    input.start = 15  input.number = 1
    soma syn = new ExpSyn(0.5)
    nc = new NetCon(input, syn, 0, 0, 0.1)
    trace.record(&soma.v(0.5))
    tstop = 30
    run()
}
simulate(0.3)
""",
}

AUTHORS_RUN = """
import json, os, runpy, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
if {entry!r}.endswith(".py"):
    trace = runpy.run_path({entry!r}, run_name="__main__")["trace"]
else:
    h.load_file({entry!r})
    trace = h.trace
print(json.dumps({{"v": list(trace)}}))
"""


def authors_trace(folder, entry, tmp_path):
    """The model's own `trace` (recorded every 0.025 ms step) in plain NEURON, at frame times."""
    from pathlib import Path

    import neuron
    code = AUTHORS_RUN.format(folder=str(folder), site=str(Path(neuron.__file__).parent.parent), entry=entry)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env={**isolated_env(tmp_path), "NEURON_MODULE_OPTIONS": "-nogui"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    steps_per_frame = int(round(1 / FRAMES_PER_MS / 0.025))
    return np.asarray(json.loads(result.stdout.strip().splitlines()[-1])["v"])[::steps_per_frame]


@pytest.mark.parametrize("entry, host", [("stimulus_in_a_function.py", "IN_BLENDER"),
                                         ("stimulus_in_a_proc.hoc", "PROCESS")])
def test_stimuli_made_in_the_run_at_load_play_as_the_author_ran_them(nl, scene, entry, host, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / entry).write_text(STIMULUS_IN_A_FUNCTION[entry])
    theirs = authors_trace(folder, entry, tmp_path)

    model = nl.load_model(str(folder / entry), build=False, host=host)
    assert scene.neuron_live.own_run and any("while loading" in note for note in model.notes), model.notes
    soma = int(model.section_segment_start[model.section_names.index("soma")])
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)  # the panel as the load left it
    assert cache.frames_done == len(theirs) == 61
    ours = np.asarray(cache.frames[:, soma], np.float64)
    assert len(crossings(theirs, FRAMES_PER_MS)) >= 2, "the reference fires (stimuli really ran)"
    np.testing.assert_allclose(ours, theirs, atol=1e-3)

    longer = nl.run(tstop=40, frames_per_ms=FRAMES_PER_MS)  # a tweaked tstop reruns the same simulation
    assert longer.frames_done == 81
    np.testing.assert_allclose(np.asarray(longer.frames[:61, soma], np.float64), theirs, atol=1e-3)
    straight = np.array(longer.frames)
    continued = nl.continue_run(tstop=45)  # the run at load is replayed whole, then goes on
    assert continued.meta["complete"] and continued.frames_done == 91
    np.testing.assert_allclose(np.asarray(continued.frames[:81]), straight, atol=1e-4)


def test_cancelling_a_replayed_load_stops_its_later_runs_too(nl, scene, tmp_path):
    path = tmp_path / "three_runs.py"
    path.write_text(STIMULUS_IN_A_FUNCTION["stimulus_in_a_function.py"].replace(
        "simulate(0.3)", "for amp in (0.1, 0.2, 0.3):\n    simulate(amp)"))
    nl.load_model(str(path), build=False)
    task = nl.run(tstop=20000, frames_per_ms=0.5, wait_done=False)
    session = nl.addon.session.tasks
    while task.cache is None or task.cache.frames_done < 5:
        session.pump()
    nl.cancel()
    session.wait(task, timeout=60)
    cache = session.session.cache
    assert cache.meta["cancelled"] and 5 <= cache.frames_done < cache.meta["n_frames"]
    assert np.isfinite(cache.frames[:cache.frames_done]).all()


@pytest.mark.in_blender
def test_a_model_whose_files_neuron_already_ran_is_loaded_whole_again(nl, scene, tmp_path):
    """load_file runs a name once per NEURON process: a second load (or another model sharing
    a file name) would lose its cells and its session file's settings."""
    for folder in (tmp_path / "first", tmp_path / "second"):
        folder.mkdir()
        (folder / "main.hoc").write_text('load_file("cell.hoc")\nload_file("run.ses")\n')
        (folder / "cell.hoc").write_text(CELL)
        (folder / "run.ses").write_text(BESIDE["session_file.hoc"]["run.ses"])
    props = scene.neuron_live
    for folder in (tmp_path / "first", tmp_path / "first", tmp_path / "second"):
        props.cvode = False
        model = nl.load_model(str(folder / "main.hoc"), build=False)
        assert model.n_sections == 1 and props.cvode and props.tstop == pytest.approx(45), model.notes
    assert any("process of its own" in note for note in model.notes), model.notes
    refused = r"main\.hoc:\d: load_file\(\"(cell\.hoc|run\.ses)\"\) would not run"
    with pytest.raises(nl.model_loaders.ModelLoadError, match=refused):
        nl.load_model(str(tmp_path / "first" / "main.hoc"), build=False, host="IN_BLENDER")



def test_a_python_model_stepping_its_own_loop_at_load_runs_that_long(nl, scene, tmp_path):
    """`while h.t < 30: h.fadvance()` at load, a model that never sets tstop: Run goes as far."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "own_loop.py").write_text(STIMULUS_IN_A_FUNCTION["stimulus_in_a_function.py"].replace(
        "simulate(0.3)", "stim = h.IClamp(soma(0.5))\nstim.delay, stim.dur, stim.amp = 2, 20, 0.3\n"
                         "trace.record(soma(0.5)._ref_v)\nh.finitialize(-65)\nwhile h.t < 30 - h.dt / 2:\n"
                         "    h.fadvance()\n"))
    theirs = authors_trace(folder, "own_loop.py", tmp_path)
    model = nl.load_model(str(folder / "own_loop.py"), build=False)
    assert scene.neuron_live.tstop == pytest.approx(30, abs=1e-6)
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)
    soma = int(model.section_segment_start[model.section_names.index("soma")])
    assert cache.frames_done == len(theirs) == 61 and len(crossings(theirs, FRAMES_PER_MS)) >= 2
    np.testing.assert_allclose(np.asarray(cache.frames[:, soma], np.float64), theirs, atol=1e-3)


def test_the_soma_clamp_replaces_a_run_at_load_it_cannot_join(nl, scene, tmp_path):
    path = tmp_path / "stimulus_in_a_function.py"
    path.write_text(STIMULUS_IN_A_FUNCTION["stimulus_in_a_function.py"])
    model = nl.load_model(str(path), build=False, clamp=True)
    assert not scene.neuron_live.own_run and any("with the soma clamp instead" in n for n in model.notes)
    cache = nl.run(tstop=25)
    soma = int(model.section_segment_start[model.section_names.index("soma")])
    assert np.nanmax(cache.frames[:, soma]) > 0, "the clamp makes it fire"
