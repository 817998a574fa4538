"""Cells of a SONATA population as one `Model`: each node's morphology turned and moved to
where the node sits, and each report column given its segment. Numpy only, no bpy.

A few morphologies are usually placed many times: the points of all cells sharing one are
transformed in one array operation. A report column names a section of its node by
`element_ids` (the section's index in the cell as NEURON's Import3d creates them: soma,
axon, dend, apic; what BMTK and neurodamus number) and a position by `element_pos`; the
number of columns on a section is its segment count (`nseg`) in our segment table.
"""
import numpy as np

from .model import Model
from .sonata import SonataError


def soma_centre(model):
    """Mean of the soma's 3-D points (BMTK's soma position), else of the first section's."""
    somatic = np.flatnonzero(model.section_type == 1)
    sections = somatic if len(somatic) else np.arange(min(1, model.n_sections))
    starts, ends = model.section_point_start[sections], model.section_point_start[sections + 1]
    picked = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]) if len(sections) else []
    return model.points[picked, :3].astype(np.float64).mean(axis=0) if len(picked) else np.zeros(3)


def section_layout(morphs):
    """(first section of each cell (C+1,), sections per cell (C,)) for one morphology per cell."""
    counts = np.array([m.n_sections for m in morphs], np.int64)
    return np.concatenate([[0], np.cumsum(counts)]), counts


def column_sections(report, nodes, cell_of_row, morphs, first_section):
    """Global section index of every report column; mismatches name the field."""
    column_node = report.column_nodes()
    rows = nodes.row_of(column_node, f"{report.where}/mapping/node_ids")
    cell = cell_of_row[rows]
    hidden = np.flatnonzero(cell < 0)
    if len(hidden):
        node = int(column_node[hidden[0]])
        raise SonataError(f"{report.where}/mapping/node_ids names node {node}, which has no morphology "
                          f"in {nodes.path} (model_type {nodes.model_type[rows[hidden[0]]]!r})")
    n_sections = np.array([m.n_sections for m in morphs], np.int64)[cell]
    over = np.flatnonzero(report.element_ids >= n_sections)
    if len(over):
        c = over[0]
        raise SonataError(f"{report.where}/mapping/element_ids: node {int(column_node[c])} has element "
                          f"{int(report.element_ids[c])}, but its morphology "
                          f"{morphs[cell[c]].path} has {int(n_sections[c])} sections (0..{int(n_sections[c]) - 1})")
    return first_section[cell] + report.element_ids


def segments_of_columns(section_of_column, element_pos, n_sections):
    """(nseg per section (S,), segment of each column): sections without columns get one
    segment (no data); a column's segment comes from its position (else its rank)."""
    counts = np.bincount(section_of_column, minlength=n_sections)
    nseg = np.maximum(counts, 1).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(nseg)])
    local_nseg = nseg[section_of_column]
    if element_pos is not None:
        local = np.minimum((element_pos * local_nseg).astype(np.int64), local_nseg - 1)
    else:  # the k-th column of a section is its k-th segment
        order = np.argsort(section_of_column, kind="stable")
        first = np.searchsorted(section_of_column[order], section_of_column[order])
        local = np.empty(len(order), np.int64)
        local[order] = np.arange(len(order)) - first
    return nseg, start[section_of_column] + local


def place_cells(path, nodes, rows, morphs, nseg, cell_names):
    """One `Model` of the node `rows`, cell k with morphology `morphs[k]` (a one-cell
    Model) turned by its node's rotation about its soma centre and moved there."""
    first_section, counts = section_layout(morphs)
    point_counts = np.array([len(m.points) for m in morphs], np.int64)
    first_point = np.concatenate([[0], np.cumsum(point_counts)])
    points = np.zeros((int(first_point[-1]), 4), np.float32)
    for morph, cells in _groups(morphs):
        local = morph.points[:, :3].astype(np.float64) - soma_centre(morph)
        turned = np.einsum("cij,pj->cpi", nodes.rotation[rows[cells]], local) + nodes.position[rows[cells], None, :]
        index = (first_point[cells][:, None] + np.arange(len(morph.points))).ravel()
        points[index, :3] = turned.reshape(-1, 3)
        points[index, 3] = np.tile(morph.points[:, 3], len(cells))
    parents = [np.where(m.section_parent >= 0, m.section_parent + first_section[k], -1) for k, m in enumerate(morphs)]
    point_starts = [m.section_point_start[:-1] + first_point[k] for k, m in enumerate(morphs)]
    return Model(
        path=str(path),
        section_names=[f"{cell_names[k]}.{name}" for k, m in enumerate(morphs) for name in m.section_names],
        section_type=np.concatenate([m.section_type for m in morphs]).astype(np.int8),
        section_cell=np.repeat(np.arange(len(morphs), dtype=np.int32), counts),
        section_parent=np.concatenate(parents).astype(np.int32),
        section_length=np.concatenate([m.section_length for m in morphs]).astype(np.float32),
        section_point_start=np.concatenate([*point_starts, [first_point[-1]]]).astype(np.int64),
        section_segment_start=np.concatenate([[0], np.cumsum(nseg)]).astype(np.int64),
        points=points,
        point_arc=np.concatenate([m.point_arc for m in morphs]).astype(np.float32),
        cell_names=list(cell_names),
        cell_offset=np.zeros((len(morphs), 3), np.float32),
        cell_laid_out=np.zeros(len(morphs), bool),
        notes=[f"SONATA population {nodes.population!r}: {len(morphs)} cells placed at their nodes"],
    )


def _groups(morphs):
    """(morphology, cell indices) for each distinct morphology object."""
    seen = {}
    for k, morph in enumerate(morphs):
        seen.setdefault(id(morph), (morph, []))[1].append(k)
    return [(morph, np.array(cells, np.int64)) for morph, cells in seen.values()]
