"""Sections picked by clicking, for a parameter change over exactly those: through the
operators (a 3-D point, as a click gives), against the same cell edited by hand in a
plain-NEURON subprocess; the pick's markers, unpicking, reloads and bad clicks."""
import bpy
import numpy as np
import pytest

from conftest import neuron_site, plain_neuron_json, write
from test_experiment_ops import panel_probe, world_point

# Three dendrites in three directions from the soma's end, so each click lands on one.
CELL = """
create soma, dend[3]
for i = 0, 2 connect dend[i](0), soma(1)
soma { pt3dclear() pt3dadd(-10, 0, 0, 20) pt3dadd(10, 0, 0, 20) insert hh }
dend[0] { pt3dclear() pt3dadd(10, 0, 0, 2) pt3dadd(210, 0, 0, 2) }
dend[1] { pt3dclear() pt3dadd(10, 0, 0, 2) pt3dadd(10, 200, 0, 2) }
dend[2] { pt3dclear() pt3dadd(10, 0, 0, 2) pt3dadd(10, -200, 0, 2) }
forsec "dend" { nseg = 9  insert hh  gnabar_hh = 0.02 }
tstop = 15
"""
PLAIN = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
h.load_file("cell.hoc")
h({hoc!r})
t = h.Vector().record(h._ref_t)
records = {{key: h.Vector().record(sec(x)._ref_v, sec=sec) for key, sec, x in
           (("soma(0.5).v", h.soma, 0.5), ("dend[1](0.95).v", h.dend[1], 0.95))}}
h.finitialize(-65)
h.continuerun(h.tstop)
print(json.dumps({{"t": list(t), **{{key: list(v) for key, v in records.items()}}}}))
"""
STIM = "objref stim\ndend[1] stim = new IClamp(0.95)\nstim.del = 1\nstim.dur = 5\nstim.amp = 0.6\n"


@pytest.fixture
def cell(nl, scene, tmp_path):
    path = write(tmp_path / "model", "cell.hoc", CELL)
    nl.load_model(str(path))
    return path


def click(nl, scene, section, x=0.5):
    return bpy.ops.neuron_live.pick_sections(location=world_point(nl, scene, section, x))


def test_picked_sections_take_the_change_as_the_model_edited_by_hand(nl, scene, cell, tmp_path):
    assert click(nl, scene, "dend[1]", 0.3) == {"FINISHED"}
    assert click(nl, scene, "dend[2]", 0.8) == {"FINISHED"}
    assert nl.picked_sections() == ["dend[1]", "dend[2]"]
    nl.add_probe("soma", 0.5)
    nl.add_probe("dend[1]", 0.95)
    nl.add_stimulus("IClamp", "dend[1]", 0.95, amp=0.6, delay=1, dur=5)
    assert bpy.ops.neuron_live.set_parameter(name="gnabar_hh", how="SCALE", number=0.5, picked=True) == {"FINISHED"}
    click(nl, scene, "dend[0]")  # picking more later leaves the change as it was made
    assert nl.experiment_dict()["changes"][0]["where"] == ["dend[1]", "dend[2]"]
    nl.run()
    ours = nl.probe_traces()
    edited = STIM + "dend[1] { gnabar_hh = 0.01 }\ndend[2] { gnabar_hh = 0.01 }\n"
    theirs = plain_neuron_json(PLAIN.format(folder=str(cell.parent), site=neuron_site(), hoc=edited), tmp_path)
    for key in ("t", "soma(0.5).v", "dend[1](0.95).v"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-6, rtol=0, err_msg=key)
    assert ours["soma(0.5).v"].max() > 0, "the clamp fires the cell"


def test_a_second_click_unpicks_and_each_pick_shows_a_cube_at_its_middle(nl, scene, cell):
    click(nl, scene, "dend[0]", 0.2)
    cubes = [obj for obj in scene.objects if "neuron_live_picked_section" in obj]
    assert [obj.name for obj in cubes] == ["dend[0] · picked"]
    np.testing.assert_allclose(cubes[0].location, world_point(nl, scene, "dend[0]", 0.5), atol=1e-5)
    click(nl, scene, "dend[0]", 0.9)
    assert nl.picked_sections() == []
    assert not [obj for obj in scene.objects if "neuron_live_picked_section" in obj]
    nl.pick_section("soma")
    nl.pick_section("dend[2]")
    assert bpy.ops.neuron_live.clear_picked() == {"FINISHED"}
    assert nl.picked_sections() == []


def test_a_click_off_the_cell_and_an_empty_pick_are_refused_and_reloads_keep_the_pick(nl, scene, cell, tmp_path):
    with pytest.raises(RuntimeError, match="No cell there"):  # the operator's error report
        bpy.ops.neuron_live.pick_sections(location=(0.0, 0.0, 50.0))
    assert nl.picked_sections() == []
    with pytest.raises(ValueError, match="No sections picked"):
        nl.set_parameter("gnabar_hh", scale=0.5, where="picked")
    with pytest.raises(RuntimeError, match="No sections picked"):
        bpy.ops.neuron_live.set_parameter(name="gnabar_hh", how="SCALE", number=0.5, picked=True)
    nl.pick_section("dend[1]")
    nl.load_model(str(cell))
    assert nl.picked_sections() == ["dend[1]"], "a reload of the same model keeps the pick"
    other = write(tmp_path / "other", "cell.hoc", CELL)
    nl.load_model(str(other))
    assert nl.picked_sections() == [], "another model starts with nothing picked"


def test_the_panel_shows_the_pick_whole(nl, scene, cell):
    nl.pick_section("dend[0]")
    nl.pick_section("dend[2]")
    probe = panel_probe(nl, scene)
    assert probe.too_wide() == []
    assert "Pick Sections (2)" in " ".join(t.text for t in probe.texts)
    assert {"neuron_live.pick_sections", "neuron_live.clear_picked"} <= {idname for idname, _ in probe.buttons}
