"""Cell geometry from a `Model`, in numpy only (no bpy, no NEURON, no per-section loops).

Two stages:
  `polylines(model, options)`  one polyline per section: arc-length (re)sampled 3-D points
                               with radii in Blender units, centred and scaled, sphere somas,
                               and per point the `cell`, `section`, `segment` it belongs to and
                               the segment(s) its colour comes from at each colour level.
  `tube_mesh(lines, sides, caps)` / `line_mesh(lines)`
                               vertices, faces, edges and corner edges ready for the mesh
                               attributes (`position`, `.edge_verts`, `.corner_vert`,
                               `.corner_edge`), so Blender never has to derive edges.
The Blender layer may instead hand the polylines to Geometry Nodes (Curve to Mesh), which
yields the same rings: one ring of `sides` vertices around every point, point by point.

Every segment gets vertices: with `segmentation == 0` the model's own 3-D points are kept
and a point is added at every segment centre (and, when blending, at every boundary); with `segmentation == n` each section is
resampled at max(n, nseg + 1) points evenly spaced along its arc, so consecutive points
are at most 1/nseg apart and every segment's arc range holds at least one point.
"""
from dataclasses import dataclass, field

import numpy as np

COLOUR_LEVELS = ("GROUP", "CELL", "SECTION", "SEGMENT")
SOMA = 1  # model.SECTION_TYPES index


@dataclass
class GeometryOptions:
    sides: int = 8                 # vertices around each tube ring (circular subdivisions)
    segmentation: int = 0          # points per section along the arc; 0 keeps the 3-D points
    smooth: int = 0                # smoothing passes over the points (ends stay put)
    caps: bool = True              # close both ends of every section's tube
    soma_sphere: bool = True       # draw a soma no longer than 1.5 × its diameter as a sphere
    sphere_rings: int = 10         # rings of such a sphere
    as_lines: bool = False         # edges only, one vertex per point (fast preview)
    thickness: float = 1.0         # radius factor (visual only)
    homogeneity: float = 0.0       # 0: true radii … 1: every radius the mean radius
    center: bool = True            # move the centre of the cells' bounding box to the origin
    scale: float = 0.01            # Blender units per µm (100 µm = 1 unit)
    blend: bool = False            # blend neighbouring segments' values along the arc


@dataclass
class Polylines:
    """One polyline per section (in `section` order), points concatenated."""
    points: np.ndarray        # (P, 3) float32, Blender units
    radius: np.ndarray        # (P,) float32, Blender units
    sizes: np.ndarray         # (C,) int64 points per polyline
    section: np.ndarray       # (C,) int32 section of each polyline
    arc: np.ndarray           # (P,) float32 normalised arc position in the section
    cell: np.ndarray          # (P,) int32
    point_section: np.ndarray  # (P,) int32
    segment: np.ndarray       # (P,) int32 the NEURON segment this point lies in
    blend_segment: np.ndarray  # (P,) int32 neighbour segment to blend toward
    blend_weight: np.ndarray  # (P,) float32 0 … 1 (0: the point's own segment)
    sphere: np.ndarray = field(default=None)  # (C,) bool polylines drawn as spheres

    @property
    def starts(self):
        return np.concatenate([[0], np.cumsum(self.sizes)])

    PER_POINT = ("points", "radius", "arc", "cell", "point_section", "segment",
                 "blend_segment", "blend_weight")

    def take(self, polylines):
        """The polylines at the indices `polylines`, in that order."""
        polylines = np.asarray(polylines, np.int64)
        sizes = self.sizes[polylines]
        first = self.starts[:-1][polylines]
        points = np.repeat(first - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())
        return Polylines(**{k: getattr(self, k)[points] for k in self.PER_POINT},
                         sizes=sizes, section=self.section[polylines], sphere=self.sphere[polylines])

    def slice(self, first, stop):
        """Polylines first … stop-1 (contiguous, no copy)."""
        starts = self.starts
        a, b = starts[first], starts[stop]
        return Polylines(**{k: getattr(self, k)[a:b] for k in self.PER_POINT},
                         sizes=self.sizes[first:stop], section=self.section[first:stop],
                         sphere=self.sphere[first:stop])


def _segmented(model):
    nseg = model.section_nseg.astype(np.int64)
    return nseg, model.section_segment_start[:-1].astype(np.int64)


def middle_segment(model, sections):
    """The segment at x = 0.5 of each of `sections` (NEURON's sec(0.5))."""
    nseg, first = _segmented(model)
    return (first[sections] + np.minimum(nseg[sections] // 2, nseg[sections] - 1)).astype(np.int32)


def cell_roots(model):
    """Per cell, its soma when it has one, else its first root section."""
    n_cells = len(model.cell_names)
    order = np.arange(model.n_sections)
    # Rank: soma roots first, then other roots, then everything else; keep the first per cell.
    rank = np.where(model.section_parent < 0, 0, 2) + np.where(model.section_type == SOMA, 0, 1)
    key = np.lexsort((order, rank, model.section_cell))
    cells = model.section_cell[key]
    first = np.ones(len(key), bool)
    first[1:] = cells[1:] != cells[:-1]
    roots = np.full(n_cells, -1, np.int64)
    roots[cells[first]] = key[first]
    return roots


def colour_sources(model, lines, level):
    """Per point, the segment whose value it shows at colour `level` (SEGMENT/SECTION/CELL).

    GROUP shows one value per object (the mean over its cells' roots): see `group_sources`.
    """
    if level == "SEGMENT":
        return lines.segment
    if level == "SECTION":
        return middle_segment(model, lines.point_section)
    if level == "CELL":
        return middle_segment(model, cell_roots(model))[lines.cell]
    raise ValueError(f"colour level {level!r} has no per-point source (one of {COLOUR_LEVELS})")


def group_sources(model, cells):
    """The segments averaged at GROUP colour level: the middle of each cell's root."""
    return middle_segment(model, cell_roots(model)[np.asarray(cells, np.int64)])


def _sample_arcs(model, segmentation, boundaries=False):
    """(section, arc) of every output point, sorted by section then arc. `boundaries` adds
    the segment boundaries too (blending shows the mean of both neighbours there)."""
    nseg, _ = _segmented(model)
    n_sec = model.n_sections
    if segmentation > 0:
        count = np.maximum(segmentation, nseg + 1)
        section = np.repeat(np.arange(n_sec), count)
        local = np.arange(len(section)) - np.repeat(np.cumsum(count) - count, count)
        return section, local / np.repeat(count - 1, count)
    point_section = np.repeat(np.arange(n_sec), np.diff(model.section_point_start))
    seg_section = np.repeat(np.arange(n_sec), nseg)
    seg_local = np.arange(len(seg_section)) - np.repeat(np.cumsum(nseg) - nseg, nseg)
    centres = (seg_local + 0.5) / nseg[seg_section]
    section = np.concatenate([point_section, seg_section])
    arc = np.concatenate([model.point_arc.astype(np.float64), centres])
    if boundaries:
        section = np.concatenate([section, seg_section])
        arc = np.concatenate([arc, seg_local / nseg[seg_section]])
    key = np.unique(section * 2.0 + arc)  # sorted; drops exact duplicates
    section = np.floor(key / 2.0).astype(np.int64)
    return section, key - section * 2.0


def _interpolate(model, section, arc):
    """x, y, z, diam of the model's polylines at (section, arc), by arc length."""
    point_section = np.repeat(np.arange(model.n_sections), np.diff(model.section_point_start))
    xp = point_section * 2.0 + model.point_arc.astype(np.float64)
    x = section * 2.0 + arc
    return np.stack([np.interp(x, xp, model.points[:, i]) for i in range(4)], axis=1)


def _smooth(points, section, passes):
    first = np.r_[True, section[1:] != section[:-1]]
    last = np.r_[section[1:] != section[:-1], True]
    inner = ~(first | last)
    for _ in range(passes):
        smoothed = (np.roll(points, 1, 0) + 2 * points + np.roll(points, -1, 0)) / 4
        points = np.where(inner[:, None], smoothed, points)
    return points


def _sphere_sections(model, options):
    """Stubby soma sections (length ≤ 1.5 × diameter: one-point and 3-point SWC somas)."""
    if not options.soma_sphere or options.as_lines:
        return np.zeros(model.n_sections, bool)
    starts = model.section_point_start
    n = np.diff(starts)
    diam = np.maximum.reduceat(model.points[:, 3], starts[:-1].clip(max=len(model.points) - 1)) \
        if len(model.points) else np.zeros(0)
    diam = np.where(n > 0, diam, 0)
    length = model.section_length
    return (model.section_type == SOMA) & (n > 0) & (length <= 1.5 * diam)


def polylines(model, options=None):
    """Sample every section of `model` into polylines (see the module docstring)."""
    options = options or GeometryOptions()
    sphere = _sphere_sections(model, options)
    section, arc = _sample_arcs(model, options.segmentation, options.blend)
    if sphere.any():  # a sphere's points: rings at θ = π(k+½)/n along its axis
        nseg, _ = _segmented(model)
        keep = ~sphere[section]
        ids = np.flatnonzero(sphere)
        count = np.maximum(options.sphere_rings, nseg[ids] + 1)
        s_section = np.repeat(ids, count)
        k = np.arange(len(s_section)) - np.repeat(np.cumsum(count) - count, count)
        theta = np.pi * (k + 0.5) / np.repeat(count, count)
        s_arc = (1 - np.cos(theta)) / 2
        order = np.argsort(np.concatenate([section[keep], s_section]), kind="stable")
        section = np.concatenate([section[keep], s_section])[order]
        arc = np.concatenate([arc[keep], s_arc])[order]
        theta_all = np.concatenate([np.zeros(keep.sum()), theta])[order]
    xyzd = _interpolate(model, section, arc)
    if sphere.any():  # lay sphere points on the soma's axis, radius R·sinθ
        on = sphere[section]
        first = model.section_point_start[:-1][section[on]]
        last = model.section_point_start[1:][section[on]] - 1
        a, b = model.points[first, :3].astype(np.float64), model.points[last, :3].astype(np.float64)
        axis = b - a
        norm = np.linalg.norm(axis, axis=1, keepdims=True)
        axis = np.where(norm > 1e-9, axis / np.maximum(norm, 1e-12), (0.0, 0.0, 1.0))
        big = np.maximum(model.section_length[section[on]], 0)
        diam_max = np.maximum.reduceat(model.points[:, 3], model.section_point_start[:-1].clip(
            max=len(model.points) - 1))[section[on]]
        radius = np.maximum(big, diam_max) / 2
        centre = (a + b) / 2
        t = theta_all[on]
        xyzd[on, :3] = centre - axis * (radius * np.cos(t))[:, None]
        xyzd[on, 3] = 2 * radius * np.sin(t)
    points = xyzd[:, :3]
    if options.smooth:
        points = _smooth(points, section, int(options.smooth))
    radius = xyzd[:, 3] / 2 * options.thickness
    if options.homogeneity:
        tube = ~sphere[section]
        if tube.any():
            mean = radius[tube].mean()
            radius = np.where(tube, (1 - options.homogeneity) * radius + options.homogeneity * mean, radius)
    if options.center and len(model.points):
        xyz = model.points[:, :3]
        points = points - (xyz.min(axis=0) + xyz.max(axis=0)) / 2
    points = (points * options.scale).astype(np.float32)
    radius = (radius * options.scale).astype(np.float32)

    nseg, first_segment = _segmented(model)
    n_here = nseg[section]
    local = np.minimum((arc * n_here).astype(np.int64), n_here - 1)
    u = arc * n_here - 0.5  # position in segment-centre units: segment i's centre at u = i
    lower = np.clip(np.floor(u), 0, n_here - 1).astype(np.int64)
    upper = np.minimum(lower + 1, n_here - 1)
    weight = np.clip(u - lower, 0, 1) * (upper > lower)
    sizes = np.bincount(section, minlength=model.n_sections).astype(np.int64)
    return Polylines(
        points=points, radius=radius, sizes=sizes,
        section=np.arange(model.n_sections, dtype=np.int32),
        arc=arc.astype(np.float32),
        cell=model.section_cell[section].astype(np.int32),
        point_section=section.astype(np.int32),
        segment=(first_segment[section] + local).astype(np.int32),
        blend_segment=(first_segment[section] + np.where(options.blend, upper, local)).astype(np.int32),
        blend_weight=(weight if options.blend else np.zeros_like(weight)).astype(np.float32),
        sphere=sphere,
    )


@dataclass
class TubeMesh:
    positions: np.ndarray      # (V, 3) float32
    edges: np.ndarray          # (E, 2) int32
    corner_verts: np.ndarray   # (L,) int32
    corner_edges: np.ndarray   # (L,) int32
    face_starts: np.ndarray    # (F,) int32
    point_of_vertex: np.ndarray  # (V,) int64: the polyline point each vertex belongs to


def _frames(lines):
    """Unit tangent, normal, binormal at every point; one helper axis per section keeps
    consecutive rings from twisting against each other."""
    points, starts = lines.points.astype(np.float64), lines.starts
    n = len(points)
    owner = np.repeat(np.arange(len(lines.sizes)), lines.sizes)
    index = np.arange(n)
    first, last = starts[:-1][owner], starts[1:][owner] - 1
    tangent = points[np.minimum(index + 1, last)] - points[np.maximum(index - 1, first)]
    length = np.linalg.norm(tangent, axis=1, keepdims=True)
    overall = points[last] - points[first]
    tangent = np.where(length > 1e-12, tangent / np.maximum(length, 1e-12), overall)
    length = np.linalg.norm(tangent, axis=1, keepdims=True)
    tangent = np.where(length > 1e-12, tangent / np.maximum(length, 1e-12), (0.0, 0.0, 1.0))
    helper = np.eye(3)[np.argmin(np.abs(overall), axis=1)]
    normal = np.cross(tangent, helper)
    norm = np.linalg.norm(normal, axis=1, keepdims=True)
    fallback = np.cross(tangent, np.eye(3)[np.argmin(np.abs(tangent), axis=1)])
    normal = np.where(norm > 1e-6, normal, fallback)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return normal, np.cross(tangent, normal)


def tube_mesh(lines, sides=8, caps=True):
    """A ring of `sides` vertices around every point; quads between consecutive rings of a
    polyline; an n-gon closing each end when `caps`. Edges and corner edges included."""
    s = int(sides)
    n_points = len(lines.points)
    normal, binormal = _frames(lines)
    angle = np.linspace(0.0, 2 * np.pi, s, endpoint=False)
    ring = np.cos(angle)[None, :, None] * normal[:, None] + np.sin(angle)[None, :, None] * binormal[:, None]
    positions = (lines.points[:, None] + ring * lines.radius[:, None, None]).astype(np.float32).reshape(-1, 3)

    starts = lines.starts
    owner = np.repeat(np.arange(len(lines.sizes)), lines.sizes)
    joined = np.flatnonzero(owner[:-1] == owner[1:]) if n_points else np.zeros(0, np.int64)
    side = np.arange(s)
    side1 = (side + 1) % s
    ring_edges = np.stack([np.arange(n_points * s), (np.arange(n_points)[:, None] * s + side1).ravel()], 1)
    long_start = n_points * s
    a = joined[:, None] * s + side
    long_edges = np.stack([a.ravel(), (a + s).ravel()], 1)
    edges = np.concatenate([ring_edges, long_edges])

    long_index = long_start + np.arange(len(joined))[:, None] * s
    quad_verts = np.stack([a, joined[:, None] * s + side1, joined[:, None] * s + side1 + s, a + s], -1)
    quad_edges = np.stack([a, long_index + side1, a + s, long_index + side], -1)
    corner_verts, corner_edges = [quad_verts.reshape(-1)], [quad_edges.reshape(-1)]
    n_faces = len(joined) * s
    face_sizes = [np.full(n_faces, 4)]
    if caps:
        closed = lines.sizes > 1
        head, tail = starts[:-1][closed], starts[1:][closed] - 1
        back = (s - 1 - side)
        corner_verts += [(head[:, None] * s + back).ravel(), (tail[:, None] * s + side).ravel()]
        corner_edges += [(head[:, None] * s + (back - 1) % s).ravel(), (tail[:, None] * s + side).ravel()]
        face_sizes.append(np.full(2 * len(head), s))
    face_sizes = np.concatenate(face_sizes)
    return TubeMesh(
        positions=positions,
        edges=edges.astype(np.int32),
        corner_verts=np.concatenate(corner_verts).astype(np.int32),
        corner_edges=np.concatenate(corner_edges).astype(np.int32),
        face_starts=(np.cumsum(face_sizes) - face_sizes).astype(np.int32),
        point_of_vertex=np.repeat(np.arange(n_points), s),
    )


def line_mesh(lines):
    """One vertex per point and an edge between consecutive points of a polyline."""
    owner = np.repeat(np.arange(len(lines.sizes)), lines.sizes)
    joined = np.flatnonzero(owner[:-1] == owner[1:])
    return TubeMesh(
        positions=lines.points.astype(np.float32),
        edges=np.stack([joined, joined + 1], 1).astype(np.int32),
        corner_verts=np.zeros(0, np.int32), corner_edges=np.zeros(0, np.int32),
        face_starts=np.zeros(0, np.int32), point_of_vertex=np.arange(len(lines.points)),
    )


def auto_levels(n_cells):
    """Default (interaction, colour) levels from the cell count: detail where it is cheap."""
    interaction = "CELL" if n_cells <= 100 else "GROUP"  # one object per section: on request
    colour = ("SEGMENT" if n_cells <= 5 else "SECTION" if n_cells <= 25
              else "CELL" if n_cells <= 100 else "GROUP")
    return interaction, colour
