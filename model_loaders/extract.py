"""Read NEURON's sections once into a numpy `Model` (the only per-section walk)."""
import numpy as np

from .connections import extract_netcons, extract_point_processes, live_netcons
from .layout import grid_offsets
from .model import SECTION_TYPES, Model
from .shape import Topology, computed_points, section_ends


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


def _own_points(sec):
    """The section's own 3-D points (n, 4) and their arc positions (0..1), in pt3d order."""
    n = sec.n3d()
    xyzd = np.array([(sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)) for i in range(n)],
                    dtype=np.float32).reshape(-1, 4)
    arcs = np.array([sec.arc3d(i) / sec.L if sec.L > 0 else 0.0 for i in range(n)], dtype=np.float32)
    return xyzd, arcs


def _topology(sections, index):
    """The connections the layout follows (see shape.py), read once per section."""
    n = len(sections)
    parent, connection = np.full(n, -1, np.int64), np.zeros(n)
    rank = np.zeros(n, np.int64)
    for i, sec in enumerate(sections):
        seg = sec.parentseg()  # the section it is attached to (trueparentseg skips some)
        if seg is not None:
            parent[i], connection[i] = index[seg.sec], seg.x
        for k, child in enumerate(sec.children()):
            rank[index[child]] = k
    return Topology(parent=parent, connection=connection,
                    orientation=np.array([int(sec.orientation()) for sec in sections], np.int64),
                    child_rank=rank, length=np.array([sec.L for sec in sections], np.float64),
                    nseg=np.array([sec.nseg for sec in sections], np.int64))


def _segment_diams(sections, bare):
    """(diams, start): the diam of every segment of the `bare` sections (x order), flat, and
    where each section's run of them starts (indexed by section)."""
    diams = [np.array([seg.diam for seg in sections[i]], np.float32) for i in bare]
    start = np.zeros(len(sections), np.int64)
    start[bare] = np.cumsum([0] + [len(d) for d in diams[:-1]])
    return (np.concatenate(diams) if diams else np.zeros(0, np.float32)), start


def section_points(sections, index):
    """(points (P, 4), arcs (P,), counts (S,), had_points (S,)): every section's 3-D points,
    its own where it has them, else laid out as define_shape would (shape.py) without
    giving NEURON any: define_shape would change the areas of a tapered section."""
    own = [_own_points(sec) for sec in sections]
    own_counts = np.array([len(xyzd) for xyzd, _ in own], dtype=np.int64)
    had_points = own_counts > 0
    topology = _topology(sections, index)
    own_first, own_last = np.zeros((len(sections), 3)), np.zeros((len(sections), 3))
    for i in np.flatnonzero(had_points):
        own_first[i], own_last[i] = own[i][0][0, :3], own[i][0][-1, :3]
    first, last, shift = section_ends(topology, own_first, own_last, had_points)
    bare = np.flatnonzero(~had_points)
    made, made_arcs = computed_points(topology, bare, first, last, *_segment_diams(sections, bare))
    counts = np.where(had_points, own_counts, topology.nseg + 2)
    points, arcs = np.zeros((int(counts.sum()), 4), np.float32), np.zeros(int(counts.sum()), np.float32)
    from_own = np.repeat(had_points, counts)
    if had_points.any():
        kept = np.flatnonzero(had_points)
        points[from_own] = np.concatenate([own[i][0] for i in kept])
        points[from_own, :3] += np.repeat(shift[kept], own_counts[kept], axis=0).astype(np.float32)
        arcs[from_own] = np.concatenate([own[i][1] for i in kept])
    points[~from_own], arcs[~from_own] = made, made_arcs
    return points, arcs, counts, had_points


def extract_model(h, path, *, layout=True):
    """The loaded sections, cells, NetCons and point processes as a `Model`.

    `layout`: cells none of whose sections had 3-D points go on a grid (see layout.py).
    """
    sections = list(h.allsec())
    index = {sec: i for i, sec in enumerate(sections)}
    cells, section_cell, parents = {}, [], []
    for sec in sections:
        key = _cell_key(h, sec)
        section_cell.append(cells.setdefault(key, len(cells)))
        parent = sec.trueparentseg()
        parents.append(index[parent.sec] if parent is not None else -1)
    names = [sec.name() for sec in sections]
    section_cell = np.array(section_cell, dtype=np.int32)
    points, arcs, counts, had_points = section_points(sections, index)
    nseg = [sec.nseg for sec in sections]
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
        point_arc=arcs,
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
