"""The panels as far as the bpy module can see them: text wrapping, the Load Example menu
(each example loaded through the menu's own buttons, as a user's click would), tooltips,
the colour-visibility hint, and every panel's texts against their room at the default
sidebar width (drawn through tests/gui/layout_probe.py: the bpy module draws no UI; the
real-window test, tests/test_gui.py, checks the drawn pixels)."""
import sys
from pathlib import Path
from types import SimpleNamespace

import bpy
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "gui"))
import layout_probe  # noqa: E402

from conftest import PACKAGE  # noqa: E402

# The NEURON tab's region in Blender 3.4's default layout at UI scale 1 (229 pixels at its 1.04).
DEFAULT_SIDEBAR = 220


def ui(name):
    from importlib import import_module
    return import_module(f"{PACKAGE}.addon.ui.{name}")


def fake_measure(text):
    return 7 * len(text)


def test_wrap_fits_every_line_and_keeps_every_word(nl):
    text = "Loaded ball_and_stick.hoc: 1 cell(s), 2 sections, 6 segments, 20 3-D points; runs in a process"
    lines = ui("text_fit").wrap(text, 150, fake_measure)
    assert all(fake_measure(line) <= 150 for line in lines), lines
    assert " ".join(lines).split() == text.replace(";", "").split()
    assert lines[-1].startswith("runs"), "each part of a status line starts a row"


def test_wrap_breaks_a_word_longer_than_a_line(nl):
    path = "/very/long/folder/without/any/spaces/model.hoc"
    lines = ui("text_fit").wrap(f"Loading {path} failed", 100, fake_measure)
    assert all(fake_measure(line) <= 100 for line in lines) and "".join(lines[1:-1]) in path


def test_wrap_measures_in_the_ui_font(nl):
    from importlib import import_module
    compat = import_module(f"{PACKAGE}.addon.scene.compat")
    size = compat.ui_text_size(bpy.context.preferences)
    wide, narrow = compat.text_width("WWWWWW", size), compat.text_width("iiiiii", size)
    assert wide > narrow > 0


def context_for(scene, width=DEFAULT_SIDEBAR, shading="MATERIAL"):
    space = SimpleNamespace(type="VIEW_3D", shading=SimpleNamespace(type=shading))
    return SimpleNamespace(scene=scene, region=SimpleNamespace(width=width), preferences=bpy.context.preferences,
                           space_data=space)


def panels():
    module = ui("panels")
    return [cls for cls in module.CLASSES if issubclass(cls, bpy.types.Panel)]


def too_wide(context):
    text_fit = ui("text_fit")
    width = context.region.width - text_fit.MARGIN + layout_probe.PAD
    measure = text_fit.measure(context)
    return {cls.bl_label: layout_probe.probe_panel(cls, context, width, measure).too_wide() for cls in panels()}


def test_nothing_loaded_says_what_to_do_in_three_lines(nl, scene):
    probe = layout_probe.probe_panel(ui("panels").NEURONLIVE_PT_main, context_for(scene),
                                     DEFAULT_SIDEBAR, ui("text_fit").measure(context_for(scene)))
    lines = [t.text for t in probe.texts if t.where == "label"]
    assert 2 <= len(lines) <= 3, lines
    assert "Load" in " ".join(lines) and "Run" in " ".join(lines)


def menu_buttons():
    """The Load Example menu's buttons as its draw() makes them."""
    probe = layout_probe.Probe(fake_measure)
    layout = layout_probe.Layout(probe, 600)
    ui("examples").NEURONLIVE_MT_examples.draw(layout_probe._Self(layout), bpy.context)
    return layout.buttons


def test_examples_menu_lists_every_bundled_example(nl):
    examples = ui("examples").EXAMPLES
    buttons = menu_buttons()
    assert [idname for idname, _ in buttons] == ["neuron_live.load_model"] * len(examples)
    for example, (_, button) in zip(examples, buttons):
        assert Path(button.filepath).is_file(), button.filepath
        assert ui("examples").example_of(button.filepath) is example
        assert example.description in ui("operators").NEURONLIVE_OT_load_model.description(
            bpy.context, SimpleNamespace(filepath=button.filepath, action=""))


@pytest.mark.parametrize("index", range(5))
def test_each_example_loads_through_its_menu_button(nl, scene, index):
    idname, button = menu_buttons()[index]
    example = ui("examples").EXAMPLES[index]
    result = bpy.ops.neuron_live.load_model(**vars(button))
    props = scene.neuron_live
    if example.path.startswith("menu_model"):  # an entry that only builds a menu: its buttons are offered
        assert result == {"CANCELLED"} and props.menu_actions, props.status
        first = props.menu_actions.splitlines()[0]
        result = bpy.ops.neuron_live.load_model(filepath=props.menu_path, action=first)
    assert result == {"FINISHED"}, props.status
    assert props.status.startswith("Loaded"), props.status
    if example.clamp:
        assert "IClamp" in nl.addon.engine.state.session.model.point_process_names
    cache = nl.run(tstop=3)
    assert cache.frames_done == cache.meta["n_frames"] > 1
    assert not any(too_wide(context_for(scene)).values()), too_wide(context_for(scene))


def test_every_control_has_a_tooltip(nl):
    properties = ui("properties")
    for group in properties.CLASSES:
        for prop in group.bl_rna.properties:
            if prop.identifier not in ("rna_type", "name"):
                assert prop.description, f"{group.__name__}.{prop.identifier} has no tooltip"
    for operator in ui("operators").CLASSES:
        assert (operator.__doc__ or "").strip(), f"{operator.__name__} has no tooltip"
        own = operator.__annotations__  # (not what Blender's ImportHelper brings)
        module, name = operator.bl_idname.split(".")
        for prop in getattr(getattr(bpy.ops, module), name).get_rna_type().properties:
            if prop.identifier in own and not prop.is_hidden:
                assert prop.description, f"{operator.__name__}.{prop.identifier} has no tooltip"


@pytest.mark.parametrize("shading,hidden", [("SOLID", True), ("WIREFRAME", True), ("MATERIAL", False),
                                            ("RENDERED", False)])
def test_colour_hint_says_when_the_view_shows_no_colours(nl, scene, shading, hidden):
    context = context_for(scene, shading=shading)
    scene.render.engine = "CYCLES"
    assert bool(ui("panels").colours_hidden(context)) is hidden


def test_panels_fit_with_long_status_and_menu(nl, scene):
    props = scene.neuron_live
    props.status = ("Failed after 3 of 201 frames: dt 0.5 ms is longer than the time between frames "
                    "(0.5 ms at 2 frames per ms); /a/very/long/path/without/spaces/to/the/model.hoc")
    props.menu_path = "/models/mosinit.hoc"
    props.menu_actions = "Fig. 1: one compartment\nFig. 2: a soma, an apical dendrite and its tuft, with spines"
    for width in (DEFAULT_SIDEBAR, 400):
        found = too_wide(context_for(scene, width=width, shading="SOLID"))
        assert not any(found.values()), found
