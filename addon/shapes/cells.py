"""Which segment stands for what, from a `Model` in numpy (no bpy, no NEURON): each cell's
root, the middle segment of sections, the segments a point's colour comes from at each level."""
import numpy as np

COLOUR_LEVELS = ("GROUP", "CELL", "SECTION", "SEGMENT")
SOMA = 1  # model.SECTION_TYPES index


def segment_ranges(model):
    """Per section: its segment count and its first segment's index."""
    nseg = model.section_nseg.astype(np.int64)
    return nseg, model.section_segment_start[:-1].astype(np.int64)


def middle_segment(model, sections):
    """The segment at x = 0.5 of each of `sections` (NEURON's sec(0.5))."""
    nseg, first = segment_ranges(model)
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



def auto_levels(n_cells):
    """Default (interaction, colour) levels from the cell count: detail where it is cheap."""
    interaction = "CELL" if n_cells <= 100 else "GROUP"  # one object per section: on request
    colour = ("SEGMENT" if n_cells <= 5 else "SECTION" if n_cells <= 25
              else "CELL" if n_cells <= 100 else "GROUP")
    return interaction, colour
