"""Camera paths through saved views and two runs side by side. The camera is checked against
the matrices it had when each view was saved (never against what the path reports), the
side-by-side halves against plain renders of the same frame with each run playing under
the same colour limits (computed here from the runs' own frames), their labels by OCR.
Renders are tiny (EEVEE at 1 sample)."""
import shutil

import bpy
import numpy as np
import pytest
from mathutils import Matrix

from conftest import EXAMPLES, session_of
from test_overlays import TESSERACT, ocr
from test_panels import DEFAULT_SIDEBAR, context_for, layout_probe, ui

FIRST, LAST = 1, 41
SIZE = (320, 180)


def matrix(camera):
    return np.array(camera.matrix_world, np.float64)


@pytest.fixture
def cell(nl, scene, tmp_path):
    """The ball-and-stick cell loaded (mesh and camera built), frames 1-41."""
    model = tmp_path / "ball_and_stick.py"
    shutil.copy(EXAMPLES / "ball_and_stick.py", model)
    nl.load_model(str(model))
    scene.frame_start, scene.frame_end = FIRST, LAST
    return scene


def two_views(nl, scene):
    """View 1 as framed; View 2 moved, turned and zoomed. Returns their world matrices and lenses."""
    camera = scene.camera
    saved = [(nl.save_view(scene=scene), matrix(camera), camera.data.lens)]
    camera.location = tuple(np.array(camera.location) + (80.0, -30.0, 40.0))
    camera.rotation_euler = tuple(np.array(camera.rotation_euler) + (0.2, 0.1, 0.7))
    camera.data.lens = 85.0
    bpy.context.view_layer.update()
    saved.append((nl.save_view(scene=scene), matrix(camera), camera.data.lens))
    return saved


def test_the_path_starts_at_view_1_ends_at_view_2_and_eases_between(nl, cell):
    scene = cell
    (name1, m1, lens1), (name2, m2, lens2) = two_views(nl, scene)
    assert (name1, name2) == ("View 1", "View 2") and nl.views() == ["View 1", "View 2"]
    assert nl.camera_path(scene=scene) == [FIRST, LAST]
    camera = scene.camera
    scene.frame_set(FIRST)
    np.testing.assert_allclose(matrix(camera), m1, atol=1e-4)
    assert camera.data.lens == pytest.approx(lens1)
    scene.frame_set(LAST)
    np.testing.assert_allclose(matrix(camera), m2, atol=1e-4)
    assert camera.data.lens == pytest.approx(lens2)
    scene.frame_set((FIRST + LAST) // 2)  # half-way: half-way along, the rotation half-turned
    np.testing.assert_allclose(matrix(camera)[:3, 3], (m1[:3, 3] + m2[:3, 3]) / 2, atol=1e-3)
    q1, q2 = (Matrix(m.tolist()).to_quaternion() for m in (m1, m2))
    half = q1.slerp(q2, 0.5)
    assert abs(matrix(camera)[:3, :3] - np.array(half.to_matrix())).max() < 1e-3
    assert camera.data.lens == pytest.approx((lens1 + lens2) / 2)
    scene.frame_set(FIRST + (LAST - FIRST) // 4)  # a quarter of the time: less than a quarter of the way
    along = np.linalg.norm(matrix(camera)[:3, 3] - m1[:3, 3]) / np.linalg.norm(m2[:3, 3] - m1[:3, 3])
    assert 0.02 < along < 0.25, "the path eases out of each view"
    assert nl.camera_path(2, scene=scene) == [FIRST, FIRST + 2 * scene.render.fps]


def test_views_and_the_path_survive_saving_and_reopening(nl, cell, tmp_path):
    scene = cell
    (_, m1, _), (_, m2, _) = two_views(nl, scene)
    nl.camera_path(scene=scene)
    blend = tmp_path / "views.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    assert nl.views(scene) == ["View 1", "View 2"]
    scene.frame_set(LAST)
    np.testing.assert_allclose(matrix(scene.camera), m2, atol=1e-4)
    nl.delete_view("View 2", scene=scene)
    assert nl.views(scene) == ["View 1"]


def test_a_path_needs_two_views_and_bad_input_says_why(nl, cell):
    scene = cell
    with pytest.raises(ValueError, match="at least 2 saved views"):
        nl.camera_path(scene=scene)
    nl.save_view(scene=scene)
    with pytest.raises(ValueError, match=r"at least 2 saved views \(1 saved\)"):
        nl.camera_path(scene=scene)
    nl.save_view(scene=scene)
    with pytest.raises(ValueError, match="must be positive"):
        nl.camera_path(-1, scene=scene)
    with pytest.raises(ValueError, match="No view 'View 9'; the views are: View 1, View 2"):
        nl.delete_view("View 9", scene=scene)
    assert nl.save_view("View 1", scene=scene) == "View 1" and nl.views(scene) == ["View 1", "View 2"]


def test_a_camera_without_a_scene_camera_is_framed_first(nl, cell):
    scene = cell
    scene.camera = None
    assert nl.save_view(scene=scene) == "View 1" and scene.camera is not None


def test_turntable_and_path_never_fight(nl, cell):
    moves = nl.addon.scene.camera_moves
    scene = cell
    (_, m1, _), (_, m2, _) = two_views(nl, scene)
    nl.camera_path(scene=scene)
    pivot = nl.turntable(scene=scene)  # the path's keys go: the turntable alone moves the camera
    camera = scene.camera
    assert camera.parent is pivot and moves.path_frames(scene) == []
    local = []
    for frame in (FIRST, (FIRST + LAST) // 2, LAST):
        scene.frame_set(frame)
        local.append(np.array(camera.location))
    np.testing.assert_allclose(local[1], local[0], atol=1e-6)
    np.testing.assert_allclose(local[2], local[0], atol=1e-6)
    scene.frame_set(FIRST)
    nl.camera_path(scene=scene)  # the turntable goes: the path alone moves the camera
    assert bpy.data.objects.get(moves.TURNTABLE) is None and camera.parent is None
    for frame, expected in ((FIRST, m1), (LAST, m2)):
        scene.frame_set(frame)
        np.testing.assert_allclose(matrix(camera), expected, atol=1e-4)
    nl.camera_path(0, scene=scene)
    assert moves.path_frames(scene) == []
    scene.frame_set(FIRST)
    still = matrix(camera)
    scene.frame_set(LAST)
    np.testing.assert_allclose(matrix(camera), still, atol=1e-6)  # no keys left to move it


# -- two runs side by side -------------------------------------------------------------------

def eevee(scene):
    for engine in ("BLENDER_EEVEE_NEXT", "BLENDER_EEVEE"):  # 4.2-4.x, 5.0+
        try:
            scene.render.engine = engine
            break
        except TypeError:  # this Blender names it the other way
            continue
    scene.eevee.taa_render_samples = 1
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = (*SIZE, 100)
    scene.view_settings.view_transform, scene.view_settings.look = "Standard", "None"


@pytest.fixture
def two_runs(nl, cell):
    """Run 1 at rest (a clamp of 0 nA), Run 2 with a strong clamp at the soma (5 ms, 4 frames
    per ms), in EEVEE; the title overlay alone (it labels the runs)."""
    scene = cell
    stimulus = nl.add_stimulus("IClamp", "soma", 0.5, amp=0.0, delay=0, dur=5)
    nl.run(tstop=5, frames_per_ms=4)
    stimulus.set(amp=2.0)
    nl.run()
    scene.frame_start, scene.frame_end = 1, 21
    eevee(scene)
    nl.set_overlays([], font_size=9, scene=scene)
    return scene


def load_pixels(path):
    image = bpy.data.images.load(str(path))
    try:
        pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
        image.pixels.foreach_get(pixels)
        return pixels.reshape(image.size[1], image.size[0], 4)
    finally:
        bpy.data.images.remove(image)


def plain_render(nl, scene, run, limits, path):
    """The frame rendered by hand: `run` playing, the limits given, its name as the title."""
    nl.play_run(run, scene=scene)
    nl.set_colormap(vmin=limits[0], vmax=limits[1], scene=scene)
    nl.set_overlays(title=run, scene=scene)
    scene.render.filepath = str(path)
    assert "FINISHED" in bpy.ops.render.render(write_still=True, scene=scene.name)
    return load_pixels(path), dict(nl.overlay_state(scene)["boxes"])


def test_side_by_side_png_is_each_run_rendered_alone(nl, two_runs, tmp_path):
    scene = two_runs
    names = [run["name"] for run in nl.runs(scene=scene)]
    assert names == ["Run 1: IClamp at soma(0.5)", "Run 2: IClamp amp 2"]
    scene.frame_set(9)  # t = 2 ms: Run 2's soma is depolarised, Run 1's at rest
    playing, limits_before = session_of(nl).cache, (scene.neuron_live.vmin, scene.neuron_live.vmax)
    nl.set_overlays(title="My figure", scene=scene)
    out = nl.render_side_by_side("Run 1", "Run 2", tmp_path / "pair.png", scene=scene)
    assert session_of(nl).cache is playing and scene.frame_current == 9
    assert (scene.neuron_live.vmin, scene.neuron_live.vmax) == limits_before
    assert scene.neuron_live_overlays.title == "My figure"
    pair = load_pixels(out["png"])
    assert pair.shape[:2] == (SIZE[1], 2 * SIZE[0])
    frames = [np.asarray(nl.addon.engine.FrameCache.open(run["folder"]).frames) for run in nl.runs(scene=scene)]
    limits = (min(float(np.nanmin(f)) for f in frames), max(float(np.nanmax(f)) for f in frames))
    halves = [pair[:, :SIZE[0]], pair[:, SIZE[0]:]]
    alone = [plain_render(nl, scene, name, limits, tmp_path / f"alone{k}.png") for k, name in enumerate(names)]
    for half, (pixels, _) in zip(halves, alone):
        assert np.abs(half - pixels).max() < 0.02
    assert np.abs(halves[0] - halves[1])[..., :3].max() > 0.2, "the runs look different"
    if TESSERACT is None:
        pytest.skip("tesseract-ocr is not installed: the labels are not read")
    for k, (half, (_, boxes), words) in enumerate(zip(halves, alone, ("Clamp at soma", "Clamp amp 2"))):
        assert words in ocr(half, boxes["title"], tmp_path / f"label{k}.png")


def test_side_by_side_movie_and_bad_input(nl, two_runs, tmp_path):
    scene = two_runs
    ExperimentError = nl.addon.engine.experiment.ExperimentError
    out = nl.render_side_by_side(2, "Run 1", tmp_path / "pair.mp4", frames=[1, 2], scene=scene)
    assert out["video"].stat().st_size > 0
    pngs = sorted(out["frames"].glob("*.png"))
    assert len(pngs) == 2 and load_pixels(pngs[0]).shape[:2] == (SIZE[1], 2 * SIZE[0])
    with pytest.raises(ExperimentError, match=r"No run 'Run 7'; the runs are: Run 1"):
        nl.render_side_by_side("Run 1", "Run 7", tmp_path / "x.png", scene=scene)
    with pytest.raises(ExperimentError, match="twice"):
        nl.render_side_by_side("Run 2", 2, tmp_path / "x.png", scene=scene)
    with pytest.raises(ValueError, match=r"\.mp4"):
        nl.render_side_by_side(1, 2, tmp_path / "x.gif", scene=scene)
    assert not list(tmp_path.glob(".*halves*")), "the halves' folder goes"


# -- the Render panel's operators ------------------------------------------------------------

def test_the_operators_do_what_the_api_does(nl, two_runs, tmp_path):
    scene = two_runs
    assert bpy.ops.neuron_live.save_view() == {"FINISHED"}
    assert nl.views(scene) == ["View 1"]
    with pytest.raises(RuntimeError, match="at least 2 saved views"):  # an operator's error report
        bpy.ops.neuron_live.camera_path()
    by_api = matrix(scene.camera)
    scene.camera.location.x += 50
    assert bpy.ops.neuron_live.save_view() == {"FINISHED"}
    props = scene.neuron_live_overlays
    props.path_seconds = 0.5
    assert bpy.ops.neuron_live.camera_path() == {"FINISHED"}
    scene.frame_set(FIRST)
    np.testing.assert_allclose(matrix(scene.camera), by_api, atol=1e-4)
    assert bpy.ops.neuron_live.camera_path(remove=True) == {"FINISHED"}
    assert bpy.ops.neuron_live.delete_view(name="View 1") == {"FINISHED"}
    assert nl.views(scene) == ["View 2"]
    props.compare_a, props.compare_b = "1", "2"
    props.compare_path = str(tmp_path / "op.png")
    assert bpy.ops.neuron_live.side_by_side() == {"FINISHED"}
    assert load_pixels(tmp_path / "op.png").shape[:2] == (SIZE[1], 2 * SIZE[0])
    props.compare_b = "1"
    with pytest.raises(RuntimeError, match="twice"):
        bpy.ops.neuron_live.side_by_side()


def test_the_render_panel_fits_the_sidebar(nl, two_runs):
    scene = two_runs
    nl.save_view(scene=scene)
    nl.save_view(scene=scene)
    context = context_for(scene)
    text_fit = ui("text_fit")
    probe = layout_probe.probe_panel(ui("panel_render").NEURONLIVE_PT_render, context,
                                     DEFAULT_SIDEBAR - text_fit.MARGIN + layout_probe.PAD, text_fit.measure(context))
    assert not probe.too_wide(), probe.too_wide()
    assert {"View 1", "View 2", "Camera path:", "Side by side:"} <= {t.text for t in probe.texts}
