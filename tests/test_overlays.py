"""Overlays read back from rendered pixels: the time stamp by OCR (Debian's tesseract), the
scale bar's length against the camera's own projection of its µm length (orthographic and
perspective), the colour bar's end colours against the palette, the inset cursor moving
with the frame; stills, strip and transparency from the headless job; settings saved with
the scene. Expected values come from the frame cache, the camera and the palette, never
from what the overlays report about themselves. Renders are tiny (Cycles at 2 samples)."""
import re
import shutil
import struct
import subprocess
import sys

import bpy
import numpy as np
import pytest
from bpy_extras.object_utils import world_to_camera_view

from conftest import EXAMPLES, isolated_env

SIZE = (480, 270)
FRAMES_PER_MS, TSTOP = 4, 10  # 0.25 ms between frames: the time stamp has 2 decimals
TESSERACT = shutil.which("tesseract")


def render(scene, path, engine="CYCLES"):
    scene.render.engine = engine
    scene.render.filepath = str(path)
    assert "FINISHED" in bpy.ops.render.render(write_still=True, scene=scene.name)
    image = bpy.data.images.load(str(path))
    try:
        pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
        image.pixels.foreach_get(pixels)
        return pixels.reshape(image.size[1], image.size[0], 4)  # rows bottom-up, as Blender stores them
    finally:
        bpy.data.images.remove(image)


def save_png(pixels, path):
    h, w = pixels.shape[:2]
    image = bpy.data.images.new("test crop", w, h, alpha=True)
    image.pixels.foreach_set(np.ascontiguousarray(pixels, np.float32).ravel())
    image.filepath_raw, image.file_format = str(path), "PNG"
    image.save()
    bpy.data.images.remove(image)


def crop(pixels, box, pad=4):
    x, y, w, h = (int(round(v)) for v in box)
    return pixels[max(y - pad, 0):y + h + pad, max(x - pad, 0):x + w + pad]


@pytest.fixture(scope="module")
def figure(nl, tmp_path_factory):
    """A ball-and-stick run (10 ms, 4 frames per ms) with every overlay on, Cycles at 2 samples."""
    folder = tmp_path_factory.mktemp("overlays")
    model = folder / "ball_and_stick.py"
    shutil.copy(EXAMPLES / "ball_and_stick.py", model)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    nl.load_model(str(model))
    cache = nl.run(tstop=TSTOP, frames_per_ms=FRAMES_PER_MS)
    nl.fit_limits()
    nl.set_colormap("mako")
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = (*SIZE, 100)
    scene.cycles.samples, scene.cycles.device, scene.cycles.use_denoising = 2, "CPU", False
    scene.view_settings.view_transform, scene.view_settings.look = "Standard", "None"
    nl.set_overlays(["time", "scale", "colourbar", "traces"], title="Ball and stick", font_size=8)
    return scene, cache, folder


@pytest.fixture(scope="module")
def frames(figure):
    """Three frames rendered with Cycles: t = 0, 5 and 10 ms; {frame: (pixels, boxes)}."""
    scene, cache, folder = figure
    out = {}
    for frame in (1, 21, 41):
        scene.frame_set(frame)
        out[frame] = render(scene, folder / f"frame{frame}.png"), dict(nl_state(scene)["boxes"])
    return out


def nl_state(scene):
    from importlib import import_module

    from conftest import PACKAGE
    return import_module(PACKAGE + ".addon.session.rendering").overlay_state(scene)


def ocr(pixels, box, path):
    """The text tesseract reads in `box`: white on dark turned dark on white, 3× larger
    (smoothly: blocky upscaling loses thin strokes), in a white border."""
    part = crop(pixels, box, pad=8)[..., :3]
    grey = 1.0 - part.mean(axis=2)
    big = np.repeat(np.repeat(grey, 3, axis=0), 3, axis=1)
    for axis in (0, 1):  # a 3-pixel box blur: the upscale becomes close to bilinear
        big = (np.roll(big, 1, axis) + big + np.roll(big, -1, axis)) / 3
    big = np.pad(big, 20, constant_values=1.0)
    save_png(np.stack([big, big, big, np.ones_like(big)], axis=2), path)
    result = subprocess.run([TESSERACT, str(path), "stdout", "--psm", "7"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())


@pytest.mark.skipif(TESSERACT is None, reason="tesseract-ocr is not installed (make gui installs it as root)")
def test_time_stamp_reads_the_frames_time_by_ocr(figure, frames):
    scene, cache, folder = figure
    for frame, (pixels, boxes) in frames.items():
        expected = (frame - scene.frame_start) / cache.meta["frames_per_ms"]
        text = ocr(pixels, boxes["time"], folder / f"ocr{frame}.png")
        found = re.search(r"(\d+[.,]\d+)\s*ms", text)
        assert found, (frame, text)
        assert found.group(1).replace(",", ".") == f"{expected:.2f}", (frame, text)


def _strip(pixels, box):
    """The colour bar's gradient in its block: the row through its middle and its first and
    last columns (pixels unlike the background over most of the block's width; text rows
    are sparser)."""
    part = crop(pixels, box, pad=0)[..., :3]
    background = part[0, 0]
    differs = np.abs(part - background).max(axis=2) > 0.03
    rows = np.flatnonzero(differs.sum(axis=1) > 0.6 * part.shape[1])
    middle = int(np.median(rows))
    cols = np.flatnonzero(differs[middle])
    return part[middle], cols.min(), cols.max()


def test_colour_bar_ends_are_the_palettes_ends(figure, frames):
    from importlib import import_module

    from conftest import PACKAGE
    palettes = import_module(PACKAGE + ".addon.colour.palettes")
    scene, _, _ = figure
    pixels, boxes = frames[1]
    row, first, last = _strip(pixels, boxes["colour_bar"])
    assert last - first > 0.5 * boxes["colour_bar"][2]
    props = scene.neuron_live
    cmap = palettes.colormap(props.palette)
    for column, end in ((first + 2, props.palette_start), (last - 2, props.palette_stop)):
        np.testing.assert_allclose(row[column], np.array(cmap(end))[:3], atol=0.03,
                                   err_msg=f"colour bar column {column} against the palette at {end}")


def _cursor_column(pixels, box):
    part = crop(pixels, box, pad=0)[..., :3]
    orange = (part[..., 0] > 0.7) & (part[..., 1] > 0.35) & (part[..., 1] < 0.85) & (part[..., 2] < 0.25)
    cols = np.flatnonzero(orange.sum(axis=0) > 0.5 * box[3] * 0.5)
    assert len(cols), "no cursor in the trace panel"
    return box[0] + cols.mean()


def test_inset_cursor_moves_with_the_frame(frames):
    x = {frame: _cursor_column(pixels, boxes["traces"]) for frame, (pixels, boxes) in frames.items()}
    width = frames[1][1]["traces"][2]
    assert x[41] - x[1] > 0.7 * width, x  # t = 0 at the left, 10 ms (tstop) at the right
    assert abs((x[21] - x[1]) - (x[41] - x[21])) <= 2, x  # linear in time: 5 ms is half-way


def _cells_centre(scene):
    cells = [o for o in scene.objects if o.get("neuron_live_cells")]
    points = []
    for obj in cells:
        co = np.empty(len(obj.data.vertices) * 3, np.float32)
        obj.data.vertices.foreach_get("co", co)
        matrix = np.array(obj.matrix_world)
        points.append(co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3])
    points = np.concatenate(points)
    return (points.min(axis=0) + points.max(axis=0)) / 2


def _bar_pixels(pixels, box):
    """The scale bar's length in pixels: the longest run of bright pixels in a row of its block."""
    part = crop(pixels, box, pad=2)[..., :3].mean(axis=2)
    bright = part > 0.5 * part.max()
    best = 0.0
    for row in bright:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        runs = edges[1::2] - edges[::2]
        best = max(best, runs.max() if len(runs) else 0)
    return best


@pytest.mark.parametrize("camera_type", ["ORTHO", "PERSP"])
def test_scale_bar_is_the_cameras_projection_of_its_length(figure, camera_type):
    from mathutils import Vector
    scene, _, folder = figure
    camera = scene.camera
    saved = camera.data.type, camera.data.ortho_scale
    camera.data.type = camera_type
    camera.data.ortho_scale = 4.0
    try:
        state = nl_state(scene)
        length_um = state["scale_um"]
        mantissa = length_um / 10 ** np.floor(np.log10(length_um))
        assert round(mantissa, 6) in (1, 2, 5), length_um
        pixels = render(scene, folder / f"scale_{camera_type}.png", engine="BLENDER_WORKBENCH")
        centre = Vector(_cells_centre(scene))
        right = camera.matrix_world.to_3x3() @ Vector((1, 0, 0))
        half = right.normalized() * (length_um * scene.neuron_live.scale / 2)
        a, b = (world_to_camera_view(scene, camera, centre + s * half) for s in (-1, 1))
        expected = abs(b.x - a.x) * SIZE[0]
        frame_width = expected / length_um * 1.0
        assert SIZE[0] / 10 <= expected <= SIZE[0] / 2.5, (expected, frame_width)  # about a fifth
        assert abs(_bar_pixels(pixels, state["boxes"]["scale"]) - expected) <= 2, expected
    finally:
        camera.data.type, camera.data.ortho_scale = saved


def _module(name):
    from importlib import import_module

    from conftest import PACKAGE
    return import_module(f"{PACKAGE}.addon.{name}")


def test_time_decimals_and_round_lengths():
    layout = _module("scene.overlays_layout")
    assert [layout.time_decimals(s) for s in (0.25, 0.5, 2.0, 0.1, 1 / 3, 0.025)] == [2, 1, 0, 1, 2, 3]
    assert layout.time_text(12.5, 2) == "t = 12.50 ms"
    assert [layout.round_length(v) for v in (0.9, 1.6, 3.3, 6.0, 7.4, 140, 4000)] == [1, 2, 5, 5, 10, 100, 5000]


def test_resolution_presets_keep_every_overlay_in_frame(nl, figure):
    scene = figure[0]
    try:
        for preset, size in (("1080p", (1920, 1080)), ("4K", (3840, 2160)), ("square", (1080, 1080))):
            assert nl.set_resolution(preset, scene=scene) == size
            boxes = nl.overlay_state(scene)["boxes"]
            assert set(boxes) == {"time", "scale", "colour_bar", "traces", "title"}
            for kind, (x, y, w, h) in boxes.items():
                assert 0 <= x and x + w <= size[0] and 0 <= y and y + h <= size[1], (preset, kind)
    finally:
        nl.set_resolution(width=SIZE[0], height=SIZE[1], scene=scene)


def test_turntable_orbits_once_at_the_same_distance(nl, figure):
    scene = figure[0]
    camera = scene.camera
    centre = _cells_centre(scene)
    try:
        nl.turntable(scene=scene)
        positions = {}
        frames = scene.frame_end - scene.frame_start + 1  # one orbit: frame_end + 1 is frame_start again
        for frame in (scene.frame_start, scene.frame_start + frames / 2, scene.frame_start + frames):
            scene.frame_set(int(frame), subframe=frame % 1)
            positions[frame] = np.array(camera.matrix_world.translation) - centre
        first, middle, last = positions.values()
        np.testing.assert_allclose([np.linalg.norm(p) for p in positions.values()], np.linalg.norm(first), rtol=1e-4)
        np.testing.assert_allclose(middle[:2], -first[:2], atol=1e-3 * np.linalg.norm(first))  # half-way: opposite
        np.testing.assert_allclose(last, first, atol=1e-3 * np.linalg.norm(first))  # one full orbit
        assert nl.overlay_state(scene)["scale_um"] > 0
    finally:
        nl.turntable(0, scene=scene)
        scene.frame_set(1)


def png_header(path):
    header = path.read_bytes()[:26]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height, _, colour_type = struct.unpack(">IIBB", header[16:26])
    return width, height, colour_type


def test_job_writes_stills_named_by_time_a_strip_and_alpha(tmp_path):
    """The headless job with overlays, a turntable and a transparent background, in EEVEE."""
    out = tmp_path / "out"
    result = subprocess.run(
        [str(a) for a in (sys.executable, EXAMPLES / "demo.py", EXAMPLES / "ball_and_stick.py", "--out", out,
                          "--tstop", 10, "--resolution", "160x90", "--samples", 1, "--engine", "EEVEE", "--no-video",
                          "--stills", "0,5", "--overlays", "time,scale,colourbar,traces", "--title", "Figure 1",
                          "--turntable", "--transparent")],
        capture_output=True, text=True, env=isolated_env(tmp_path), timeout=300)
    log = out / "ball_and_stick.log"
    assert result.returncode == 0, result.stderr + (log.read_text()[-3000:] if log.exists() else "")
    stills = [out / "ball_and_stick_t0.0ms.png", out / "ball_and_stick_t5.0ms.png"]
    strip = out / "ball_and_stick_stills.png"
    for path in [*stills, strip]:
        assert f"wrote {path}" in result.stdout, result.stdout
    assert png_header(stills[0]) == (160, 90, 6)  # RGBA
    assert png_header(strip)[:2] == (320, 90)
    image = bpy.data.images.load(str(stills[1]))
    try:
        pixels = np.empty(160 * 90 * 4, np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    alpha = pixels.reshape(90, 160, 4)[..., 3]
    assert alpha.min() == 0 and alpha.max() == 1  # transparent background, opaque overlays and cells


def test_overlays_are_saved_with_the_scene(nl, figure, tmp_path):
    """Last in this file: it reopens the .blend. The settings come back and the time stamp
    follows frames with no rebuild."""
    scene = figure[0]
    blend = tmp_path / "figure.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    props = scene.neuron_live_overlays
    assert (props.show_time, props.show_scale, props.show_colour_bar, props.show_traces) == (True,) * 4
    assert props.title == "Ball and stick" and props.font_size == 8
    scene.frame_set(21)
    assert bpy.data.objects["NL overlay time"].data.body == "t = 5.00 ms"
