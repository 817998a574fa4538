"""Simulation rows of the benchmark: wall time inside NEURON Live vs plain NEURON (no
recording), and the longest main-thread gap during a run, for one cell and a network;
then the hosts (separate process vs in Blender, Run → first frame, cancel latency) and
the cores (NEURON threads and MPI processes, 2 against 1, on the network and a ring).

The main thread runs the same pump Blender's timer calls, sleeping 1 ms between turns
as an idle UI would. A "stall" is how much longer than that 1 ms the main thread waited
to run again (NEURON holding the GIL); the pump's own work is reported apart.
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


def _ours(nl, tasks, tstop, frames_per_ms):
    """Run through the API while the main thread pumps; returns the wall time, the waits
    for the GIL between turns (NEURON's stall) and the pump's own time per turn."""
    waits, pumps = [], []
    started = time.perf_counter()
    task = nl.run(tstop=tstop, frames_per_ms=frames_per_ms, wait_done=False)
    while tasks.session.task is task:
        turn = time.perf_counter()
        tasks.pump()
        pumped = time.perf_counter()
        time.sleep(0.001)
        waits.append(time.perf_counter() - pumped - 0.001)
        pumps.append(pumped - turn)
    task.future.result()
    return time.perf_counter() - started, waits, pumps


def simulation_rows(nl, tasks, row, network_file, *, smoke=False):
    """Rows for a 1-cell model (long run, many frames) and the benchmark network; `smoke`
    runs each for a few ms only."""
    from neuron import h

    cases = (("1 cell", REPO / "examples" / "ball_and_stick.py", 5 if smoke else 2000, 2),
             ("network", Path(network_file), 2 if smoke else 20, 2))
    for label, path, tstop, frames_per_ms in cases:
        model = nl.load_model(str(path), build=False)
        worker = tasks.session.worker
        plain = min(worker.submit(_plain_seconds, h, tstop, -65).result() for _ in range(2))
        ours, waits, pumps = min((_ours(nl, tasks, tstop, frames_per_ms) for _ in range(2)),
                                 key=lambda r: r[0])
        name = f"{label} ({model.n_segments} segments, {tstop:g} ms)"
        row(f"simulation wall time (s), {name}", ours, plain, "≤ 1.10× plain NEURON")
        row(f"main-thread stall, max (ms), {label}", max(waits) * 1e3, 20, "≤ 20 ms")
        row(f"main-thread stall, median (ms), {label}", statistics.median(waits) * 1e3, 20, "")
        row(f"pump turn, max (ms), {label}", max(pumps) * 1e3, 20, "UI work per timer turn")
    host_rows(nl, tasks, row, network_file, smoke=smoke)
    core_rows(nl, tasks, row, network_file, smoke=smoke)


def _pumped(nl, tasks, **settings):
    """One run through the API, the main thread pumping as Blender's timer does; returns
    (wall time, time to the first frame)."""
    started = time.perf_counter()
    first = None
    task = nl.run(wait_done=False, **settings)
    while tasks.session.task is task:
        tasks.pump()
        if first is None and task.cache is not None and task.cache.frames_done > 0:
            first = time.perf_counter() - started
        time.sleep(0.001)
    task.future.result()
    wall = time.perf_counter() - started
    return wall, first if first is not None else wall


def _best(nl, tasks, repeat, **settings):
    runs = [_pumped(nl, tasks, **settings) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def host_rows(nl, tasks, row, network_file, *, smoke=False):
    """The separate process against the thread in Blender on the network; Run → first
    frame in each; how long Cancel takes to end a run in the separate process."""
    tstop, repeat = (2, 1) if smoke else (20, 2)
    walls = {}
    for host in ("IN_BLENDER", "PROCESS"):
        nl.load_model(str(network_file), host=host, build=False)
        walls[host] = _best(nl, tasks, repeat, tstop=tstop, threads=1, processes=1)
    row("separate process wall time (s), network", walls["PROCESS"][0], walls["IN_BLENDER"][0],
        "≤ 1.05× in Blender")
    for host, label in (("IN_BLENDER", "in Blender"), ("PROCESS", "separate process")):
        row(f"Run → first frame (s), network, {label}", walls[host][1], 0.25, "≤ 0.25 s")
    # Cancel: a long run in the separate process, cancelled once frames are coming.
    task = nl.run(wait_done=False, tstop=tstop * 50)
    while tasks.session.task is task and (task.cache is None or task.cache.frames_done < 2):
        tasks.pump()
        time.sleep(0.001)
    started = time.perf_counter()
    nl.cancel()
    while tasks.session.task is task:
        tasks.pump()
        time.sleep(0.001)
    row("cancel latency (s), separate process", time.perf_counter() - started, 1.0, "≤ 1 s")


def core_rows(nl, tasks, row, network_file, *, smoke=False):
    """Speed-up of 2 cores against 1: NEURON threads on the network and on a ParallelContext
    ring (in Blender), and 2 MPI processes on the ring (separate-process host; the figure
    includes starting mpiexec and loading the model on each rank)."""
    import shutil
    import tempfile

    from bench_models import write_ring

    tstop, repeat = (2, 1) if smoke else (20, 2)
    ring = write_ring(tempfile.mkdtemp(), 4 if smoke else 100, dends=1 if smoke else 10,
                      nseg=3 if smoke else 99)
    for label, path in (("network", network_file), ("ring", ring)):
        model = nl.load_model(str(path), host="IN_BLENDER", build=False)
        one = _best(nl, tasks, repeat, tstop=tstop, threads=1)[0]
        two = _best(nl, tasks, repeat, tstop=tstop, threads=2)[0]
        row(f"2 threads speed-up (×), {label} ({model.n_segments} segments)", one / two, 1.7, "≥ 1.7× on 2 cores")
    if shutil.which("mpiexec") is None:
        print("(no mpiexec: no MPI row)", flush=True)
        return
    nl.load_model(str(ring), host="PROCESS", build=False)
    one = _best(nl, tasks, repeat, tstop=tstop, threads=1, processes=1)[0]
    two = _best(nl, tasks, repeat, tstop=tstop, threads=1, processes=2)[0]
    import bpy

    status = bpy.context.scene.neuron_live.status  # says so when the ranks could not be used
    row("2 MPI processes speed-up (×), ring", one / two, 1.7,
        "≥ 1.7× on 2 cores" + (f" [{status}]" if "one process" in status else ""))


def main():
    """Only the simulation rows: `python tools/bench_engine.py [--cells 100] [--smoke]`."""
    import argparse
    import tempfile

    from bench_models import write_network
    from headless import PACKAGE, enable_from_source, isolate_profile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="a few ms each: check that the rows run")
    args = parser.parse_args()
    isolate_profile(tempfile.mkdtemp(prefix="neuron-live-bench-"))
    from importlib import import_module
    nl = enable_from_source()
    network = write_network(tempfile.mkdtemp(), args.cells)

    def row(figure, ours, reference, target):
        print(f"{figure:<52} {ours:>10.4g} {reference:>10.4g} {ours / reference:>7.2f}  {target}", flush=True)
    simulation_rows(nl, import_module(PACKAGE + ".addon.session.tasks"), row, network, smoke=args.smoke)


if __name__ == "__main__":
    main()
