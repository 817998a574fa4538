"""The scripting API: the plain functions the operators call, usable from any script.

    import neuron_live  # or bl_ext.user_default.neuron_live inside Blender
    neuron_live.load_model("cell.hoc")
    neuron_live.run(tstop=100)          # blocks; run(wait_done=False) returns the task

A facade only: each name lives in the session layer (or the job); nothing imports this.
"""
from .job.run import JobResult, run_job
from .session.colouring import colour_by, fit_limits, set_colormap, static_colours
from .session.experiment import (
    add_probe,
    add_stimulus,
    catalogue,
    clear_experiment,
    experiment_dict,
    locate,
    pick_section,
    set_parameter,
)
from .session.experiment_export import export_experiment
from .session.experiment_pick import clear_picked, picked_sections
from .session.experiment_runs import compare_runs, delete_run, play_run, probe_traces, runs
from .session.experiment_views import plot_probes, show_difference
from .session.install import install_neuron, neuron_status, use_existing_neuron
from .session.loading import load_model
from .session.meshes import (
    MESH_SETTINGS,
    add_group,
    build_mesh,
    frame_camera,
    remove_group,
    show_connections,
    show_legend,
)
from .session.plotting import colour_bar, plot_spikes, plot_traces, refresh_plots, spike_times
from .session.recordings import frame_values, open_recording
from .session.render_compare import render_side_by_side
from .session.render_views import camera_path, delete_view, save_view, views
from .session.rendering import (
    overlay_state,
    refresh_overlays,
    render_stills,
    set_overlays,
    set_resolution,
    set_transparent,
    still_sheet,
    turntable,
)
from .session.running import RUN_SETTINGS, cancel, continue_run, run
from .session.sonata import open_sonata, write_sonata

__all__ = (
    "add_probe", "add_stimulus", "catalogue", "clear_experiment", "clear_picked", "compare_runs", "delete_run",
    "experiment_dict", "pick_section", "picked_sections",
    "export_experiment", "locate", "play_run", "plot_probes", "probe_traces", "runs", "set_parameter",
    "show_difference",
    "JobResult", "MESH_SETTINGS", "RUN_SETTINGS", "add_group", "build_mesh", "cancel", "colour_bar",
    "colour_by", "continue_run", "fit_limits", "frame_camera", "frame_values", "install_neuron",
    "load_model", "neuron_status", "open_recording", "plot_spikes", "plot_traces", "refresh_plots",
    "remove_group", "run", "run_job", "set_colormap", "show_connections", "show_legend",
    "spike_times", "static_colours", "use_existing_neuron",
    "overlay_state", "refresh_overlays", "render_stills", "set_overlays", "set_resolution", "set_transparent",
    "still_sheet", "turntable", "open_sonata", "write_sonata",
    "camera_path", "delete_view", "render_side_by_side", "save_view", "views",
)
