"""The in-scene colour legend: the colour bar (palette, limits, unit) on a small
emissive plane parented to the scene camera, in a corner of its view, so it renders with
the animation.

One object, one material, one image: redrawing the bar (new limits or palette) reloads the
image in place. The plane is placed from the camera's own view frame
(`Camera.view_frame(scene=...)`: sensor, lens, sensor fit, resolution and pixel aspect), so
it stays in frame at any aspect. seaborn/matplotlib are only imported by the drawing
(images.colour_bar), never when the add-on is enabled.
"""
import bpy

from . import framing, images, overlays_objects
from .guard import Guard

LEGEND = "NEURON Live legend"  # the object, its mesh, its material and its image
IMAGE_SIZE = (480, 160)        # a horizontal bar: (width, height) pixels of the PNG
SIZE = 0.25                    # legend height as a fraction of the frame height
MARGIN = 0.03                  # gap to the frame's edges, as a fraction of the frame height

quiet = Guard()  # set while our own code changes the properties


def legend_object():
    obj = bpy.data.objects.get(LEGEND)
    return obj if obj is not None and obj.get(LEGEND) else None


def show_legend(scene, visible=True):
    """Show (draw, place) or hide the legend; returns the object (None when hiding a legend
    that was never made). Makes and frames a camera when the scene has none."""
    obj = legend_object()
    if not visible:
        if obj is not None:
            obj.hide_render = obj.hide_viewport = True
        return obj
    camera = framing.camera_of(scene)
    image = _draw(scene)
    obj = obj or _new_object()
    if obj.name not in scene.collection.objects:
        scene.collection.objects.link(obj)
    _material(obj, image)
    _place(obj, scene, camera, image.size[0] / max(image.size[1], 1))
    obj.hide_render = obj.hide_viewport = False
    return obj


def refresh(scene):
    """Redraw and re-place a shown legend (after a run, new limits or palette); else nothing."""
    props = scene.neuron_live
    if not props.show_legend:
        return
    try:
        show_legend(scene, True)
    except (RuntimeError, ValueError, OSError) as exc:  # the recolouring itself went fine
        props.status = f"Legend not redrawn: {exc}"


@bpy.app.handlers.persistent
def on_render_pre(scene, depsgraph=None):
    """Before each rendered frame: re-place a shown legend for the scene's camera and its
    current resolution (no redrawing), so a changed aspect or camera keeps it in frame."""
    obj = legend_object()
    if obj is None or obj.hide_render or scene.camera is None or not scene.neuron_live.show_legend:
        return
    _place(obj, scene, scene.camera, IMAGE_SIZE[0] / IMAGE_SIZE[1])


def add_handlers():
    if on_render_pre not in bpy.app.handlers.render_pre:
        bpy.app.handlers.render_pre.append(on_render_pre)


def remove_handlers():
    while on_render_pre in bpy.app.handlers.render_pre:
        bpy.app.handlers.render_pre.remove(on_render_pre)


def on_toggle(props, context):
    """Property update of `show_legend`; errors go to the status line."""
    if quiet:
        return
    try:
        show_legend(props.id_data, props.show_legend)
    except (RuntimeError, ValueError, OSError) as exc:
        props.status = f"Legend: {exc}"


def _draw(scene):
    """The colour bar PNG (palette, limits, unit label) as our image."""
    path = images.default_path("legend.png")
    images.colour_bar(scene, path, *IMAGE_SIZE)
    return images.show_image(path, LEGEND)  # the same Image datablock, reloaded in place


def _new_object():
    mesh = bpy.data.meshes.get(LEGEND) or bpy.data.meshes.new(LEGEND)
    if not len(mesh.vertices):
        mesh.from_pydata([(-0.5, -0.5, 0), (0.5, -0.5, 0), (0.5, 0.5, 0), (-0.5, 0.5, 0)], [], [(0, 1, 2, 3)])
        uv = mesh.uv_layers.new(name="UVMap")
        uv.data.foreach_set("uv", (0, 0, 1, 0, 1, 1, 0, 1))
        mesh.update()
    obj = bpy.data.objects.new(LEGEND, mesh)
    obj[LEGEND] = True
    # Only camera rays see it: no light, reflection or shadow on the cells (Cycles).
    for key in ("visible_diffuse", "visible_glossy", "visible_transmission", "visible_volume_scatter",
                "visible_shadow"):
        if hasattr(obj, key):
            setattr(obj, key, False)
    return obj


def _image_nodes(nodes):
    """The legend's picture, its edge pixels held beyond its border."""
    texture = nodes.new("ShaderNodeTexImage")
    texture.name = "NL Legend image"
    texture.extension = "EXTEND"
    return texture.outputs["Color"]


def _material(obj, image):
    material = overlays_objects.emission_material(LEGEND, _image_nodes)
    material.node_tree.nodes["NL Legend image"].image = image
    if obj.data.materials:
        obj.data.materials[0] = material
    else:
        obj.data.materials.append(material)
    return material


def _place(obj, scene, camera, aspect):
    """Bottom-right corner of the camera's view, SIZE of the frame height (narrower frames:
    as wide as fits), just beyond the near clip plane so it is in front of the cells."""
    data = camera.data
    corners = [tuple(v) for v in data.view_frame(scene=scene)]
    depth = max(data.clip_start * 1.05, 1e-4)
    if data.type != "ORTHO":  # the frame at the legend's depth
        corners = [(x * depth / -z, y * depth / -z) for x, y, z in corners]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    left, right, bottom, top = min(xs), max(xs), min(ys), max(ys)
    frame_w, frame_h = right - left, top - bottom
    margin = MARGIN * min(frame_h, frame_w)
    height = SIZE * frame_h
    width = height * aspect
    if width > frame_w - 2 * margin:
        width = frame_w - 2 * margin
        height = width / aspect
    obj.parent = camera
    obj.matrix_parent_inverse.identity()
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = (0.0, 0.0, 0.0)  # facing the camera (its local -z looks at the plane's +z)
    obj.location = (right - margin - width / 2, bottom + margin + height / 2, -depth)
    obj.scale = (width, height, 1.0)
