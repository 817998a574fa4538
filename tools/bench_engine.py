"""Simulation rows of the benchmark: wall time inside NEURON Live vs plain NEURON (no
recording), and the longest main-thread gap during a run, for one cell and a network.

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
