"""A model in a NEURON process of its own: whatever it does (segfault, quit(), sys.exit(),
os._exit(), an endless loop, names that collide with the loaded model), the test process
lives on, the message says what happened, the frames done stay and the next load works."""
import time

import numpy as np
import pytest

from conftest import EXAMPLES, session_of, write

GOOD = EXAMPLES / "ball_and_stick.hoc"




def test_process_host_frames_equal_the_in_blender_frames(nl, scene):
    nl.load_model(str(GOOD), host="IN_BLENDER")
    assert session_of(nl).host.kind == "IN_BLENDER"
    in_blender = np.array(nl.run(tstop=20).frames)
    nl.load_model(str(GOOD), host="PROCESS")
    host = session_of(nl).host
    assert host is not None and host.alive and host.pid > 0
    cache = nl.run(tstop=20)
    assert cache.meta["complete"] and cache.frames_done == len(in_blender)
    np.testing.assert_allclose(np.asarray(cache.frames), in_blender, atol=1e-5)
    assert (cache.folder / "spikes.npz").is_file(), "the child's spikes reach the cache"
    continued = nl.continue_run(tstop=25)
    assert continued.meta["complete"] and continued.frames_done == 51


def test_the_scene_setting_chooses_the_host(nl, scene):
    scene.neuron_live.host = "PROCESS"
    nl.load_model(str(GOOD))
    assert session_of(nl).host.kind == "PROCESS"
    scene.neuron_live.host = "IN_BLENDER"
    nl.load_model(str(GOOD))
    assert session_of(nl).host.kind == "IN_BLENDER"


SEGFAULT_MOD = """NEURON {
    SUFFIX crashes
    NONSPECIFIC_CURRENT i
    GLOBAL crash_at
}
PARAMETER { crash_at = 1 (ms) }
ASSIGNED { i (mA/cm2) }
BREAKPOINT {
    if (t > crash_at) {
VERBATIM
        *(volatile int*)0 = 0;
ENDVERBATIM
    }
    i = 0
}
"""


def test_a_segfault_mid_run_keeps_the_frames_and_blender(nl, scene, tmp_path):
    write(tmp_path, "mod/crashes.mod", SEGFAULT_MOD)
    path = write(tmp_path, "crashes.hoc", 'create soma\nsoma { L = 20 diam = 20 insert hh insert crashes }\n'
                                          'print "model says hello"\n')
    nl.load_model(str(path), host="PROCESS")
    with pytest.raises(Exception, match=r"crashes\.hoc: the NEURON process running the model crashed \(SIGSEGV\)"):
        nl.run(tstop=5)
    status = scene.neuron_live.status
    assert "Segmentation fault" in status, "the child's last output lines are in the message"
    cache = session_of(nl).cache
    assert 2 <= cache.frames_done <= 4, "the frames to t = 1 ms stay"
    assert np.isfinite(np.asarray(cache.frames[:cache.frames_done])).all()
    assert cache.meta["error"] and "SIGSEGV" in cache.meta["error"]
    nl.load_model(str(GOOD), host="PROCESS")
    assert nl.run(tstop=2).frames_done == 5, "the next load and run work"


HOC_QUITS_IN_A_RUN = """create soma
soma { L = 20 diam = 20 insert hh }
proc advance() {
    fadvance()
    if (t > 2) { execute("quit()") }
}
"""

PY_ENDS_IN_A_RUN = """import os, sys
from neuron import h
soma = h.Section(name="soma")
soma.insert("hh")


def bye():
    {call}


events = h.FInitializeHandler(lambda: h.CVode().event(2, bye))
"""


@pytest.mark.parametrize("name, text, run", [
    ("quits.hoc", HOC_QUITS_IN_A_RUN, dict(own_run=True)),
    ("hquit.py", PY_ENDS_IN_A_RUN.replace("{call}", "h.quit()"), {}),
    ("getattr.py", PY_ENDS_IN_A_RUN.replace("{call}", 'getattr(h, "quit")()'), {}),
    ("sysexit.py", PY_ENDS_IN_A_RUN.replace("{call}", "sys.exit(3)"), {}),
    ("osexit.py", PY_ENDS_IN_A_RUN.replace("{call}", "os._exit(1)"), {}),
])
def test_a_model_ending_its_process_mid_run_keeps_the_frames(nl, scene, tmp_path, name, text, run):
    path = write(tmp_path, name, text)
    scene.neuron_live.host = "IN_BLENDER"
    model = nl.load_model(str(path))  # the scene says "In Blender": the quit sends it to a process
    assert session_of(nl).host.kind == "PROCESS", "routed to a process of its own"
    assert "process of its own" in scene.neuron_live.status
    with pytest.raises(Exception, match=rf"{name}: the model ended its NEURON process itself"):
        nl.run(tstop=5, **run)
    cache = session_of(nl).cache
    assert 4 <= cache.frames_done <= 6, "the frames to t = 2 ms stay"
    assert np.isfinite(np.asarray(cache.frames[:cache.frames_done])).all()
    assert "ended its NEURON process itself" in scene.neuron_live.status
    assert session_of(nl).model is model, "the cells stay"
    with pytest.raises(Exception, match="ended its NEURON process itself"):
        nl.run(tstop=5, **run)  # Run starts a fresh process for it (which the model ends again)


@pytest.mark.parametrize("name, text", [
    ("quits.hoc", "create soma\nsoma { L = 20 diam = 20 insert hh }\nquit()\n"),
    ("exits.py", "import sys\nfrom neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\nsys.exit(0)\n"),
    ("osexits.py", "import os\nfrom neuron import h\nsoma = h.Section(name='soma')\nsoma.insert('hh')\nos._exit(0)\n"),
])
def test_a_model_that_quits_at_load_loads_and_runs(nl, scene, tmp_path, name, text):
    """Published models often end with their own run and quit(): their cells still load,
    and the process stays to run them."""
    model = nl.load_model(str(write(tmp_path, name, text)))
    assert model.n_sections == 1
    assert "ended its process itself at load" in scene.neuron_live.status
    cache = nl.run(tstop=3)
    assert cache.meta["complete"] and cache.frames_done == 7


def load_into_its_loop(nl, path, host, seconds):
    """Start loading a model that loops forever; return its task once well into the loop."""
    tasks = nl.addon.session.tasks
    task = nl.load_model(str(path), host=host, wait_done=False)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        tasks.pump()
        time.sleep(0.02)
    assert session_of(nl).task is task, "still loading"
    return task


@pytest.mark.parametrize("name, text", [
    ("loops.hoc", "create soma\nwhile (1) {}\n"),
    ("loops.py", "from neuron import h\nsoma = h.Section(name='soma')\nwhile True:\n    pass\n"),
])
def test_cancel_ends_an_endless_load_within_a_second(nl, scene, tmp_path, name, text):
    tasks = nl.addon.session.tasks
    task = load_into_its_loop(nl, write(tmp_path, name, text), "PROCESS", seconds=1.5)
    cancelled = time.monotonic()
    nl.cancel()
    while session_of(nl).task is task:
        tasks.pump()
        time.sleep(0.005)
        assert time.monotonic() - cancelled < 1.0, "Cancel must end the load within 1 s"
    assert "Cancelled" in scene.neuron_live.status
    nl.load_model(str(GOOD))
    assert nl.run(tstop=2).frames_done == 5, "the next load works"


def test_cancel_stops_an_endless_python_load_in_blender_and_blender_takes_the_next(nl, scene, tmp_path):
    path = write(tmp_path, "loops_here.py", "from neuron import h\nsoma = h.Section(name='soma')\n"
                                              "while True:\n    pass\n")
    task = load_into_its_loop(nl, path, "IN_BLENDER", seconds=0.5)
    nl.cancel()
    with pytest.raises(Exception, match="Cancelled loading loops_here.py"):
        nl.addon.session.tasks.wait(task, timeout=5)
    assert "Cancelled loading loops_here.py" in scene.neuron_live.status
    session_of(nl).hosts.thread.stuck.exception(timeout=2)  # the model's loop was interrupted: NEURON is free
    model = nl.load_model(str(GOOD), host="IN_BLENDER")
    assert not any("process of its own" in note for note in model.notes), model.notes
    assert session_of(nl).host.kind == "IN_BLENDER" and nl.run(tstop=2).frames_done == 5


def test_cancel_stops_a_run_in_the_process_and_keeps_its_frames(nl, scene):
    tasks = nl.addon.session.tasks
    nl.load_model(str(GOOD), host="PROCESS")
    task = nl.run(tstop=100000, frames_per_ms=1, wait_done=False)
    while task.cache is None or task.cache.frames_done < 20:
        tasks.pump()
        time.sleep(0.005)
    cancelled = time.monotonic()
    nl.cancel()
    tasks.wait(task, timeout=5)
    assert time.monotonic() - cancelled < 1.0
    assert task.cache.meta["cancelled"] and task.cache.frames_done >= 20
    assert session_of(nl).host.alive, "a run that stops by itself keeps its process"
    assert nl.continue_run(tstop=task.cache.frames_done + 5).meta["complete"]


def test_a_colliding_mechanism_loads_in_a_fresh_process(nl, scene, tmp_path):
    import shutil
    nl.load_model(str(EXAMPLES / "hoc_custom_mod" / "cell.hoc"), build=False, host="IN_BLENDER")
    copy = tmp_path / "other"
    shutil.copytree(EXAMPLES / "hoc_custom_mod", copy)
    (copy / "mod" / "kleak.mod").write_text((copy / "mod" / "kleak.mod").read_text() + "\n: changed\n")
    scene.neuron_live.host = "IN_BLENDER"
    model = nl.load_model(str(copy / "cell.hoc"), build=False)
    assert session_of(nl).host.kind == "PROCESS" and model.n_sections > 0
    assert "process of its own" in scene.neuron_live.status and "kleak" in scene.neuron_live.status
    assert nl.run(tstop=2).meta["complete"]


def test_a_redefined_template_loads_in_a_fresh_process(nl, scene, tmp_path):
    name = f"ProcessHostCell{time.monotonic_ns()}"  # a template no other test defines in Blender
    path = write(tmp_path, "cells.hoc", f"begintemplate {name}\npublic soma\ncreate soma\n"
                                        f"proc init() {{ soma {{ L = 20 diam = 20 insert hh }} }}\n"
                                        f"endtemplate {name}\nobjref cells[2]\n"
                                        f"for i = 0, 1 cells[i] = new {name}()\n")
    scene.neuron_live.host = "IN_BLENDER"
    first = nl.load_model(str(path), build=False)
    assert session_of(nl).host.kind == "IN_BLENDER", "the first load runs in Blender"
    second = nl.load_model(str(path), build=False)
    assert session_of(nl).host.kind == "PROCESS"
    assert "process of its own" in scene.neuron_live.status and name in scene.neuron_live.status
    assert second.n_sections == first.n_sections == 2
    assert nl.run(tstop=2).meta["complete"]
