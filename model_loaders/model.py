"""`Model`: what a loaded NEURON model looks like, as plain numpy arrays.

Later stages (geometry, engine bookkeeping, the cache's segment table) read this and
never walk NEURON's sections again. Segments are numbered section by section, in the
order of `section_names`, `nseg` each: segment `i` of section `s` is
`section_segment_start[s] + i`.
"""
from dataclasses import dataclass, field

import numpy as np

SECTION_TYPES = ("other", "soma", "axon", "dend", "apic")


@dataclass
class Model:
    path: str
    section_names: list
    section_type: np.ndarray          # int8 index into SECTION_TYPES
    section_cell: np.ndarray          # int32 cell index
    section_parent: np.ndarray        # int32 parent section index, -1 for a root
    section_length: np.ndarray        # float32 µm
    section_point_start: np.ndarray   # int64 (S+1) offsets into `points`
    section_segment_start: np.ndarray  # int64 (S+1) offsets into the segment table
    points: np.ndarray                # float32 (P, 4): x, y, z, diam in µm
    point_arc: np.ndarray             # float32 (P,) normalised arc position 0..1 in its section
    cell_names: list
    settings: dict = field(default_factory=dict)  # tstop, dt, v_init, celsius the model set
    t_at_load: float = 0.0            # > 0 when the model simulated while loading

    @property
    def n_sections(self):
        return len(self.section_names)

    @property
    def n_segments(self):
        return int(self.section_segment_start[-1])

    @property
    def section_nseg(self):
        return np.diff(self.section_segment_start)

    @property
    def segment_section(self):
        """Section index of every segment."""
        return np.repeat(np.arange(self.n_sections, dtype=np.int32), self.section_nseg)

    @property
    def segment_x(self):
        """Normalised position of every segment's centre in its section (NEURON's `x`)."""
        nseg = self.section_nseg[self.segment_section]
        index = np.arange(self.n_segments) - self.section_segment_start[:-1][self.segment_section]
        return ((index + 0.5) / nseg).astype(np.float32)

    def segment_of_points(self):
        """Segment index of every 3-D point (arc position → NEURON's segment)."""
        section = np.repeat(np.arange(self.n_sections), np.diff(self.section_point_start))
        nseg = self.section_nseg[section]
        local = np.minimum((self.point_arc * nseg).astype(np.int64), nseg - 1)
        return (self.section_segment_start[:-1][section] + local).astype(np.int32)

    def summary(self):
        return (f"{len(self.cell_names)} cell(s), {self.n_sections} sections, "
                f"{self.n_segments} segments, {len(self.points)} 3-D points")
