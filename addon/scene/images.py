"""Plot PNGs as Blender images, kept in the extension's own user folder."""
import bpy

from .. import EXTENSION_PACKAGE
from ..colour import palettes, plots
from ..engine.state import session
from . import compat


def default_path(filename):
    """`filename` in the extension's own user folder (plots/), replaced by each new plot."""
    return compat.user_folder(EXTENSION_PACKAGE, "plots") / filename


def show_image(path, name):
    """Load (or reload) `path` as the Blender image `name`, e.g. for the Image Editor."""
    image = bpy.data.images.get(name)
    if image is not None and bpy.path.abspath(image.filepath) == str(path):
        image.reload()
        return image
    if image is not None:
        bpy.data.images.remove(image)
    image = bpy.data.images.load(str(path))
    image.name = name
    return image


def colour_bar(scene, path, width, height):
    """The scene's palette and limits, labelled with the run's variable and units, as a PNG."""
    props = scene.neuron_live
    variable = session.cache.meta["variable"] if session.cache else props.variable
    units = session.cache.meta.get("units", "") if session.cache else ""
    return plots.colour_bar(path, palettes.colormap(props.palette), props.vmin, props.vmax,
                            start=props.palette_start, stop=props.palette_stop,
                            label=f"{variable} ({units})" if units else variable, width=width, height=height)
