"""The cells in the scene: meshes by group, the groups list, camera framing, NetCon
curves and the in-scene legend."""
import bpy

from ..engine.state import session
from ..scene import framing, groups as cell_groups, legend, netcons, playback
from . import rendering


def build_mesh(*, scene=None, groups=None, method="AUTO", **options):
    """(Re)build the objects of the loaded model's cells; returns them (a list).

    Options default to the scene's geometry settings: sides, segmentation, smooth, caps,
    soma_sphere, as_lines, thickness, homogeneity, center, scale, blend, frame_camera,
    dark_world. `groups`: None (the scene's groups, else one group of every cell) or a list
    of dicts {name, cells (indices or None), interaction, colour_level, options}.
    `method`: AUTO (Geometry Nodes for big objects, numpy for small), GEOMETRY_NODES, NUMPY.
    """
    scene = scene or bpy.context.scene
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a .hoc, .py, .swc or .asc file first")
    props = scene.neuron_live
    for key, value in options.items():
        if key not in MESH_SETTINGS:
            raise TypeError(f"build_mesh() got an unknown option {key!r} (known: {', '.join(MESH_SETTINGS)})")
        setattr(props, key, value)
    build_options = cell_groups.BuildOptions(
        method=method, **{key: getattr(props, key) for key in MESH_SETTINGS[:-2]})
    if groups is None:
        chosen = cell_groups.groups_from_scene(scene, len(model.cell_names))
    else:
        chosen = [cell_groups.Group(**group) for group in groups]
    objects = cell_groups.build(scene, model, chosen, build_options, variable=props.variable)
    framing.lock_interface_while_rendering(scene)
    if props.frame_camera:
        framing.frame_camera(scene, objects)
        framing.frame_views(objects)
    if props.dark_world:
        framing.dark_world(scene)
    playback.refresh(scene)
    rendering.refresh_overlays(scene, report=True)  # the scale bar measures the new cells
    return objects


MESH_SETTINGS = ("sides", "segmentation", "smooth", "caps", "soma_sphere", "as_lines", "thickness",
                 "homogeneity", "center", "scale", "blend", "frame_camera", "dark_world")


def add_group(name=None, *, cells="", interaction="AUTO", colour_level="AUTO", sides=0, scene=None):
    """Add a cell group to the scene's groups (the next `build_mesh` builds it); returns its
    index. `cells`: indices or text like "0-4, 7" (empty: every cell); `interaction`: AUTO,
    GROUP, CELL, SECTION (objects per group); `colour_level`: AUTO, GROUP, CELL, SECTION,
    SEGMENT; `sides`: 0 uses the scene's setting."""
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    text = cells if isinstance(cells, str) else ", ".join(str(int(c)) for c in cells)
    if session.model is not None:  # a bad range raises here, before anything changes
        cell_groups.parse_cells(text, len(session.model.cell_names))
    for key, value, items in (("interaction", interaction, cell_groups.INTERACTION_ITEMS),
                              ("colour_level", colour_level, cell_groups.COLOUR_ITEMS)):
        known = [item[0] for item in items]
        if value not in known:
            raise ValueError(f"add_group: {key} {value!r} is not one of {', '.join(known)}")
    item = props.groups.add()
    item.name = name or f"Group {len(props.groups)}"
    item.cells, item.interaction, item.colour_level, item.sides = text, interaction, colour_level, sides
    props.groups_index = len(props.groups) - 1
    return props.groups_index


def remove_group(index=None, *, scene=None):
    """Remove the scene's group at `index` (default: the one selected in the panel)."""
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    index = props.groups_index if index is None else index
    if not 0 <= index < len(props.groups):
        raise IndexError(f"No group {index}: the scene has {len(props.groups)} group(s)")
    props.groups.remove(index)
    props.groups_index = min(index, len(props.groups) - 1) if len(props.groups) else 0


def frame_camera(*, scene=None):
    """Aim the scene camera (made when missing) at the cells, all of them in view."""
    scene = scene or bpy.context.scene
    objects = playback.cell_objects(scene)
    if not objects:
        raise RuntimeError("No cells to frame: load a model or rebuild the mesh first")
    return framing.frame_camera(scene, objects)


def show_connections(show=True, *, radius=None, scene=None):
    """Draw the loaded model's NetCons as thin curves from source to target: one Curves
    object per cell group (the connections onto its cells), in the cells' own placement
    (the scene's centre/scale geometry options). `show=False` hides them. `radius`: curve
    radius in µm. Rebuilt on each call (numpy, no operators). Returns the objects."""
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    if radius is not None:
        with netcons.quiet:
            props.netcon_radius = radius
    if not show:
        netcons.set_visible(scene, False)
        if props.show_netcons:
            with netcons.quiet:
                props.show_netcons = False
        return netcons.netcon_objects(scene)
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a network to see its NetCons")
    options = cell_groups.BuildOptions(**{key: getattr(props, key) for key in MESH_SETTINGS[:-2]})
    chosen = cell_groups.groups_from_scene(scene, len(model.cell_names)) or [cell_groups.Group("cells")]
    objects, skipped = netcons.build(scene, model, chosen, options, props.netcon_radius)
    drawn = netcons.count(objects)
    note = f" ({skipped} without a place in space: artificial cells, recorders)" if skipped else ""
    props.status = f"{drawn} of {model.n_netcons} NetCons drawn{note}"
    if not props.show_netcons:
        with netcons.quiet:  # no update callback re-entering this function
            props.show_netcons = True
    return objects


def show_legend(visible=True, *, scene=None):
    """Show the colour bar (palette, limits, unit label) on a small emissive plane in the
    bottom-right corner of the scene camera's view (a camera is made and framed when there
    is none), so it renders with the animation; it follows later palette/limit changes and
    runs. `visible=False` hides it. Returns the legend object (None if never shown)."""
    scene = scene or bpy.context.scene
    obj = legend.show_legend(scene, visible)
    with legend.quiet:
        scene.neuron_live.show_legend = bool(visible)
    return obj

