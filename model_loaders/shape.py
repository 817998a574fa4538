"""3-D points for the sections that have none, laid out as NEURON's `define_shape()` would,
without calling it.

`define_shape()` gives every section without 3-D points nseg + 2 of them, and from then on
NEURON computes that section's areas and axial resistances from the points (truncated
cones between segment centres) instead of from L and diam (one cylinder per segment): a
tapered `diam(0:1) = 10:2` section gets other areas, and the model no longer simulates as
its author's files do. So the loader never calls it; the mesh's points come from here, from
L, each segment's diam and the topology, following define_shape's documented layout:

- a root runs along +x from (0, 0, z), trees stacked on z 100 µm apart per section of
  the trees before it;
- a child starts on its parent's chord (first to last 3-D point) at its connection, heads
  the way the chord runs (backwards from the parent's first half), turned by 90° when it
  leaves the parent between its ends; children sharing one connection point fan out over
  0.8 rad, in the order of the parent's `children()`;
- its points: the connected end, every segment's centre and the far end, each with the
  diam of the segment it is in (so the connected end comes first, as in NEURON's pt3d).

Sections with 3-D points of their own keep them; one that hangs off a computed section is
moved (as define_shape translates it) so that its tree stays in one piece.
"""
from dataclasses import dataclass

import numpy as np

ROOT_SPACING = 100.0  # µm on z between roots, as define_shape stacks them
FAN = 0.8             # rad over which children at one connection point spread


@dataclass
class Topology:
    """Per section (the `Model`'s section order): what the layout needs from NEURON."""
    parent: np.ndarray       # int, the section it is connected to (parentseg), -1 for a root
    connection: np.ndarray   # float, where on the parent (its x)
    orientation: np.ndarray  # int, the end of the section that is connected (0 or 1)
    child_rank: np.ndarray   # int, position in the parent's children()
    length: np.ndarray       # float µm
    nseg: np.ndarray         # int


def _depths_and_roots(parent):
    """(distance from its root, its root) of every section, one tree level per step."""
    n = len(parent)
    depth, root = np.zeros(n, dtype=np.int64), np.arange(n)
    has_parent = parent >= 0
    up = np.where(has_parent, parent, np.arange(n))
    for _ in range(n):
        updated = np.where(has_parent, depth[up] + 1, 0)
        if np.array_equal(updated, depth):
            break
        depth = updated
    for _ in range(int(depth.max(initial=0))):
        root = up[root]
    return depth, root


def _root_heights(parent, roots):
    """z of each root in `roots`: define_shape stacks trees ROOT_SPACING apart per section
    of the trees before it (trees in the order of their roots)."""
    depth, root = _depths_and_roots(parent)
    sizes = np.bincount(root, minlength=len(parent))[roots]
    return ROOT_SPACING * (np.cumsum(sizes) - sizes), depth


def _fan(topology):
    """The turn (rad) of each child among the siblings that share its connection point."""
    parent, connection, rank = topology.parent, topology.connection, topology.child_rank
    order = np.lexsort((rank, connection, parent))
    p, c = parent[order], connection[order]
    starts = np.r_[True, (p[1:] != p[:-1]) | (c[1:] != c[:-1])]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    position = np.arange(len(order)) - first[group]
    size = np.bincount(group)[group]
    turn = np.where(size > 1, position / np.maximum(size - 1, 1) * FAN - FAN / 2, 0.0)
    out = np.zeros(len(parent))
    out[order] = np.where(p >= 0, turn, 0.0)
    return out


def section_ends(topology, own_first, own_last, has_points):
    """(first (S, 3), last (S, 3), shift (S, 3)): the ends of every section's points in pt3d
    order, and how far a section with points of its own was moved. Computed level by level
    from the roots, all sections of one level at once."""
    n = len(topology.parent)
    first, last = own_first.astype(np.float64).copy(), own_last.astype(np.float64).copy()
    shift = np.zeros((n, 3))
    placed = ~has_points  # computed, or moved with a computed parent
    roots = np.flatnonzero(topology.parent < 0)
    laid = roots[~has_points[roots]]
    heights, depth = _root_heights(topology.parent, roots)
    first[laid] = 0.0
    first[laid, 2] = heights[~has_points[roots]]
    last[laid] = first[laid]
    last[laid, 0] += topology.length[laid]
    fan = _fan(topology)
    for level in range(1, int(depth.max(initial=0)) + 1):
        sec = np.flatnonzero(depth == level)
        parent = topology.parent[sec]
        start, angle = _start_and_heading(topology, first, last, sec, parent)
        angle += fan[sec]
        computed = ~has_points[sec]
        s = sec[computed]
        first[s] = start[computed]
        last[s] = start[computed] + topology.length[s, None] * np.stack(
            [np.cos(angle[computed]), np.sin(angle[computed]), np.zeros(len(s))], axis=1)
        moved = has_points[sec] & placed[parent]
        m = sec[moved]
        shift[m] = start[moved] - first[m]
        first[m] += shift[m]
        last[m] += shift[m]
        placed[m] = True
    return first, last, shift


def _start_and_heading(topology, first, last, sec, parent):
    """Where each section of one level starts on its parent's chord, and its heading (rad)
    before the fan."""
    x = topology.connection[sec]
    along = np.where(topology.orientation[parent] == 0, x, 1.0 - x)  # from the parent's first point
    start = last[parent] * along[:, None] + first[parent] * (1.0 - along[:, None])
    chord = last[parent, :2] - first[parent, :2]
    chord = np.where((along < 0.5)[:, None], -chord, chord)
    flat = (np.abs(chord) < 1e-6).all(axis=1)
    angle = np.where(flat, 0.0, np.arctan2(chord[:, 1], chord[:, 0]))
    angle += np.where((x > 0) & (x < 1), np.pi / 2, 0.0)
    return start, angle


def computed_points(topology, sections, first, last, segment_diam, diam_start):
    """(points (P, 4), arcs (P,)) of `sections` (index array, in order): nseg + 2 points
    each, from `first` to `last`; `segment_diam[diam_start[s] + j]` is the diam of segment
    j of section s in x order (reversed here for a section connected by its 1 end)."""
    nseg = topology.nseg[sections]
    count = nseg + 2
    owner = np.repeat(sections, count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    n = np.repeat(nseg, count)
    frac = np.clip((k - 0.5) / n, 0.0, 1.0)
    j = np.clip(k - 1, 0, n - 1)
    j = np.where(topology.orientation[owner] == 1, n - 1 - j, j)
    xyz = first[owner] + frac[:, None] * (last[owner] - first[owner])
    diam = segment_diam[diam_start[owner] + j]
    return np.column_stack([xyz, diam]).astype(np.float32), frac.astype(np.float32)
