"""Read NEURON's sections once into a numpy `Model` (the only per-section walk)."""
import numpy as np

from .model import SECTION_TYPES, Model


def _section_type(name):
    lowered = name.lower()
    for code, kind in enumerate(SECTION_TYPES):
        if code and kind in lowered:
            return code
    return 0


def _cell_key(h, sec):
    """Group by the cell object when the model uses templates, else by tree root."""
    cell = sec.cell()
    return cell if cell is not None else h.SectionRef(sec=sec).root


def extract_model(h, path):
    h.define_shape()  # sections without pt3d get points from L and diam
    sections = list(h.allsec())
    index = {sec: i for i, sec in enumerate(sections)}
    cells, section_cell, parents, counts, nseg = {}, [], [], [], []
    xyzd, arcs = [], []
    for sec in sections:
        key = _cell_key(h, sec)
        section_cell.append(cells.setdefault(key, len(cells)))
        parent = sec.trueparentseg()
        parents.append(index[parent.sec] if parent is not None else -1)
        n = sec.n3d()
        counts.append(n)
        nseg.append(sec.nseg)
        for i in range(n):
            xyzd.append((sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)))
            arcs.append(sec.arc3d(i) / sec.L if sec.L > 0 else 0.0)
    names = [sec.name() for sec in sections]
    cell_names = [str(key) for key in cells]
    return Model(
        path=str(path),
        section_names=names,
        section_type=np.array([_section_type(n) for n in names], dtype=np.int8),
        section_cell=np.array(section_cell, dtype=np.int32),
        section_parent=np.array(parents, dtype=np.int32),
        section_length=np.array([sec.L for sec in sections], dtype=np.float32),
        section_point_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        section_segment_start=np.concatenate([[0], np.cumsum(nseg)]).astype(np.int64),
        points=np.array(xyzd, dtype=np.float32).reshape(-1, 4),
        point_arc=np.array(arcs, dtype=np.float32),
        cell_names=cell_names,
        settings={"tstop": h.tstop, "dt": h.dt, "v_init": h.v_init, "celsius": h.celsius},
        t_at_load=float(h.t),
    )
