"""Colour: palettes by seaborn name, live-editable materials, static colouring, plots.

Expected colours come from seaborn itself (`color_palette(name, as_cmap=True)`, linearised
with the sRGB curve), rendered pixels from EEVEE, trace data from the frame cache; never
from what our code wrote."""
import struct

import bpy
import numpy as np
import pytest

from conftest import EXAMPLES


def seaborn_linear(name, x):
    """seaborn's own colour of palette `name` at map position(s) x, in linear RGB."""
    import seaborn
    rgb = np.asarray(seaborn.color_palette(name, as_cmap=True)(np.asarray(x, dtype=float)))[..., :3]
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def same_colour(ours, theirs, levels=4):
    """Equal as seen on screen: within `levels` of 255 after converting both to sRGB
    (32 ramp stops err ≤ 3.5 levels against matplotlib's 256-step maps; measured)."""
    np.testing.assert_allclose(to_srgb(ours), to_srgb(theirs), atol=levels / 255)


def material_colour(material, value):
    """The colour the material's ramp gives `value`, read through Blender's own nodes."""
    nodes = material.node_tree.nodes
    normalise = nodes["NL Normalise"]
    lo, hi = normalise.inputs["From Min"].default_value, normalise.inputs["From Max"].default_value
    return np.array(nodes["NL Colormap"].color_ramp.evaluate(float(np.clip((value - lo) / (hi - lo), 0, 1)))[:3])


@pytest.fixture(scope="module")
def ran(nl):
    """One small run of the ball-and-stick cell shared by this module's tests, recording
    m_hh: finite in the soma (hh), NaN in the passive dendrite (no data)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.py"))
    cache = nl.run(tstop=12, frames_per_ms=2, variable="m_hh")
    return model, cache


def cell(scene):
    return next(o for o in scene.objects if o.get("neuron_live_cells"))


def activity_material(scene):
    return cell(scene).data.materials[0]


@pytest.mark.parametrize("name", ["rocket", "mako", "icefire", "coolwarm", "viridis_r", "Set2"])
def test_material_colours_equal_seaborn(nl, ran, name):
    scene = bpy.context.scene
    ramp = nl.set_colormap(name, vmin=-70, vmax=30, start=0, stop=1)
    material = activity_material(scene)
    for value, x in ((-70, 0.0), (-20, 0.5), (30, 1.0), (-100, 0.0), (80, 1.0)):
        same_colour(material_colour(material, value), seaborn_linear(name, x))
    assert len(material.node_tree.nodes["NL Colormap"].color_ramp.elements) <= 32
    assert ramp.max_error < 4, "32 well-placed stops stay within 4 sRGB levels of seaborn"


def test_sub_range_and_reversed(nl, ran):
    scene = bpy.context.scene
    nl.set_colormap("mako", vmin=-80, vmax=40, start=0.2, stop=0.8)
    material = activity_material(scene)
    for value, x in ((-80, 0.2), (-20, 0.5), (40, 0.8)):
        same_colour(material_colour(material, value), seaborn_linear("mako", x))
    nl.set_colormap("mako_r", start=0, stop=1)
    same_colour(material_colour(material, -80), seaborn_linear("mako", 1.0), levels=0.5)
    same_colour(material_colour(material, 40), seaborn_linear("mako", 0.0), levels=0.5)


def test_unknown_palette_is_a_clear_error(nl, ran):
    scene = bpy.context.scene
    before = scene.neuron_live.palette
    with pytest.raises(ValueError, match=r"Unknown palette 'rockett'.*'rocket'"):
        nl.set_colormap("rockett")
    assert scene.neuron_live.palette == before, "a bad name changes nothing"
    scene.neuron_live.palette = "mak0"  # typed in the panel: the status line says why
    assert "Unknown palette 'mak0'" in scene.neuron_live.status and "mako" in scene.neuron_live.status
    scene.neuron_live.palette = before


def test_fit_limits_to_cached_data(nl, ran):
    _, cache = ran
    lo, hi = nl.fit_limits()
    data = np.asarray(cache.frames)
    assert lo == pytest.approx(float(np.nanmin(data)), abs=1e-4)
    assert hi == pytest.approx(float(np.nanmax(data)), abs=1e-4)
    props = bpy.context.scene.neuron_live
    assert props.vmin == pytest.approx(lo, abs=1e-3) and props.vmax == pytest.approx(hi, abs=1e-3)


def mesh_state(obj):
    mesh = obj.data
    positions = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.attributes["position"].data.foreach_get("vector", positions)
    return (obj.name, mesh.name, len(mesh.vertices), len(mesh.polygons), positions.tobytes(),
            tuple(sorted(a.name for a in mesh.attributes)), tuple(obj.matrix_world.col[3]))


def render_pixel(scene, tmp_path, name, target, scale=0.05):
    """Render (32×32, Standard view) an orthographic close-up of `target`; the centre pixel
    in sRGB 0..1 as saved in the PNG. Cycles on the CPU at 1 sample: 5–20 ms a frame here,
    where EEVEE's first render compiles shaders for 15–22 s (both give the same pixels;
    measured for the palette and the NaN grey)."""
    camera = bpy.data.objects.get("NL test camera")
    if camera is None:
        camera = bpy.data.objects.new("NL test camera", bpy.data.cameras.new("NL test camera"))
        scene.collection.objects.link(camera)
    camera.data.type, camera.data.ortho_scale = "ORTHO", scale
    camera.location = (target[0], target[1], target[2] + 1.0)
    scene.camera = camera
    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.device, scene.cycles.samples, scene.cycles.use_denoising = "CPU", 1, False
    render.resolution_x = render.resolution_y = 32
    render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    render.image_settings.file_format = "PNG"
    render.filepath = str(tmp_path / f"{name}.png")
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(render.filepath)
    pixels = np.array(image.pixels[:]).reshape(32, 32, 4)
    bpy.data.images.remove(image)
    return pixels[16, 16, :3]


def section_axis_point(obj, model, suffix):
    """A point on the axis of section `suffix`'s tube: the mean of the full vertex rings
    showing its median segment."""
    section, segment = nl_read(obj, "section"), nl_read(obj, "segment")
    positions = np.empty(len(obj.data.vertices) * 3, dtype=np.float32)
    obj.data.attributes["position"].data.foreach_get("vector", positions)
    index = next(i for i, name in enumerate(model.section_names) if name.endswith(suffix))
    mine = section == index
    shown = np.unique(segment[mine])
    middle = shown[len(shown) // 2]
    return positions.reshape(-1, 3)[mine & (segment == middle)].mean(axis=0)


def nl_read(obj, name):
    values = np.empty(len(obj.data.vertices), dtype=np.int32)
    obj.data.attributes[name].data.foreach_get("value", values)
    return values


def to_srgb(linear):
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_limits_change_the_render_not_the_mesh(nl, ran, tmp_path):
    model, cache = ran
    scene = bpy.context.scene
    obj = cell(scene)
    centre = section_axis_point(obj, model, "soma")
    frame = 20  # during the spike: m_hh well above rest
    scene.frame_set(frame)
    soma = next(i for i, name in enumerate(model.section_names) if name.endswith("soma"))
    m = float(cache.frames[frame - scene.frame_start][model.section_segment_start[soma]])
    before = mesh_state(obj)

    nl.set_colormap("rocket", vmin=0, vmax=1, start=0, stop=1)
    first = render_pixel(scene, tmp_path, "first", centre)
    np.testing.assert_allclose(first, to_srgb(seaborn_linear("rocket", m)), atol=6 / 255)

    nl.set_colormap(vmin=m, vmax=m + 1)  # m now sits at the palette's start
    second = render_pixel(scene, tmp_path, "second", centre)
    np.testing.assert_allclose(second, to_srgb(seaborn_linear("rocket", 0.0)), atol=6 / 255)
    assert np.abs(first - second).max() > 0.1, "the render follows the new limits"
    assert mesh_state(obj) == before, "recolouring never touches the object or its mesh"

    # The passive dendrite has no m_hh (NaN): it renders in the neutral no-data grey.
    dend = next(i for i, name in enumerate(model.section_names) if name.endswith("dend"))
    assert np.isnan(cache.frames[frame - scene.frame_start, model.section_segment_start[dend]])
    pixel = render_pixel(scene, tmp_path, "nan", section_axis_point(obj, model, "dend"), scale=0.005)
    np.testing.assert_allclose(pixel, to_srgb(np.array(nl.addon.scene.materials.NO_DATA[:3])), atol=6 / 255)


def test_static_colouring_by_section_type(nl, ran):
    import seaborn
    model, _ = ran
    scene = bpy.context.scene
    legend = nl.colour_by("SECTION_TYPE", palette="Set2")
    obj = cell(scene)
    colours = np.empty(len(obj.data.vertices) * 4, dtype=np.float32)
    obj.data.attributes["nl_static_colour"].data.foreach_get("color", colours)
    colours = colours.reshape(-1, 4)
    section = nl_read(obj, "section")
    types = ("other", "soma", "axon", "dend", "apic")
    set2 = np.asarray(seaborn.color_palette("Set2", 5))
    set2 = np.where(set2 <= 0.04045, set2 / 12.92, ((set2 + 0.055) / 1.055) ** 2.4)
    for s in range(model.n_sections):
        kind = int(model.section_type[s])
        np.testing.assert_allclose(colours[section == s][:, :3], np.broadcast_to(set2[kind], (np.sum(section == s), 3)),
                                   atol=1e-5)
        assert types[kind] in legend
    static = obj.data.materials[0].node_tree.nodes["NL Static"]
    assert next(s for s in static.inputs if s.identifier == "Factor_Float").default_value == 1.0
    by_name = nl.colour_by("SECTION_NAME", palette="husl")
    assert list(by_name) == list(model.section_names) and len({tuple(c) for c in by_name.values()}) == model.n_sections
    nl.colour_by("ACTIVITY")
    assert next(s for s in static.inputs if s.identifier == "Factor_Float").default_value == 0.0


def png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_trace_plot_shows_cached_values(nl, ran, tmp_path):
    model, cache = ran
    plot = nl.plot_traces(sections=["soma", "dend"], path=tmp_path / "traces.png", width=640, height=320)
    assert png_size(plot.path) == (640, 320)
    assert tuple(plot.image.size) == (640, 320)
    done = cache.frames_done
    for (t, y), section in zip(plot.lines, ("soma", "dend")):
        s = next(i for i, name in enumerate(model.section_names) if name.endswith(section))
        middle = model.section_segment_start[s] + model.section_nseg[s] // 2
        np.testing.assert_array_equal(y, cache.frames[:done, middle])
        np.testing.assert_allclose(t, np.arange(done) / cache.meta["frames_per_ms"])
    assert plot.labels == ["soma(0.5)", "dend(0.5)"]
    with pytest.raises(ValueError, match="No section named 'axon'"):
        nl.plot_traces(sections=["axon"], path=tmp_path / "x.png")


def test_trace_plot_of_selected_vertices(nl, ran, tmp_path):
    _, cache = ran
    obj = cell(bpy.context.scene)
    segment = nl_read(obj, "segment")
    select = segment == segment.max()
    obj.data.vertices.foreach_set("select", select)
    plot = nl.plot_traces(objects=[obj], path=tmp_path / "sel.png", show=False)
    assert plot.segments == [int(segment.max())]
    np.testing.assert_array_equal(plot.lines[0][1], cache.frames[:cache.frames_done, segment.max()])


def test_colour_bar_png(nl, ran, tmp_path):
    nl.set_colormap("icefire", vmin=-75, vmax=25)
    plot = nl.colour_bar(path=tmp_path / "bar.png", width=120, height=400)
    assert png_size(plot.path) == (120, 400)
    assert plot.labels == ["m_hh"]


def test_operators_call_the_same_functions(nl, ran, tmp_path):
    _, cache = ran
    props = bpy.context.scene.neuron_live
    props.vmin, props.vmax = -1, 2
    assert bpy.ops.neuron_live.fit_limits() == {"FINISHED"}
    assert props.vmin == pytest.approx(float(np.nanmin(cache.frames)), abs=1e-4)
    assert bpy.ops.neuron_live.plot_traces(sections="soma") == {"FINISHED"}
    assert bpy.data.images["NEURON Live traces"].size[0] == 800
    assert bpy.ops.neuron_live.colour_bar() == {"FINISHED"}
    assert "NEURON Live colour bar" in bpy.data.images
    with pytest.raises(RuntimeError, match="No section named 'apical'"):
        bpy.ops.neuron_live.plot_traces(sections="apical")  # reported as an error, not a traceback


def render_frame(scene, path, size):
    """A Cycles render (CPU, 1 sample at each pixel's centre, Standard view) of the scene
    camera; its pixels in sRGB 0..1, bottom row first (Blender's order)."""
    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.device, scene.cycles.samples, scene.cycles.use_denoising = "CPU", 1, False
    scene.cycles.filter_width = 0.01  # no blending across the bar's edges
    render.resolution_x, render.resolution_y = size
    render.resolution_percentage = 100
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    render.image_settings.file_format = "PNG"
    render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(path))
    pixels = np.array(image.pixels[:]).reshape(size[1], size[0], 4)[..., :3]
    bpy.data.images.remove(image)
    return pixels


def test_legend_renders_in_the_camera_corner(nl, ran, tmp_path):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    scene = bpy.context.scene
    nl.set_colormap("coolwarm", vmin=-1, vmax=2, start=0, stop=1)
    scene.camera = None  # the legend makes (frames) one
    obj = nl.show_legend(True)
    assert scene.camera is not None and obj.parent == scene.camera and scene.neuron_live.show_legend

    def counts():
        return len(bpy.data.objects), len(bpy.data.meshes), len(bpy.data.materials), \
            sum(image.type != "RENDER_RESULT" for image in bpy.data.images)

    before = counts()
    assert nl.show_legend(True) == obj and counts() == before, "shown again: the same object, nothing new"

    for size in ((300, 100), (54, 96), (64, 64)):  # in frame, in front of the cells, at any aspect
        scene.render.resolution_x, scene.render.resolution_y = size
        nl.show_legend(True)
        bpy.context.view_layer.update()
        seen = np.array([world_to_camera_view(scene, scene.camera, obj.matrix_world @ Vector(v.co))
                         for v in obj.data.vertices])
        x, y, depth = seen.T
        assert (x > 0).all() and (x < 1).all() and (y > 0).all() and (y < 0.5).all(), (size, seen)
        assert x.mean() >= 0.5 and (depth > scene.camera.data.clip_start).all(), (size, seen)

    image = obj.data.materials[0].node_tree.nodes["NL Legend image"].image
    pointer, pixels = image.as_pointer(), np.array(image.pixels[:])
    nl.set_colormap("mako")  # the legend follows: the same image, reloaded
    assert image.as_pointer() == bpy.data.images["NEURON Live legend"].as_pointer() == pointer
    assert np.abs(np.array(image.pixels[:]) - pixels).max() > 0.1
    nl.set_colormap("coolwarm")

    size = (192, 108)
    shown = render_frame(scene, tmp_path / "shown.png", size)
    assert nl.show_legend(False) == obj and obj.hide_render and not scene.neuron_live.show_legend
    hidden = render_frame(scene, tmp_path / "hidden.png", size)
    assert counts() == before
    corner = np.zeros(size[::-1], dtype=bool)
    corner[:size[1] // 2, size[0] // 2:] = True  # bottom right
    np.testing.assert_array_equal(shown[~corner], hidden[~corner], "the rest of the frame is unaffected")
    assert np.abs(shown[corner] - hidden[corner]).max() > 0.5
    # The bar's extreme colours: one rendered pixel spans ~1.4 % of the 73-pixel-wide bar, so
    # the end pixel may sit up to 2 % into the palette (coolwarm moves 10-17 levels there).
    for end, inside in ((0.0, 0.02), (1.0, 0.98)):
        colour, near = to_srgb(seaborn_linear("coolwarm", [end, inside]))
        nearest = np.abs(shown[corner] - colour).max(axis=1).min()
        assert nearest < np.abs(colour - near).max() + 4 / 255, (end, nearest)
    scene.neuron_live.show_legend = True  # the panel's toggle
    assert not obj.hide_render and counts() == before
    scene.neuron_live.show_legend = False
    assert obj.hide_render


def test_the_stored_default_ramp_equals_a_fresh_fit(nl):
    """The default palette's ramp ships with the add-on (a first picture without seaborn):
    it must stay what the fitter makes of seaborn's palette."""
    palettes = nl.addon.colour.palettes
    stored = palettes.stored_ramp("coolwarm", 0.0, 1.0)
    fitted = palettes.ramp_stops(palettes.colormap("coolwarm"), 0.0, 1.0)
    assert stored.interpolation == fitted.interpolation
    np.testing.assert_allclose(stored.positions, fitted.positions, atol=1e-9)
    np.testing.assert_allclose(stored.colors, fitted.colors, atol=1e-9)
    assert palettes.stored_ramp("mako") is None
