"""Simulation rows of the benchmark: wall time inside NEURON Live vs plain NEURON with the
same integrator (nothing recorded), for one cell, a 1,000-segment cell and the network
(short, with its cells coloured live, CVode, long), with a breakdown of where the time
goes on the worker thread; the longest main-thread gap during a run (these load into
Blender's own NEURON, host="IN_BLENDER": plain NEURON and the breakdown use its `h`); then
the hosts (the default, a process of its own, against plain NEURON and in Blender: run wall
time, stall, Run → first frame, cancel latency; Load → cells on screen; the main thread's
wait while hoc computes at load; the spare process's CPU and memory) and the cores (NEURON
threads and MPI processes, 2 against 1, on the network and a ring). Short runs are the
best of 3, plain NEURON and ours taking turns, so that the machine's drift hits both.
Every row is timed with the spare process up (`ready_spare`), never while one starts.

A run's wall time is Run → the worker's last frame, with the main thread pumping as
Blender's timer does (every 50 ms), and again as a busy UI would (wanting the GIL every
1 ms, the worst case). A "stall" is how much longer than that 1 ms the main thread waited
to run again (NEURON holding the GIL); the pump's own work is reported apart.
"""
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_models import write_network, write_ring
from headless import REPO


def _plain_seconds(h, tstop, v_init, *, cvode=False, frames_per_ms=None):
    """The same model in plain NEURON: finitialize + continuerun with the same integrator,
    nothing recorded; `frames_per_ms`: one Vector.record at those frame times (CVode then
    stops at each, as ours must)."""
    h.CVode().active(int(cvode))
    if frames_per_ms:
        times = h.Vector([k / frames_per_ms for k in range(int(round(tstop * frames_per_ms)) + 1)])
        recorded = h.Vector()
        recorded.record(next(iter(h.allsec()))(0.5)._ref_v, times)
    h.finitialize(v_init)
    started = time.perf_counter()
    h.continuerun(tstop)
    took = time.perf_counter() - started
    h.CVode().active(0)
    return took


def _plain_with_cpu(h, tstop):
    """`_plain_seconds` (v_init -65) and the CPU time of the thread running it (finitialize
    included): (wall s, CPU s)."""
    cpu = time.thread_time()
    wall = _plain_seconds(h, tstop, -65)
    return wall, time.thread_time() - cpu


def _stepping_seconds(h, tstop, v_init, frames_per_ms, make_read=None):
    """Plain NEURON stepped to every frame time by psolve (fixed step): the floor of any
    frame loop; `make_read()`: a reader of every segment's v, called at each frame.
    Returns (seconds in all, seconds of them inside the reads)."""
    pc = h.ParallelContext()
    pc.set_maxstep(10)
    read = make_read() if make_read else None
    h.finitialize(v_init)
    if read:
        read()  # (a reader checks itself at its first frame)
    clock, reading = time.perf_counter, 0.0
    started = clock()
    for frame in range(1, int(round(tstop * frames_per_ms)) + 1):
        pc.psolve(frame / frames_per_ms)
        if read:
            before = clock()
            read()
            reading += clock() - before
    return clock() - started, reading


def _gather(h):
    """What plain NEURON pays to read the frames: one PtrVector over every segment's v."""
    refs = [seg._ref_v for sec in h.allsec() for seg in sec]
    pointers, values = h.PtrVector(len(refs)), h.Vector(len(refs))
    for i, ref in enumerate(refs):
        pointers.pset(i, ref)
    return lambda: pointers.gather(values)


def _engine_seconds(nl, model, settings):
    """`engine.simulate` alone on the worker thread (sampling and cache writes included;
    cache creation apart), nothing pumping: returns (simulate, cache creation) seconds."""
    from importlib import import_module
    engine = import_module(nl.__name__ + ".addon.engine")

    def job():
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            cache = engine.FrameCache.create(Path(folder) / "bench.nlcache", settings.n_frames, model.n_segments,
                                             variable="v", frames_per_ms=settings.frames_per_ms)
            created = time.perf_counter()
            engine.simulate(settings, cache)
            took = time.perf_counter() - created
            cache.finish(complete=True)
            return took, created - started
    return nl.addon.session.tasks.session.worker.submit(job).result()


@dataclass
class Run:
    wall: float   # Run → the worker's last frame (s)
    first: float  # Run → the first frame seen by the pump (s)
    waits: list   # per pump turn: the wait for the GIL beyond the sleep (s)
    pumps: list   # per pump turn: the pump's own time (s), waits for the GIL inside it included
    work: list    # per pump turn: the main thread's CPU time in it (s)


def _ours(nl, tasks, pump_every=0.001, **settings):
    """One run through the API while the main thread pumps every `pump_every` s."""
    waits, pumps, work, finished, first = [], [], [], [], None
    started = time.perf_counter()
    task = nl.run(wait_done=False, **settings)
    task.future.add_done_callback(lambda _: finished.append(time.perf_counter()))
    while tasks.session.task is task:
        turn, cpu = time.perf_counter(), time.thread_time()
        tasks.pump()
        pumped = time.perf_counter()
        work.append(time.thread_time() - cpu)
        if first is None and task.cache is not None and task.cache.frames_done > 0:
            first = pumped - started
        time.sleep(pump_every)
        waits.append(time.perf_counter() - pumped - pump_every)
        pumps.append(pumped - turn)
    task.future.result()
    wall = finished[0] - started
    return Run(wall, first if first is not None else wall, waits, pumps, work)


def _best(nl, tasks, repeat, pump_every=0.001, **settings):
    """The fastest of `repeat` runs."""
    return min((_ours(nl, tasks, pump_every, **settings) for _ in range(repeat)), key=lambda run: run.wall)


REPEAT = 3  # short runs: the best of 3, plain NEURON and ours taking turns (this machine drifts ±5 %)


def simulation_rows(nl, tasks, row, network_file, *, smoke=False):
    """Rows for a 1-cell model (long run, many frames), a cell of 1,000 segments and the
    benchmark network (20 ms; with its cells coloured live; CVode on; a long run);
    `smoke` runs each for a few ms only."""
    from neuron import h

    big_cell = write_network(tempfile.mkdtemp(), 1, nseg=9 if smoke else 99)  # one cell of ~1,000 segments
    network = Path(network_file)
    # label, model, tstop, CVode, cell meshes built (coloured live), best of REPEAT
    cases = (("1 cell", REPO / "examples" / "ball_and_stick.py", 5 if smoke else 2000, False, False, True),
             ("1,000-segment cell", big_cell, 5 if smoke else 500, False, False, True),
             ("network", network, 2 if smoke else 20, False, False, True),
             ("network, cells coloured live", network, 2 if smoke else 20, False, True, True),
             ("network CVode", network, 2 if smoke else 20, True, False, True),
             ("network long run", network, 3 if smoke else 200, False, False, False))  # last: its
    # 160 MB cache is still being written back to disk for a while after it ends
    per_ms = 2
    for label, path, tstop, cvode, shown, repeat in cases:
        # Blender's own NEURON: the plain-NEURON references and the breakdown use its `h`
        model = nl.load_model(str(path), build=shown, host="IN_BLENDER")
        ready_spare(nl, tasks)  # the spare a load asks for is not started during the timed runs
        worker = tasks.session.worker
        settings = dict(tstop=tstop, frames_per_ms=per_ms, cvode=cvode)
        if label == "network":  # the first run after a load builds the segment pointers
            first = _ours(nl, tasks, 0.05, **settings)
            row(f"  first run after the load, {label}", first.wall,
                worker.submit(_plain_seconds, h, tstop, -65).result(), "pointers to every segment built once a load")
        else:
            nl.run(tstop=min(tstop, 1), frames_per_ms=per_ms, cvode=cvode)
        plains, recorded, timers, busies = [], [], [], []
        for _ in range(REPEAT if repeat else 1):
            plains.append(worker.submit(_plain_seconds, h, tstop, -65, cvode=cvode).result())
            if cvode:
                recorded.append(worker.submit(_plain_seconds, h, tstop, -65, cvode=True,
                                              frames_per_ms=per_ms).result())
            timers.append(_ours(nl, tasks, 0.05, **settings))
            busies.append(_ours(nl, tasks, 0.001, **settings))
        plain = min(plains)
        timer, busy = (min(runs, key=lambda run: run.wall) for runs in (timers, busies))
        frames = int(round(tstop * per_ms)) + 1
        best = f", best of {REPEAT}" if repeat else ""
        name = f"{label} ({model.n_segments} segments, {tstop:g} ms, {frames} frames{best})"
        row(f"simulation wall time (s), {name}", timer.wall, plain, "≤ 1.05× plain NEURON (Blender's timer)")
        row(f"  same, busy UI (GIL wanted every 1 ms), {label}", busy.wall, plain, "worst case")
        if cvode:
            row(f"  against plain NEURON recording the frame times, {label}", timer.wall, min(recorded),
                "CVode stops at every frame time in both")
        if shown:
            row(f"  main thread's share of the run (%), {label}", 100 * sum(timer.pumps) / timer.wall, 5,
                "colouring live ≤ 5 %")
        if label in ("network", "1,000-segment cell"):
            _breakdown(nl, tasks, row, label, model, h, plain, timer.wall, tstop, per_ms)
        if shown:  # the next cases show nothing: a load without building keeps the old meshes
            from importlib import import_module

            import bpy
            import_module(nl.__name__ + ".addon.scene.groups").remove_cells(bpy.context.scene)
        waits, pumps = busy.waits, busy.pumps
        row(f"main-thread stall, max (ms), {label}", max(waits) * 1e3, 20, "≤ 20 ms")
        row(f"main-thread stall, median (ms), {label}", statistics.median(waits) * 1e3, 20, "")
        row(f"pump turn, max (ms), {label}", max(pumps) * 1e3, 20, "UI work per timer turn ≤ 20 ms")
        row(f"  its work, max (ms of main-thread CPU), {label}", max(busy.work) * 1e3, 20,
            "the turn without GIL waits or the machine's pauses")
    host_rows(nl, tasks, row, network_file, smoke=smoke)
    load_rows(nl, tasks, row, network_file, smoke=smoke)
    load_wait_rows(nl, tasks, row, smoke=smoke)
    spare_rows(nl, tasks, row, smoke=smoke)
    core_rows(nl, tasks, row, network_file, smoke=smoke)


def _breakdown(nl, tasks, row, label, model, h, plain, ours, tstop, per_ms):
    """Where the time goes on the worker thread, each figure against plain NEURON (best of
    REPEAT, the four taking turns); reads are timed themselves, the rest is a difference."""
    from importlib import import_module
    engine = import_module(nl.__name__ + ".addon.engine")
    sampling = import_module(nl.__name__ + ".addon.engine.sampling")
    settings = engine.RunSettings(tstop=tstop, frames_per_ms=per_ms)
    worker = tasks.session.worker

    def stepping(make_read=None):
        return worker.submit(_stepping_seconds, h, tstop, -65, per_ms, make_read).result()
    runs = [(stepping(), stepping(lambda: _gather(h)),
             stepping(lambda: sampling.FrameReader(h, "v", model.n_segments).read),
             _engine_seconds(nl, model, settings)) for _ in range(REPEAT)]
    (floor, _), (gathering, gathered), (reading, read), (simulated, created) = (min(column) for column in zip(*runs))
    per_frame = 1e3 / (settings.n_frames - 1)
    part = f"  {label} breakdown:"
    row(f"{part} psolve to every frame time, nothing read", floor, plain, "the floor of a frame loop")
    row(f"{part} same + PtrVector.gather of every v a frame", gathering, plain, "plain NEURON reading the frames")
    row(f"{part} same + our read of every v a frame", reading, plain, "NEURON's voltage array, checked")
    row(f"{part} engine alone (chunks, reads, cache writes)", simulated, plain, "no pump")
    row(f"{part} PtrVector.gather per frame (ms)", gathered * per_frame, 1, f"{model.n_segments} data handles")
    row(f"{part} our read per frame (ms)", read * per_frame, 1, "")
    row(f"{part} our other work per frame (ms)", (simulated - floor - read) * per_frame, 1,
        "chunking, NaN check, cache write, progress (engine − floor − read)")
    row(f"{part} new frame cache (ms)", created * 1e3, plain * 1e3, f"{settings.n_frames} × {model.n_segments} NaNs")
    row(f"  {label}: ours (Blender's timer) against plain NEURON reading the frames", ours, gathering, "≤ 1.05×")


HOSTS = ("IN_BLENDER", "PROCESS")  # the thread in Blender's process; a process of its own (the default)
HOST_LABELS = {"IN_BLENDER": "in Blender", "PROCESS": "process (default host)"}


def ready_spare(nl, tasks, timeout=120):
    """Ask for a spare NEURON process and wait until it is up (NEURON imported: it answers
    a command), so that no row is timed while one starts in the background. Returns it."""
    from importlib import import_module
    messages = import_module(nl.__name__ + ".addon.engine.messages")
    hosts = tasks.session.hosts
    hosts.keep_spare()
    deadline = time.monotonic() + timeout
    while (spare := hosts.spare) is None or not spare.alive:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no spare NEURON process within {timeout} s")
        time.sleep(0.01)
    spare.request(messages.Describe())  # the child serves commands once NEURON is imported
    return spare


def host_rows(nl, tasks, row, network_file, *, smoke=False):
    """The network in the default host (a process of its own) against plain NEURON and the
    thread in Blender: wall time (Blender's timer, and a busy UI), the main thread's longest
    stall, Run → first frame; how long Cancel takes to end a run in the process. Plain NEURON
    runs in Blender's NEURON, which keeps the network while the process holds it too, so the
    process's runs and plain NEURON's take turns."""
    from neuron import h

    tstop, repeat = (2, 1) if smoke else (20, REPEAT)
    settings = dict(tstop=tstop, frames_per_ms=2, threads=1, processes=1)
    worker = tasks.session.worker
    plains, timers, busies = [], {host: [] for host in HOSTS}, {host: [] for host in HOSTS}
    plain_cpus, child_cpus = [], []  # CPU seconds: less at the mercy of a shared machine than wall time
    for host in HOSTS:
        nl.load_model(str(network_file), host=host, build=False)
        ready_spare(nl, tasks)
        nl.run(tstop=min(tstop, 1), frames_per_ms=2, threads=1, processes=1)  # segment pointers built
        for _ in range(repeat):
            plain_wall, plain_cpu = worker.submit(_plain_with_cpu, h, tstop).result()
            plains.append(plain_wall)
            plain_cpus.append(plain_cpu)
            child_cpu = _cpu_seconds(tasks.session.host.pid) if host == "PROCESS" else None
            timers[host].append(_ours(nl, tasks, 0.05, **settings))
            if child_cpu is not None and (after := _cpu_seconds(tasks.session.host.pid)) is not None:
                child_cpus.append(after - child_cpu)
            busies[host].append(_ours(nl, tasks, 0.001, **settings))
    plain = min(plains)
    timer, busy = ({host: min(runs[host], key=lambda run: run.wall) for host in HOSTS} for runs in (timers, busies))
    ours = HOST_LABELS["PROCESS"]
    row("process (default host) wall time (s), network", timer["PROCESS"].wall, timer["IN_BLENDER"].wall,
        "≤ 1.05× in Blender (Blender's timer)")
    row(f"simulation wall time against plain NEURON (s), network, {ours}", timer["PROCESS"].wall, plain,
        "≤ 1.05× plain NEURON (Blender's timer)")
    row(f"  same, busy UI (GIL wanted every 1 ms), {ours}", busy["PROCESS"].wall, plain, "worst case")
    row("  same, in Blender (threads=1), Blender's timer", timer["IN_BLENDER"].wall, plain, "")
    if child_cpus:
        row(f"  the child's CPU time (s) against plain NEURON's, network, {ours}", min(child_cpus), min(plain_cpus),
            "≤ 1.05× (CPU time: the other work on the machine counts less)")
    for host in HOSTS:
        waits = busy[host].waits
        row(f"main-thread stall during a run, max (ms), network, {HOST_LABELS[host]}", max(waits) * 1e3, 20,
            "≤ 20 ms")
    for host in HOSTS:
        row(f"Run → first frame (s), network, {HOST_LABELS[host]}", min(run.first for run in busies[host]), 0.05,
            "≤ 50 ms")
    # Cancel: a long run in the process, cancelled once frames are coming.
    task = nl.run(wait_done=False, tstop=tstop * 50)
    while tasks.session.task is task and (task.cache is None or task.cache.frames_done < 2):
        tasks.pump()
        time.sleep(0.001)
    started = time.perf_counter()
    nl.cancel()
    while tasks.session.task is task:
        tasks.pump()
        time.sleep(0.001)
    row(f"cancel latency (s), {ours}", time.perf_counter() - started, 1.0, "≤ 1 s")


def load_rows(nl, tasks, row, network_file, *, smoke=False):
    """Load → cells on screen (load_model with build=True) in the default host against the
    thread in Blender, the spare process ready before each; the example ball-and-stick and
    the network, best of 3 (1 in smoke), the hosts taking turns."""
    from importlib import import_module

    import bpy
    groups = import_module(nl.__name__ + ".addon.scene.groups")
    repeat = 1 if smoke else 3
    for label, path in (("ball-and-stick", REPO / "examples" / "ball_and_stick.py"), ("network", network_file)):
        seconds = {host: [] for host in HOSTS}
        for _ in range(repeat):
            for host in HOSTS:
                groups.remove_cells(bpy.context.scene)
                ready_spare(nl, tasks)
                started = time.perf_counter()
                nl.load_model(str(path), host=host, build=True)
                seconds[host].append(time.perf_counter() - started)
        ours, theirs = min(seconds["PROCESS"]), min(seconds["IN_BLENDER"])
        allowed = 0.05 * theirs if theirs > 6 else 0.3
        row(f"load → cells on screen (s), {label}, {HOST_LABELS['PROCESS']}", ours, theirs,
            "within +0.3 s (+5 % over 6 s) of in Blender")
        row(f"  same, process − in Blender (s), {label}", ours - theirs, allowed, f"≤ {allowed:.2g} s")
    groups.remove_cells(bpy.context.scene)


LOOP_HOC = """// a model whose hoc computes for a while at load
create soma
soma {{ L = 20  diam = 20  insert hh }}
for i = 0, {n} {{}}
"""


def _hoc_loop_iterations(worker, seconds):
    """How many turns of an empty hoc `for` loop take `seconds` (timed in Blender's NEURON)."""
    from neuron import h

    def per_turn(n=1_000_000):
        started = time.perf_counter()
        h(f"for i = 0, {n} {{}}")
        return (time.perf_counter() - started) / n
    return max(1000, int(seconds / min(worker.submit(per_turn).result() for _ in range(3))))


def _load_wait(nl, tasks, path, host):
    """Load `path` with the main thread pumping every 1 ms; returns (load seconds, the
    longest gap between the starts of two pump turns beyond that 1 ms, s). The call to
    load_model itself counts as a gap."""
    started = time.perf_counter()
    task = nl.load_model(str(path), host=host, build=False, wait_done=False)
    gap, last = 0.0, started
    while tasks.session.task is task:
        turn = time.perf_counter()
        gap = max(gap, turn - last - (0.001 if last is not started else 0.0))
        last = turn
        tasks.pump()
        time.sleep(0.001)
    task.future.result()
    return time.perf_counter() - started, gap


def load_wait_rows(nl, tasks, row, *, smoke=False):
    """The main thread's longest wait while a hoc file computes at load (~2 s; ~0.2 s in
    smoke), in each host: NEURON holds the GIL while hoc runs."""
    seconds = 0.2 if smoke else 2.0
    n = _hoc_loop_iterations(tasks.session.worker, seconds)
    path = Path(tempfile.mkdtemp()) / "hoc_loop_at_load.hoc"
    path.write_text(LOOP_HOC.format(n=n))
    for host in HOSTS:
        ready_spare(nl, tasks)
        took, gap = _load_wait(nl, tasks, path, host)
        row(f"main-thread wait during a load, max (ms), hoc computing {seconds:g} s, {HOST_LABELS[host]}",
            gap * 1e3, 20, f"≤ 20 ms (the load took {took:.2f} s)")


def _cpu_seconds(pid):
    """utime + stime of `pid` (s), from /proc/<pid>/stat; None where it cannot be read."""
    import os
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_mb(pid):
    """(RssAnon, PSS) of `pid` in MB, each None where it cannot be read."""
    def field(path, name):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None
    return field(f"/proc/{pid}/status", "RssAnon"), field(f"/proc/{pid}/smaps_rollup", "Pss")


def spare_rows(nl, tasks, row, *, smoke=False):
    """What the spare process costs while it waits: its CPU over a few idle seconds, and its
    memory (RssAnon; PSS, which shares the libraries' pages out) against Blender's own."""
    import os
    idle = 0.5 if smoke else 2.0
    spare = ready_spare(nl, tasks)
    time.sleep(0.2)  # its answer to `ready_spare` done
    before = _cpu_seconds(spare.pid)
    time.sleep(idle)
    after = _cpu_seconds(spare.pid)
    if before is None or after is None:
        print("(no /proc/<pid>/stat: no spare CPU row)", flush=True)
    else:
        row(f"spare process CPU over {idle:g} s idle (ms; ratio: share of a core)", (after - before) * 1e3,
            idle * 1e3, "≈ 0: holds no CPU")
    (anon, pss), (blender_anon, blender_pss) = _memory_mb(spare.pid), _memory_mb(os.getpid())
    for name, ours, blender in (("RssAnon", anon, blender_anon), ("PSS", pss, blender_pss)):
        if ours is None:
            print(f"(no {name} for the spare process)", flush=True)
        else:
            row(f"spare process memory, {name} (MB; reference: Blender's)", ours, blender or float("nan"),
                "little")


def core_rows(nl, tasks, row, network_file, *, smoke=False):
    """Speed-up of 2 cores against 1: NEURON threads on the network and on a ParallelContext
    ring (in Blender), and 2 MPI processes on the ring (separate-process host; the figure
    includes starting mpiexec and loading the model on each rank)."""
    import shutil
    import tempfile

    tstop, repeat = (2, 1) if smoke else (20, 2)
    ring = write_ring(tempfile.mkdtemp(), 4 if smoke else 100, dends=1 if smoke else 10,
                      nseg=3 if smoke else 99)
    for label, path in (("network", network_file), ("ring", ring)):
        model = nl.load_model(str(path), host="IN_BLENDER", build=False)
        ready_spare(nl, tasks)
        one = _best(nl, tasks, repeat, tstop=tstop, threads=1).wall
        two = _best(nl, tasks, repeat, tstop=tstop, threads=2).wall
        row(f"2 threads speed-up (×), {label} ({model.n_segments} segments)", one / two, 1.7, "≥ 1.7× on 2 cores")
    if shutil.which("mpiexec") is None:
        print("(no mpiexec: no MPI row)", flush=True)
        return
    nl.load_model(str(ring), host="PROCESS", build=False)
    ready_spare(nl, tasks)
    one = _best(nl, tasks, repeat, tstop=tstop, threads=1, processes=1).wall
    two = _best(nl, tasks, repeat, tstop=tstop, threads=1, processes=2).wall
    import bpy

    status = bpy.context.scene.neuron_live.status  # says so when the ranks could not be used
    row("2 MPI processes speed-up (×), ring", one / two, 1.7,
        "≥ 1.7× on 2 cores" + (f" [{status}]" if "one process" in status else ""))


def main():
    """Only the simulation rows: `python tools/bench_engine.py [--cells 100] [--smoke]`."""
    import argparse
    import tempfile

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
        ratio = ours / reference if reference else float("nan")
        print(f"{figure:<52} {ours:>10.4g} {reference:>10.4g} {ratio:>7.2f}  {target}", flush=True)
    simulation_rows(nl, import_module(PACKAGE + ".addon.session.tasks"), row, network, smoke=args.smoke)


if __name__ == "__main__":
    main()
