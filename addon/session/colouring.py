"""Colour: a palette and limits for the recorded activity, or static colours by section."""
import bpy
import numpy as np

from ...model_loaders.model import SECTION_TYPES
from ..colour import palettes
from ..engine.state import session
from ..scene import materials, playback


def set_colormap(palette=None, *, vmin=None, vmax=None, start=None, stop=None, brightness=None,
                 shading=None, scene=None):
    """Colour the cells' activity with a seaborn/matplotlib palette, from vmin to vmax.

    `start`/`stop` pick a sub-range of the palette (fractions 0..1). `shading`: "EMISSION"
    (glow, exact colours), "PRINCIPLED" (lit surface) or "BOTH"; `brightness`: the emission
    strength. The materials are recoloured in place (meshes untouched). An unknown name
    raises `PaletteError` listing close matches. Returns the fitted ColorRamp (`positions`,
    linear `colors`, `max_error` in sRGB 8-bit levels).
    """
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    palette = props.palette if palette is None else palette
    palettes.colormap(palette)  # raises before anything changes
    if shading is not None and shading not in materials.SHADING:
        raise ValueError(f"shading: unknown mode {shading!r} (known: {', '.join(materials.SHADING)})")
    with materials.batch:
        props.palette = palette
        for key, value in (("vmin", vmin), ("vmax", vmax), ("palette_start", start),
                           ("palette_stop", stop), ("brightness", brightness), ("shading", shading)):
            if value is not None:
                setattr(props, key, value)
        props.colour_by = "ACTIVITY"
    materials.refresh_all(scene)
    return materials.ramp_for(props.palette, props.palette_start, props.palette_stop)


def fit_limits(*, scene=None, robust=False):
    """Set vmin/vmax to the range of the cached values (NaN ignored); `robust` uses the 2nd
    and 98th percentiles instead of min and max. Returns (vmin, vmax)."""
    cache = session.cache
    if cache is None or cache.frames_done == 0:
        raise RuntimeError("No simulation to fit the colour limits to: run first")
    data = np.asarray(cache.frames[:cache.frames_done])
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        raise RuntimeError(f"The cache holds no values of {cache.meta['variable']!r} (all NaN)")
    lo, hi = (np.percentile(finite, (2, 98)) if robust else (finite.min(), finite.max()))
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        hi = lo + max(abs(lo) * 1e-3, 1e-6)
    set_colormap(vmin=lo, vmax=hi, scene=scene)
    return lo, hi


def colour_by(mode="SECTION_TYPE", *, palette=None, scene=None):
    """Colour the cells without a simulation: by "SECTION_TYPE" (soma/axon/dend/apic/other) or
    "SECTION_NAME" (one colour per section) from a qualitative palette; "ACTIVITY" goes back
    to the recorded variable. Returns {label: linear RGBA} (the legend)."""
    scene = scene or bpy.context.scene
    props = scene.neuron_live
    modes = [item.identifier for item in props.bl_rna.properties["colour_by"].enum_items]
    if mode not in modes:
        raise ValueError(f"colour_by: unknown mode {mode!r} (known: {', '.join(modes)})")
    if palette is not None:
        palettes.colormap(palette)
    with materials.batch:
        props.colour_by = mode
        if palette is not None:
            props.static_palette = palette
    legend = static_colours(scene) if mode != "ACTIVITY" else {}
    materials.refresh_all(scene)
    return legend


def static_colours(scene):
    """Write each section's colour into the cell meshes (colour attribute); returns the legend."""
    model = session.model
    if model is None:
        raise RuntimeError("No model loaded: load a model to colour its sections")
    props = scene.neuron_live
    if props.colour_by == "SECTION_TYPE":
        palette = palettes.qualitative_colors(len(SECTION_TYPES), props.static_palette)
        per_section = palette[np.asarray(model.section_type, dtype=np.int64)]
        present = np.unique(model.section_type)
        legend = {SECTION_TYPES[i]: tuple(palette[i]) for i in present}
    else:
        per_section = palettes.qualitative_colors(model.n_sections, props.static_palette)
        legend = {name: tuple(colour) for name, colour in zip(model.section_names, per_section)}
    for obj in playback.cell_objects(scene):
        materials.write_static_colours(obj.data, per_section)
    return legend

