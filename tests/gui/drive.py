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
import time
import traceback
from pathlib import Path

import bpy

PACKAGE = "neuron_live"
RESULTS = {"steps": [], "draws": {}, "progress_texts": []}
SHOTS = Path(os.environ["NL_GUI_SHOTS"])
SCREEN_HEIGHT = 800


def log(step, **facts):
    RESULTS["steps"].append(step)
    RESULTS.update(facts)
    print(f"NL-GUI {step} {facts}", flush=True)


def xdo(*args):
    subprocess.run(["xdotool", *map(str, args)], check=True)


def shoot(name):
    path = SHOTS / f"{name}.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    return path


def screen_xy(region, x, y):
    """Region coordinates (origin bottom left) → X screen coordinates (origin top left)."""
    return int(region.x + x), int(SCREEN_HEIGHT - (region.y + y))


def pixel(path, x, y, r=2):
    """Mean RGB of a (2r+1)² patch around screen pixel (x, y) of a screenshot."""
    import numpy as np
    image = bpy.data.images.load(str(path))
    w, h = image.size
    px = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(px)
    bpy.data.images.remove(image)
    px = px.reshape(h, w, 4)[::-1]  # Blender images start at the bottom row
    return [round(float(c), 3) for c in px[y - r:y + r + 1, x - r:x + r + 1, :3].mean(axis=(0, 1))]


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
    from neuron_live.addon.scene import compat
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

    t = time.monotonic()
    result = bpy.ops.neuron_live.load_model("EXEC_DEFAULT", filepath=os.environ["NL_GUI_MODEL"])
    yield from wait_until(lambda: session.task is None, 60, "loading in the background")
    scene = bpy.context.scene
    from neuron_live.addon.scene.playback import cell_objects
    cells = cell_objects(scene)
    log("loaded", load_result=sorted(result), load_s=round(time.monotonic() - t, 2),
        cells=[o.name for o in cells], status_after_load=scene.neuron_live.status)
    # Activity colours show in Material Preview (the factory Solid view shows the flat
    # material colour); frame the view on the cell.
    area.spaces[0].shading.type = "MATERIAL"
    bpy.data.objects.remove(bpy.data.objects["Cube"])  # the factory cube would hide the cell
    for obj in scene.objects:
        obj.select_set(obj in cells)
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.view3d.view_selected()
    for obj in cells:
        obj.select_set(False)  # no selection outline over the soma's pixels
    yield 4.0
    shoot("1-loaded")

    props = scene.neuron_live
    props.tstop, props.frames_per_ms, props.follow = 100000.0, 2.0, False  # ~20 s: Esc comes first
    with bpy.context.temp_override(window=window, area=area, region=region):
        result = bpy.ops.neuron_live.run("EXEC_DEFAULT")
    log("run", run_result=sorted(result))
    yield 2.5
    shoot("2-running")
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
        colours[name] = pixel(shoot(f"4-{name}"), *soma_xy)
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
    shoot("5-preferences")
    area.type = "VIEW_3D"
    log("preferences")


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
