"""Drive NEURON Live in a real Blender window (run by tests/test_gui.py, inside Blender).

    blender --factory-startup -p 0 0 1280 800 --python tests/gui/drive.py

Steps run from `bpy.app.timers` (a generator: each `yield` is the pause before the next
step), so the window keeps drawing in between: install and enable the add-on, open the
NEURON tab with a real click, load a model through the operator, Run (modal), a real Esc
cancels, Continue, playback colours in the viewport, the preferences. Real input goes
through xdotool, screenshots through ImageMagick's `import`. Results go to the JSON file
$NL_GUI_RESULTS; the process ends with os._exit (Blender 3.4's quit exits with status 1).

Environment: NL_GUI_RESULTS, NL_GUI_SHOTS (screenshot folder), NL_GUI_MODEL, and either
NL_GUI_ZIP (the legacy add-on zip to install) or the add-on linked into the user scripts.
"""
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import layout_probe  # noqa: E402
import screen  # noqa: E402
from screen import crop, find, ocr, pixel, region_box, screen_xy, xdo  # noqa: E402

PACKAGE = "neuron_live"
RESULTS = {"steps": [], "draws": {}, "progress_texts": [], "clicks": [], "cut_words": {}, "too_wide": {}}
SHOTS = Path(os.environ["NL_GUI_SHOTS"])
DOCS = Path(os.environ["NL_GUI_DOCS"]) if os.environ.get("NL_GUI_DOCS") else None  # the guide's pictures


def log(step, **facts):
    RESULTS["steps"].append(step)
    RESULTS.update(facts)
    print(f"NL-GUI {step} {facts}", flush=True)


def shoot(name):
    return screen.shoot(SHOTS / f"{name}.png")


def picture(source, box, name):
    """A picture for the user guide (docs/images/), cut from a screenshot of this run."""
    if DOCS is not None:
        DOCS.mkdir(parents=True, exist_ok=True)
        crop(source, box, DOCS / f"{name}.png")


def click(word, what):
    """A real click on a word read off the screen, counted (the first-use clicks)."""
    xdo("mousemove", *word.centre)
    yield 0.8  # a software-rendered screen needs the hover before the press
    xdo("click", 1)
    RESULTS["clicks"].append(what)
    yield 0.5


def view3d():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def count_calls(owner, name, key):
    """Wrap `owner.name` to count its calls (Blender looks draw functions up per call)."""
    original = getattr(owner, name)

    def wrapped(self, context):  # Blender passes as many arguments as the function names
        RESULTS["draws"][key] = RESULTS["draws"].get(key, 0) + 1
        return original(self, context)
    setattr(owner, name, wrapped)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        yield 0.25


# Words tesseract may read with an ellipsis that are ours, not a cut: buttons that open a dialog.
OWN_ELLIPSES = {"Model…", "Model..."}


def context_of(window, area, sidebar):
    """What a panel's draw() reads of its context, for drawing it through the layout probe."""
    return SimpleNamespace(scene=bpy.context.scene, region=sidebar, space_data=area.spaces[0],
                           preferences=bpy.context.preferences, window=window)


def soma_xy(region, area, cells, session, attributes):
    """Screen pixel of the soma's middle in the 3D view."""
    from bpy_extras.view3d_utils import location_3d_to_region_2d
    from mathutils import Vector
    soma = cells[0]
    sections = attributes.read(soma.data, "section", "INT")
    index = list(session.model.section_names).index(next(n for n in session.model.section_names if "soma" in n))
    positions = attributes.read_positions(soma.data)[sections == index]
    middle = soma.matrix_world @ Vector(positions.mean(axis=0))
    centre = location_3d_to_region_2d(region, area.spaces[0].region_3d, middle)
    return screen_xy(region, centre.x, centre.y)


def first_use(window, area, region, sidebar, session, attributes):
    """From the factory scene with the add-on just enabled and the NEURON tab open: Load
    Example ▸ Ball and Stick, Run, Show Colours — every step a real click on what the screen
    shows (found by OCR). The factory cube, selected at start, is deleted with a key."""
    from neuron_live.addon.scene.playback import cell_objects
    side = region_box(sidebar)
    xdo("mousemove", *screen_xy(region, region.width // 2, region.height // 2))
    xdo("key", "Delete")
    yield 1.5
    shot = shoot("first-1-empty")
    picture(shot, side, "panel-empty")
    RESULTS["empty_panel_words"] = [w.text for w in ocr(shot, side)]
    yield from click(find(ocr(shot, side), "Example"), "Load Example")
    yield 1.5
    shot = shoot("first-2-menu")
    menu_box = (max(0, side[0] - 420), side[1], 420 + side[2], side[3])
    picture(shot, menu_box, "menu-examples")
    yield from click(find(ocr(shot, menu_box), "Ball"), "Ball and Stick")
    yield from wait_until(lambda: session.task is None and cell_objects(bpy.context.scene), 60, "Load Example")
    yield 2.0
    shot = shoot("first-3-loaded")
    picture(shot, side, "panel-loaded")
    words = ocr(shot, side)
    yield from click(find(words, "Run", below=find(words, "Variable").y), "Run")
    yield from wait_until(lambda: session.task is None and session.cache is not None, 60, "Run")
    yield 2.0
    cells = cell_objects(bpy.context.scene)
    xy = soma_xy(region, area, cells, session, attributes)
    shot = shoot("first-4-ran")
    picture(shot, side, "solid-hint")
    before = pixel(shot, *xy)
    shading_before = area.spaces[0].shading.type
    yield from click(find(ocr(shot, side), "Show"), "Show Colours")
    xdo("mousemove", 5, 5)  # no hover highlight over the cell
    deadline = time.monotonic() + 40  # Material Preview compiles its shaders first (software GL: seconds)
    while True:
        yield 2.0
        after = pixel(shoot("first-5-colours"), *xy)
        if max(after) - min(after) > 0.15 or time.monotonic() > deadline:
            break
    log("first_use", first_use_clicks=list(RESULTS["clicks"]), shading_before=shading_before,
        shading_after=area.spaces[0].shading.type, soma_solid_rgb=before, soma_colour_rgb=after,
        first_status=bpy.context.scene.neuron_live.status, cells=[o.name for o in cells])


def walk_panels(window, area, sidebar):
    """Open each NEURON panel alone (Ctrl+click on its header, as a user can), photograph it
    for the guide, read it back (OCR) for cut words, and measure each text it draws (blf)
    against the room the layout gives it."""
    from neuron_live.addon.ui import text_fit
    side = region_box(sidebar)
    context = context_of(window, area, sidebar)
    scale = bpy.context.preferences.system.ui_scale or 1.0
    width = sidebar.width - text_fit.MARGIN * scale + layout_probe.PAD
    classes = sorted((cls for cls in bpy.types.Panel.__subclasses__() if getattr(cls, "bl_category", "") == "NEURON"
                      and not getattr(cls, "bl_parent_id", "")), key=lambda cls: getattr(cls, "bl_order", 0))
    for cls in classes:
        yield from open_alone(side, cls.bl_label)
        name = cls.bl_label.lower()
        shot = shoot(f"panel-{name}")
        picture(shot, side, f"panel-{name}")
        words = ocr(shot, side)
        RESULTS["cut_words"][cls.bl_label] = [w.text for w in words if w.cut and w.text not in OWN_ELLIPSES]
        probe = layout_probe.probe_panel(cls, context, width, text_fit.measure(context))
        RESULTS["too_wide"][cls.bl_label] = [(t.text, round(t.room), t.where) for t in probe.too_wide()]
        RESULTS.setdefault("panel_words", {})[cls.bl_label] = len(words)
    log("panels", walked=[cls.bl_label for cls in classes], sidebar_width=sidebar.width, ui_scale=scale)
    yield from open_alone(side, "Run")  # for the runs that follow


def open_alone(side, label):
    """Ctrl+click on a panel's header: that panel opens, every other one closes. A header
    pushed below the region by the open panel above it is reached by opening the first
    panel alone first (its content is short)."""
    try:
        header = find(ocr(shoot("walk"), side), label, left_of=side[0] + 90)
    except LookupError:
        if label == "Model":
            raise
        yield from open_alone(side, "Model")
        header = find(ocr(shoot("walk"), side), label, left_of=side[0] + 90)
    xdo("mousemove", *header.centre)
    yield 0.8
    xdo("keydown", "ctrl")
    xdo("click", 1)
    xdo("keyup", "ctrl")
    yield 2.0


def script():
    window, area, region = view3d()
    centre = screen_xy(region, region.width // 2, region.height // 2)
    xdo("mousemove", *centre)
    xdo("key", "Escape")  # close the splash
    yield 0.5

    try:
        import numpy  # noqa: F401
    except ImportError:
        RESULTS["skip"] = "Blender's Python has no numpy (Debian: apt install python3-numpy)"
        return

    t0 = time.monotonic()
    if os.environ.get("NL_GUI_ZIP"):
        bpy.ops.preferences.addon_install(filepath=os.environ["NL_GUI_ZIP"], overwrite=True)
    bpy.ops.preferences.addon_enable(module=PACKAGE)
    import neuron_live
    from neuron_live.addon.engine.state import session
    from neuron_live.addon.scene import attributes, compat
    from neuron_live.addon.ui import panels, preferences
    yield from wait_until(lambda: session.task is None, 180, "bundled NEURON install")
    log("installed", from_zip=bool(os.environ.get("NL_GUI_ZIP")), install_s=round(time.monotonic() - t0, 1),
        add_on=neuron_live.__file__, neuron=neuron_live.neuron_status().summary(), install_message=session.message)

    count_calls(panels.NEURONLIVE_PT_main, "draw", "panel")
    count_calls(preferences.NEURONLIVE_AP_preferences, "draw", "preferences")
    progress = compat.progress

    def recording_progress(layout, factor, text):
        RESULTS["progress_texts"].append(text)
        return progress(layout, factor, text)
    compat.progress = recording_progress

    # The sidebar's NEURON tab: Blender 3.4 cannot pick a tab from Python, so click down
    # the tab strip (right edge of the sidebar) until our panel draws.
    area.spaces[0].show_region_ui = True
    area.tag_redraw()
    yield 1.0
    sidebar = next(r for r in area.regions if r.type == "UI")
    for y in range(120, 320, 25):
        x, sy = screen_xy(sidebar, sidebar.width - 12, sidebar.height - y)
        xdo("mousemove", x, sy)
        yield 1.0  # a software-rendered screen needs the hover before the press
        xdo("click", 1)
        yield 1.0
        if RESULTS["draws"].get("panel"):
            log("tab", tab_click=[x, sy])
            break
    else:
        raise RuntimeError("no click on the sidebar's tab strip showed the NEURON panel")

    yield from first_use(window, area, region, sidebar, session, attributes)
    yield from walk_panels(window, area, sidebar)
    scene = bpy.context.scene
    from neuron_live.addon.scene.playback import cell_objects
    cells = cell_objects(scene)
    for obj in scene.objects:
        obj.select_set(obj in cells)
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.view3d.view_selected()
    for obj in cells:
        obj.select_set(False)  # no selection outline over the soma's pixels
    yield 2.0
    shoot("1-loaded")

    props = scene.neuron_live
    props.tstop, props.frames_per_ms, props.follow = 100000.0, 2.0, False  # ~20 s: Esc comes first
    with bpy.context.temp_override(window=window, area=area, region=region):
        result = bpy.ops.neuron_live.run("EXEC_DEFAULT")
    log("run", run_result=sorted(result))
    yield 2.5
    picture(shoot("2-running"), region_box(sidebar), "panel-running")
    running = session.task is not None
    xdo("mousemove", *centre)
    yield 1.0
    xdo("key", "Escape")
    yield from wait_until(lambda: session.task is None, 20, "Esc cancelling the run")
    cache = session.cache
    log("esc", running_before_esc=running, cancelled=bool(cache.meta.get("cancelled")),
        frames_after_esc=int(cache.frames_done), status_after_esc=props.status)
    yield 1.0
    shoot("3-cancelled")

    done_ms = (cache.frames_done - 1) / props.frames_per_ms
    props.tstop = done_ms + 50.0
    with bpy.context.temp_override(window=window, area=area, region=region):
        result = bpy.ops.neuron_live.run("EXEC_DEFAULT", extend=True)
    yield from wait_until(lambda: session.task is None, 60, "Continue")
    cache = session.cache
    log("continue", continue_result=sorted(result), continue_status=props.status,
        continue_complete=bool(cache.meta.get("complete")), continue_frames=int(cache.frames_done),
        continue_expected=int(round(props.tstop * props.frames_per_ms)) + 1)

    # Playback: the soma's pixel at rest (frame 1) and at the peak of the first spike.
    soma = cells[0]
    sections = neuron_live.addon.scene.attributes.read(soma.data, "section", "INT")
    soma_index = list(session.model.section_names).index(
        next(n for n in session.model.section_names if "soma" in n))
    import numpy as np
    column = np.asarray(cache.frames[:min(cache.frames_done, 200)])
    segments = neuron_live.addon.scene.attributes.read(soma.data, "segment", "INT")[sections == soma_index]
    peak = int(np.nanargmax(column[:, int(segments[0])]))
    positions = neuron_live.addon.scene.attributes.read_positions(soma.data)[sections == soma_index]
    from bpy_extras.view3d_utils import location_3d_to_region_2d
    centre_2d = location_3d_to_region_2d(region, area.spaces[0].region_3d,
                                         soma.matrix_world @ __import__("mathutils").Vector(positions.mean(axis=0)))
    soma_xy = screen_xy(region, centre_2d.x, centre_2d.y)
    xdo("mousemove", 5, 5)  # no hover highlight over the cell
    colours = {}
    for name, frame in (("rest", 1), ("spike", scene.frame_start + peak)):
        scene.frame_set(frame)
        yield 3.0
        shot = shoot(f"4-{name}")
        colours[name] = pixel(shot, *soma_xy)
        picture(shot, region_box(region), f"cell-{name}")  # cell-spike: the README's picture
    log("playback", soma_xy=list(soma_xy), peak_frame=scene.frame_start + peak,
        peak_mv=float(column[peak, int(segments[0])]), soma_rest_rgb=colours["rest"],
        soma_spike_rgb=colours["spike"])

    scene.frame_set(1)
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.screen.animation_play()
    yield 2.0
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.screen.animation_cancel(restore_frame=False)
    log("animation", played_to_frame=scene.frame_current)

    bpy.context.preferences.active_section = "ADDONS"
    bpy.context.window_manager.addon_search = "NEURON"
    import addon_utils
    listed = next(m for m in addon_utils.modules() if m.__name__ == PACKAGE)  # the list's own module
    addon_utils.module_bl_info(listed)["show_expanded"] = True
    # In the main window: a new Preferences window is never painted without a window manager.
    area.type = "PREFERENCES"
    yield 3.0
    picture(shoot("5-preferences"), region_box(next(r for r in area.regions if r.type == "WINDOW")),
            "preferences")
    area.type = "VIEW_3D"
    log("preferences")
    yield from experiment(window, area, region, session)


def section_xy(region, area, session, section, x):
    """Screen pixel of section(x) on its centre line in the 3D view."""
    import numpy as np
    from bpy_extras.view3d_utils import location_3d_to_region_2d
    from mathutils import Vector
    model, props = session.model, bpy.context.scene.neuron_live
    xyz = model.locate([model.section_names.index(section)], [x])[0].astype(np.float64)
    middle = np.array([(model.points[:, i].min() + model.points[:, i].max()) / 2 for i in range(3)])
    point = location_3d_to_region_2d(region, area.spaces[0].region_3d, Vector((xyz - middle) * props.scale))
    return screen_xy(region, point.x, point.y)


def place_by_click(window, area, region, xy, operator, **options):
    """Start a placing operator (it waits for a click), then click at `xy` for real."""
    with bpy.context.temp_override(window=window, area=area, region=region):
        started = operator("INVOKE_DEFAULT", **options)
    xdo("mousemove", *xy)
    yield 1.0
    xdo("click", 1)
    yield 1.5
    RESULTS.setdefault("placing", []).append(sorted(started))


def experiment(window, area, region, session):
    """Click the dendrite with the probe tool, the soma with the stimulus tool and the
    dendrite with the pick tool (Enter ends it), Run: the markers stand where clicked and
    the probe's trace shows the spike."""
    import neuron_live
    window, area, region = view3d()  # (the area was the Preferences a moment ago: fresh regions)
    scene = bpy.context.scene
    scene.frame_set(1)
    props = scene.neuron_live
    props.tstop, props.follow = 30.0, False
    neuron_live.clear_experiment()
    yield from place_by_click(window, area, region, section_xy(region, area, session, "dend", 0.1),
                              bpy.ops.neuron_live.add_probe)
    yield from place_by_click(window, area, region, section_xy(region, area, session, "soma", 0.5),
                              bpy.ops.neuron_live.add_stimulus, kind="IClamp", params="amp=0.5, delay=2, dur=20")
    markers = sorted(obj.name for obj in scene.objects if "neuron_live_entry" in obj)
    yield from place_by_click(window, area, region, section_xy(region, area, session, "dend", 0.6),
                              bpy.ops.neuron_live.pick_sections)
    xdo("key", "Return")  # the pick tool stays on for more clicks until Enter
    yield 1.0
    picked = {"sections": neuron_live.picked_sections(),
              "cubes": sorted(obj.name for obj in scene.objects if "neuron_live_picked_section" in obj)}
    neuron_live.clear_picked()
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.neuron_live.run("EXEC_DEFAULT")
    yield from wait_until(lambda: session.task is None, 60, "Run with the experiment")
    traces = neuron_live.probe_traces()
    peak = {key: float(values.max()) for key, values in traces.items() if key != "t"}
    yield 2.0
    shoot("6-experiment")
    plot = neuron_live.plot_probes(show=True)
    area.type = "IMAGE_EDITOR"
    area.spaces[0].image = bpy.data.images.get("NEURON Live probes")
    yield 3.0
    shoot("7-probe-trace")
    area.type = "VIEW_3D"
    log("experiment", experiment_markers=markers, picked=picked, probe_peaks=peak, probe_plot=str(plot.path),
        experiment_status=props.status)


def main():
    steps = script()

    def tick():
        try:
            return next(steps)
        except StopIteration:
            pass
        except Exception:
            RESULTS["error"] = traceback.format_exc()
            print(RESULTS["error"], flush=True)
        try:
            shoot("final")
        except (OSError, subprocess.CalledProcessError) as exc:
            RESULTS.setdefault("error", f"final screenshot: {exc}")
        Path(os.environ["NL_GUI_RESULTS"]).write_text(json.dumps(RESULTS, indent=1))
        os._exit(0)
    bpy.app.timers.register(tick, first_interval=1.0)


main()
