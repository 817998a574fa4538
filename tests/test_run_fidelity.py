"""What a model's runs leave behind, compared with plain NEURON running the same files (a
subprocess with the bundled NEURON, no Blender, its own h.Vector().record at the frame
times): a sweep of runs at load, a model's own run() that ends exactly at tstop under
CVode, and the soma clamp on a reconstruction."""
import re

import numpy as np
import pytest

from conftest import MORPHOLOGIES, crossings as crossings_at, neuron_site, plain_neuron_json, write

FRAMES_PER_MS = 2.0
CELL = """
create soma
soma { L = 20  diam = 20  insert hh }
objref stim, spikes, nc, counts, nil
soma stim = new IClamp(0.5)
stim.del = 2
stim.dur = 40
tstop = 50
spikes = new Vector()
soma nc = new NetCon(&v(0.5), nil)
nc.threshold = 0
nc.record(spikes)
counts = new Vector()
"""
# An f-I figure as Grapher draws one: a loop over runs that stops when stoprun is set.
SWEEP = CELL + """
proc fi() { local i
    stoprun = 0
    for i = 0, 10 {
        stim.amp = 0.03 * i
        run()
        counts.append(spikes.size())
        if (stoprun) break
    }
}
fi()
"""
ENDLESS = CELL + """
stim.amp = 0.1
while (1) {
    stim.amp += 0.001
    run()
    if (stoprun) break
}
"""
# Its own run(), under CVode (which then stops exactly at tstop) or fixed steps, with a tstop
# that is no multiple of dt, nor of the frame interval at 90.3 and 33.333 ms (the last frame
# is then the one after tstop).
OWN_RUN = CELL + """
stim.amp = 0.3
tstop = TSTOP
dt = 0.07
cvode_active(CVODE)  // stdrun's own switch, as a session file's panel sets it
proc run() {
    stdinit()
    continuerun(tstop)
}
"""

AFTER_LOAD = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
h.load_file({entry!r})
state = {{"amp": h.stim.amp, "counts": list(h.counts)}}
times = h.Vector([k / {per_ms} for k in range({frames})])
v = h.Vector()
v.record(h.soma(0.5)._ref_v, times)
h.run()  # a run after the load, with what the load left
state.update(v=list(v), spikes=h.spikes.size())
print(json.dumps(state))
"""


def plain_neuron(folder, entry, tmp_path, frames):
    return plain_neuron_json(AFTER_LOAD.format(folder=str(folder), site=neuron_site(), entry=entry,
                                               per_ms=FRAMES_PER_MS, frames=frames), tmp_path)


def write_model(tmp_path, name, text):
    return write(tmp_path / "model", name, text).parent


def crossings(trace):
    return crossings_at(trace, FRAMES_PER_MS)


def assert_same_trace(ours, theirs):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert len(crossings(ours)) == len(crossings(theirs)), (crossings(ours), crossings(theirs))
    np.testing.assert_allclose(crossings(ours), crossings(theirs), atol=0.5)
    assert np.abs(ours - theirs).max() <= 1.0


@pytest.mark.parametrize("host", ["IN_BLENDER", "PROCESS"])
def test_a_sweep_of_runs_at_load_leaves_the_model_as_plain_neuron_does(nl, scene, host, tmp_path):
    folder = write_model(tmp_path, "fi_curve.hoc", SWEEP)
    theirs = plain_neuron(folder, "fi_curve.hoc", tmp_path, frames=101)
    assert theirs["amp"] == pytest.approx(0.3) and len(theirs["counts"]) == 11 and theirs["spikes"] >= 2
    model = nl.load_model(str(folder / "fi_curve.hoc"), build=False, host=host)
    assert any("sweep of 11 runs" in note for note in model.notes), model.notes
    if host == "IN_BLENDER":
        from neuron import h
        assert h.stim.amp == pytest.approx(theirs["amp"]), "the stimulus as the sweep left it"
        assert h.counts.size() == 11, "the whole loop ran"
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)
    assert cache.frames_done == 101
    ours = np.asarray(cache.frames[:, 0], np.float64)
    assert len(crossings(ours)) == theirs["spikes"]
    assert_same_trace(ours, theirs["v"])


def test_a_loop_of_runs_that_never_ends_is_stopped_and_says_so(nl, scene, tmp_path):
    folder = write_model(tmp_path, "endless.hoc", ENDLESS)
    model = nl.load_model(str(folder / "endless.hoc"), build=False, host="IN_BLENDER")
    note = next(note for note in model.notes if "ran to" in note)
    assert "stopped with stoprun" in note and "not what its files leave behind" in note, note


@pytest.mark.parametrize("cvode, tstop, host", [(1, 90, "IN_BLENDER"), (1, 90, "PROCESS"), (1, 90.3, "PROCESS"),
                                                (0, 33.333, "IN_BLENDER")])
def test_an_own_run_that_ends_at_tstop_is_complete(nl, scene, cvode, tstop, host, tmp_path):
    folder = write_model(tmp_path, "own_run.hoc", OWN_RUN.replace("TSTOP", str(tstop)).replace("CVODE", str(cvode)))
    frames = int(round(tstop * FRAMES_PER_MS)) + 1
    theirs = plain_neuron(folder, "own_run.hoc", tmp_path, frames=frames)
    nl.load_model(str(folder / "own_run.hoc"), build=False, host=host)
    props = scene.neuron_live
    assert props.own_run and props.cvode == bool(cvode)
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)  # it raised "stopped at t = 90.3 ms, before tstop = 90.3 ms"
    assert cache.meta["complete"] and cache.frames_done == frames
    ours = np.asarray(cache.frames[:, 0], np.float64)
    assert np.isfinite(ours).all() and len(theirs["v"]) >= frames - 1
    assert_same_trace(ours[:len(theirs["v"])], theirs["v"])
    if tstop * FRAMES_PER_MS == int(tstop * FRAMES_PER_MS):
        assert ours[-1] == pytest.approx(plain_neuron_at_tstop(folder, tmp_path), abs=1e-3 if cvode else 1.0), \
            "the last frame is the state at tstop"


def plain_neuron_at_tstop(folder, tmp_path):
    """soma(0.5).v where plain NEURON's run() of own_run.hoc ends (t = tstop under CVode)."""
    code = (f"import os, sys\nos.chdir({str(folder)!r})\nsys.path.append({neuron_site()!r})\n"
            "from neuron import h\nh.load_file('stdrun.hoc')\nh.load_file('own_run.hoc')\nh.run()\n"
            "assert abs(h.t - h.tstop) < 1e-6 or not h.cvode.active(), h.t\nprint(h.soma(0.5).v)\n")
    return float(plain_neuron_json(code, tmp_path))


# A reconstruction as the add-on sets it up (its documented defaults: pas everywhere, hh in the
# soma), in plain NEURON with the clamp the add-on chose, run for the tstop the add-on chose.
MORPHOLOGY_RUN = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
h.load_file("import3d.hoc")
reader = h.Import3d_SWC_read()
reader.input({name!r})
h.Import3d_GUI(reader, 0).instantiate(None)
for sec in h.allsec():
    sec.Ra, sec.cm = 150, 1
    sec.insert("pas")
    for seg in sec:
        seg.pas.g, seg.pas.e = 5e-5, -65
soma = next(sec for sec in h.allsec() if "soma" in sec.name().lower())
soma.insert("hh")
stim = h.IClamp(soma(0.5))
stim.delay, stim.dur, stim.amp = {delay}, {dur}, {amp}
h.tstop = {tstop}
times = h.Vector([k / {per_ms} for k in range(int(round(h.tstop * {per_ms})) + 1)])
v = h.Vector()
v.record(soma(0.5)._ref_v, times)
h.run()
print(json.dumps({{"v": list(v)}}))
"""


def test_a_reconstruction_with_the_soma_clamp_runs_until_it_fires(nl, scene, tmp_path):
    path = MORPHOLOGIES / "h10.CNG.swc"
    if not path.exists():
        pytest.skip("shared morphologies absent")
    model = nl.load_model(str(path), clamp=True, build=False)
    note = next(n for n in model.notes if n.startswith("IClamp"))
    amp, delay, dur = map(float, re.match(r"IClamp (\S+) nA at \S+ from (\S+) ms for (\S+) ms", note).groups())
    props = scene.neuron_live
    assert props.tstop >= delay + min(dur, 20.0), "the window the rheobase was found for"
    assert "tstop raised from 5 to" in note, note
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)  # everything as the load left it
    soma = next(s for s, name in enumerate(model.section_names) if "soma" in name.lower())
    ours = np.asarray(cache.frames[:, int(model.section_segment_start[soma] + model.section_nseg[soma] // 2)],
                      np.float64)
    assert len(crossings(ours)) >= 1, "the soma fires within the run"
    code = MORPHOLOGY_RUN.format(folder=str(path.parent), site=neuron_site(), name=path.name, delay=delay,
                                 dur=dur, amp=amp, tstop=props.tstop, per_ms=FRAMES_PER_MS)
    theirs = plain_neuron_json(code, tmp_path)["v"]
    assert len(theirs) >= len(ours) - 1
    assert_same_trace(ours[:len(theirs)], theirs)


def test_the_clamp_outlasts_a_shorter_run_the_model_makes_at_load(nl, scene, tmp_path):
    """A model whose own run at load is 2 ms long, with the soma clamp: the run the scene
    adopts still lasts until the clamp fires."""
    folder = write_model(tmp_path, "short.hoc", "create soma\nsoma { L = 20 diam = 20 insert hh }\n"
                                                 "tstop = 2\nrun()\n")
    model = nl.load_model(str(folder / "short.hoc"), clamp=True, build=False)
    note = next(n for n in model.notes if n.startswith("IClamp"))
    delay, dur = map(float, re.match(r"IClamp \S+ nA at \S+ from (\S+) ms for (\S+) ms", note).groups())
    assert scene.neuron_live.tstop >= delay + min(dur, 20.0) > 2
    assert len(crossings(np.asarray(nl.run(frames_per_ms=FRAMES_PER_MS).frames[:, 0]))) >= 1
