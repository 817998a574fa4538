"""The overlays' handlers: they follow every frame change and every render (a changed
camera, lens or resolution is picked up before the render starts), and the colour bar
follows a recolouring at once. Registered by ui/panel_render.py."""
import bpy

from . import materials, overlays, overlays_objects as objs


@bpy.app.handlers.persistent
def on_frame(scene, depsgraph=None):
    """frame_change_post and render_pre: overlays follow the frame, camera and resolution."""
    if not overlays.quiet and bpy.data.objects.get(objs.ROOT) is not None:
        try:
            overlays.update(scene)
        except (KeyError, ValueError, ReferenceError) as exc:  # a hand-edited overlay object
            scene.neuron_live.status = f"Overlays not updated: {exc}; rebuild them in the Render panel"


HANDLERS = ((bpy.app.handlers.frame_change_post, on_frame), (bpy.app.handlers.render_pre, on_frame))


def add_handlers():
    for handlers, fn in HANDLERS:
        if fn not in handlers:
            handlers.append(fn)
    if _on_recolour not in materials.AFTER_REFRESH:
        materials.AFTER_REFRESH.append(_on_recolour)


def remove_handlers():
    for handlers, fn in HANDLERS:
        while fn in handlers:
            handlers.remove(fn)
    while _on_recolour in materials.AFTER_REFRESH:
        materials.AFTER_REFRESH.remove(_on_recolour)


def _on_recolour(scene):
    """A palette or limits change: the colour bar follows at once (not at the next frame)."""
    found = objs.collection(scene, create=False)
    if found is not None:
        overlays.refresh_colour_bar(scene, [o for o in found.objects if str(o.get(objs.TAG, "")).startswith("colour_")])

