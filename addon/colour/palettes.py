"""Palettes by name, sampled for Blender: seaborn decides what a name means, we only sample.

bpy-free (numpy; seaborn and matplotlib imported inside functions, never at enable).
Blender's shaders work in linear RGB, seaborn's colours are sRGB: every colour leaving
this module is converted, so a render with the Standard view transform shows the
palette as seaborn draws it.

Blender's ColorRamp holds at most 32 elements. A smooth 256-entry map is fitted with
32 stops placed where linear interpolation errs most (greedy insertion; max error
≈ 1e-3 in linear RGB for rocket/mako/icefire, see `ramp_stops`); a listed map of ≤ 32
colours (qualitative palettes) is reproduced exactly with CONSTANT interpolation.
"""
import difflib
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_STOPS = 32  # Blender's ColorRamp limit (MAXCOLORBAND)
DENSE = 1024    # samples used to fit and to measure a ramp


class PaletteError(ValueError):
    """An unknown palette name (the message lists close matches)."""


def imported():
    """True once seaborn is imported: the first import costs ~2 s, which the mesh build does
    not wait for (importing it on another thread crashed Blender 3.4)."""
    return "seaborn" in sys.modules


STORED_RAMPS = Path(__file__).with_name("stored_ramps.json")


@functools.cache
def _stored_ramps():
    return json.loads(STORED_RAMPS.read_text())


def stored_ramp(name, start=0.0, stop=1.0):
    """The fitted ramp of the default palette, stored with the add-on (tests check it equals
    a fresh fit), so a new scene's first picture needs no seaborn; None for any other."""
    entry = _stored_ramps().get(f"{name} {start:g} {stop:g}")
    if entry is None:
        return None
    return Ramp(np.asarray(entry["positions"]), np.asarray(entry["colors"]), entry["interpolation"],
                entry["max_error"])


def palette_names():
    """Every name `colormap()` accepts by plain name: matplotlib's, seaborn's own, and `_r`."""
    import matplotlib
    import seaborn  # noqa: F401  (registers rocket, mako, flare, crest, vlag, icefire)
    from seaborn import palettes

    names = set(matplotlib.colormaps) | set(palettes.SEABORN_PALETTES)
    names |= {name + "_r" for name in palettes.SEABORN_PALETTES}
    names |= {"husl", "hls", "husl_r", "hls_r"}
    return sorted(names, key=str.lower)


def colormap(name):
    """The matplotlib Colormap seaborn makes of `name` (any seaborn or matplotlib palette)."""
    import seaborn

    if not isinstance(name, str) or not name.strip():
        raise PaletteError(f"A palette name is needed, got {name!r}")
    try:
        return seaborn.color_palette(name, as_cmap=True)
    except (ValueError, KeyError, TypeError) as exc:
        import matplotlib

        if name in matplotlib.colormaps:  # seaborn refuses a few on principle ("jet": "No.")
            return matplotlib.colormaps[name]
        names = palette_names()
        by_case = {n.lower(): n for n in names}
        close = difflib.get_close_matches(name.lower(), list(by_case), n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(by_case[c]) for c in close)}?" if close else ""
        raise PaletteError(f"Unknown palette {name!r}{hint} (seaborn: {exc})") from exc


def srgb_to_linear(rgb):
    """sRGB (0..1) to linear RGB, the IEC 61966-2-1 curve Blender uses for 'sRGB'."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def sample(cmap, t, start=0.0, stop=1.0):
    """Linear RGBA of the map at normalised positions `t` (0 = vmin, 1 = vmax) of the
    sub-range start..stop; exactly what seaborn/matplotlib draw there, linearised."""
    x = start + np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0) * (stop - start)
    rgba = np.asarray(cmap(x), dtype=np.float64)
    rgba[..., :3] = srgb_to_linear(rgba[..., :3])
    return rgba


@dataclass
class Ramp:
    positions: np.ndarray  # (K,) float, 0..1, increasing
    colors: np.ndarray     # (K, 4) linear RGBA
    interpolation: str     # "LINEAR" or "CONSTANT" (Blender's ColorRamp modes)
    max_error: float       # max |ramp - map| over DENSE samples, sRGB 8-bit levels

    def evaluate(self, t):
        """The ramp's colour at `t`, computed as Blender's ColorRamp does (for measuring)."""
        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        if self.interpolation == "CONSTANT":
            index = np.clip(np.searchsorted(self.positions, t, side="right") - 1, 0, len(self.positions) - 1)
            return self.colors[index]
        return np.stack([np.interp(t, self.positions, self.colors[:, c]) for c in range(4)], axis=-1)


def _listed_colors(cmap):
    """The colour list of a ListedColormap (None for a continuous map)."""
    colors = getattr(cmap, "colors", None)
    return None if colors is None else np.asarray(colors)


def _constant_ramp(cmap, start, stop):
    """Exact CONSTANT stops for a listed map: one element where each colour's bin begins."""
    n = cmap.N
    t = np.linspace(0.0, 1.0, DENSE * 4)
    x = start + t * (stop - start)
    bins = np.clip((x * n).astype(np.int64), 0, n - 1)
    changes = np.flatnonzero(np.diff(bins)) + 1
    boundary_x = np.maximum(bins[changes - 1], bins[changes]) / n
    positions = np.concatenate([[0.0], (boundary_x - start) / (stop - start)]) if stop != start else np.zeros(1)
    colors = sample(cmap, np.concatenate([[0.0], t[changes]]), start, stop)
    return positions, colors


def linear_to_srgb(linear):
    """Linear RGB to sRGB (0..1), the inverse of `srgb_to_linear`."""
    linear = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def srgb_error(a, b):
    """Max difference of two linear RGB(A) arrays as seen on screen: sRGB 8-bit levels."""
    return float(np.abs(linear_to_srgb(a[..., :3]) - linear_to_srgb(b[..., :3])).max() * 255)


def _greedy_positions(values, max_stops):
    """Indices of `values` (dense linear RGBA samples) to keep as ramp stops.

    Blender interpolates in linear RGB but eyes judge sRGB: start with both ends and
    repeatedly add the sample whose interpolated colour is furthest off in sRGB."""
    n = len(values)
    grid = np.linspace(0.0, 1.0, n)
    target = linear_to_srgb(values[:, :3])
    keep = [0, n - 1]
    while len(keep) < min(max_stops, n):
        kept = np.array(sorted(keep))
        fitted = np.stack([np.interp(grid, grid[kept], values[kept, c]) for c in range(3)], -1)
        error = np.abs(linear_to_srgb(fitted) - target).max(axis=1)
        worst = int(error.argmax())
        if error[worst] <= 1e-6:
            break
        keep.append(worst)
    return grid, np.array(sorted(keep))


def ramp_stops(cmap, start=0.0, stop=1.0, max_stops=MAX_STOPS):
    """The ColorRamp that reproduces `cmap` over start..stop with at most `max_stops` elements.

    Measured (DENSE samples, linear RGB, 0..1): greedy 32 stops err at most ~1e-3 on
    seaborn's rocket/mako/icefire/vlag and matplotlib's viridis/coolwarm, where 32
    evenly spaced stops err 2–5× more; see tests/test_colour.py.
    """
    if isinstance(cmap, str):
        cmap = colormap(cmap)
    listed = _listed_colors(cmap)
    grid = np.linspace(0.0, 1.0, DENSE)
    truth = sample(cmap, grid, start, stop)
    if listed is not None and len(listed) <= max_stops:
        positions, colors = _constant_ramp(cmap, start, stop)
        if len(positions) <= max_stops:
            ramp = Ramp(positions, colors, "CONSTANT", 0.0)
            ramp.max_error = srgb_error(ramp.evaluate(grid), truth)
            return ramp
    _, keep = _greedy_positions(truth, max_stops)
    ramp = Ramp(grid[keep], truth[keep], "LINEAR", 0.0)
    ramp.max_error = srgb_error(ramp.evaluate(grid), truth)
    return ramp


def qualitative_colors(n, palette="deep"):
    """`n` linear RGBA colours from a palette as seaborn spaces them (qualitative ones cycle)."""
    import seaborn

    try:
        base = np.asarray(seaborn.color_palette(palette, n_colors=max(n, 1)), dtype=np.float64)
    except (ValueError, KeyError, TypeError):
        colormap(palette)  # an unknown name raises the PaletteError with close matches
        raise
    rgb = srgb_to_linear(base[:n])
    return np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)
