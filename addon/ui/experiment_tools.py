"""The Experiment's viewport tools: a probe, a stimulus or a section pick where the user
clicks on a cell, and the helpers every Experiment operator shares.

Each tool takes a 3-D point (`location`), so scripts and tests drive it exactly as a click
does; invoked from the viewport it ray-casts the mouse position onto the cells (a click that
hits nothing says so and places nothing).
"""
import bpy
from bpy.props import EnumProperty, FloatVectorProperty, StringProperty
from bpy_extras import view3d_utils

from ..engine.experiment import ExperimentError
from ..engine.experiment_stimuli import STIMULI
from ..session import experiment as scene_experiment, experiment_pick

PLACE_ITEMS = [(kind, kind, f"Place an {kind} where you click on a cell") for kind in STIMULI]


def call(operator, fn, *args, info=None, **kwargs):
    """`fn` for an operator: its outcome (or failure) as a Blender report, never a traceback."""
    try:
        result = fn(*args, **kwargs)
    except (ExperimentError, RuntimeError, ValueError, OSError) as exc:
        operator.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    if info is not None:
        operator.report({"INFO"}, info(result))
    return {"FINISHED"}


def parse_params(text):
    """"amp=0.5, delay=5" → {"amp": 0.5, "delay": 5.0}; a malformed entry says which."""
    params = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            params[name.strip()] = float(value)
        except ValueError:
            raise ExperimentError(f"{part!r} is not name=number (e.g. amp=0.5, delay=5)") from None
    return params


def click_point(context, event):
    """The first cell surface under the mouse, in world space, or None."""
    region, view = context.region, context.region_data
    if region is None or view is None:
        return None
    mouse = (event.mouse_region_x, event.mouse_region_y)
    origin = view3d_utils.region_2d_to_origin_3d(region, view, mouse)
    direction = view3d_utils.region_2d_to_vector_3d(region, view, mouse)
    hit, location, *_ = context.scene.ray_cast(context.evaluated_depsgraph_get(), origin, direction)
    return tuple(location) if hit else None


class _Placing:
    """A placing operator: at `location` when given (scripts, tests), else where the next
    click in the 3D view lands."""
    location: FloatVectorProperty(name="Location", subtype="XYZ", size=3, options={"SKIP_SAVE"})
    hint = "Click on a cell to place it · Esc or right-click cancels"

    def invoke(self, context, event):
        if self.properties.is_property_set("location"):
            return self.execute(context)
        if context.area is None or context.area.type != "VIEW_3D":
            self.report({"ERROR"}, "Click on a cell in a 3D view")
            return {"CANCELLED"}
        context.window_manager.modal_handler_add(self)
        context.workspace.status_text_set(self.hint)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type in {"ESC", "RIGHTMOUSE"}:
            context.workspace.status_text_set(None)
            return {"CANCELLED"}
        if event.type != "LEFTMOUSE" or event.value != "PRESS":
            return {"PASS_THROUGH"}
        context.workspace.status_text_set(None)
        point = click_point(context, event)
        if point is None:
            self.report({"WARNING"}, "No cell under the mouse: nothing placed")
            return {"CANCELLED"}
        self.location = point
        return self.execute(context)


class NEURONLIVE_OT_add_probe(_Placing, bpy.types.Operator):
    """Record a variable at every time step where you click on a cell (the nearest segment
    along the cell's centre line)"""
    bl_idname = "neuron_live.add_probe"
    bl_label = "Add Probe"
    bl_options = {"REGISTER", "UNDO"}
    variables: StringProperty(name="Variables", default="v", description="Range variables, comma separated")

    def execute(self, context):
        variables = [v.strip() for v in self.variables.split(",") if v.strip()]
        return call(self, scene_experiment.add_probe, location=tuple(self.location), variables=variables,
                     info=lambda probe: f"Probe at {probe.label}")


class NEURONLIVE_OT_add_stimulus(_Placing, bpy.types.Operator):
    """Place a stimulus where you click on a cell (the nearest segment along its centre line)"""
    bl_idname = "neuron_live.add_stimulus"
    bl_label = "Add Stimulus"
    bl_options = {"REGISTER", "UNDO"}
    kind: EnumProperty(name="Kind", items=PLACE_ITEMS)
    params: StringProperty(name="Parameters", default="", description="e.g. amp=0.5, delay=5, dur=50")

    def execute(self, context):
        def place():
            return scene_experiment.add_stimulus(self.kind, location=tuple(self.location),
                                                 **parse_params(self.params))
        return call(self, place, info=lambda stimulus: f"{self.kind} at {stimulus.label}")


class NEURONLIVE_OT_pick_sections(_Placing, bpy.types.Operator):
    """Pick sections for a parameter change: each click on a cell picks the section under it
    (a second click unpicks it); Enter, Esc or right-click ends"""
    bl_idname = "neuron_live.pick_sections"
    bl_label = "Pick Sections"
    bl_options = {"REGISTER", "UNDO"}
    hint = "Click sections to pick or unpick them · Enter, Esc or right-click ends"

    def modal(self, context, event):
        if event.type in {"ESC", "RIGHTMOUSE", "RET", "NUMPAD_ENTER"}:
            context.workspace.status_text_set(None)
            return {"FINISHED"}
        if event.type != "LEFTMOUSE" or event.value != "PRESS":
            return {"PASS_THROUGH"}
        point = click_point(context, event)
        if point is None:
            self.report({"WARNING"}, "No cell under the mouse: nothing picked")
        else:
            self.location = point
            self.execute(context)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        def said(outcome):
            name, picked = outcome
            count = len(experiment_pick.picked_sections(context.scene))
            return f"{name} {'picked' if picked else 'unpicked'} ({count} picked)"
        return call(self, scene_experiment.pick_section, location=tuple(self.location), info=said)


class NEURONLIVE_OT_clear_picked(bpy.types.Operator):
    """Unpick every picked section"""
    bl_idname = "neuron_live.clear_picked"
    bl_label = "Clear Picked Sections"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        experiment_pick.clear_picked(scene=context.scene)
        return {"FINISHED"}


CLASSES = (NEURONLIVE_OT_add_probe, NEURONLIVE_OT_add_stimulus, NEURONLIVE_OT_pick_sections,
           NEURONLIVE_OT_clear_picked)
