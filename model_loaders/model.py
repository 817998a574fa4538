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
    cell_offset: np.ndarray = None    # float32 (C, 3) µm moved onto the layout grid (0: kept)
    cell_laid_out: np.ndarray = None  # bool (C,) the cell had no 3-D points of its own
    point_process_names: list = field(default_factory=list)  # types present (IClamp, ExpSyn…)
    point_process_type: np.ndarray = None     # int16 (N,) index into point_process_names
    point_process_section: np.ndarray = None  # int32 (N,) -1: no location (NetStim…)
    point_process_x: np.ndarray = None        # float32 (N,)
    netcon_source_section: np.ndarray = None  # int32 (K,) -1: artificial cell / no source
    netcon_source_x: np.ndarray = None        # float32 (K,)
    netcon_target_section: np.ndarray = None  # int32 (K,) -1: no target (spike recorder…)
    netcon_target_x: np.ndarray = None        # float32 (K,)
    netcon_weight: np.ndarray = None          # float32 (K,) weight[0]
    netcon_delay: np.ndarray = None           # float32 (K,) ms
    mechanisms: list = field(default_factory=list)  # names compiled from the model's .mod files
    notes: list = field(default_factory=list)  # what the loader did that the user should know

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

    @property
    def n_netcons(self):
        return 0 if self.netcon_weight is None else len(self.netcon_weight)

    def locate(self, section, x):
        """3-D points (N, 3) at positions `x` (0..1) along `section` (index arrays);
        NaN where the section is -1 or has no points. Linear along the 3-D arc."""
        section = np.atleast_1d(np.asarray(section, dtype=np.int64))
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        out = np.full((len(section), 3), np.nan, dtype=np.float32)
        starts, ends = self.section_point_start[:-1], self.section_point_start[1:]
        valid = section >= 0
        valid[valid] &= ends[section[valid]] > starts[section[valid]]
        if not valid.any():
            return out
        s, xv = section[valid], np.clip(x[valid], 0.0, 1.0)
        point_section = np.repeat(np.arange(self.n_sections), np.diff(self.section_point_start))
        keys = point_section * 2.0 + self.point_arc  # monotone over the whole array
        i = np.searchsorted(keys, s * 2.0 + xv, side="right") - 1
        i = np.clip(i, starts[s], np.maximum(ends[s] - 2, starts[s]))
        j = np.minimum(i + 1, ends[s] - 1)
        span = self.point_arc[j] - self.point_arc[i]
        w = np.where(span > 0, (xv - self.point_arc[i]) / np.where(span > 0, span, 1), 0.0)
        w = np.clip(w, 0.0, 1.0)[:, None]
        xyz = self.points[:, :3].astype(np.float64)
        out[valid] = (xyz[i] * (1 - w) + xyz[j] * w).astype(np.float32)
        return out

    def netcon_points(self):
        """(source (K, 3), target (K, 3)) 3-D locations of every NetCon's ends."""
        return (self.locate(self.netcon_source_section, self.netcon_source_x),
                self.locate(self.netcon_target_section, self.netcon_target_x))

    def summary(self):
        text = (f"{len(self.cell_names)} cell(s), {self.n_sections} sections, "
                f"{self.n_segments} segments, {len(self.points)} 3-D points")
        if self.n_netcons:
            text += f", {self.n_netcons} NetCons"
        return text
