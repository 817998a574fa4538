"""Tube and line meshes from polylines, in numpy only: vertices, faces, edges and corner
edges ready for the mesh attributes (`position`, `.edge_verts`, `.corner_vert`,
`.corner_edge`), so Blender never has to derive edges."""
from dataclasses import dataclass

import numpy as np


@dataclass
class TubeMesh:
    """Vertices point by point (one ring of `vertices_per_point` each); edges: every ring's
    edges, then the edges along the tubes (one block per joined point); corners: the quads
    (one block per joined point), then the head caps, then the tail caps. So the mesh of a
    run of whole polylines is two edge slices and three corner slices (`part`)."""
    positions: np.ndarray      # (V, 3) float32
    edges: np.ndarray          # (E, 2) int32
    corner_verts: np.ndarray   # (L,) int32
    corner_edges: np.ndarray   # (L,) int32
    face_starts: np.ndarray    # (F,) int32
    vertices_per_point: int    # `sides` (1 for lines)
    joined_before: np.ndarray  # (P+1,) int64: points joined to their next one, before point i
    cap_points: np.ndarray     # (K,) int64: the first point of every capped polyline

    def part(self, first, stop):
        """The mesh of points first … stop-1 (whole polylines), indices from 0."""
        n = len(self.joined_before) - 1
        if first == 0 and stop == n:
            return self
        s = self.vertices_per_point
        rings = n * s if s > 1 else 0  # lines have no ring edges
        local_rings = (stop - first) * s if s > 1 else 0
        j0, j1 = self.joined_before[first], self.joined_before[stop]
        k0, k1 = np.searchsorted(self.cap_points, [first, stop])
        shift = np.int32(first * s)
        edges = np.concatenate([self.edges[first * s:first * s + local_rings],
                                self.edges[rings + j0 * s:rings + j1 * s]]) - shift
        part = TubeMesh(positions=self.positions[first * s:stop * s], edges=edges,
                        corner_verts=self.corner_verts[:0], corner_edges=self.corner_edges[:0],
                        face_starts=self.face_starts[:0], vertices_per_point=s,
                        joined_before=self.joined_before[first:stop + 1] - j0,
                        cap_points=self.cap_points[k0:k1] - first)
        if s == 1:
            return part
        quads = self.joined_before[-1] * s * 4
        caps = len(self.cap_points) * s
        blocks = [slice(j0 * s * 4, j1 * s * 4), slice(quads + k0 * s, quads + k1 * s),
                  slice(quads + caps + k0 * s, quads + caps + k1 * s)]
        part.corner_verts = np.concatenate([self.corner_verts[b] for b in blocks]) - shift
        corner_edges = np.concatenate([self.corner_edges[b] for b in blocks])
        along = corner_edges >= rings  # edges along the tubes: shifted by their own block
        corner_edges -= shift
        corner_edges[along] += np.int32(first * s - rings - j0 * s + local_rings)
        part.corner_edges = corner_edges
        sizes = np.concatenate([np.full((j1 - j0) * s, 4, np.int32), np.full(2 * (k1 - k0), s, np.int32)])
        part.face_starts = np.zeros(len(sizes), np.int32)
        np.cumsum(sizes[:-1], out=part.face_starts[1:])
        return part


def _offsets(counts):
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _frames(lines):
    """Unit normal and binormal (float32) at every point; one helper axis per section keeps
    consecutive rings from twisting against each other."""
    points, starts = lines.points, lines.starts
    n = len(points)
    owner = np.repeat(np.arange(len(lines.sizes), dtype=np.int32), lines.sizes)
    index = np.arange(n, dtype=np.int32)
    first, last = starts[:-1].astype(np.int32)[owner], (starts[1:] - 1).astype(np.int32)[owner]
    tangent = points[np.minimum(index + 1, last)] - points[np.maximum(index - 1, first)]
    overall = points[last] - points[first]
    length = np.sqrt(np.einsum("ij,ij->i", tangent, tangent))[:, None]
    tangent = np.where(length > 1e-12, tangent / np.maximum(length, 1e-12), overall)
    length = np.sqrt(np.einsum("ij,ij->i", tangent, tangent))[:, None]
    tangent = np.where(length > 1e-12, tangent / np.maximum(length, 1e-12), np.float32([0, 0, 1]))
    axes = np.eye(3, dtype=np.float32)
    normal = np.cross(tangent, axes[np.argmin(np.abs(overall), axis=1)])
    norm = np.sqrt(np.einsum("ij,ij->i", normal, normal))[:, None]
    weak = np.flatnonzero(norm[:, 0] <= 1e-6)  # tangent along the helper: use another axis
    if len(weak):
        normal[weak] = np.cross(tangent[weak], axes[np.argmin(np.abs(tangent[weak]), axis=1)])
        norm[weak] = np.sqrt(np.einsum("ij,ij->i", normal[weak], normal[weak]))[:, None]
    normal /= np.maximum(norm, 1e-30)
    return normal, np.cross(tangent, normal)


def _joined(lines):
    """Per point: joined to the next point of its polyline (every point but the last)."""
    starts, sizes = lines.starts, lines.sizes
    joined = np.ones(len(lines.points), bool)
    joined[(starts[1:] - 1)[sizes > 0]] = False
    return joined


def tube_mesh(lines, sides=8, caps=True):
    """A ring of `sides` vertices around every point; quads between consecutive rings of a
    polyline; an n-gon closing each end when `caps`. Edges and corner edges included,
    float32 and int32 throughout (what the attributes take); layout: see `TubeMesh`."""
    s = int(sides)
    n_points = len(lines.points)
    normal, binormal = _frames(lines)
    angle = np.linspace(0.0, 2 * np.pi, s, endpoint=False)
    radius = lines.radius[:, None, None]
    positions = normal[:, None, :] * (np.cos(angle).astype(np.float32)[None, :, None] * radius)
    positions += binormal[:, None, :] * (np.sin(angle).astype(np.float32)[None, :, None] * radius)
    positions += lines.points[:, None, :]

    starts, sizes = lines.starts, lines.sizes
    is_joined = _joined(lines)
    joined = np.flatnonzero(is_joined).astype(np.int32)
    side = np.arange(s, dtype=np.int32)
    side1 = (side + 1) % s
    n_ring = n_points * s
    ring = np.arange(n_points, dtype=np.int32)[:, None] * s
    edges = np.empty((n_ring + len(joined) * s, 2), np.int32)
    edges[:n_ring, 0] = np.arange(n_ring, dtype=np.int32)
    edges[:n_ring, 1] = (ring + side1).ravel()
    a = joined[:, None] * s + side  # (J, s) the first ring's vertex of each quad
    edges[n_ring:, 0] = a.ravel()
    edges[n_ring:, 1] = (a + s).ravel()

    long_index = n_ring + np.arange(len(joined), dtype=np.int32)[:, None] * s
    b = joined[:, None] * s + side1
    quad_verts = np.empty((len(joined), s, 4), np.int32)
    quad_verts[..., 0], quad_verts[..., 1], quad_verts[..., 2], quad_verts[..., 3] = a, b, b + s, a + s
    quad_edges = np.empty((len(joined), s, 4), np.int32)
    quad_edges[..., 0], quad_edges[..., 1] = a, long_index + side1
    quad_edges[..., 2], quad_edges[..., 3] = a + s, long_index + side
    corner_verts, corner_edges = [quad_verts.ravel()], [quad_edges.ravel()]
    n_quads = len(joined) * s
    cap_points = np.zeros(0, np.int64)
    if caps:
        closed = sizes > 1
        cap_points = starts[:-1][closed]
        head = (cap_points * s).astype(np.int32)[:, None]
        tail = ((starts[1:][closed] - 1) * s).astype(np.int32)[:, None]
        back = s - 1 - side
        corner_verts += [(head + back).ravel(), (tail + side).ravel()]
        corner_edges += [(head + (back - 1) % s).ravel(), (tail + side).ravel()]
    n_caps = 2 * len(cap_points)
    face_starts = np.empty(n_quads + n_caps, np.int32)
    face_starts[:n_quads] = np.arange(0, 4 * n_quads, 4, dtype=np.int32)
    face_starts[n_quads:] = 4 * n_quads + np.arange(0, s * n_caps, s, dtype=np.int32)
    return TubeMesh(
        positions=positions.reshape(-1, 3),
        edges=edges,
        corner_verts=np.concatenate(corner_verts),
        corner_edges=np.concatenate(corner_edges),
        face_starts=face_starts,
        vertices_per_point=s,
        joined_before=_offsets(is_joined),
        cap_points=cap_points,
    )


def line_mesh(lines):
    """One vertex per point and an edge between consecutive points of a polyline."""
    is_joined = _joined(lines)
    at = np.flatnonzero(is_joined).astype(np.int32)
    empty = np.zeros(0, np.int32)
    return TubeMesh(
        positions=lines.points.astype(np.float32), edges=np.stack([at, at + 1], 1),
        corner_verts=empty, corner_edges=empty, face_starts=empty, vertices_per_point=1,
        joined_before=_offsets(is_joined), cap_points=np.zeros(0, np.int64),
    )
