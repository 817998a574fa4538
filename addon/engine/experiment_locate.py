"""Where a click lands on a cell: the nearest segment along the cells' centre lines.

A tube vertex is the wrong answer (a thick soma's far side is nearer to the next
dendrite's vertices than to the soma's own), so the query measures the distance to every
piece of every section's centre line (the Model's 3-D points) and reads the arc position
on the nearest one. The pieces are gathered once per mesh build (`CentreLines`); a query
is a few numpy passes over them (well under a millisecond for a 100k-vertex cell). No bpy.
"""
from dataclasses import dataclass

import numpy as np

from .experiment import ExperimentError

REACH = 2.0  # µm beyond a tube's surface that still counts as a click on it


@dataclass
class Hit:
    section: int   # index into the Model's sections
    name: str
    x: float       # the centre of the NEURON segment hit, 0..1
    arc: float     # where along the section the point projects, 0..1
    distance: float  # µm from the centre line


class CentreLines:
    def __init__(self, model):
        self.model = model
        xyz = model.points[:, :3].astype(np.float64)
        section = np.repeat(np.arange(model.n_sections), np.diff(model.section_point_start))
        joined = np.flatnonzero(section[1:] == section[:-1])
        single = np.flatnonzero(np.diff(model.section_point_start) == 1)  # a lone point: a piece of no length
        first = np.concatenate([joined, model.section_point_start[single]]).astype(np.int64)
        last = np.concatenate([joined + 1, model.section_point_start[single]]).astype(np.int64)
        self.start, self.step = xyz[first], xyz[last] - xyz[first]
        self.length2 = np.einsum("ij,ij->i", self.step, self.step)
        self.section = section[first]
        self.arc = np.stack([model.point_arc[first], model.point_arc[last]], axis=1).astype(np.float64)
        self.radius = np.maximum(model.points[first, 3], model.points[last, 3]).astype(np.float64) / 2

    def nearest(self, point, reach_scale=1.0):
        """The segment nearest `point` (model µm); ExperimentError when the point is farther
        from every centre line than the tube there (scaled by `reach_scale`) plus REACH."""
        if not len(self.section):
            raise ExperimentError("The model has no 3-D points to point at")
        point = np.asarray(point, dtype=np.float64).reshape(3)
        if not np.isfinite(point).all():
            raise ExperimentError(f"Not a point: {tuple(point)}")
        offset = point - self.start
        along = np.einsum("ij,ij->i", offset, self.step) / np.where(self.length2 > 0, self.length2, 1.0)
        along = np.clip(along, 0.0, 1.0)
        gap = offset - self.step * along[:, None]
        distance2 = np.einsum("ij,ij->i", gap, gap)
        k = int(np.argmin(distance2))
        distance = float(np.sqrt(distance2[k]))
        if distance > self.radius[k] * reach_scale + REACH:
            raise ExperimentError(f"No cell there: the nearest centre line is {distance:.1f} µm away "
                                  f"({self.model.section_names[self.section[k]]})")
        return self._hit(k, along[k], distance)

    def _hit(self, k, along, distance):
        section = int(self.section[k])
        arc = float(self.arc[k, 0] + along * (self.arc[k, 1] - self.arc[k, 0]))
        nseg = int(self.model.section_nseg[section])
        index = min(int(arc * nseg), nseg - 1)
        return Hit(section=section, name=self.model.section_names[section], x=(index + 0.5) / nseg, arc=arc,
                   distance=distance)
