"""With the default settings (nothing chosen in the panel), no model takes Blender down or
freezes it: NEURON runs in a process of its own. Each case: the test process (Blender)
lives, the message names the model's file and what happened, frames done stay, and the
next model loads and runs."""
import time

import bpy
import numpy as np
import pytest

from conftest import EXAMPLES, PACKAGE, crossings, neuron_site, plain_neuron_json, session_of, write

GOOD = EXAMPLES / "ball_and_stick.hoc"
CELL = "create soma\nsoma { L = 20 diam = 20 insert hh }\n"
PY_CELL = "import os, sys\nfrom neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\n"




def next_model_runs(nl):
    nl.load_model(str(GOOD))
    assert nl.run(tstop=2).frames_done == 5, "the next model loads and runs"


def test_the_default_host_is_a_process_of_its_own(nl, scene):
    assert scene.neuron_live.host == "PROCESS" and not scene.neuron_live.is_property_set("host")
    nl.load_model(str(GOOD))
    host = session_of(nl).host
    assert host.kind == "PROCESS" and host.alive
    assert host.request(nl.addon.engine.messages.Describe())["pid"] == host.pid != __import__("os").getpid()


QUITS_AT_LOAD = {
    "execute.hoc": CELL + 'strdef s\nsprint(s, "%s%s", "qu", "it()")\nexecute(s)\n',
    "hcall.py": PY_CELL + 'h("qu" + "it()")\n',
    "getattr.py": PY_CELL + 'getattr(h, "qu" + "it")()\n',
    "sysexit.py": PY_CELL + "sys.exit(2)\n",
    "osexit.py": PY_CELL + "os._exit(0)\n",
}


@pytest.mark.parametrize("name", sorted(QUITS_AT_LOAD))
def test_every_quit_at_load_keeps_the_cells_and_runs(nl, scene, tmp_path, name):
    """Quit forms a text scan cannot see (strings built at run time) included."""
    model = nl.load_model(str(write(tmp_path, name, QUITS_AT_LOAD[name])))
    assert model.n_sections == 1
    assert "ended its process itself at load" in scene.neuron_live.status
    cache = nl.run(tstop=3)
    assert cache.meta["complete"] and cache.frames_done == 7
    assert np.isfinite(np.asarray(cache.frames)).all()


ENDS_IN_A_RUN = (PY_CELL + "\n\ndef bye():\n    {call}\n\n\n"
                 "events = h.FInitializeHandler(lambda: h.CVode().event(2, bye))\n")


@pytest.mark.parametrize("name, call", [
    ("hcall.py", 'h("qu" + "it()")'),
    ("getattr.py", 'getattr(h, "qu" + "it")()'),
    ("execute.py", 'h(\'strdef s\\nsprint(s, "%s%s", "qu", "it()")\\nexecute(s)\')'),
    ("sysexit.py", "sys.exit(3)"),
    ("osexit.py", "os._exit(1)"),
])
def test_every_quit_during_a_run_keeps_the_frames(nl, scene, tmp_path, name, call):
    path = write(tmp_path, name, ENDS_IN_A_RUN.replace("{call}", call))
    nl.load_model(str(path))
    with pytest.raises(nl.addon.engine.errors.HostCrashed, match=rf"{name}: the model ended its NEURON process"):
        nl.run(tstop=5)
    cache = session_of(nl).cache
    assert 4 <= cache.frames_done <= 6, "the frames to t = 2 ms stay"
    assert np.isfinite(np.asarray(cache.frames[:cache.frames_done])).all()
    assert name in scene.neuron_live.status and "ended its NEURON process itself" in scene.neuron_live.status
    next_model_runs(nl)


SEGFAULT_MOD = """NEURON { SUFFIX crashes NONSPECIFIC_CURRENT i }
ASSIGNED { i (mA/cm2) }
INITIAL {
VERBATIM
    *(volatile int*)0 = 0;
ENDVERBATIM
}
BREAKPOINT { i = 0 }
"""


def test_a_mod_that_segfaults_in_initial_fails_the_run_not_blender(nl, scene, tmp_path):
    write(tmp_path, "mod/crashes.mod", SEGFAULT_MOD)
    path = write(tmp_path, "crashes.hoc", "create soma\nsoma { L = 20 diam = 20 insert hh insert crashes }\n")
    nl.load_model(str(path))
    with pytest.raises(nl.addon.engine.errors.HostCrashed, match=r"crashes\.hoc: .* crashed \(SIGSEGV\)"):
        nl.run(tstop=5)
    assert "crashes.hoc" in scene.neuron_live.status and "SIGSEGV" in scene.neuron_live.status
    next_model_runs(nl)


@pytest.mark.parametrize("where", ["load", "run"])
def test_abort_is_contained(nl, scene, tmp_path, where):
    text = PY_CELL + ("os.abort()\n" if where == "load" else
                      "events = h.FInitializeHandler(lambda: h.CVode().event(1, os.abort))\n")
    path = write(tmp_path, f"aborts_at_{where}.py", text)
    if where == "load":
        with pytest.raises(nl.addon.engine.errors.HostCrashed, match=r"aborts_at_load.py: .*SIGABRT"):
            nl.load_model(str(path))
        assert "aborts_at_load.py" in scene.neuron_live.status
    else:
        nl.load_model(str(path))
        with pytest.raises(nl.addon.engine.errors.HostCrashed, match=r"aborts_at_run.py: .*SIGABRT"):
            nl.run(tstop=3)
        assert session_of(nl).cache.frames_done >= 2, "the frames to t = 1 ms stay"
    next_model_runs(nl)


PSOLVE_MENU = {
    "mosinit.hoc": 'load_file("nrngui.hoc")\nproc network() { chdir("net") load_file("net.hoc") }\n'
                   'xpanel("Figures")\nxbutton("Network", "network()")\nxpanel()\n',
    "net/net.hoc": CELL + "objref pc, stim, trace\nsoma stim = new IClamp(0.5)\n"
                          "stim.del = 1\nstim.dur = 20\nstim.amp = 0.3\n"
                          "trace = new Vector()\ntrace.record(&soma.v(0.5), 0.5)\npc = new ParallelContext()\n"
                          "stdinit()\npc.set_maxstep(10)\npc.psolve(12)\nEND\n",
}
# What plain NEURON simulated when the button's file ran (the same files, its trace printed
# where the model quits).
PSOLVE_PLAIN = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("mosinit.hoc")
h("network()")
print(json.dumps({{"v": list(h.trace), "t": h.t}}))
"""


def test_a_menu_button_that_runs_psolve_then_quits_shows_what_it_simulated(nl, scene, tmp_path):
    """A ParallelContext model's button file: psolve, then quit(). Blender lives, and Run
    shows what the model simulated (as long, the same values as plain NEURON's run)."""
    for name, text in PSOLVE_MENU.items():
        write(tmp_path, name, text.replace("END", ""))
    theirs = plain_neuron_json(PSOLVE_PLAIN.format(folder=str(tmp_path), site=neuron_site()), tmp_path)
    write(tmp_path, "net/net.hoc", PSOLVE_MENU["net/net.hoc"].replace("END", "quit()"))
    model = nl.load_model(str(tmp_path / "mosinit.hoc"), action="Network")
    assert model.n_sections == 1 and "ended its process itself at load" in scene.neuron_live.status
    assert scene.neuron_live.tstop == pytest.approx(theirs["t"]), "Run goes as far as the model's psolve"
    cache = nl.run(frames_per_ms=2)
    assert cache.meta["complete"] and cache.frames_done == 25
    assert len(theirs["v"]) >= 24, "(NEURON's own recording may stop one sample short of its end)"
    ours = np.asarray(cache.frames[:len(theirs["v"]), 0], np.float64)
    assert len(crossings(ours, 2)) == len(crossings(theirs["v"], 2)) >= 1
    np.testing.assert_allclose(ours, theirs["v"], atol=1e-3)


def wait_cancelled_within_a_second(nl, task):
    tasks = nl.addon.session.tasks
    cancelled = time.monotonic()
    nl.cancel()
    while session_of(nl).task is task:
        tasks.pump()
        time.sleep(0.005)
        assert time.monotonic() - cancelled < 1.0, "Cancel must end it within 1 s"


def pump_for(nl, seconds):
    tasks, started = nl.addon.session.tasks, time.monotonic()
    longest, last = 0.0, started
    while time.monotonic() - started < seconds:
        tasks.pump()
        now = time.monotonic()
        longest, last = max(longest, now - last), now
        time.sleep(0.01)
    return longest


@pytest.mark.parametrize("name, text", [
    ("loops.hoc", CELL + "while (1) {}\n"),
    ("loops.py", PY_CELL + "while True:\n    pass\n"),
])
def test_an_endless_load_never_freezes_blender_and_cancels(nl, scene, tmp_path, name, text):
    task = nl.load_model(str(write(tmp_path, name, text)), wait_done=False)
    longest = pump_for(nl, 1.0)
    assert session_of(nl).task is task, "still loading"
    assert longest < 0.5, f"Blender's main thread waited {longest:.2f} s during the load"
    wait_cancelled_within_a_second(nl, task)
    assert "Cancelled" in scene.neuron_live.status
    next_model_runs(nl)


@pytest.mark.parametrize("name, text, run", [
    ("loops_in_run.hoc", CELL + "proc advance() { fadvance() if (t > 1) { while (1) {} } }\n", dict(own_run=True)),
    ("loops_in_run.py", PY_CELL + "\n\ndef spin():\n    while True:\n        pass\n\n\n"
                                  "events = h.FInitializeHandler(lambda: h.CVode().event(1, spin))\n", {}),
])
def test_an_endless_loop_in_a_run_cancels_within_a_second_keeping_frames(nl, scene, tmp_path, name, text, run):
    nl.load_model(str(write(tmp_path, name, text)))
    task = nl.run(tstop=10, wait_done=False, **run)
    pump_for(nl, 1.0)
    assert session_of(nl).task is task, "still running (in its loop)"
    wait_cancelled_within_a_second(nl, task)
    assert task.cache.frames_done >= 2, "the frames to t = 1 ms stay"
    assert "Cancelled" in scene.neuron_live.status
    next_model_runs(nl)


@pytest.fixture
def small_memory_limit(nl):
    prefs = bpy.context.preferences.addons[PACKAGE].preferences
    before = prefs.memory_limit
    prefs.memory_limit = 0.4  # GB
    yield
    prefs.memory_limit = before


def test_a_model_allocating_without_bound_is_stopped_at_the_memory_limit(nl, scene, tmp_path, small_memory_limit):
    path = write(tmp_path, "hungry.py", PY_CELL + "eaten = []\nwhile True:\n    eaten.append(bytearray(20 << 20))\n")
    with pytest.raises(nl.addon.engine.errors.MemoryLimit, match=r"hungry\.py: .* over the memory limit of 410 MB"):
        nl.load_model(str(path))
    assert "memory limit" in scene.neuron_live.status
    next_model_runs(nl)


def test_a_model_flooding_its_output_is_capped_and_loads(nl, scene, tmp_path):
    path = write(tmp_path, "chatty.py", PY_CELL + "for i in range(200000):\n    print('chatter ' * 12, i)\n"
                                                  "print('last words')\n")
    nl.load_model(str(path))
    host = session_of(nl).host
    assert host.log_path.stat().st_size < 5 << 20, "the log on disk is capped"
    assert "last words" in host.log_tail(), "the newest output is kept for messages"
    assert nl.run(tstop=2).frames_done == 5


def test_a_scene_saved_with_the_old_default_opens_with_the_new_one(nl, scene, tmp_path):
    """An unset host (the old default, never chosen) reads as the new default; an explicit
    In Blender stays."""
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "unset.blend"))
    scene.neuron_live.host = "IN_BLENDER"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "chosen.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "unset.blend"))
    assert bpy.context.scene.neuron_live.host == "PROCESS"
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "chosen.blend"))
    assert bpy.context.scene.neuron_live.host == "IN_BLENDER"
