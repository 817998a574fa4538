"""Overlays on the camera's view: time stamp, scale bar, colour bar, inset traces, spike
raster, title — real objects on a plane just beyond the camera's near clip, so the
viewport's camera view, F12 renders in every engine, the movie and the headless job all
show the same thing.

Layout units: the frame is 100 units high (`u`), as wide as its aspect says; every size
is a percentage of the frame height, so 1080p and 4K look alike. The root empty maps
units onto the camera's view frame (`Camera.view_frame`: sensor, lens, fit, shift,
resolution and pixel aspect), and each block keeps its corner when the aspect changes.

Per frame (`update`, from frame_change_post and render_pre) only cheap things change: the
time stamp's text, the cursors' places, the scale bar's length. The time is the one the
cells show (the cache sample playback draws at that frame, clamped the same way), and
the scale bar is measured through the same camera the render uses.
"""
import bpy
import numpy as np

from ..engine.run_settings import sample_time
from ..engine.state import session
from . import framing, materials, overlays_objects as objs, playback
from .guard import Guard
from .overlays_layout import (
    TRACE_COLOURS,
    Style,
    align_of,
    cursor_x,
    length_text,
    raster_ticks,
    rects,
    ribbon,
    round_length,
    stack,
    text_width,
    time_decimals,
    time_text,
    trace_lines,
    value_text,
)

quiet = Guard()  # set while our own code changes the overlay properties
KINDS = ("title", "time", "traces", "raster", "colour_bar", "scale")
TEXT, PANEL, CURSOR, BAR = ("NEURON Live overlay " + k for k in ("text", "panel", "cursor", "colour bar"))
PANEL_COLOUR, CURSOR_COLOUR = (0.012, 0.012, 0.018), (1.0, 0.65, 0.0)
ANCHOR = {"LEFT": 0.0, "RIGHT": 1.0}


def settings(scene):
    """The scene's overlay settings (ui/panel_render.py's property group), or None."""
    return getattr(scene, "neuron_live_overlays", None)


def enabled(props, traces=None, raster=None):
    """Which overlays to draw: those switched on that have something to show."""
    wanted = {"title": props.show_title and bool(props.title.strip()), "time": props.show_time,
              "scale": props.show_scale, "colour_bar": props.show_colour_bar,
              "traces": props.show_traces and traces is not None,
              "raster": props.show_traces and raster is not None}
    return [k for k in KINDS if wanted[k]]


def build(scene, traces=None, raster=None):
    """(Re)make the overlay objects from the scene's settings. `traces`: {"times", "values"
    (samples × traces), "labels", "ylabel"}; `raster`: {"times", "rows", "n_rows"}. Returns
    the root empty, or None when nothing is switched on."""
    props = settings(scene)
    objs.remove_all()
    kinds = enabled(props, traces, raster) if props is not None else []
    if not kinds:
        return None
    camera = framing.camera_of(scene)
    aspect = _frame_rect(scene, camera)[2] / _frame_rect(scene, camera)[3]
    style = Style(100 * aspect, 100, props.font_size, props.margin, props.inset_width, props.inset_height)
    root = objs.root_empty(scene, camera)
    text = objs.flat_material(TEXT, props.colour)
    blocks = [(k, getattr(props, f"corner_{'traces' if k == 'raster' else k}"), *_block_size(k, style, props))
              for k in kinds]
    placed = stack(blocks, style)
    boxes = {}
    for kind, corner, w, h in blocks:
        x, y = placed[kind]
        anchor = ANCHOR.get(corner.rpartition("_")[2] if "_" in corner else "", 0.5)
        boxes[kind] = (anchor, x - anchor * style.width, y, w, h)
        made = BUILDERS[kind](root, scene, style, (w, h), corner, text, props,
                              traces=traces, raster=raster)
        for obj in made:
            obj["nl_block"] = (anchor, x - anchor * style.width, y, w, h)
    root["nl_boxes"] = {k: list(v) for k, v in boxes.items()}
    _remember_cells(root, scene)
    root["nl_placed"] = ""
    update(scene)
    return root


def _block_size(kind, style, props):
    f = style.font
    if kind == "title":
        return text_width(props.title, 1.25 * f), 1.25 * f
    if kind == "time":
        return text_width("t = 000.00 ms", f), f
    if kind == "scale":
        return 0.32 * style.width, 1.1 * f + style.line
    if kind == "colour_bar":
        return max(0.22 * style.width, 8 * f), 2.5 * f
    return style.inset_width, style.inset_height


def _title(root, scene, style, size, corner, text, props, **_):
    return [objs.text_object("NL overlay title", "title", props.title, 1.25 * style.font, text, root, scene,
                             align_x=align_of(corner))]


def _time(root, scene, style, size, corner, text, props, **_):
    obj = objs.text_object("NL overlay time", "time", "t = 0 ms", style.font, text, root, scene,
                           align_x=align_of(corner), resolution=4)
    obj["nl_decimals"] = time_decimals(1.0 / (_frames_per_ms(scene) * _frames_per_sample(scene)))
    return [obj]


def _scale(root, scene, style, size, corner, text, props, **_):
    bar = objs.quad_object("NL overlay scale bar", "scale_bar", rects(0, 0, 1, style.line), text, root, scene)
    label = objs.text_object("NL overlay scale label", "scale_label", "", 0.8 * style.font, text, root, scene,
                             align_x="CENTER")
    label["nl_y"] = style.line + 0.3 * style.font
    return [bar, label]


def _colour_bar(root, scene, style, size, corner, text, props, **_):
    w, f = size[0], style.font
    strip = objs.quad_object("NL overlay colour strip", "colour_strip", rects(0, 0.95 * f, w, 1.55 * f),
                             objs.ramp_material(BAR), root, scene, values=np.array([0, 1, 1, 0], np.float32))
    made = [strip]
    for role, x, y, align in (("colour_min", 0, 0, "LEFT"), ("colour_max", w, 0, "RIGHT"),
                              ("colour_label", w / 2, 1.8 * f, "CENTER")):
        obj = objs.text_object(f"NL overlay {role}", role, "", 0.7 * f, text, root, scene, align_x=align)
        obj["nl_x"], obj["nl_y"] = x, y
        made.append(obj)
    refresh_colour_bar(scene, made)
    return made


def _panel(root, scene, style, size, text, labels):
    """The inset's background and its four corner labels (`labels`: top-left, top-right,
    bottom-left, bottom-right: name, value range, t0, t1); returns (objects, plot box).
    The labels take at most a third of the height, whatever the font size."""
    w, h = size
    f = min(0.6 * style.font, 0.16 * h)
    pad = 0.4 * style.font
    box = (pad, 1.6 * f, w - 2 * pad, h - 3.2 * f)
    made = [objs.quad_object("NL overlay panel", "panel", rects(0, 0, w, h),
                             objs.flat_material(PANEL, PANEL_COLOUR), root, scene, z=-1e-3)]
    places = ((pad, h - 1.25 * f, "LEFT"), (w - pad, h - 1.25 * f, "RIGHT"), (pad, 0.3 * f, "LEFT"),
              (w - pad, 0.3 * f, "RIGHT"))
    for k, (body, (x, y, align)) in enumerate(zip(labels, places)):
        obj = objs.text_object(f"NL overlay panel text {k}", f"panel_{k}", body, f, text, root, scene,
                               align_x=align)
        obj["nl_x"], obj["nl_y"] = x, y
        made.append(obj)
    return made, box


def _cursor(root, scene, style, box, limits):
    half = style.line / 5
    cursor = objs.quad_object("NL overlay cursor", "cursor", rects(-half, box[1], half, box[1] + box[3]),
                              objs.flat_material(CURSOR, CURSOR_COLOUR), root, scene, z=1e-3)
    cursor["nl_box"], cursor["nl_limits"] = list(box), list(limits)
    return cursor


def _traces(root, scene, style, size, corner, text, props, traces=None, **_):
    limits = _time_limits(scene)
    lines, (low, high) = trace_lines(traces["times"], traces["values"], (0, 0, 1, 1), limits)
    made, box = _panel(root, scene, style, size, text, (f"{', '.join(traces['labels'])} {traces['ylabel']}",
                       f"{value_text(low)} to {value_text(high)}", "0", f"{limits[1]:g} ms"))
    lines, _ = trace_lines(traces["times"], traces["values"], box, limits)
    for k, xy in enumerate(lines):
        material = objs.flat_material(f"NEURON Live overlay trace {k % len(TRACE_COLOURS)}",
                                      _light(TRACE_COLOURS[k % len(TRACE_COLOURS)]))
        made.append(objs.quad_object(f"NL overlay trace {k}", "trace", ribbon(xy, 0.4 * style.line),
                                     material, root, scene))
    return [*made, _cursor(root, scene, style, box, limits)]


def _raster(root, scene, style, size, corner, text, props, raster=None, **_):
    limits = _time_limits(scene)
    made, box = _panel(root, scene, style, size, text, ("spikes", f"{raster['n_rows']} cells", "0",
                                                        f"{limits[1]:g} ms"))
    if len(raster["times"]):
        ticks = raster_ticks(raster["times"], raster["rows"], raster["n_rows"], box, limits, 0.5 * style.line)
        made.append(objs.quad_object("NL overlay spikes", "spikes", ticks, text, root, scene))
    return [*made, _cursor(root, scene, style, box, limits)]


BUILDERS = {"title": _title, "time": _time, "scale": _scale, "colour_bar": _colour_bar, "traces": _traces,
            "raster": _raster}


def _light(colour):
    """A trace colour brightened toward white, so it reads on the dark panel."""
    return tuple(0.35 + 0.65 * c for c in colour)


# -- per frame ---------------------------------------------------------------------------------

def update(scene, frame=None):
    """Bring the overlays to `frame` (default: the current one) and to the scene's camera
    and resolution. Cheap: nothing is rebuilt; a text changes only when it differs."""
    root = bpy.data.objects.get(objs.ROOT)
    camera = scene.camera
    if root is None or camera is None or not root.get(objs.TAG):
        return
    found = objs.collection(scene, create=False)
    if found is None:
        return
    left, bottom, fw, fh, depth, ortho = _frame_rect(scene, camera)
    _place_root(root, camera, (left, bottom, fw, fh, depth))
    width_u, unit = 100 * fw / fh, fh / 100  # frame width in units; plane length of one unit
    t = frame_time(scene, frame)
    bar = _scale_bar(scene, root, camera, fw, depth, ortho, unit)
    for obj in found.objects:
        block = obj.get("nl_block")
        if block is None:
            continue
        anchor, dx, y, w, h = block
        x, dy = anchor * width_u + dx, 0.0
        role = obj[objs.TAG]
        if role == "time":
            objs.set_text(obj, time_text(t, obj["nl_decimals"]))
        elif role == "cursor":
            x += cursor_x(t, obj["nl_box"], obj["nl_limits"])
        elif role in ("scale_bar", "scale_label"):
            start = {0.0: 0.0, 1.0: w - bar[1]}.get(anchor, (w - bar[1]) / 2)
            if role == "scale_bar":
                x += start
                _set(obj, "scale", (bar[1], 1.0, 1.0))
            else:
                x, dy = x + start + bar[1] / 2, obj["nl_y"]
                objs.set_text(obj, length_text(bar[0]))
        elif role.startswith(("colour_", "panel_")):
            x, dy = x + obj.get("nl_x", 0.0), obj.get("nl_y", 0.0)
        if role in ("title", "time"):  # the text aligns to its block's edge (or centre)
            x += {0.0: 0.0, 1.0: w}.get(anchor, w / 2)
        _set(obj, "location", (x, y + dy, obj.location[2]))
    refresh_colour_bar(scene, [o for o in found.objects if str(o.get(objs.TAG, "")).startswith("colour_")])
    _shown[scene.name] = {"time": t, "scale_um": bar[0]}  # not on the root: an ID property write re-evaluates it


def _set(obj, key, value):
    """Assign a transform only when it changes: each assignment re-evaluates the object."""
    current = getattr(obj, key)
    if any(abs(a - b) > 1e-7 for a, b in zip(current, value)):
        setattr(obj, key, value)


def _frame_rect(scene, camera):
    """The camera's view frame on the overlay plane, in camera space: (left, bottom,
    width, height, depth, orthographic). The plane lies just beyond the near clip, so
    the overlays are in front of every cell."""
    data = camera.data
    depth = max(data.clip_start * 1.05, 1e-4)
    corners = [tuple(v) for v in data.view_frame(scene=scene)]
    ortho = data.type == "ORTHO"
    if not ortho:
        corners = [(x * depth / -z, y * depth / -z) for x, y, z in corners]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys), depth, ortho


def _place_root(root, camera, rect):
    left, bottom, _, fh, depth = rect
    if root.parent is not camera:
        root.parent = camera
        root.matrix_parent_inverse.identity()
    _set(root, "location", (left, bottom, -depth))
    _set(root, "scale", (fh / 100, fh / 100, 1.0))


def _scale_bar(scene, root, camera, fw, depth, ortho, unit):
    """(length in µm, length in layout units): a round length near a fifth of the frame's
    width at the cells' centre depth (any depth for an orthographic camera)."""
    um_per_bu = root.get("nl_um_per_bu", 0.0)
    if not um_per_bu:
        return 0.0, 0.0
    plane_per_bu = 1.0
    if not ortho:
        centre = np.asarray(root.get("nl_centre", (0.0, 0.0, 0.0)), np.float64)
        inverse = np.linalg.inv(np.array(camera.matrix_world, np.float64))
        centre_depth = -(inverse[:3, :3] @ centre + inverse[:3, 3])[2]
        plane_per_bu = depth / max(centre_depth, depth)
    length_um = round_length(fw / 5 / plane_per_bu * um_per_bu)
    return length_um, length_um / um_per_bu * plane_per_bu / unit


def _remember_cells(root, scene):
    """The cells' centre (world) and µm per Blender unit, for the scale bar."""
    cells = playback.cell_objects(scene)
    box = framing.bounds(cells)
    if box is None:
        root["nl_um_per_bu"] = 0.0
        return
    root["nl_centre"] = [float(v) for v in (box[0] + box[1]) / 2]
    world = np.array(cells[0].matrix_world, np.float64)[:3, :3]
    bu_per_um = scene.neuron_live.scale * float(np.cbrt(abs(np.linalg.det(world))))
    root["nl_um_per_bu"] = 1.0 / bu_per_um


def _frames_per_ms(scene):
    cache = session.cache
    return cache.meta["frames_per_ms"] if cache is not None else scene.neuron_live.frames_per_ms


def _frames_per_sample(scene):
    return getattr(scene.neuron_live, "frames_per_sample", 1.0) or 1.0


def _time_limits(scene):
    cache = session.cache
    samples = cache.meta["n_frames"] if cache is not None else 1
    return 0.0, float(sample_time(max(samples - 1, 1), _frames_per_ms(scene)))


def frame_time(scene, frame=None):
    """The model time (ms) the cells show at `frame`: the sample position playback uses
    (between samples interpolated, before the first the first, past the last the last)."""
    frame = scene.frame_current_final if frame is None else frame
    position = max((frame - scene.frame_start) / _frames_per_sample(scene), 0.0)
    cache = session.cache
    if cache is not None and cache.frames_done:
        position = min(position, cache.frames_done - 1.0)
    return float(sample_time(position, _frames_per_ms(scene)))


def refresh_colour_bar(scene, made):
    """The colour bar's ramp, limits and label from the scene's palette settings and the
    run's variable (a few comparisons when nothing changed)."""
    props = scene.neuron_live
    material = bpy.data.materials.get(BAR)
    key = f"{props.palette}|{props.palette_start}|{props.palette_stop}"
    if material is not None and material.get("nl_key") != key:
        try:
            ramp = materials.ramp_for(props.palette, props.palette_start, props.palette_stop)
        except materials.PaletteError:
            ramp = materials.ramp_for(materials.DEFAULTS["palette"])
        materials.set_ramp(material.node_tree.nodes["NL Colormap"].color_ramp, ramp)
        material.diffuse_color = tuple(float(c) for c in ramp.evaluate(0.5))
        material["nl_key"] = key
    meta = session.cache.meta if session.cache is not None else {}
    variable, units = meta.get("variable", props.variable), meta.get("units", "")
    bodies = {"colour_min": value_text(props.vmin), "colour_max": value_text(props.vmax),
              "colour_label": f"{variable} ({units})" if units else variable}
    for obj in made:
        if obj.get(objs.TAG) in bodies:
            objs.set_text(obj, bodies[obj[objs.TAG]])


def pixel_boxes(scene):
    """Each overlay's block in render pixels: {kind: (x, y, w, h)}, y up from the bottom."""
    root = bpy.data.objects.get(objs.ROOT)
    if root is None or scene.camera is None or "nl_boxes" not in root:
        return {}
    _, _, fw, fh, _, _ = _frame_rect(scene, scene.camera)
    width_u = 100 * fw / fh
    per_unit = render_size(scene)[1] / 100
    return {k: ((a * width_u + dx) * per_unit, y * per_unit, w * per_unit, h * per_unit)
            for k, (a, dx, y, w, h) in ((k, tuple(v)) for k, v in root["nl_boxes"].items())}


def render_size(scene):
    render = scene.render
    scale = render.resolution_percentage / 100
    return int(render.resolution_x * scale), int(render.resolution_y * scale)


_shown = {}  # scene name → what its overlays showed at the last update


def state(scene):
    """What the overlays show now: {"time" (ms), "scale_um"}; empty without overlays."""
    return dict(_shown.get(scene.name, {})) if bpy.data.objects.get(objs.ROOT) is not None else {}
