"""Loading does not change the model's geometry: sections without 3-D points get none from
the add-on (NEURON's define_shape() would turn a tapered `diam(0:1) = a:b` section's
cylinders into truncated cones, changing its areas and so the simulation), yet the mesh
is laid out as define_shape would lay it out.

References are plain-NEURON subprocesses (the bundled NEURON, no Blender) running the same
entry: one simulating it as its author does (no define_shape), one calling define_shape
only to read the 3-D points it would give."""

import numpy as np
import pytest

from conftest import crossings as crossings_at, neuron_site, plain_neuron_json, write

TAPERED = """
create soma, dend
connect dend(0), soma(1)
soma { L = 30  nseg = 5  diam(0:1) = 30:6  insert hh }
dend { L = 400  nseg = 21  diam(0:1) = 10:2  insert hh  gnabar_hh = 0.06  gkbar_hh = 0.02 }
objref stim
soma stim = new IClamp(0.5)
stim.del = 5
stim.dur = 40
stim.amp = 0.8
tstop = 50
"""
# Branches define_shape fans out, turns (a child off the middle), reverses (connected by
# its 1 end) and stacks (a second tree), beside a section with 3-D points of its own.
BRANCHED = """
create soma, trunk, left, right, mid, back, flip, other, drawn
connect trunk(0), soma(1)
connect left(0), trunk(1)
connect right(0), trunk(1)
connect mid(0), trunk(0.3)
connect back(0), soma(0)
connect flip(1), right(1)
connect drawn(0), left(1)
forall { nseg = 3  L = 60  diam(0:1) = 8:2 }
soma { L = 20  nseg = 1  diam = 20 }
drawn { pt3dclear()  pt3dadd(0, 0, 0, 2)  pt3dadd(0, 0, 40, 1) }
other { L = 35  nseg = 2 }
"""
FRAMES_PER_MS = 2.0
PROBES = {"soma": 0.5, "dend": 0.7}

SIMULATE = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")
h.load_file({entry!r})
times = h.Vector([k / {per_ms} for k in range(int(round(h.tstop * {per_ms})) + 1)])
traces = {{}}
for name, x in {probes!r}.items():
    traces[name] = h.Vector()
    traces[name].record(getattr(h, name)(x)._ref_v, times)
h.run()  # as the author's files run: nothing calls define_shape
print(json.dumps({{name: list(v) for name, v in traces.items()}}))
"""

SHAPE = """
import json, os, sys
os.chdir({folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file({entry!r})
h.define_shape()
print(json.dumps({{sec.name(): [[sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)] for i in range(sec.n3d())]
                  for sec in h.allsec()}}))
"""


def plain_neuron(template, folder, entry, tmp_path, **extra):
    return plain_neuron_json(template.format(folder=str(folder), site=neuron_site(), entry=entry, **extra), tmp_path)


def write_model(tmp_path, name, text):
    return write(tmp_path / "model", name, text).parent


def crossings(trace):
    return crossings_at(trace, FRAMES_PER_MS)


def segment(model, name, x):
    section = model.section_names.index(name)
    return int(model.section_segment_start[section] + min(int(x * model.section_nseg[section]),
                                                          model.section_nseg[section] - 1))


@pytest.mark.parametrize("host", ["IN_BLENDER", "PROCESS"])
def test_a_tapered_section_without_3d_points_simulates_as_in_plain_neuron(nl, scene, host, tmp_path):
    folder = write_model(tmp_path, "tapered.hoc", TAPERED)
    theirs = plain_neuron(SIMULATE, folder, "tapered.hoc", tmp_path, per_ms=FRAMES_PER_MS, probes=PROBES)
    model = nl.load_model(str(folder / "tapered.hoc"), build=False, host=host)
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)
    for name, x in PROBES.items():
        ours = np.asarray(cache.frames[:, segment(model, name, x)], np.float64)
        reference = np.asarray(theirs[name])
        assert len(reference) == len(ours) == 101
        assert len(crossings(ours)) == len(crossings(reference)) >= 2, name
        np.testing.assert_allclose(crossings(ours), crossings(reference), atol=0.5)
        assert np.abs(ours - reference).max() <= 1.0, f"{name}: {np.abs(ours - reference).max():.2f} mV apart"


def test_the_loader_gives_neuron_no_3d_points(nl, scene, tmp_path):
    folder = write_model(tmp_path, "tapered.hoc", TAPERED)
    nl.load_model(str(folder / "tapered.hoc"), host="IN_BLENDER")  # and the mesh is built
    from neuron import h
    assert [sec.n3d() for sec in h.allsec()] == [0, 0]
    assert h.soma(0.1).area() == pytest.approx(np.pi * 30 * (30 - 24 * 0.1) / 5, rel=1e-6), "a cylinder"


def test_the_mesh_is_laid_out_as_define_shape_would(nl, scene, tmp_path):
    folder = write_model(tmp_path, "branched.hoc", BRANCHED)
    shape = plain_neuron(SHAPE, folder, "branched.hoc", tmp_path)
    model = nl.load_model(str(folder / "branched.hoc"), build=False, host="IN_BLENDER")
    starts = model.section_point_start
    point_cell = np.repeat(model.section_cell, np.diff(starts))
    points = model.points.astype(np.float64)
    points[:, :3] -= model.cell_offset[point_cell]  # the grid moved whole cells only
    assert np.ptp(points[:, :3], axis=0)[:2].min() > 10, "not all at one spot"
    for s, name in enumerate(model.section_names):
        ours = points[starts[s]:starts[s + 1]]
        np.testing.assert_allclose(ours, np.asarray(shape[name]), atol=1e-3, err_msg=name)
        path = np.linalg.norm(np.diff(ours[:, :3], axis=0), axis=1).sum()
        assert path == pytest.approx(model.section_length[s], rel=1e-5), name
    mid = model.section_names.index("mid")
    assert model.point_arc[starts[mid]] == 0 and model.point_arc[starts[mid + 1] - 1] == pytest.approx(1)
