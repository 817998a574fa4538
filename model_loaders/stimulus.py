"""The "add a current clamp at the soma" option: activity for models whose stimuli died,
and for bare morphologies.

A Python model that creates its IClamp in a function loses it when the function
returns; Run then shows a resting cell. The clamp goes at the middle of the first
cell's soma (a section named soma, else the first root section). Its amplitude, unless
given, is found for this cell: 1.5 × the rheobase from a bisection of short runs, since
a fixed 0.5 nA moves the soma of a real reconstruction by only a few mV. tstop is raised,
where shorter, to cover the clamp's delay and the window its rheobase was found for: a
reconstruction comes with NEURON's 5 ms, which ends before the clamp fires.
"""
from dataclasses import dataclass

_clamps = []  # kept alive here until the next model replaces them


@dataclass(frozen=True)
class Clamp:
    amp: float = None   # nA; None: 1.5 × this cell's rheobase
    delay: float = 1.0  # ms
    dur: float = 20.0   # ms


MAX_AMP = 50.0  # nA: beyond it the cell is not going to fire from its soma
SAFETY = 1.5    # times the rheobase: fires reliably, far from depolarisation block


def _fires(h, sec, stim, amp, until):
    """One short run from rest: does soma(0.5) cross 0 mV?"""
    stim.amp = amp
    v = h.Vector().record(sec(0.5)._ref_v)
    h.finitialize(h.v_init)
    h.continuerun(until)
    return v.max() > 0


def rheobase(h, sec, stim, until, steps=10):
    """The smallest amplitude (nA, within 2^-steps of the range) that makes the soma fire
    by `until` ms, or None when even MAX_AMP does not."""
    low, high = 0.0, 0.25
    while not _fires(h, sec, stim, high, until):
        if high >= MAX_AMP:
            return None
        low, high = high, min(high * 4, MAX_AMP)
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (low, middle) if _fires(h, sec, stim, middle, until) else (middle, high)
    return high


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
    """Insert an IClamp at soma(0.5); returns (the section it went into, or None; a note
    saying what was chosen)."""
    sec = soma_section(h)
    if sec is None:
        return None, "no soma or root section to clamp"
    stim = h.IClamp(sec(0.5))
    stim.delay, stim.dur = clamp.delay, clamp.dur
    amp, why = clamp.amp, "as given"
    window = clamp.delay + min(clamp.dur, 20.0)  # the soma must fire by then
    if amp is None:
        t, stoprun = h.t, h.stoprun
        found = rheobase(h, sec, stim, window)
        h.t, h.stoprun = t, stoprun
        amp = round(SAFETY * found, 3) if found else MAX_AMP
        why = f"{SAFETY:g} × this cell's rheobase of {found:.3g} nA" if found else \
            f"the soma did not fire even at {MAX_AMP:g} nA"
    stim.amp = amp
    _clamps.append(stim)
    note = f"IClamp {amp:g} nA at {sec.name()}(0.5) from {clamp.delay:g} ms for {clamp.dur:g} ms ({why})"
    return sec, note + _long_enough(h, window)


def _long_enough(h, window):
    """Raise tstop to `window` ms where shorter, so the run lasts until the clamp fires;
    says so for the note."""
    if float(h.tstop) >= window:
        return ""
    before, h.tstop = float(h.tstop), window
    return f"; tstop raised from {before:g} to {window:g} ms so the run lasts until it fires"


def clear():
    _clamps.clear()
