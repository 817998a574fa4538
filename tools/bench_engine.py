"""Simulation rows of the benchmark: wall time inside NEURON Live vs plain NEURON (no
recording), and the longest main-thread gap during a run, for one cell and a network.

The main thread runs the same pump Blender's timer calls, sleeping 1 ms between turns
as an idle UI would; a "gap" is the time between turns beyond that sleep.
"""
import statistics
import time
from pathlib import Path

from headless import REPO


def _plain_seconds(h, tstop, v_init):
    """The same model, plain NEURON: finitialize + continuerun, nothing recorded."""
    h.finitialize(v_init)
    started = time.perf_counter()
    h.continuerun(tstop)
    return time.perf_counter() - started


def _ours(nl, session, tstop, frames_per_ms):
    gaps = []
    started = time.perf_counter()
    task = nl.run(tstop=tstop, frames_per_ms=frames_per_ms, wait_done=False)
    last = time.perf_counter()
    while session.session.task is task:
        session.pump()
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last - 0.001)
        last = now
    task.future.result()
    return time.perf_counter() - started, gaps


def simulation_rows(nl, session, row, network_file):
    """Rows for a 1-cell model (long run, many frames) and the benchmark network."""
    from neuron import h

    cases = (("1 cell", REPO / "examples" / "ball_and_stick.py", 2000, 2),
             ("network", Path(network_file), 20, 2))
    for label, path, tstop, frames_per_ms in cases:
        model = nl.load_model(str(path), build=False)
        worker = session.session.worker
        plain = min(worker.submit(_plain_seconds, h, tstop, -65).result() for _ in range(2))
        ours, gaps = min((_ours(nl, session, tstop, frames_per_ms) for _ in range(2)), key=lambda r: r[0])
        name = f"{label} ({model.n_segments} segments, {tstop:g} ms)"
        row(f"simulation wall time (s), {name}", ours, plain, "≤ 1.10× plain NEURON")
        row(f"main-thread gap, max (ms), {label}", max(gaps) * 1e3, 20, "≤ 20 ms")
        row(f"main-thread gap, median (ms), {label}", statistics.median(gaps) * 1e3, 20, "")
