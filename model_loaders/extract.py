"""Read NEURON's sections once into a numpy `Model` (the only per-section walk)."""
import numpy as np

from .connections import extract_netcons, extract_point_processes, live_netcons
from .layout import grid_offsets
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


def extract_model(h, path, *, layout=True):
    """The loaded sections, cells, NetCons and point processes as a `Model`.

    `layout`: cells none of whose sections had 3-D points go on a grid (see layout.py).
    """
    sections = list(h.allsec())
    had_points = np.array([sec.n3d() > 0 for sec in sections], dtype=bool)
    h.define_shape()  # sections without pt3d get points from L and diam
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
    section_cell = np.array(section_cell, dtype=np.int32)
    points = np.array(xyzd, dtype=np.float32).reshape(-1, 4)
    point_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    laid_out = np.ones(len(cells), dtype=bool)
    np.logical_and.at(laid_out, section_cell, ~had_points)  # no section of the cell had points
    point_cell = np.repeat(section_cell, counts)
    offsets = grid_offsets(points, point_cell, laid_out if layout else np.zeros_like(laid_out))
    points[:, :3] += offsets[point_cell]

    netcons = live_netcons(h)
    notes = []
    if layout and laid_out.sum() > 1:
        notes.append(f"{int(laid_out.sum())} cells without 3-D points laid out on a grid")
    return Model(
        path=str(path),
        section_names=names,
        section_type=np.array([_section_type(n) for n in names], dtype=np.int8),
        section_cell=section_cell,
        section_parent=np.array(parents, dtype=np.int32),
        section_length=np.array([sec.L for sec in sections], dtype=np.float32),
        section_point_start=point_start,
        section_segment_start=np.concatenate([[0], np.cumsum(nseg)]).astype(np.int64),
        points=points,
        point_arc=np.array(arcs, dtype=np.float32),
        cell_names=[str(key) for key in cells],
        settings=integrator_settings(h),
        t_at_load=float(h.t),
        cell_offset=offsets,
        cell_laid_out=laid_out & layout,
        **extract_point_processes(h, index, netcons),
        **extract_netcons(index, netcons),
        notes=notes,
    )


def integrator_settings(h):
    """The run settings as the model left them: tstop, v_init, celsius, and the integrator
    (CVode on/off with its tolerances, secondorder, dt).

    dt is the step NEURON's standard run (run(), stdinit()) takes: stdrun's setdt() fits
    dt to a whole number of steps per 1 / steps_per_ms (dt = 0.05 with the default 40
    steps per ms runs at 0.025). With CVode on, h.dt is only CVode's last step (1.85 ms
    in one published model): the fixed step offered then is 1 / steps_per_ms."""
    cvode = h.CVode()
    active = bool(cvode.active())
    outer = 1.0 / float(getattr(h, "steps_per_ms", 40.0) or 40.0)
    dt = outer if active else outer / max(1, int(outer / float(h.dt)))
    return {"tstop": float(h.tstop), "v_init": float(h.v_init), "celsius": float(h.celsius), "dt": dt,
            "cvode": active, "atol": float(cvode.atol()), "rtol": float(cvode.rtol()),
            "secondorder": int(h.secondorder)}
