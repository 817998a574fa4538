"""Run settings checked before anything runs, with the reason: NEURON's own messages for
the same mistakes (a raw mindelay error, a silent 1-frame run, an all-NaN run) name no fix."""
import re

from .run_settings import MAX_CORES, SPECS, SettingsError

__all__ = ("MAX_CORES", "MAX_FRAMES", "SettingsError", "check_settings")
MAX_FRAMES = 10_000_000  # ~40 MB of frames per segment: beyond it a typo, not a wish
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_settings(values):
    """Raise SettingsError for the first setting in `values` (a dict of RunSettings fields)
    that cannot work; fields absent from `values` are not checked. Each one's type and
    bounds come from its Spec (run_settings.py); what spans settings is checked here."""
    for name, spec in SPECS.items():
        if name in values:
            spec.check(values[name])
    if "variable" in values and not VARIABLE.match(str(values["variable"])):
        raise SettingsError(f"variable {values['variable']!r} is not a NEURON range variable name "
                            "(e.g. v, cai, ik, m_hh)")
    if {"tstop", "frames_per_ms"} <= values.keys():
        frames = values["tstop"] * values["frames_per_ms"] + 1
        if frames > MAX_FRAMES:
            raise SettingsError(f"tstop {values['tstop']:g} ms at {values['frames_per_ms']:g} frames per ms "
                                f"is {frames:.3g} frames (at most {MAX_FRAMES:,}): lower one of them")
    if {"dt", "frames_per_ms"} <= values.keys() and not values.get("cvode"):
        interval = 1 / values["frames_per_ms"]
        if values["dt"] > interval * (1 + 1e-9):
            raise SettingsError(f"dt {values['dt']:g} ms is longer than the time between frames "
                                f"({interval:g} ms at {values['frames_per_ms']:g} frames per ms): "
                                f"use dt ≤ {interval:g}, fewer frames per ms, or CVode")
