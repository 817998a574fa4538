"""Tube meshes from a `Model`'s 3-D points, built in numpy (no per-section loops).

Each 3-D point becomes a ring of `sides` vertices around the section's direction;
consecutive rings of the same section are joined by quads. Every vertex carries the
NEURON segment it shows (`segment`), plus `section` and `cell`, as mesh attributes.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class TubeMesh:
    positions: np.ndarray      # (V, 3) float32, Blender units
    loop_vertices: np.ndarray  # (4F,) int32
    face_starts: np.ndarray    # (F,) int32
    segment: np.ndarray        # (V,) int32
    section: np.ndarray        # (V,) int32
    cell: np.ndarray           # (V,) int32


def tube_mesh(model, *, sides=8, scale=0.01, center=True, radius_factor=1.0):
    """Vertices, quads and per-vertex indices for the whole model.

    `scale` converts µm to Blender units (default: 100 µm = 1 unit).
    """
    points = model.points[:, :3]
    radius = model.points[:, 3] * np.float32(0.5 * radius_factor)
    n_points = len(points)
    point_section = np.repeat(np.arange(model.n_sections), np.diff(model.section_point_start))
    starts, ends = model.section_point_start[:-1], model.section_point_start[1:] - 1

    # Tangent from the neighbours within the same section (clamped at section ends).
    index = np.arange(n_points)
    prev = np.maximum(index - 1, starts[point_section])
    nxt = np.minimum(index + 1, ends[point_section])
    tangent = points[nxt] - points[prev]
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
    tangent[np.linalg.norm(tangent, axis=1) < 0.5] = (0.0, 0.0, 1.0)  # one-point sections

    helper = np.where(np.abs(tangent[:, 2:3]) < 0.9, np.float32([[0, 0, 1]]), np.float32([[1, 0, 0]]))
    normal = np.cross(tangent, helper)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)

    angle = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    cos, sin = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    normal *= radius[:, None]
    binormal *= radius[:, None]
    positions = np.empty((n_points, sides, 3), dtype=np.float32)
    np.multiply(cos[None, :, None], normal[:, None], out=positions)
    positions += sin[None, :, None] * binormal[:, None]
    positions += points[:, None]
    positions = positions.reshape(-1, 3)
    if center and len(positions):
        positions -= (positions.min(axis=0) + positions.max(axis=0)) / 2
    positions *= np.float32(scale)

    # Quads between point i and i+1 when both lie in the same section.
    joined = np.flatnonzero(point_section[:-1] == point_section[1:])
    side = np.arange(sides, dtype=np.int32)
    joined = joined.astype(np.int32)
    a = joined[:, None] * sides + side
    b = joined[:, None] * sides + (side + 1) % sides
    quads = np.stack([a, b, b + sides, a + sides], axis=-1).reshape(-1, 4)

    per_vertex = lambda values: np.repeat(values, sides).astype(np.int32)
    return TubeMesh(
        positions=positions,
        loop_vertices=quads.ravel().astype(np.int32),
        face_starts=(np.arange(len(quads)) * 4).astype(np.int32),
        segment=per_vertex(model.segment_of_points()),
        section=per_vertex(point_section),
        cell=per_vertex(model.section_cell[point_section]),
    )
