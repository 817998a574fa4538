"""Benchmark rows for experiments (issue 21): click → probe placed, and what probes cost a run.

Called by bench.py (`experiment_rows`); nothing here is asserted.
- Click → probe: `add_probe(location=…)` on a reconstructed cell's mesh (the nearest segment
  along the centre lines, the experiment stored, the markers made), after the index over
  the centre lines is built (once per mesh build; its time is a row of its own).
- 10 full-resolution probes (Vector.record at every step) on the benchmark network's run,
  against the same run without them, best of a few runs taking turns.
"""
import time
from importlib import import_module
from pathlib import Path

import numpy as np

from headless import PACKAGE, REPO

MORPHOLOGY = REPO.parent / "shared" / "morphologies" / "ca2.CNG.swc"  # a reconstruction: ~100k vertices


def _vertices(bpy):
    return sum(len(obj.data.vertices) for obj in bpy.context.scene.objects if obj.type == "MESH")


def click_rows(nl, row, *, smoke=False):
    import bpy
    session = import_module(PACKAGE + ".addon.session.tasks").session
    experiment = import_module(PACKAGE + ".addon.session.experiment")
    bpy.ops.wm.read_homefile(use_empty=True)
    nl.load_model(str(MORPHOLOGY), build=True)
    model, scene = session.model, bpy.context.scene
    vertices = _vertices(bpy)
    started = time.perf_counter()
    experiment.centre_lines()
    row(f"centre-line index build (ms, {len(model.points)} points)", (time.perf_counter() - started) * 1e3, 30,
        "once per mesh build")
    props = scene.neuron_live
    middle = np.array([(model.points[:, i].min() + model.points[:, i].max()) / 2 for i in range(3)])
    picks = np.random.default_rng(0).integers(0, len(model.points), 3 if smoke else 20)
    times = []
    for pick in picks:
        where = (model.points[pick, :3].astype(np.float64) - middle) * props.scale
        started = time.perf_counter()
        nl.add_probe(location=tuple(where))
        times.append(time.perf_counter() - started)
    row(f"click → probe placed (ms, {vertices / 1e3:.0f}k vertices), median", float(np.median(times)) * 1e3, 30,
        "≤ 30 ms")
    nl.clear_experiment()


def probe_cost_rows(nl, row, network_file, *, smoke=False):
    import bpy
    session = import_module(PACKAGE + ".addon.session.tasks").session
    bpy.ops.wm.read_homefile(use_empty=True)
    nl.load_model(str(network_file), build=False)
    model = session.model
    somata = [name for name in model.section_names if name.startswith("soma")][:10]
    tstop = 2 if smoke else 20
    best = {0: float("inf"), len(somata): float("inf")}
    nl.run(tstop=tstop)  # the first run after a load builds the segment pointers
    for _ in range(1 if smoke else 3):
        for probes in best:
            nl.clear_experiment()
            for name in somata[:probes]:
                nl.add_probe(name, 0.5)
            started = time.perf_counter()
            nl.run(tstop=tstop)
            best[probes] = min(best[probes], time.perf_counter() - started)
    with_probes, without = best[len(somata)], best[0]
    row(f"run with {len(somata)} full-resolution probes (s), network", with_probes, without,
        "≤ 1.03× the run without")
    live_rows(nl, row, tstop=tstop * (5 if smoke else 10))
    nl.clear_experiment()


def live_rows(nl, row, tstop):
    """The probe plot growing during a run: Blender's main-thread time per refresh (the
    drawing itself runs on a thread of its own)."""
    import bpy
    tasks = import_module(PACKAGE + ".addon.session.tasks")
    views = import_module(PACKAGE + ".addon.session.experiment_views")
    scene = bpy.context.scene
    nl.plot_probes()  # the plot the user opened
    stalls, swaps = [], []

    def refresh(task):
        started = time.perf_counter()
        swaps.append(views.live_plot.refresh(scene))
        stalls.append(time.perf_counter() - started)
    tasks.wait(nl.run(tstop=tstop, wait_done=False), on_progress=refresh)
    views.live_plot.finish()
    row(f"live probe plot, main thread per refresh, max (ms, {sum(swaps)} redraws)", max(stalls) * 1e3, 20,
        "≤ 20 ms")


def experiment_rows(nl, row, network_file, *, smoke=False):
    click_rows(nl, row, smoke=smoke)
    probe_cost_rows(nl, row, Path(network_file), smoke=smoke)
