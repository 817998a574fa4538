"""Benchmarks: print figures against the targets in DESIGN.md. Nothing here is asserted.

    python tools/bench.py [--cells 100] [--out bench.tsv] [--smoke]

`--smoke` runs every row at tiny sizes (seconds, figures meaningless): `make test` runs it
so that no benchmark can rot.

Run with a bpy venv's python (make bench).
"""
import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import ready_spare, simulation_rows  # noqa: E402
from bench_experiment import experiment_rows  # noqa: E402
from bench_models import write_network  # noqa: E402
from bench_overlays import overlay_rows  # noqa: E402
from bench_sonata import sonata_rows  # noqa: E402
from headless import PACKAGE, REPO, enable_from_source, isolate_profile  # noqa: E402


def timed(fn, repeat=5):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def enable_seconds():
    """Add-on enable as at Blender start-up: import + register, wheels already unpacked."""
    code = textwrap.dedent(f"""
        import sys, time, tempfile
        sys.path.insert(0, {str(REPO / 'tools')!r})
        from headless import isolate_profile, enable_from_source
        isolate_profile(sys.argv[1])
        import bpy
        enable_from_source()  # first enable unpacks the bundled wheels
        import addon_utils
        addon_utils.disable({PACKAGE!r}, default_set=False)  # keeps the unpacked wheels
        for name in [m for m in sys.modules if m.startswith({PACKAGE!r})]:
            del sys.modules[name]
        started = time.perf_counter()
        addon_utils.enable({PACKAGE!r}, default_set=False)  # what Blender's start-up does
        print(time.perf_counter() - started, flush=True)
        import os
        os._exit(0)  # bpy 4.2 can crash tearing down an add-on enabled twice: the figure is out
    """)
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([sys.executable, "-c", code, profile], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check that every row runs")
    args = parser.parse_args()
    if args.smoke:
        args.cells = 2
    copies_small, copies_mid, copies_big = (1, 2, 3) if args.smoke else (1, 100, 1000)
    repeat = 1 if args.smoke else 2
    rows = []

    def row(figure, ours, reference, target):
        ratio = ours / reference if reference else float("nan")
        rows.append((figure, ours, reference, ratio, target))
        print(f"{figure:<44} {ours:>10.4g} {reference:>10.4g} {ratio:>7.2f}  {target}", flush=True)

    print(f"{'figure':<44} {'ours':>10} {'reference':>10} {'ratio':>7}  target")
    row("add-on enable (s)", enable_seconds(), 0.3, "≤ 0.3 s")

    isolate_profile(tempfile.mkdtemp(prefix="neuron-live-bench-"))
    import bpy
    import numpy as np
    nl = enable_from_source()
    from importlib import import_module
    polylines = import_module(PACKAGE + ".addon.shapes.polylines")
    attributes = import_module(PACKAGE + ".addon.scene.attributes")
    tasks = import_module(PACKAGE + ".addon.session.tasks")

    model_file = write_network(tempfile.mkdtemp(), args.cells)
    model = nl.load_model(str(model_file), build=False)  # (the default host: only its shapes are used)
    ready_spare(nl, tasks)  # the spare this load asked for starts before the rows, not during them
    print(f"# model: {model.summary()}")

    # Mesh build: vertices per second, from the Model to a filled Blender mesh, for 1, 100
    # and 1,000 cells (the network tiled), both builders, vs curve+bevel+convert (BlenderSpike).
    groups = import_module(PACKAGE + ".addon.scene.groups")
    scene = bpy.context.scene

    def tiled(base, copies):
        """`base` repeated `copies` times side by side (a network without simulating it)."""
        from dataclasses import replace
        offsets = np.repeat(np.arange(copies), len(base.points))
        points = np.tile(base.points, (copies, 1))
        points[:, 0] += offsets * 500.0
        ps, ss = base.section_point_start, base.section_segment_start
        return replace(base, section_names=base.section_names * copies,
                       section_type=np.tile(base.section_type, copies),
                       section_cell=np.concatenate([base.section_cell + k * len(base.cell_names)
                                                    for k in range(copies)]),
                       section_parent=np.concatenate([np.where(base.section_parent < 0, -1,
                                                               base.section_parent + k * base.n_sections)
                                                      for k in range(copies)]),
                       section_length=np.tile(base.section_length, copies),
                       section_point_start=np.concatenate([[0], np.cumsum(np.tile(np.diff(ps), copies))]),
                       section_segment_start=np.concatenate([[0], np.cumsum(np.tile(np.diff(ss), copies))]),
                       points=points, point_arc=np.tile(base.point_arc, copies),
                       cell_names=[f"{n}_{k}" for k in range(copies) for n in base.cell_names])

    def build_objects(net, method, interaction="GROUP"):
        options = groups.BuildOptions(method=method, sides=8)
        objects = groups.build(scene, net, [groups.Group("bench", interaction=interaction)], options)
        return sum(len(o.data.vertices) for o in objects)

    def curve_bevel_convert(net, limit=300):
        """BlenderSpike's path (neuron_builder.py) on the first `limit` sections: per section
        a curve object with one Bezier spline (VECTOR handles, set point by point in Python),
        a full round bevel and caps, then one `bpy.ops.object.convert` to a mesh. Fed the same
        points as our mesh (BlenderSpike resamples by index to `segmentation` points) and
        bevel_resolution 2, which gives 8-vertex rings like ours (its default 5 gives 14)."""
        lines = polylines.polylines(net, polylines.GeometryOptions(sides=8))
        starts = lines.starts
        made = []
        n = 0
        for s in range(min(limit, len(lines.sizes))):
            if lines.sizes[s] < 2:
                continue
            pts, radius = lines.points[starts[s]:starts[s + 1]], lines.radius[starts[s]:starts[s + 1]]
            tracer = bpy.data.curves.new("dend", "CURVE")
            tracer.dimensions = "3D"
            spline = tracer.splines.new("BEZIER")
            ob = bpy.data.objects.new(f"dend_{s}", tracer)
            scene.collection.objects.link(ob)
            tracer.resolution_u, tracer.bevel_resolution, tracer.fill_mode = 20, 2, "FULL"
            tracer.bevel_depth, tracer.use_fill_caps = 1.0, True
            spline.bezier_points.add(len(pts) - 1)
            for num in range(len(pts)):
                point = spline.bezier_points[num]
                point.co = pts[num]
                point.radius = radius[num]
                point.handle_right_type = "VECTOR"
                point.handle_left_type = "VECTOR"
            for other in bpy.context.selected_objects:  # BlenderSpike keeps earlier ones selected
                other.select_set(False)
            bpy.context.view_layer.objects.active = ob
            ob.select_set(True)
            bpy.ops.object.convert(target="MESH")
            made += [ob, tracer]
            n += len(ob.data.vertices)
        bpy.data.batch_remove([*made, *[ob.data for ob in made if isinstance(ob, bpy.types.Object)]])
        return n

    def curve_bevel_one_object(net, limit=300):
        """The fastest curve+bevel+convert we know (not BlenderSpike's): the first `limit`
        sections as POLY splines of one curve object (foreach_set), bevelled, converted once."""
        lines = polylines.polylines(net, polylines.GeometryOptions(sides=8))
        curve = bpy.data.curves.new("ref", "CURVE")
        curve.dimensions, curve.bevel_depth, curve.bevel_resolution = "3D", 1.0, 2
        curve.use_fill_caps = True
        starts = lines.starts
        for s in range(min(limit, len(lines.sizes))):
            pts = lines.points[starts[s]:starts[s + 1]]
            spline = curve.splines.new("POLY")
            spline.points.add(len(pts) - 1)
            co = np.ones((len(pts), 4), np.float32)
            co[:, :3] = pts
            spline.points.foreach_set("co", co.ravel())
            spline.points.foreach_set("radius", lines.radius[starts[s]:starts[s + 1]])
        obj = bpy.data.objects.new("ref", curve)
        scene.collection.objects.link(obj)
        mesh = bpy.data.meshes.new_from_object(obj.evaluated_get(bpy.context.evaluated_depsgraph_get()))
        n = len(mesh.vertices)
        bpy.data.batch_remove([obj, curve, mesh])
        return n

    base = model if len(model.cell_names) == 1 else None
    if base is None:  # one cell of the bench network
        one = np.flatnonzero(model.section_cell == 0)
        base = tiled(model, 1)
        from dataclasses import replace
        stop_p = model.section_point_start[len(one)]
        base = replace(base, section_names=model.section_names[:len(one)], section_type=model.section_type[:len(one)],
                       section_cell=model.section_cell[:len(one)], section_parent=model.section_parent[:len(one)],
                       section_length=model.section_length[:len(one)],
                       section_point_start=model.section_point_start[:len(one) + 1],
                       section_segment_start=model.section_segment_start[:len(one) + 1],
                       points=model.points[:stop_p], point_arc=model.point_arc[:stop_p],
                       cell_names=model.cell_names[:1])
    reference = None
    for copies in (copies_small, copies_mid, copies_big):
        net = tiled(base, copies)
        if reference is None:
            n_ref = curve_bevel_convert(net)
            reference = n_ref / timed(lambda net=net: curve_bevel_convert(net), repeat) / 1e6
            print(f"# reference: BlenderSpike's curve+bevel+convert, {reference:.3g} M vert/s ({n_ref} vertices)")
        if copies == copies_mid:  # big enough for the one-object path's fixed costs not to count
            n_one = curve_bevel_one_object(net, limit=net.n_sections)
            one_object = n_one / timed(lambda net=net: curve_bevel_one_object(net, limit=net.n_sections), repeat) / 1e6
            print(f"# curve+bevel+convert in one object: {one_object:.3g} M vert/s ({n_one} vertices)")
        for method in ("GEOMETRY_NODES", "NUMPY"):
            n_vertices = build_objects(net, method)
            seconds = timed(lambda net=net, method=method: build_objects(net, method), repeat)
            row(f"mesh build {copies} cells, {method.lower()} (M vert/s, {n_vertices / 1e6:.2f} M)",
                n_vertices / seconds / 1e6, reference, "≥ 10 M/s, ≥ 10× reference")
            if copies == copies_big and method == "GEOMETRY_NODES":
                row("  same, vs curve+bevel+convert in one object", n_vertices / seconds / 1e6, one_object,
                    "(not BlenderSpike's way)")
        if copies == copies_mid:  # the default for 100 cells: one object per cell
            n_vertices = build_objects(net, "AUTO", "AUTO")
            seconds = timed(lambda net=net: build_objects(net, "AUTO", "AUTO"), repeat)
            row("mesh build 100 cells, auto: 100 objects (M vert/s)", n_vertices / seconds / 1e6, reference,
                "≥ 10× reference")
    # A real network's shape: one object per cell, so per-object costs count.
    cells = 4 if args.smoke else 356
    net = tiled(base, cells)
    n_vertices = build_objects(net, "AUTO", "CELL")
    seconds = timed(lambda: build_objects(net, "AUTO", "CELL"), repeat)
    row(f"network build, {cells} objects (s, {n_vertices / 1e6:.2f} M vertices)", seconds, 0.5, "≤ 0.5 s")
    groups.remove_cells(scene)

    # Frame update: gather cache[frame][vertex_segment] + one foreach_set, per 1 M vertices.
    n = 10_000 if args.smoke else 1_000_000
    segment = np.random.default_rng(0).integers(0, model.n_segments, n).astype(np.int32)
    row_values = np.random.default_rng(1).random(model.n_segments, dtype=np.float32)
    mesh = bpy.data.meshes.new("frame")
    mesh.vertices.add(n)
    attributes.write(mesh, "voltage", np.zeros(n, np.float32))
    out = np.empty(n, np.float32)

    def update():
        np.take(row_values, segment, out=out)
        attributes.write(mesh, "voltage", out)
    ours = timed(update, 10)
    plain = timed(lambda: np.take(row_values, segment).copy(), 10)
    attribute = mesh.attributes["voltage"]
    k = min(n, 20_000)

    def python_loop():  # BlenderSpike's handler: one attribute write per vertex
        data = attribute.data
        for i in range(k):
            data[i].value = row_values[segment[i]]
    loop = timed(python_loop, 1) * n / k
    row("frame update per 1 M vertices (ms)", ours * 1e3, 3.0, "≤ 3 ms")
    row("frame update / numpy gather+copy", ours / plain, 3.0, "≤ 3×")
    row("frame update / per-vertex Python loop", ours / loop, 1.0, "≪ 1")

    # Simulation: wall time vs plain NEURON and main-thread gaps, 1 cell and the network.
    simulation_rows(nl, tasks, row, model_file, smoke=args.smoke)
    experiment_rows(nl, row, model_file, smoke=args.smoke)  # click → probe, probes' cost (issue 21)
    sonata_rows(nl, row, smoke=args.smoke)  # 10,000 reconstructed cells from SONATA (issue 24)
    overlay_rows(nl, row, smoke=args.smoke)  # last: it loads a model of its own into a new file

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join("\t".join(map(str, r)) for r in rows) + "\n")


if __name__ == "__main__":
    main()
