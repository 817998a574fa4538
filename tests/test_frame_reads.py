"""Frames of large models, which are read straight from NEURON's array of node voltages,
equal NEURON's own recordings of every segment: with threads, with CVode, after a rerun,
and when the model changes its structure in the middle of the run."""
import numpy as np
import pytest

from bench_models import write_network  # tools/ is on sys.path (conftest)

GROWS_MID_RUN = """
from neuron import h
exec(open({network!r}).read())


class Grower:
    \"\"\"Called by the model's advance() between NEURON's steps, where a model may change
    its structure (NEURON refuses during a step).\"\"\"
    late = []

    def check(self):
        if h.t >= 5 and not dends_with_hh:
            cells[0][1][0].insert("hh")  # a mechanism: NEURON re-sorts its arrays
            dends_with_hh.append(cells[0][1][0])
        if h.t >= 10 and not self.late:
            for i in range(300):  # new nodes: NEURON's voltage array grows (and may move)
                self.late.append(h.Section(name=f"late{{i}}"))
                self.late[-1].nseg = 9


dends_with_hh = []
h("objref grower")
h.grower = Grower()
h("proc advance() {{ fadvance() grower.check() }}")
"""


BACKWARDS = """
from neuron import h
soma = h.Section(name="soma")
soma.L = soma.diam = 20
soma.insert("hh")
dends = []
for i in range(12):
    dend = h.Section(name=f"dend{i}")
    dend.L, dend.diam, dend.nseg = 300, 1, 85 + i
    dend.insert("pas")
    dend.connect(soma(i % 2), i % 2)  # the odd ones hang by their 1 end: their nodes run backwards
    dends.append(dend)
stim = h.IClamp(soma(0.5))
stim.delay, stim.dur, stim.amp = 1, 100, 0.3
"""


def large_model(tmp_path, kind):
    if kind == "network":
        return write_network(tmp_path, 2)
    path = tmp_path / "backwards.py"
    path.write_text(BACKWARDS)
    return path


def record_every_segment(h, frames_per_ms):
    """One h.Vector().record per segment at the frame times, NEURON's own way."""
    return [h.Vector().record(seg._ref_v, 1 / frames_per_ms) for sec in h.allsec() for seg in sec]


def recorded_frames(vectors, n_frames):
    return np.stack([vector.as_numpy()[:n_frames] for vector in vectors], axis=1)


def direct_reads(nl):
    """Whether the last run read NEURON's voltage array directly (not its data handles)."""
    cached = nl.addon.engine.sampling._pointers
    return any(pointers.direct is not None for pointers in cached.values())


@pytest.mark.in_blender
@pytest.mark.parametrize("kind, settings", [
    ("network", dict(threads=1)), ("network", dict(threads=2)), ("network", dict(cvode=True)),
    ("backwards", dict(threads=1))], ids=["one thread", "two threads", "cvode", "sections run backwards"])
def test_every_segment_of_a_large_model_equals_neurons_recording(nl, scene, tmp_path, kind, settings):
    """The reference is NEURON's recording on one thread (on two, Vector.record samples
    the second thread's cells on the other side of the clamps' onset at t = 1 ms)."""
    from neuron import h
    model = nl.load_model(str(large_model(tmp_path, kind)), build=False)
    assert model.n_segments >= nl.addon.engine.sampling.DIRECT_MIN_SEGMENTS
    vectors = record_every_segment(h, 2)
    nl.run(tstop=12, frames_per_ms=2, cvode=settings.get("cvode", False))
    expected = recorded_frames(vectors, 24)  # Vector.record stops one short of tstop
    for tstop in (10, 12):  # a rerun reads the same array again
        frames = np.asarray(nl.run(tstop=tstop, frames_per_ms=2, **settings).frames)
        if settings.get("cvode"):
            np.testing.assert_allclose(frames[:-1], expected[:len(frames) - 1], atol=1e-4)
        else:
            np.testing.assert_array_equal(frames[:-1], expected[:len(frames) - 1].astype(np.float32))
    assert direct_reads(nl)
    assert np.ptp(frames) > 1, "the clamps move the voltages"


@pytest.mark.in_blender
def test_a_model_that_changes_its_structure_mid_run_still_shows_neurons_values(nl, scene, tmp_path):
    from neuron import h
    network = write_network(tmp_path, 2)
    entry = tmp_path / "grows.py"
    entry.write_text(GROWS_MID_RUN.format(network=str(network)))
    model = nl.load_model(str(entry), build=False)
    vectors = record_every_segment(h, 2)[:model.n_segments]
    frames = np.asarray(nl.run(tstop=15, frames_per_ms=2, own_run=True).frames)
    assert sum(1 for _ in h.allsec()) > 300, "the model grew during the run"
    expected = recorded_frames(vectors, len(frames) - 1)
    np.testing.assert_array_equal(frames[:len(expected)], expected.astype(np.float32))
