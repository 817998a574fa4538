"""Benchmark rows for SONATA (issue 24): a population of reconstructed cells (one real
morphology placed many times, as circuits do) opened from its nodes file and a report.

Called by bench.py (`sonata_rows`); nothing here is asserted. `python tools/bench_sonata.py
[--cells 10000] [--frames 100]` runs only these rows.
"""
import argparse
import resource
import shutil
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

from headless import PACKAGE, REPO

MORPHOLOGY = REPO.parent / "shared" / "morphologies" / "h10.CNG.swc"


def write_population(folder, n_cells, n_frames, dt=0.5, point=False):
    """nodes.h5 (positions, rotation angles), node_types.csv, the morphology (none for
    `point` neurons), and a soma report of `n_frames` rows, laid out as the SONATA
    specification says."""
    import h5py
    import numpy as np

    folder = Path(folder)
    (folder / "morphologies").mkdir(parents=True, exist_ok=True)
    shutil.copy(MORPHOLOGY, folder / "morphologies" / MORPHOLOGY.name)
    kind = "point_process NULL" if point else f"biophysical {MORPHOLOGY.name}"
    (folder / "node_types.csv").write_text(f"node_type_id model_type morphology\n1 {kind}\n")
    rng = np.random.default_rng(1)
    side = 300.0 * np.ceil(n_cells ** (1 / 3))
    with h5py.File(folder / "nodes.h5", "w") as f:
        group = f.create_group("nodes/pop")
        group["node_type_id"] = np.ones(n_cells, np.uint64)
        group["node_group_id"] = np.zeros(n_cells, np.uint32)
        group["node_group_index"] = np.arange(n_cells, dtype=np.uint64)
        for axis in "xyz":
            group[f"0/{axis}"] = rng.uniform(0, side, n_cells)
            group[f"0/rotation_angle_{axis}axis"] = rng.uniform(-np.pi, np.pi, n_cells)
    with h5py.File(folder / "report.h5", "w") as f:
        mapping = f.create_group("report/pop/mapping")
        mapping["node_ids"] = np.arange(n_cells, dtype=np.uint64)
        mapping["index_pointers"] = np.arange(n_cells + 1, dtype=np.uint64)
        mapping["element_ids"] = np.zeros(n_cells, np.uint32)
        mapping["element_pos"] = np.full(n_cells, 0.5, np.float32)
        mapping["time"] = [0.0, n_frames * dt, dt]
        t = np.arange(n_frames)[:, None] * dt
        f["report/pop/data"] = (-65 + 30 * np.sin(t * 0.6 + np.arange(n_cells)[None] * 0.01)).astype(np.float32)
    return folder / "nodes.h5", folder / "report.h5"


def _frame_ms(scene, frames):
    times = []
    for frame in frames:
        started = time.perf_counter()
        scene.frame_set(frame)
        times.append(time.perf_counter() - started)
    return 1e3 * sorted(times)[len(times) // 2]


def sonata_rows(nl, row, *, smoke=False, cells=10_000, frames=100, points=100_000):
    if smoke:
        cells, frames, points = 3, 5, 4
    _population_rows(row, cells, frames, point=False)
    _population_rows(row, points, frames, point=True)


def _population_rows(row, cells, frames, *, point):
    import bpy

    recordings = import_module(PACKAGE + ".addon.session.recordings")
    playback = import_module(PACKAGE + ".addon.scene.playback")
    session = import_module(PACKAGE + ".addon.session.tasks").session
    with tempfile.TemporaryDirectory(prefix="bench-sonata-") as folder:
        nodes, report = write_population(folder, cells, frames, point=point)
        bpy.ops.wm.read_homefile(use_empty=True)
        scene = bpy.context.scene
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        recordings.open_recording(nodes, report=report)
        opened = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        objects = playback.cell_objects(scene)
        vertices = sum(len(obj.data.vertices) for obj in objects)
        frame = _frame_ms(scene, range(2, min(frames, 22)))
        sections = session.model.n_sections
    label = f"SONATA {cells:,} point somata" if point else f"SONATA {cells:,} h10 cells ({sections:,} sections)"
    row(f"{label}: open → on screen (s)", opened, 30.0, "≤ 30 s")
    if point:
        row(f"{label}: frame update (ms)", frame, 1000 / 24, "≤ 41.7 ms (24 frames/s)")
    else:
        row(f"{label}: frame update (ms)", frame, 50.0, "≤ 50 ms")
    row(f"{label}: vertices (M), {len(objects)} objects", vertices / 1e6, float("nan"),
        "tubes ≤ 300 cells, lines beyond")
    row(f"{label}: peak memory growth (GB)", max(peak - before, 0) / 2**20, 8.0, "≤ 8 GB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    from headless import enable_from_source, isolate_profile
    isolate_profile(tempfile.mkdtemp(prefix="neuron-live-bench-"))
    import bpy  # noqa: F401  (after the profile is isolated)
    nl = enable_from_source()

    def row(figure, ours, reference, target):
        print(f"{figure:<60} {ours:>10.4g} {reference:>10.4g}  {target}", flush=True)
    sonata_rows(nl, row, smoke=args.smoke, cells=args.cells, frames=args.frames, points=args.points)


if __name__ == "__main__":
    sys.exit(main())
