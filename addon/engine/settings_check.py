"""Run settings checked before anything runs, with the reason: NEURON's own messages for
the same mistakes (a raw mindelay error, a silent 1-frame run, an all-NaN run) name no fix."""
import math
import re

MAX_FRAMES = 10_000_000  # ~40 MB of frames per segment: beyond it a typo, not a wish
MAX_CORES = 64  # threads or MPI processes for one run on one machine
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SettingsError(ValueError):
    """A run setting that cannot work; the message says which, why and what would."""


def _number(name, value, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, not {value}")
    if positive and value <= 0:
        raise SettingsError(f"{name} must be above 0 (it is {value:g})")
    return float(value)


def check_settings(values):
    """Raise SettingsError for the first setting in `values` (a dict of RunSettings fields)
    that cannot work; fields absent from `values` are not checked."""
    for name in ("v_init", "celsius"):
        if name in values:
            _number(name, values[name])
    if "rtol" in values and _number("rtol", values["rtol"]) < 0:
        raise SettingsError(f"rtol must be 0 or above (it is {values['rtol']:g})")
    if "secondorder" in values and values["secondorder"] not in (0, 1, 2):
        raise SettingsError(f"secondorder must be 0, 1 or 2 (it is {values['secondorder']!r})")
    for name in ("tstop", "dt", "frames_per_ms", "atol"):
        if name in values:
            _number(name, values[name], positive=True)
    for name in ("threads", "processes"):
        if name in values and (isinstance(values[name], bool) or not isinstance(values[name], int)
                               or not 1 <= values[name] <= MAX_CORES):
            raise SettingsError(f"{name} must be a whole number from 1 to {MAX_CORES} (it is {values[name]!r})")
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
