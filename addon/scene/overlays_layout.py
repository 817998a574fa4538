"""The overlays' numbers and shapes in render pixels, with numpy only (no bpy).

Everything an overlay draws is laid out here in pixels of the rendered frame (origin at
its bottom-left corner, y up); `overlays.py` maps those pixels onto a plane in front of
the camera. Keeping the arithmetic apart makes it testable without rendering, and keeps
the per-frame work to a few multiplications.
"""
import math
from dataclasses import dataclass

import numpy as np

CORNERS = ("TOP_LEFT", "TOP", "TOP_RIGHT", "BOTTOM_LEFT", "BOTTOM", "BOTTOM_RIGHT")
# Distinguishable line colours for the inset traces (linear RGB of matplotlib's tab10).
TRACE_COLOURS = ((0.01, 0.21, 0.50), (1.0, 0.22, 0.0), (0.04, 0.45, 0.04), (0.64, 0.02, 0.02),
                 (0.33, 0.18, 0.56), (0.34, 0.17, 0.14), (0.81, 0.27, 0.59))
GLYPH_WIDTH = 0.56  # average advance of a glyph, in font sizes (Blender's default font)


def time_decimals(frame_interval_ms):
    """Decimals that tell consecutive frames apart: 0.25 ms → 2 ("12.50"), 0.5 → 1, 2 → 0,
    1/3 → 2 (no finite form: one digit more than the interval's first significant one)."""
    step = abs(float(frame_interval_ms))
    if not math.isfinite(step) or step <= 0:
        return 2
    for decimals in range(5):
        scaled = step * 10 ** decimals
        if abs(scaled - round(scaled)) < 1e-6:
            return decimals
    return max(0, math.ceil(-math.log10(step))) + 1


def time_text(t_ms, decimals):
    return f"t = {t_ms:.{decimals}f} ms"


def round_length(target):
    """The 1, 2 or 5 × 10^k nearest `target` (on a log scale): a scale bar's length."""
    if not target > 0 or not math.isfinite(target):
        return 1.0
    power = 10.0 ** math.floor(math.log10(target))
    candidates = np.array([1, 2, 5, 10]) * power
    return float(candidates[np.argmin(np.abs(np.log(candidates / target)))])


def length_text(um):
    if um >= 1000:
        return f"{um / 1000:g} mm"
    return f"{um:g} µm"


def value_text(value):
    return f"{value:.3g}"


def text_width(text, size):
    """Estimated width in pixels: only used to keep blocks apart, never for a measurement."""
    return GLYPH_WIDTH * size * len(text)


@dataclass
class Style:
    """Sizes in pixels of one frame (from the scene's percentages of the frame height)."""
    width: int
    height: int
    font: float     # text height
    margin: float   # gap to the frame's edges and between stacked blocks
    inset_width: float
    inset_height: float

    @classmethod
    def of(cls, width, height, font_percent, margin_percent, inset_width_percent, inset_height_percent):
        return cls(int(width), int(height), font_percent * height / 100, margin_percent * height / 100,
                   inset_width_percent * width / 100, inset_height_percent * height / 100)

    @property
    def line(self):
        """Thickness of bars, trace lines and the cursor."""
        return max(2.0, self.font * 0.22)


def stack(blocks, style):
    """Bottom-left pixel of each block: {name: (x, y)}. `blocks`: [(name, corner, w, h)];
    blocks sharing a corner stack away from the frame's edge, in the order given."""
    offsets, placed = dict.fromkeys(CORNERS, 0.0), {}
    for name, corner, w, h in blocks:
        top = corner.startswith("TOP")
        horizontal = corner.rpartition("_")[2] if "_" in corner else "CENTRE"
        x = {"LEFT": style.margin, "RIGHT": style.width - style.margin - w}.get(horizontal,
                                                                                (style.width - w) / 2)
        y = style.height - style.margin - offsets[corner] - h if top else style.margin + offsets[corner]
        offsets[corner] += h + style.margin
        placed[name] = (x, y)
    return placed


def align_of(corner):
    """Blender's text align_x for a block in `corner`: its text hugs the frame's edge."""
    return {"LEFT": "LEFT", "RIGHT": "RIGHT"}.get(corner.rpartition("_")[2] if "_" in corner else "", "CENTER")


# -- geometry: quads as (positions, corner vertices, face starts) --------------------------------

def quads(corners):
    """Faces from (Q, 4, 2) pixel corners (counter-clockwise): positions (4Q, 3), corners, starts."""
    corners = np.asarray(corners, dtype=np.float32).reshape(-1, 4, 2)
    positions = np.zeros((len(corners) * 4, 3), np.float32)
    positions[:, :2] = corners.reshape(-1, 2)
    loops = np.arange(len(positions), dtype=np.int32)
    return positions, loops, np.arange(0, len(positions), 4, dtype=np.int32)


def rects(x0, y0, x1, y1):
    """Axis-aligned rectangles (arrays of their edges) as (Q, 4, 2) corners."""
    x0, y0, x1, y1 = np.broadcast_arrays(*(np.asarray(v, np.float32) for v in (x0, y0, x1, y1)))
    return np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x1, y1], -1),
                     np.stack([x0, y1], -1)], axis=-2)


def ribbon(xy, width):
    """A polyline `xy` (N, 2) as a strip of quads `width` pixels wide, one per segment
    (each segment's own normal: no mitres needed for lines this thin)."""
    xy = np.asarray(xy, dtype=np.float32)
    if len(xy) < 2:
        return np.zeros((0, 4, 2), np.float32)
    start, end = xy[:-1], xy[1:]
    direction = end - start
    length = np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-6)
    along = direction / length * (width / 2)
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) / length * (width / 2)
    start, end = start - along, end + along  # overlap at the joints: no gaps at bends
    return np.stack([start - normal, end - normal, end + normal, start + normal], axis=1)


def trace_lines(times, values, box, limits):
    """Each trace (values: samples × traces) in pixels inside `box` (x, y, w, h), the
    time axis spanning `limits` (t0, t1) and the values their joint range (padded 5 %)."""
    x, y, w, h = box
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = (high - low) * 0.05 or 1.0
    low, high = low - pad, high + pad
    t0, t1 = limits
    px = x + (np.asarray(times, np.float64) - t0) / max(t1 - t0, 1e-12) * w
    lines = []
    for column in values.T:
        keep = np.isfinite(column)
        lines.append(np.stack([px[keep], y + (column[keep] - low) / (high - low) * h], axis=1))
    return lines, (low, high)


def raster_ticks(times, rows, n_rows, box, limits, line):
    """One tick per spike: a rectangle `line` wide at its time, its row's height (row 0 at
    the top, as in a raster plot)."""
    x, y, w, h = box
    t0, t1 = limits
    row_h = h / max(int(n_rows), 1)
    px = x + (np.asarray(times, np.float64) - t0) / max(t1 - t0, 1e-12) * w
    top = y + h - np.asarray(rows, np.float64) * row_h
    gap = min(row_h * 0.1, 1.0)
    return rects(px - line / 2, top - row_h + gap, px + line / 2, top - gap)


def cursor_x(t, box, limits):
    """The cursor's pixel column in a panel `box` for model time `t`."""
    x, _, w, _ = box
    t0, t1 = limits
    return x + (min(max(t, t0), t1) - t0) / max(t1 - t0, 1e-12) * w
