"""The engine under stress: Continue after a cancel that stopped mid-frame, exact frame
times under CVode, damaged caches that must open with a clear CacheError only, and cache
creation that never costs the previous cache. NEURON runs in a subprocess (plain Python,
no bpy) and is checked against its own recordings, never against what our code wrote."""
import json
import os
import subprocess
import sys
import textwrap
import time
from importlib import import_module

import numpy as np
import pytest

from conftest import EXAMPLES, REPO, isolated_env
from headless import PACKAGE

N_FRAMES, N_SEGMENTS = 11, 5


# --- NEURON in a subprocess --------------------------------------------------------

def run_engine(tmp_path, body):
    """Run `body` in plain Python with the engine imported; returns its last JSON line."""
    import neuron
    (tmp_path / "neuron_live").symlink_to(REPO)
    preamble = f"""
        import json, sys, threading
        import numpy as np
        sys.path.insert(0, {str(tmp_path)!r})
        sys.path.append({str(os.path.dirname(os.path.dirname(neuron.__file__)))!r})
        from neuron_live.model_loaders import load_model
        from neuron_live.addon.engine import FrameCache, RunSettings, Worker, simulate
        from neuron import h
        OUT = {str(tmp_path)!r}
    """
    code = textwrap.dedent(preamble) + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=isolated_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "bpy" not in result.stdout
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("cvode", [False, True])
def test_continue_after_a_mid_frame_cancel_equals_one_run(nl, tmp_path, cvode):
    """Cancelled between two frame times (NEURON past the last frame sampled), then
    continued to tstop: the cache equals one run and NEURON's own Vector.record."""
    result = run_engine(tmp_path, f"""
        model = load_model({str(EXAMPLES / 'ball_and_stick.py')!r})
        settings = RunSettings(tstop=20, frames_per_ms=0.5, chunk_seconds=1e-6, cvode={cvode})
        calls, stop_at = [0], [None]

        def progress(t, frame):  # three chunks after frame 3, mid-way to frame 4
            if frame == 3:
                stop_at[0] = calls[0] + 3

        def cancelled():
            calls[0] += 1
            return stop_at[0] is not None and calls[0] >= stop_at[0]

        def new(name):
            return FrameCache.create(f"{{OUT}}/{{name}}.nlcache", settings.n_frames, model.n_segments,
                                     variable="v", frames_per_ms=settings.frames_per_ms)

        cut = new("cut")
        done = simulate(settings, cut, cancelled=cancelled, progress=progress)
        t_cancel = h.t
        cut.finish(complete=False, cancelled=True)
        rows_after_cancel = len(cut.frames)
        cut.extend(settings.n_frames)
        total = simulate(settings, cut, start_frame=done)
        cut.finish(complete=total == settings.n_frames)

        # The same cancel from another thread, through the Worker, as Blender does it.
        worker, stop, third = Worker(), threading.Event(), threading.Event()
        threaded = new("threaded")
        job = worker.submit(simulate, settings, threaded, cancelled=stop.is_set,
                            progress=lambda t, frame: frame == 3 and (third.set(), stop.wait(60)))
        # (frame 3 waits for the main thread's cancel: a tiny model would otherwise finish first)
        third.wait(60)
        stop.set()
        threaded_done = job.result(60)
        threaded.finish(complete=False, cancelled=True)
        threaded.extend(settings.n_frames)
        finished = worker.submit(simulate, settings, threaded, start_frame=threaded_done).result(60)
        threaded.finish(complete=finished == settings.n_frames)

        soma = next(sec for sec in h.allsec() if sec.name().endswith("soma"))
        recorded = h.Vector().record(soma(0.5)._ref_v, 1 / settings.frames_per_ms)
        straight = new("straight")
        simulate(settings, straight)
        np.save(f"{{OUT}}/recorded.npy", recorded.as_numpy())
        index = next(i for i, name in enumerate(model.section_names) if name.endswith("soma"))
        soma_column = int(model.section_segment_start[index] + model.section_nseg[index] // 2)
        print(json.dumps({{"done": done, "t_cancel": t_cancel, "rows_after_cancel": rows_after_cancel,
                          "threaded_done": threaded_done, "soma": soma_column}}))
    """)
    engine = import_module(PACKAGE + ".addon.engine")
    done, t_cancel = result["done"], result["t_cancel"]
    assert done == 4 and result["rows_after_cancel"] == 4, "the cancelled file is trimmed to the frames done"
    assert (done - 1) / 0.5 < t_cancel < done / 0.5, f"the cancel must land mid-frame, not at t = {t_cancel}"
    assert 1 <= result["threaded_done"] < 11
    straight = engine.FrameCache.open(tmp_path / "straight.nlcache").frames
    for name in ("cut", "threaded"):
        resumed = engine.FrameCache.open(tmp_path / f"{name}.nlcache")
        assert resumed.meta["complete"] and resumed.frames.shape == straight.shape
        np.testing.assert_allclose(resumed.frames, straight, atol=1e-4)
    recorded = np.load(tmp_path / "recorded.npy")  # Vector.record(Dt) stops one sample short
    assert len(recorded) >= 10
    np.testing.assert_allclose(resumed.frames[:len(recorded), result["soma"]], recorded, atol=1e-4)


CVODE_MODEL = """\
create soma, dend
soma { L = 20 diam = 20 insert hh }
dend { L = 300 diam = 1 nseg = 11 insert pas }
connect dend(0), soma(1)
objref stim
soma stim = new IClamp(0.5)
stim.del = 2
stim.dur = 40
stim.amp = 0.3
tstop = 40
cvode_active(1)
dt = 1.85
"""


@pytest.mark.parametrize("own_run", [False, True])
def test_cvode_frames_sit_at_exact_frame_times(nl, tmp_path, own_run):
    """A model leaves CVode on and dt at 1.85 ms: frames every 0.5 ms must still be the
    state at those times (NEURON's own CVode recording at them), spikes included."""
    (tmp_path / "cvode.hoc").write_text(CVODE_MODEL)
    result = run_engine(tmp_path, f"""
        model = load_model({str(tmp_path / 'cvode.hoc')!r})
        settings = RunSettings(tstop=40, dt=model.settings["dt"], cvode=True, frames_per_ms=2,
                               own_run={own_run})
        soma = next(sec for sec in h.allsec() if sec.name() == "soma")
        counter = h.NetCon(soma(0.5)._ref_v, None, sec=soma)
        counter.threshold = 0
        ours_spikes = h.Vector()
        counter.record(ours_spikes)
        cache = FrameCache.create(f"{{OUT}}/cv.nlcache", settings.n_frames, model.n_segments,
                                  variable="v", frames_per_ms=2)
        cache.finish(complete=simulate(settings, cache) == settings.n_frames)
        spikes_ours = len(ours_spikes)
        counter.record(None)

        times = h.Vector(np.arange(settings.n_frames) / settings.frames_per_ms)
        recorded = h.Vector().record(soma(0.5)._ref_v, times)
        neuron_spikes = h.Vector()
        counter.record(neuron_spikes)
        h.dt, h.celsius = 1.85, settings.celsius
        h.CVode().active(1)
        h.CVode().atol(settings.atol)
        h.finitialize(settings.v_init)
        h.continuerun(settings.tstop)
        np.save(f"{{OUT}}/recorded.npy", recorded.as_numpy())
        print(json.dumps({{"ours": spikes_ours, "neuron": len(neuron_spikes)}}))
    """)
    engine = import_module(PACKAGE + ".addon.engine")
    frames = engine.FrameCache.open(tmp_path / "cv.nlcache").frames
    recorded = np.load(tmp_path / "recorded.npy")
    assert len(recorded) == 81 and frames.shape[0] == 81
    np.testing.assert_allclose(frames[:, 0], recorded, atol=1e-3)
    assert result["ours"] == result["neuron"] >= 2, "the same spikes fire"
    crossings = lambda v: int(np.sum((v[:-1] < 0) & (v[1:] >= 0)))  # noqa: E731
    assert crossings(frames[:, 0]) == crossings(recorded) >= 2
    assert np.all(np.diff(frames[10:30, 0]) != 0), "no frame repeats its neighbour's values"


# --- Damaged caches ----------------------------------------------------------------

@pytest.fixture
def cache_module(nl):
    return import_module(PACKAGE + ".addon.engine.cache")


def good_cache(cache_module, folder, *, done=N_FRAMES, **finish):
    """A small valid cache with a segment table, `done` frames written."""
    segments = ([0, 0, 1, 1, 1], [.25, .75, .1, .5, .9])
    cache = cache_module.FrameCache.create(folder, N_FRAMES, N_SEGMENTS, segments=segments, variable="v",
                                           frames_per_ms=2.0, section_names=["soma", "dend"])
    for k in range(done):
        cache.write(k, np.full(N_SEGMENTS, -65.0 + k, np.float32))
    cache.finish(complete=done == N_FRAMES, **finish)
    return cache


def edit_meta(folder, **changes):
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(changes)
    (folder / "meta.json").write_text(json.dumps(meta))


def drop_meta(key):
    def damage(folder):
        meta = json.loads((folder / "meta.json").read_text())
        del meta[key]
        (folder / "meta.json").write_text(json.dumps(meta))
    return damage


def write_npy(array, allow_pickle=False):
    def damage(folder):
        np.save(folder / "frames.npy", array, allow_pickle=allow_pickle)
    return damage


def frames_bytes(transform):
    def damage(folder):
        path = folder / "frames.npy"
        path.write_bytes(transform(path.read_bytes()))
    return damage


def huge_header(folder):
    """An npy v2 header claiming 1 GB of header text."""
    (folder / "frames.npy").write_bytes(b"\x93NUMPY\x02\x00" + (1 << 30).to_bytes(4, "little") + b"{" * 64)


DAMAGES = {
    "meta is []": lambda f: (f / "meta.json").write_text("[]"),
    "meta is null": lambda f: (f / "meta.json").write_text("null"),
    "meta is not JSON": lambda f: (f / "meta.json").write_text("{'n_frames': 11"),
    "meta is binary": lambda f: (f / "meta.json").write_bytes(os.urandom(300)),
    "meta nests deeply": lambda f: (f / "meta.json").write_text("[" * 200000 + "]" * 200000),
    "meta lacks n_frames": drop_meta("n_frames"),
    "meta lacks variable": drop_meta("variable"),
    "meta lacks frames_done": drop_meta("frames_done"),
    "n_frames is text": lambda f: edit_meta(f, n_frames="11"),
    "units is a number": lambda f: edit_meta(f, units=1),
    "n_frames is 0": lambda f: edit_meta(f, n_frames=0, frames_done=0, complete=False),
    "n_segments is a float": lambda f: edit_meta(f, n_segments=5.0),
    "variable is a number": lambda f: edit_meta(f, variable=3),
    "frames_done is 10^9": lambda f: edit_meta(f, frames_done=10 ** 9),
    "frames_done is negative": lambda f: edit_meta(f, frames_done=-1),
    "frames_done beyond n_frames": lambda f: edit_meta(f, frames_done=N_FRAMES + 1),
    "frames_done is true": lambda f: edit_meta(f, frames_done=True),
    "complete with frames missing": lambda f: edit_meta(f, frames_done=3),
    "complete is a number": lambda f: edit_meta(f, complete=1),
    "error is a list": lambda f: edit_meta(f, error=["x"]),
    "frames_per_ms is 0": lambda f: edit_meta(f, frames_per_ms=0),
    "frames_per_ms is negative": lambda f: edit_meta(f, frames_per_ms=-2.0),
    "frames_per_ms is NaN": lambda f: edit_meta(f, frames_per_ms=float("nan")),
    "frames_per_ms is huge": lambda f: edit_meta(f, frames_per_ms=10 ** 400),
    "section_names is text": lambda f: edit_meta(f, section_names="soma"),
    "frames.npy is empty": frames_bytes(lambda data: b""),
    "frames.npy is truncated": frames_bytes(lambda data: data[:len(data) - 7]),
    "frames.npy lost its data": frames_bytes(lambda data: data[:128]),
    "frames.npy is random bytes": frames_bytes(lambda data: os.urandom(len(data))),
    "frames.npy random after the magic": frames_bytes(lambda data: data[:10] + os.urandom(len(data) - 10)),
    "frames.npy header is huge": huge_header,
    "frames.npy holds objects": write_npy(np.array([[object()] * N_SEGMENTS] * N_FRAMES), allow_pickle=True),
    "frames.npy is float64": write_npy(np.zeros((N_FRAMES, N_SEGMENTS))),
    "frames.npy is big-endian": write_npy(np.zeros((N_FRAMES, N_SEGMENTS), ">f4")),
    "frames.npy is Fortran order": write_npy(np.asfortranarray(np.zeros((N_FRAMES, N_SEGMENTS), np.float32))),
    "frames.npy has too many columns": write_npy(np.zeros((N_FRAMES, N_SEGMENTS + 1), np.float32)),
    "frames.npy has too many rows": write_npy(np.zeros((N_FRAMES + 1, N_SEGMENTS), np.float32)),
    "frames.npy is 1-D": write_npy(np.zeros(N_FRAMES * N_SEGMENTS, np.float32)),
    "frames.npy is a folder": lambda f: ((f / "frames.npy").unlink(), (f / "frames.npy").mkdir()),
    "segments.npz is random bytes": lambda f: (f / "segments.npz").write_bytes(os.urandom(200)),
    "segments.npz is short": lambda f: np.savez(f / "segments.npz", section=np.zeros(3, np.int32),
                                                x=np.zeros(3, np.float32)),
    "segments.npz lacks x": lambda f: np.savez(f / "segments.npz", section=np.zeros(N_SEGMENTS, np.int32)),
    "segments.npz holds objects": lambda f: np.savez(f / "segments.npz", section=np.array([None] * N_SEGMENTS),
                                                     x=np.zeros(N_SEGMENTS, np.float32)),
    "segments.npz indexes a missing section": lambda f: np.savez(
        f / "segments.npz", section=np.full(N_SEGMENTS, 7, np.int32), x=np.zeros(N_SEGMENTS, np.float32)),
    "meta.json is missing": lambda f: (f / "meta.json").unlink(),
    "frames.npy is missing": lambda f: (f / "frames.npy").unlink(),
    "not a cache": lambda f: edit_meta(f, format="something else"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_cache_raises_only_a_clear_cache_error(cache_module, tmp_path, damage):
    folder = tmp_path / "run.nlcache"
    good_cache(cache_module, folder)
    DAMAGES[damage](folder)
    started = time.monotonic()
    with pytest.raises(cache_module.CacheError) as raised:
        cache_module.FrameCache.open(folder)
    message = str(raised.value)
    assert type(raised.value) is cache_module.CacheError
    assert str(folder) in message and "allow_pickle" not in message
    assert time.monotonic() - started < 2


def test_missing_folder_says_it_is_gone(cache_module, tmp_path):
    with pytest.raises(cache_module.CacheError, match="is gone"):
        cache_module.FrameCache.open(tmp_path / "nowhere.nlcache")


def test_open_of_a_huge_cache_reads_only_headers(cache_module, tmp_path):
    """A 4 GB (sparse) frames.npy opens at once; its rows are never read to validate."""
    folder = tmp_path / "huge.nlcache"
    folder.mkdir()
    shape = (1000, 1_000_000)
    with open(folder / "frames.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
        f.truncate(f.tell() + shape[0] * shape[1] * 4)
    meta = {"format": "neuron_live.frame_cache", "version": 1, "variable": "v", "frames_per_ms": 1.0,
            "n_frames": shape[0], "n_segments": shape[1], "frames_done": 10, "complete": False,
            "cancelled": True, "error": None}
    (folder / "meta.json").write_text(json.dumps(meta))
    started = time.monotonic()
    cache = cache_module.FrameCache.open(folder)
    assert time.monotonic() - started < 1 and cache.frames.shape == shape
    os.truncate(folder / "frames.npy", 4096)  # header kept, data cut
    with pytest.raises(cache_module.CacheError, match="truncated"):
        cache_module.FrameCache.open(folder)


def test_unknown_units_and_no_segment_table_open(cache_module, tmp_path):
    cache = cache_module.FrameCache.create(tmp_path / "m.nlcache", 2, 1, variable="m_hh", frames_per_ms=1.0)
    cache.write(0, np.zeros(1, np.float32))
    cache.finish(complete=False, cancelled=True)
    reopened = cache_module.FrameCache.open(tmp_path / "m.nlcache")
    assert reopened.meta["units"] == "" and reopened.frames.shape == (1, 1)


def test_open_tells_complete_cancelled_failed_and_interrupted(cache_module, tmp_path):
    FrameCache = cache_module.FrameCache

    def state(cache):
        return cache.frames_done, {key for key in ("complete", "cancelled", "error") if cache.meta.get(key)}

    good_cache(cache_module, tmp_path / "complete")
    assert state(FrameCache.open(tmp_path / "complete")) == (N_FRAMES, {"complete"})
    good_cache(cache_module, tmp_path / "cancelled", done=3, cancelled=True)
    assert state(FrameCache.open(tmp_path / "cancelled")) == (3, {"cancelled"})
    good_cache(cache_module, tmp_path / "failed", done=2, error="NaN in 'v'")
    failed = FrameCache.open(tmp_path / "failed")
    assert state(failed) == (2, {"error"}) and failed.meta["error"].startswith("NaN")
    running = FrameCache.create(tmp_path / "cut", N_FRAMES, N_SEGMENTS, variable="v", frames_per_ms=2.0)
    for k in range(4):
        running.write(k, np.zeros(N_SEGMENTS, np.float32))
    running.save_meta()  # Blender dies here: finish() never runs
    assert state(running) == (4, set())
    assert state(FrameCache.open(tmp_path / "cut")) == (4, set()), "interrupted: the rows written, no outcome"


# --- Creating, replacing, trimming ---------------------------------------------------

def test_failed_creation_keeps_the_previous_cache(cache_module, tmp_path, monkeypatch):
    folder = tmp_path / "run.nlcache"
    before = np.array(good_cache(cache_module, folder).frames)

    def disk_full(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", disk_full, raising=False)
    with pytest.raises(cache_module.CacheError, match="No space left"):
        cache_module.FrameCache.create(folder, 100, N_SEGMENTS, variable="v", frames_per_ms=2.0)
    np.testing.assert_array_equal(cache_module.FrameCache.open(folder).frames, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nlcache"], "no half-made sibling stays"


def test_staged_cache_replaces_the_old_one_only_when_promoted(cache_module, tmp_path):
    folder = tmp_path / "run.nlcache"
    good_cache(cache_module, folder)
    new = cache_module.FrameCache.create(folder, 4, 3, variable="cai", frames_per_ms=1.0, staged=True)
    assert new.staged and new.folder != folder and new.folder.parent == tmp_path
    assert cache_module.FrameCache.open(folder).meta["variable"] == "v", "the old cache still plays"
    new.write(0, np.ones(3, np.float32))
    assert new.promote() == folder and new.folder == folder and not new.staged
    new.write(1, np.full(3, 2, np.float32))  # the memory map survived the move
    new.finish(complete=False, cancelled=True)
    reopened = cache_module.FrameCache.open(folder)
    assert reopened.meta["variable"] == "cai" and reopened.frames_done == 2
    np.testing.assert_array_equal(reopened.frames, [[1, 1, 1], [2, 2, 2]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nlcache"], "the old cache is deleted"
    failed = cache_module.FrameCache.create(folder, 4, 3, variable="v", frames_per_ms=1.0, staged=True)
    failed.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nlcache"]
    assert cache_module.FrameCache.open(folder).meta["variable"] == "cai"
    with pytest.raises(cache_module.CacheError, match="not a staged one"):
        reopened.discard()


def test_cancelled_cache_is_trimmed_and_still_extends(cache_module, tmp_path):
    folder = tmp_path / "run.nlcache"
    cache = good_cache(cache_module, folder, done=3, cancelled=True)
    header = 128
    assert (folder / "frames.npy").stat().st_size == header + 3 * N_SEGMENTS * 4
    assert np.load(folder / "frames.npy").shape == (3, N_SEGMENTS), "numpy itself reads the new header"
    reopened = cache_module.FrameCache.open(folder)
    assert reopened.meta["n_frames"] == N_FRAMES and reopened.frames.shape == (3, N_SEGMENTS)
    np.testing.assert_array_equal(reopened.frames[:, 0], [-65, -64, -63])
    cache.extend(N_FRAMES)
    assert cache.frames.shape == (N_FRAMES, N_SEGMENTS) and np.isnan(cache.frames[3:]).all()
    for k in range(3, N_FRAMES):
        cache.write(k, np.full(N_SEGMENTS, -65.0 + k, np.float32))
    cache.finish(complete=True)
    np.testing.assert_array_equal(cache_module.FrameCache.open(folder).frames[:, 0], np.arange(N_FRAMES) - 65.0)
