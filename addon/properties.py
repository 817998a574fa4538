"""Settings saved in the .blend: the model, the simulation settings, the cache path."""
import bpy
from bpy.props import BoolProperty, FloatProperty, StringProperty


class NEURONLIVE_PG_scene(bpy.types.PropertyGroup):
    model_path: StringProperty(name="Model", subtype="FILE_PATH",
                               description="hoc, Python or morphology file last loaded")
    tstop: FloatProperty(name="tstop", default=50.0, min=0.001, unit="NONE",
                         description="Simulate from 0 to this time (ms)")
    dt: FloatProperty(name="dt", default=0.025, min=1e-6, precision=4, description="Time step (ms)")
    v_init: FloatProperty(name="v_init", default=-65.0, description="Initial membrane potential (mV)")
    celsius: FloatProperty(name="celsius", default=6.3, description="Temperature (°C)")
    cvode: BoolProperty(name="CVode", default=False, description="Variable time step")
    atol: FloatProperty(name="Tolerance", default=1e-3, min=1e-9, precision=6,
                        description="CVode absolute tolerance")
    own_run: BoolProperty(name="Model's own init/advance", default=False,
                          description="Initialise with the model's init() and step with its advance(), "
                                      "for models whose stimulus lives in their run procedures")
    follow: BoolProperty(name="Follow", default=True,
                         description="Move the playhead to the newest frame while simulating")
    frames_per_ms: FloatProperty(name="Frames per ms", default=2.0, min=0.001,
                                 description="Animation frames per simulated millisecond")
    variable: StringProperty(name="Variable", default="v",
                             description="Range variable to record (v, cai, ik, m_hh, ...)")
    # No DIR_PATH subtype: Blender 4.2 warns on its "//" (blend-relative) prefix.
    cache_path: StringProperty(name="Cache", description="Frame cache of the last run ('//' = beside the .blend)")
    status: StringProperty(name="Status", description="What NEURON Live did last")
    # -- loading (issue 3): add fields above this line
    # -- geometry (issue 5): add fields above this line
    # -- colour (issue 6): add fields above this line


CLASSES = (NEURONLIVE_PG_scene,)


def register_properties():
    bpy.types.Scene.neuron_live = bpy.props.PointerProperty(type=NEURONLIVE_PG_scene)


def unregister_properties():
    del bpy.types.Scene.neuron_live
