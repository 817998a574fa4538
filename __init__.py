"""NEURON Live: run NEURON simulations inside Blender and animate the cells.

Kept tiny and lazy on purpose: enabling the add-on imports only the Blender layer
(never NEURON, seaborn or matplotlib), and the bpy-free parts (`model_loaders`,
`addon.engine`) stay importable in plain Python.
"""
from importlib import import_module

# Read only by Blender before 4.2 (the legacy add-on zip); 4.2+ reads blender_manifest.toml.
bl_info = {"name": "NEURON Live", "version": (0, 1, 0), "blender": (3, 4, 0), "category": "Animation",
           "location": "3D View › Sidebar › NEURON",
           "description": "Run NEURON simulations inside Blender and animate the cells"}

_API_NAMES = (
    "load_model", "run", "continue_run", "cancel", "open_recording", "build_mesh",
    "neuron_status", "install_neuron", "use_existing_neuron", "frame_values", "set_colormap",
    "fit_limits", "colour_by", "plot_traces", "colour_bar", "plot_spikes", "spike_times",
    "refresh_plots", "show_connections", "run_job", "add_group", "remove_group", "frame_camera",
    "show_legend",
    "set_overlays", "refresh_overlays", "overlay_state", "turntable", "set_resolution", "set_transparent",
    "render_stills", "still_sheet", "save_view", "views", "delete_view", "camera_path", "render_side_by_side",
    "open_sonata", "write_sonata",
    "add_probe", "add_stimulus", "set_parameter", "clear_experiment", "experiment_dict", "catalogue", "locate",
    "probe_traces", "runs", "play_run", "compare_runs", "delete_run", "export_experiment",
    "plot_probes", "show_difference", "pick_section", "picked_sections", "clear_picked",
)


def register():
    import_module(".addon.ui.registration", __name__).register()


def unregister():
    import_module(".addon.ui.registration", __name__).unregister()


def __getattr__(name):
    """Re-export the scripting API (`neuron_live.run(...)`) without importing it early."""
    if name in _API_NAMES:
        return getattr(import_module(".addon.api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted((*globals(), *_API_NAMES))
