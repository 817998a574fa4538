"""The "add a current clamp at the soma" option: activity for models whose stimuli died.

A Python model that creates its IClamp in a function loses it when the function
returns; Run then shows a resting cell. The clamp goes at the middle of the first
cell's soma (a section named soma, else the first root section).
"""
from dataclasses import dataclass

_clamps = []  # kept alive here until the next model replaces them


@dataclass(frozen=True)
class Clamp:
    amp: float = 0.5    # nA
    delay: float = 1.0  # ms
    dur: float = 20.0   # ms


def soma_section(h):
    sections = list(h.allsec())
    for sec in sections:
        if "soma" in sec.name().lower():
            return sec
    for sec in sections:
        if sec.trueparentseg() is None:
            return sec
    return None


def add_soma_clamp(h, clamp):
    """Insert an IClamp at soma(0.5); returns the section it went into (or None)."""
    sec = soma_section(h)
    if sec is None:
        return None
    stim = h.IClamp(sec(0.5))
    stim.amp, stim.delay, stim.dur = clamp.amp, clamp.delay, clamp.dur
    _clamps.append(stim)
    return sec


def clear():
    _clamps.clear()
