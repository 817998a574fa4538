"""Networks: the spike raster, NetCon curves, shading modes, plots refreshed after a run.

Spike times are checked against NEURON's own `NetCon.record` into a Vector of the test's
(set up independently of the add-on, on the same sources); curve ends against the cells'
meshes and `Model.locate`; rendered pixels against seaborn's palette."""
from importlib import import_module

import bpy
import numpy as np
import pytest

from conftest import EXAMPLES, PACKAGE
from test_colour import png_size, render_pixel, seaborn_linear, to_srgb


def _session():
    return import_module(PACKAGE + ".addon.session.tasks").session


def on_engine(fn):
    """Run `fn(h)` on the NEURON thread (where the add-on makes every NEURON call)."""
    def call():
        from neuron import h
        return fn(h)
    return _session().worker.submit(call).result()


def independent_recorders(threshold=None):
    """A NetCon per soma (at 0.5) of the loaded model recording into a Vector: NEURON's
    own spike times, kept by the test. `threshold` None keeps the source's threshold."""
    def attach(h):
        found = []
        for sec in h.allsec():
            if sec.name().endswith("soma"):
                vector = h.Vector()
                netcon = h.NetCon(sec(0.5)._ref_v, None, sec=sec)
                if threshold is not None:
                    netcon.threshold = threshold
                netcon.record(vector)
                found.append((netcon, vector))
        return found
    return on_engine(attach)


def recorded(recorders):
    return on_engine(lambda h: [np.array(vector.to_python()) for _, vector in recorders])


def drop(recorders):
    on_engine(lambda h: recorders.clear())  # NEURON deletes them on its own thread


def sourced_netcons():
    """The model's NetCons that have a source section (held: release with `drop`)."""
    return on_engine(lambda h: [nc for nc in h.List("NetCon") if nc.preseg() is not None])


def thresholds(netcons):
    return on_engine(lambda h: [nc.threshold for nc in netcons])


@pytest.fixture(scope="module")
def ring(nl):
    """examples/parallel_ring.py: 10 cells, sources given to ParallelContext (pc.cell) and
    connected by gid (pc.gid_connect). Python classes, so it loads more than once per
    process (ring.hoc's template cannot: test_loading has it)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    return nl.load_model(str(EXAMPLES / "parallel_ring.py"), host="IN_BLENDER")  # tests record in its h


def rows_of(plot, n_cells):
    times, rows = plot.lines[0]
    return [np.asarray(times)[np.asarray(rows) == cell] for cell in range(n_cells)]


def test_raster_lists_the_spikes_neuron_recorded(nl, ring, tmp_path):
    model_netcons = sourced_netcons()
    before = thresholds(model_netcons)
    mine = independent_recorders()
    try:
        nl.run(tstop=15)  # the first round of spikes is still going round the ring here
        nl.continue_run(tstop=40)  # Continue keeps recording into the same raster
        expected = recorded(mine)
    finally:
        drop(mine)
    plot = nl.plot_spikes(path=tmp_path / "raster.png", width=640, height=360)
    assert png_size(plot.path) == (640, 360) and tuple(plot.image.size) == (640, 360)
    n_cells = len(ring.cell_names)
    assert len(expected) == n_cells and sum(map(len, expected)) >= 2 * n_cells, "twice round the ring"
    for cell, (drawn, neuron) in enumerate(zip(rows_of(plot, n_cells), expected)):
        np.testing.assert_array_equal(np.sort(drawn), neuron, err_msg=f"cell {cell}")
    assert plot.spikes["from"] == "NetCon.record"
    assert not plot.spikes["source_added"].any(), "every ring cell has a NetCon source"
    np.testing.assert_array_equal(plot.spikes["source_threshold"], 0.0)  # the model's pc.cell sources
    try:
        assert thresholds(model_netcons) == before, "the model's NetCons are untouched"
    finally:
        drop(model_netcons)
    assert plot.labels == ring.cell_names


def soma_centre(obj, model, cell):
    """Centroid of the soma vertices of `cell` in its mesh (a sphere: its centre)."""
    mesh = obj.data
    n = len(mesh.vertices)
    section, positions = np.empty(n, np.int32), np.empty(n * 3, np.float32)
    mesh.attributes["section"].data.foreach_get("value", section)
    mesh.attributes["position"].data.foreach_get("vector", positions)
    soma = next(s for s in np.flatnonzero(model.section_cell == cell) if model.section_names[s].endswith("soma"))
    return positions.reshape(-1, 3)[section == soma].mean(axis=0)


def curve_ends(obj):
    curves = obj.data
    k = len(curves.curves)
    positions = np.empty(len(curves.points) * 3, np.float32)
    curves.attributes["position"].data.foreach_get("vector", positions)
    offsets = np.empty(k + 1, np.int32)
    curves.curve_offset_data.foreach_get("value", offsets)
    netcon = np.empty(k, np.int32)
    curves.attributes["netcon"].data.foreach_get("value", netcon)
    return positions.reshape(-1, 3), offsets, netcon


def test_netcon_curves_join_source_and_target(nl, ring):
    scene = bpy.context.scene
    props = scene.neuron_live
    props.groups.clear()
    for name, cells in (("first", "0-4"), ("second", "5-9")):
        group = props.groups.add()
        group.name, group.cells = name, cells
    try:
        cell_objects = nl.build_mesh(scale=0.01, center=True)
        objects = nl.show_connections(radius=0.5)
    finally:
        props.groups.clear()
    assert [o.name for o in objects] == ["first · NetCons", "second · NetCons"]
    source_points, target_points = ring.netcon_points()
    drawable = np.flatnonzero(np.isfinite(source_points).all(1) & np.isfinite(target_points).all(1))
    assert len(drawable) == ring.n_netcons == 10
    xyz = ring.points[:, :3]
    centre = (xyz.min(0) + xyz.max(0)) / 2
    seen = []
    meshes = {o["neuron_live_name"].split(" · ")[-1]: o for o in cell_objects}
    for obj, cells in zip(objects, (range(0, 5), range(5, 10))):
        positions, offsets, netcon = curve_ends(obj)
        assert np.all(np.diff(offsets) == 2), "one two-point curve per connection"
        assert len(netcon) == len(set(netcon))
        seen += list(netcon)
        target_cell = ring.section_cell[ring.netcon_target_section[netcon]]
        assert set(target_cell) <= set(cells), "a connection belongs to its target cell's group"
        np.testing.assert_allclose(positions[offsets[:-1]], (source_points[netcon] - centre) * 0.01, atol=1e-5)
        np.testing.assert_allclose(positions[offsets[:-1] + 1], (target_points[netcon] - centre) * 0.01, atol=1e-5)
        for k, nc in enumerate(netcon):  # the source end sits at the centre of the soma drawn
            cell = int(ring.section_cell[ring.netcon_source_section[nc]])
            mesh = meshes[ring.cell_names[cell]]
            np.testing.assert_allclose(positions[offsets[k]], soma_centre(mesh, ring, cell), atol=1e-4)
        radius = np.empty(len(positions), np.float32)
        obj.data.attributes["radius"].data.foreach_get("value", radius)
        np.testing.assert_allclose(radius, 0.5 * 0.01)
    assert sorted(seen) == list(drawable)
    props.show_netcons = False  # the panel's toggle
    assert all(o.hide_render and o.hide_viewport for o in objects)
    props.show_netcons = True  # rebuilt with the scene's groups (none now: one group)
    again = [o for o in scene.objects if o.get("neuron_live_netcons")]
    assert [o.name for o in again] == ["cells · NetCons"] and not again[0].hide_render
    assert len(again[0].data.curves) == len(drawable)
    assert "10 of 10 NetCons drawn" in props.status


def test_shading_modes_change_the_material_in_place(nl, ring, tmp_path):
    scene = bpy.context.scene
    props = scene.neuron_live
    nl.build_mesh(scale=0.01, center=True, dark_world=True)
    obj = next(o for o in scene.objects if o.get("neuron_live_cells"))
    target = soma_centre(obj, ring, int(obj.data.attributes["cell"].data[0].value))
    nl.set_colormap("mako", vmin=1000, vmax=1001)  # every value below vmin: the palette's start
    before = (obj.name, obj.data.name, len(obj.data.vertices), obj.data.materials[0].name)
    pixels = {}
    for mode in ("EMISSION", "PRINCIPLED", "BOTH"):
        if mode == "BOTH":
            nl.set_colormap(shading=mode)  # the scripting API, same property
        else:
            props.shading = mode  # the panel
        nodes = obj.data.materials[0].node_tree.nodes
        assert nodes["NL Shading"].inputs["Fac"].default_value == (0.0 if mode == "EMISSION" else 1.0)
        pixels[mode] = render_pixel(scene, tmp_path, mode, target, scale=0.05)
    mako = to_srgb(seaborn_linear("mako", 0.0))
    np.testing.assert_allclose(pixels["EMISSION"], mako, atol=6 / 255)
    assert pixels["PRINCIPLED"].max() < 0.5 * pixels["EMISSION"].max(), "unlit: dark in a dark world"
    assert np.all(pixels["BOTH"] >= pixels["EMISSION"] - 6 / 255), "lit and glowing"
    sun = bpy.data.objects.new("NL test sun", bpy.data.lights.new("NL test sun", "SUN"))
    scene.collection.objects.link(sun)
    props.shading = "PRINCIPLED"
    lit = render_pixel(scene, tmp_path, "lit", target, scale=0.05)
    assert lit.sum() > pixels["PRINCIPLED"].sum() + 0.05, "Principled follows the lights"
    bpy.data.objects.remove(sun)
    assert (obj.name, obj.data.name, len(obj.data.vertices), obj.data.materials[0].name) == before
    with pytest.raises(ValueError, match="unknown mode 'GLOW'"):
        nl.set_colormap(shading="GLOW")
    props.shading = "EMISSION"


def test_plots_refresh_after_each_run(nl, ring, tmp_path):
    nl.run(tstop=20)
    raster = tmp_path / "raster.png"
    traces = tmp_path / "traces.png"
    first = nl.plot_spikes(path=raster, show=False)
    nl.plot_traces(sections=[ring.section_names[0]], path=traces, show=False)
    raster.unlink()
    traces.unlink()
    nl.run(tstop=40)
    assert raster.exists() and traces.exists(), "both plots were redrawn after the run"
    again = nl.spike_times()
    assert len(again["time"]) > len(first.spikes["time"]), "from the new run's spikes"


def test_raster_of_a_cell_without_netcons(nl, tmp_path):
    """No NetCon: a detector at the soma (0 mV) records; the frame-cache crossings agree."""
    bpy.ops.wm.read_homefile(use_empty=True)
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"), host="IN_BLENDER")  # the test records in its h
    mine = independent_recorders(threshold=0.0)
    try:
        cache = nl.run(tstop=40, frames_per_ms=10)
        expected = recorded(mine)
    finally:
        drop(mine)
    plot = nl.plot_spikes(path=tmp_path / "one.png", show=False)
    assert plot.spikes["source_added"].all()
    np.testing.assert_array_equal(plot.lines[0][0], expected[0])
    assert len(expected[0]) >= 1
    sampled = nl.spike_times(threshold=0.0)  # from the cached soma voltage instead
    assert sampled["from"].startswith("threshold crossings")
    np.testing.assert_allclose(sampled["time"], expected[0], atol=1 / cache.meta["frames_per_ms"])
