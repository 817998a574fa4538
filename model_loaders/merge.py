"""Join the per-rank `Model`s of an MPI run into one, in rank order (the cache's column order)."""
import numpy as np

from .model import Model


def _offsets(starts_list):
    """Concatenate CSR-style offset arrays (each starting at 0)."""
    out, base = [np.zeros(1, np.int64)], 0
    for starts in starts_list:
        out.append(starts[1:] + base)
        base += int(starts[-1])
    return np.concatenate(out)


def _joined(models, name, offsets=None):
    """Concatenate an optional per-item array; section indices shift by each part's offset."""
    parts = [getattr(m, name) for m in models]
    if all(part is None for part in parts):
        return None
    if offsets is not None:
        parts = [np.where(part >= 0, part + offsets[i], -1) if part is not None else None
                 for i, part in enumerate(parts)]
    return np.concatenate([part for part in parts if part is not None])


def merge_models(models, path):
    sections = np.cumsum([0] + [m.n_sections for m in models])
    cells = np.cumsum([0] + [len(m.cell_names) for m in models])
    parents = [np.where(m.section_parent >= 0, m.section_parent + sections[i], -1) for i, m in enumerate(models)]
    return Model(
        path=str(path),
        section_names=[name for m in models for name in m.section_names],
        section_type=np.concatenate([m.section_type for m in models]),
        section_cell=np.concatenate([m.section_cell + cells[i] for i, m in enumerate(models)]).astype(np.int32),
        section_parent=np.concatenate(parents).astype(np.int32),
        section_length=np.concatenate([m.section_length for m in models]),
        section_point_start=_offsets([m.section_point_start for m in models]),
        section_segment_start=_offsets([m.section_segment_start for m in models]),
        points=np.concatenate([m.points for m in models]),
        point_arc=np.concatenate([m.point_arc for m in models]),
        cell_names=[name for m in models for name in m.cell_names],
        settings=models[0].settings,
        t_at_load=max(m.t_at_load for m in models),
        cell_offset=_joined(models, "cell_offset"),
        cell_laid_out=_joined(models, "cell_laid_out"),
        # Point process types are indices into each rank's own name list: remap to one list.
        **_merged_point_processes(models, sections),
        netcon_source_section=_joined(models, "netcon_source_section", sections),
        netcon_source_x=_joined(models, "netcon_source_x"),
        netcon_target_section=_joined(models, "netcon_target_section", sections),
        netcon_target_x=_joined(models, "netcon_target_x"),
        netcon_weight=_joined(models, "netcon_weight"),
        netcon_delay=_joined(models, "netcon_delay"),
        mechanisms=models[0].mechanisms,
        notes=[note for m in models for note in m.notes if note not in models[0].notes or m is models[0]],
    )


def _merged_point_processes(models, sections):
    names = sorted({name for m in models for name in m.point_process_names})
    types = [np.array([names.index(m.point_process_names[t]) for t in m.point_process_type], np.int16)
             if m.point_process_type is not None else None for m in models]
    return {
        "point_process_names": names,
        "point_process_type": np.concatenate([t for t in types if t is not None]) if any(
            t is not None for t in types) else None,
        "point_process_section": _joined(models, "point_process_section", sections),
        "point_process_x": _joined(models, "point_process_x"),
    }
