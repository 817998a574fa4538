"""Meshes of real morphologies against the model's own 3-D points and segment arc ranges,
and what the objects show against the frame cache and NEURON's own recordings."""
import bpy
import numpy as np
import pytest

from conftest import EXAMPLES, MORPHOLOGIES

SIDES = 6


def attrs(nl, obj, *names):
    read = nl.addon.scene.attributes.read
    return [read(obj.data, name, "INT") for name in names]


def positions(nl, obj):
    return nl.addon.scene.attributes.read_positions(obj.data).astype(np.float64)


@pytest.mark.parametrize("method", ["NUMPY", "GEOMETRY_NODES"])
@pytest.mark.parametrize("morphology", ["h10.CNG.swc", "CA1.morph.xml"])
def test_rings_sit_on_the_model_points(nl, scene, morphology, method):
    model = nl.load_model(str(MORPHOLOGIES / morphology), build=False)
    [obj] = nl.build_mesh(method=method, sides=SIDES, scale=1.0, center=False, soma_sphere=False,
                          segmentation=0, thickness=1.0, homogeneity=0.0, as_lines=False, blend=False)
    mesh = obj.data
    assert not mesh.validate(verbose=False), "a clean mesh: validate() changes nothing"
    co = positions(nl, obj).reshape(-1, SIDES, 3)
    segment, section = (a.reshape(-1, SIDES) for a in attrs(nl, obj, "segment", "section"))
    assert (segment == segment[:, :1]).all(), "a ring belongs to one segment"
    centre = co.mean(axis=1)
    n_points = len(model.points)
    assert n_points <= len(centre) <= n_points + model.n_segments
    np.testing.assert_array_equal(np.unique(segment), np.arange(model.n_segments), err_msg="every segment has vertices")
    # Every 3-D point of the model is the centre of a ring of its section, with its radius,
    # and that ring shows the segment whose arc range holds the point.
    point_section = np.repeat(np.arange(model.n_sections), np.diff(model.section_point_start))
    expected_segment = model.segment_of_points()
    for chunk in np.array_split(np.arange(n_points), max(1, n_points // 500)):
        d = np.linalg.norm(model.points[chunk, None, :3] - centre[None], axis=2)
        d[point_section[chunk, None] != section[None, :, 0]] = np.inf
        nearest = d.argmin(axis=1)
        assert d[np.arange(len(chunk)), nearest].max() < 1e-3
        np.testing.assert_array_equal(segment[nearest, 0], expected_segment[chunk])
        radius = np.linalg.norm(co[nearest] - centre[nearest, None], axis=2)
        np.testing.assert_allclose(radius, model.points[chunk, 3:4] / 2 * np.ones(SIDES), rtol=1e-3, atol=1e-4)
    low = (model.points[:, :3] - model.points[:, 3:] / 2).min(0)
    high = (model.points[:, :3] + model.points[:, 3:] / 2).max(0)
    ours = co.reshape(-1, 3)
    assert (ours.min(0) >= low - 1e-3).all() and (ours.max(0) <= high + 1e-3).all()
    np.testing.assert_allclose(ours.min(0), model.points[:, :3].min(0), atol=model.points[:, 3].max())


def test_both_builders_agree_on_a_big_cell(nl, scene):
    nl.load_model(str(MORPHOLOGIES / "ca2.CNG.swc"), build=False)
    built = {}
    for method in ("NUMPY", "GEOMETRY_NODES"):
        [obj] = nl.build_mesh(method=method, sides=SIDES, groups=[dict(name="all", interaction="GROUP")])
        mesh = obj.data
        built[method] = (len(mesh.vertices), len(mesh.edges), len(mesh.polygons),
                         *attrs(nl, obj, "segment", "section", "cell"), positions(nl, obj))
        assert not mesh.validate(verbose=False)
    a, b = built["NUMPY"], built["GEOMETRY_NODES"]
    assert a[:3] == b[:3]
    for x, y in zip(a[3:6], b[3:6]):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(a[6].reshape(-1, SIDES, 3).mean(1), b[6].reshape(-1, SIDES, 3).mean(1), atol=1e-4)


def test_resampling_soma_sphere_lines_scale(nl, scene):
    model = nl.load_model(str(MORPHOLOGIES / "h10.CNG.swc"), build=False)
    nseg = model.section_nseg
    [obj] = nl.build_mesh(sides=SIDES, segmentation=7, soma_sphere=False, method="NUMPY")
    assert len(obj.data.vertices) == SIDES * np.maximum(7, nseg + 1).sum()
    np.testing.assert_array_equal(np.unique(attrs(nl, obj, "segment")[0]), np.arange(model.n_segments))

    [obj] = nl.build_mesh(segmentation=0, soma_sphere=True, center=True, scale=0.01, homogeneity=1.0)
    co = positions(nl, obj)
    np.testing.assert_allclose((co.min(0) + co.max(0)) / 2, 0, atol=0.01 * model.points[:, 3].max())
    section, = attrs(nl, obj, "section")
    assert len(np.unique(np.linalg.norm(co[section == 0] - co[section == 0].mean(0), axis=1).round(4))) > 1, \
        "h10's soma (length 23 µm, diameter 6.7 µm) stays a tube"

    model = nl.load_model(str(MORPHOLOGIES / "ca2.CNG.swc"), build=False)  # soma 1.4 µm long, 10 µm wide
    [obj] = nl.build_mesh(segmentation=0, soma_sphere=True, center=True, scale=0.01, homogeneity=0.0)
    co = positions(nl, obj)
    np.testing.assert_allclose((co.min(0) + co.max(0)) / 2, 0, atol=0.01 * model.points[:, 3].max())
    section, = attrs(nl, obj, "section")
    soma = np.flatnonzero(model.section_type == 1)
    on = np.isin(section, soma)
    assert on.any()
    centre = (co[on].min(0) + co[on].max(0)) / 2
    distance = np.linalg.norm(co[on] - centre, axis=1)
    np.testing.assert_allclose(distance, 0.05, rtol=0.01, err_msg="soma vertices lie on a sphere of 5 µm")

    [obj] = nl.build_mesh(as_lines=True)
    assert len(obj.data.polygons) == 0
    assert len(obj.data.edges) == len(obj.data.vertices) - model.n_sections

    [obj] = nl.build_mesh(as_lines=False, soma_sphere=False, homogeneity=1.0, sides=SIDES, method="NUMPY")
    co = positions(nl, obj).reshape(-1, SIDES, 3)
    radius = np.linalg.norm(co - co.mean(1, keepdims=True), axis=2)
    np.testing.assert_allclose(radius, radius.mean(), rtol=1e-2, err_msg="homogeneity 1: one radius")
    nl.build_mesh(homogeneity=0.0)


@pytest.mark.in_blender
def test_interaction_levels_and_names(nl, scene):
    model = nl.load_model(str(MORPHOLOGIES / "h10.CNG.swc"), build=False)
    objects = nl.build_mesh(groups=[dict(name="per section", interaction="SECTION")])
    assert len(objects) == model.n_sections
    assert not any(o.data.validate(verbose=False) for o in objects), "slices of the group's mesh are clean"
    section = np.concatenate([attrs(nl, o, "section")[0] for o in objects])
    np.testing.assert_array_equal(np.unique(section), np.arange(model.n_sections))
    long_name = "a group name that is far too long for Blender's sixty-three byte object names ü"
    objects = nl.build_mesh(groups=[dict(name=long_name, interaction="GROUP")])
    assert len(objects) == 1 and len(objects[0].name.encode()) <= 63
    assert objects[0]["neuron_live_name"] == long_name
    assert [o for o in scene.objects if o.get("neuron_live_cells")] == objects, "a rebuild replaces the old objects"


def _soma_segment(model):
    soma = next(i for i, name in enumerate(model.section_names) if name.endswith("soma"))
    return int(model.section_segment_start[soma] + model.section_nseg[soma] // 2)


@pytest.fixture
def ran(nl, scene):
    from neuron import h
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.py"), build=False, host="IN_BLENDER")  # (reads its h)
    soma = next(sec for sec in h.allsec() if sec.name().endswith("soma"))
    recorded = h.Vector().record(soma(0.5)._ref_v, 0.5)
    cache = nl.run(tstop=20, frames_per_ms=2)
    return model, cache, np.array(recorded)


@pytest.mark.parametrize("colour", ["SEGMENT", "SECTION", "CELL", "GROUP"])
def test_colour_levels_show_the_cache_and_neuron(nl, ran, colour):
    model, cache, recorded = ran
    scene = bpy.context.scene
    [obj] = nl.build_mesh(groups=[dict(name="cells", interaction="GROUP", colour_level=colour)])
    segment, section = attrs(nl, obj, "segment", "section")
    nseg, first = model.section_nseg, model.section_segment_start[:-1]
    middle = first[section] + nseg[section] // 2
    soma = _soma_segment(model)
    frames = np.asarray(cache.frames)
    for frame in (1, 12, 30):
        row = frames[frame - scene.frame_start]
        values = nl.frame_values(obj, frame)
        expected = {"SEGMENT": row[segment], "SECTION": row[middle], "CELL": np.full(len(segment), row[soma]),
                    "GROUP": np.full(len(segment), row[soma])}[colour]
        np.testing.assert_array_equal(values, expected)
        on_soma_middle = (segment == soma) if colour != "SECTION" else (section == model.segment_section[soma])
        np.testing.assert_allclose(values[on_soma_middle], recorded[frame - 1], atol=1e-3, err_msg="NEURON's own value")


def test_blend_and_subframe_interpolation(nl, ran):
    model, cache, _ = ran
    scene = bpy.context.scene
    [obj] = nl.build_mesh(blend=True, groups=[dict(name="cells", colour_level="SEGMENT")])
    segment, = attrs(nl, obj, "segment")
    row = np.asarray(cache.frames[10])
    values = nl.frame_values(obj, 11)
    lo = np.minimum.reduce([row[np.clip(segment + k, 0, model.n_segments - 1)] for k in (-1, 0, 1)])
    hi = np.maximum.reduce([row[np.clip(segment + k, 0, model.n_segments - 1)] for k in (-1, 0, 1)])
    assert ((values >= lo - 1e-4) & (values <= hi + 1e-4)).all(), "blends lie between neighbours"
    assert not np.array_equal(values, row[segment]), "blending changes something"

    nl.build_mesh(blend=False)
    obj = next(o for o in scene.objects if o.get("neuron_live_cells"))
    segment, = attrs(nl, obj, "segment")
    scene.neuron_live.frames_per_sample = 2.0
    try:
        np.testing.assert_allclose(nl.frame_values(obj, 1 + 2 * 7 + 1),
                                   (cache.frames[7][segment] + cache.frames[8][segment]) / 2, rtol=1e-6)
        np.testing.assert_array_equal(nl.frame_values(obj, 1 + 2 * 7), cache.frames[7][segment])
    finally:
        scene.neuron_live.frames_per_sample = 1.0


def test_section_objects_survive_save_and_reopen(nl, scene, tmp_path):
    blend = tmp_path / "levels.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    nl.load_model(str(EXAMPLES / "ball_and_stick.py"), build=False)
    nl.build_mesh(groups=[dict(name="cells", interaction="SECTION", colour_level="SECTION")])
    cache = nl.run(tstop=10)
    frames = np.array(cache.frames)
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    objects = [o for o in scene.objects if o.get("neuron_live_cells")]
    assert len(objects) == 2
    scene.frame_set(9)
    for obj in objects:
        section, = attrs(nl, obj, "section")
        segment, = attrs(nl, obj, "segment")
        values = nl.addon.scene.attributes.read(obj.data, "voltage")
        assert np.unique(values).size == 1, "one colour per section at SECTION level"
        assert np.isin(values[0], frames[8])


def test_render_differs_at_rest_and_during_a_spike(nl, ran, tmp_path):
    model, cache, _ = ran
    scene = bpy.context.scene
    nl.build_mesh(thickness=20.0, frame_camera=True, dark_world=True)
    soma = np.asarray(cache.frames)[:, _soma_segment(model)]
    rest, spike = 1, int(np.argmax(soma)) + scene.frame_start
    assert soma[spike - 1] > 0 > soma[0]
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.device = "CPU"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 48, 32, 100
    pixels = []
    for frame in (rest, spike):
        scene.frame_set(frame)
        scene.render.filepath = str(tmp_path / f"frame{frame}.png")
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(scene.render.filepath)
        out = np.empty(len(image.pixels), np.float32)
        image.pixels.foreach_get(out)
        pixels.append(out.reshape(-1, 4)[:, :3])
        bpy.data.images.remove(image)
    lit = (pixels[0].sum(1) > 0.05) | (pixels[1].sum(1) > 0.05)
    assert lit.any(), "the camera sees the cell"
    assert np.abs(pixels[0][lit] - pixels[1][lit]).max() > 0.05, "the spike changes the colours"


def test_blend_weights_run_from_centre_to_centre(nl, scene):
    """Blending interpolates between the two segment centres around a point: a centre shows
    its own segment, a point in a segment's first half blends from the previous segment."""
    geometry = nl.addon.shapes.polylines
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.py"), build=False)  # dend: 15 segments
    lines = geometry.polylines(model, geometry.GeometryOptions(blend=True, soma_sphere=False))
    nseg = model.section_nseg[lines.point_section]
    local = lines.segment - model.section_segment_start[:-1][lines.point_section]
    u = lines.arc.astype(np.float64) * nseg - 0.5 - local  # -0.5 … 0.5 around the own centre
    centre = np.abs(u) < 1e-5
    assert centre.sum() >= model.n_segments - 1
    def value(row):
        return row[lines.blend_base] + (row[lines.blend_segment] - row[lines.blend_base]) * lines.blend_weight

    row = np.random.default_rng(0).random(model.n_segments).astype(np.float32)
    np.testing.assert_allclose(value(row)[centre], row[lines.segment[centre]], atol=1e-4)
    first_half = (u < -1e-3) & (local > 0)
    assert first_half.any()
    np.testing.assert_array_equal(lines.blend_base[first_half], lines.segment[first_half] - 1)
    np.testing.assert_array_equal(lines.blend_segment[first_half], lines.segment[first_half])


def test_geometry_operators_match_the_functions(nl, scene):
    api = nl  # the scripting API
    model = nl.load_model(str(MORPHOLOGIES / "h10.CNG.swc"), build=False)
    props = scene.neuron_live
    props.sides, props.segmentation, props.frame_camera = SIDES, 0, False
    assert bpy.types.NEURONLIVE_PT_geometry.bl_label == "Geometry"
    assert hasattr(bpy.types, "NEURONLIVE_UL_groups")

    # Groups: the operators and the functions add and remove the same entries.
    assert bpy.ops.neuron_live.add_group(name="from operator", cells="0") == {"FINISHED"}
    assert api.add_group("per section", cells=[0], interaction="SECTION", colour_level="SECTION") == 1
    assert [(g.name, g.cells, g.interaction, g.colour_level) for g in props.groups] == [
        ("from operator", "0", "AUTO", "AUTO"), ("per section", "0", "SECTION", "SECTION")]
    with pytest.raises(ValueError, match="cells 0-0"):
        api.add_group("bad", cells="7")
    with pytest.raises(RuntimeError, match="cells 0-0"):  # the operator's error report (bpy module)
        bpy.ops.neuron_live.add_group(name="bad", cells="7")
    assert len(props.groups) == 2, "a bad cell range adds nothing"
    props.groups_index = 0
    assert bpy.ops.neuron_live.remove_group() == {"FINISHED"}
    assert [g.name for g in props.groups] == ["per section"] and props.groups_index == 0

    # Rebuild Mesh: the operator builds what build_mesh builds, with the panel's settings.
    def built():
        objects = nl.addon.scene.playback.cell_objects(scene)
        return sorted((o["neuron_live_name"], len(o.data.vertices), len(o.data.polygons)) for o in objects)
    objects = api.build_mesh()
    assert len(objects) == model.n_sections
    by_function = built()
    assert bpy.ops.neuron_live.build_mesh() == {"FINISHED"}
    assert built() == by_function
    assert sum(n for _, n, _ in by_function) % SIDES == 0, "rings of `sides` vertices"
    api.remove_group(0)
    with pytest.raises(IndexError):
        api.remove_group(0)
    with pytest.raises(RuntimeError, match="No group 0"):
        bpy.ops.neuron_live.remove_group()
    assert bpy.ops.neuron_live.build_mesh() == {"FINISHED"}
    [obj] = nl.addon.scene.playback.cell_objects(scene)
    assert built()[0][1:] == (sum(n for _, n, _ in by_function), sum(f for _, _, f in by_function)), \
        "one group of every cell: the same mesh in one object"

    # Frame Camera: the operator aims the camera where the function does.
    camera = api.frame_camera()
    where = np.array(camera.location)
    co = positions(nl, obj)
    assert (np.array(camera.data.clip_start) < np.linalg.norm(co - where, axis=1)).all()
    camera.location = (50.0, 50.0, 50.0)
    assert bpy.ops.neuron_live.frame_camera() == {"FINISHED"}
    np.testing.assert_allclose(np.array(scene.camera.location), where, rtol=1e-6)
    nl.addon.scene.groups.remove_cells(scene)
    with pytest.raises(RuntimeError, match="No cells"):
        api.frame_camera()
    with pytest.raises(RuntimeError, match="No cells"):
        bpy.ops.neuron_live.frame_camera()
