"""Write a run (its frame cache and `Model`) as SONATA that BMTK, libsonata, NetPyNE and
neurodamus read: nodes, spikes and a compartment report of every segment. No bpy.

    nodes.h5        /nodes/<pop>/{node_id, node_type_id, node_group_id, node_group_index,
                    0/{x, y, z, rotation_angle_{x,y,z}axis}} (x, y, z: soma centre, µm)
    node_types.csv  node_type_id model_type (space separated)
    spikes.h5       /spikes/<pop>/{timestamps (ms), node_ids}, `sorting` an HDF5 enum
                    (libsonata insists): by_time
    report.h5       /report/<pop>/data float32 [frames × columns] and mapping/{node_ids,
                    index_pointers (also linked as BMTK's index_pointer), element_ids (the
                    section's index in its cell), element_pos (segment centre), time =
                    [start, stop, dt] ms, stop exclusive}

Node k is cell k of the Model. Columns go cell by cell (each cell's sections in model
order, segments by x); the report is copied from the memory-mapped cache in blocks.
"""
from pathlib import Path

import numpy as np

from ...model_loaders.sonata import h5py
from ..shapes.cells import cell_roots, middle_segment
from . import spikes as spike_files

SORTING = {"none": 0, "by_id": 1, "by_time": 2}
BLOCK_BYTES = 8 << 20


def column_order(model):
    """(column order over the segments, node of each column, element id, element pos)."""
    section_of_segment = model.segment_section
    cell_of_section = model.section_cell
    order = np.argsort(cell_of_section[section_of_segment], kind="stable")
    by_cell = np.argsort(cell_of_section, kind="stable")
    rank = np.empty(model.n_sections, np.int64)
    sorted_cells = cell_of_section[by_cell]
    rank[by_cell] = np.arange(model.n_sections) - np.searchsorted(sorted_cells, sorted_cells)
    sections = section_of_segment[order]
    return order, cell_of_section[sections], rank[sections], model.segment_x[order]


def write_sonata(cache, model, folder, *, population="neuron_live"):
    """Write nodes, spikes and report of `cache` (frames done) into `folder`; {name: path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"nodes": folder / "nodes.h5", "node_types": folder / "node_types.csv",
             "spikes": folder / "spikes.h5", "report": folder / "report.h5"}
    write_nodes(paths["nodes"], paths["node_types"], model, population)
    node_ids, times = run_spikes(cache, model)
    write_spikes(paths["spikes"], population, node_ids, times)
    write_report(paths["report"], population, cache, model)
    return paths


def cell_somata(model):
    """(C, 3) soma centre of every cell (mean of its soma's points)."""
    out = np.zeros((len(model.cell_names), 3))
    for cell, section in enumerate(cell_roots(model)):
        if section >= 0:
            a, b = model.section_point_start[section], model.section_point_start[section + 1]
            out[cell] = model.points[a:b, :3].mean(axis=0) if b > a else 0.0
    return out


def write_nodes(path, types_path, model, population):
    n = len(model.cell_names)
    centres = cell_somata(model) if n else np.zeros((0, 3))
    with h5py().File(path, "w") as f:
        group = f.create_group(f"nodes/{population}")
        group["node_id"] = np.arange(n, dtype=np.uint64)
        group["node_type_id"] = np.zeros(n, np.uint64)
        group["node_group_id"] = np.zeros(n, np.uint32)
        group["node_group_index"] = np.arange(n, dtype=np.uint64)
        for k, axis in enumerate("xyz"):
            group[f"0/{axis}"] = centres[:, k]
            group[f"0/rotation_angle_{axis}axis"] = np.zeros(n)
    Path(types_path).write_text("node_type_id model_type\n0 biophysical\n")


def run_spikes(cache, model):
    """(node ids, ms) of the run's spikes: NEURON's own record, else soma crossings of 0 mV."""
    data = spike_files.load(cache.folder)
    if data is not None and len(data["source_cell"]):
        return data["source_cell"][data["source"]].astype(np.int64), data["time"]
    if cache.meta["variable"] != "v":
        return np.zeros(0, np.int64), np.zeros(0)
    roots = cell_roots(model)
    cells = np.flatnonzero(roots >= 0)
    done = cache.frames_done
    times = np.arange(done) / cache.meta["frames_per_ms"]
    time, column = spike_files.crossings(np.asarray(cache.frames[:done])[:, middle_segment(model, roots[cells])],
                                         times)
    return cells[column].astype(np.int64), time


def write_spikes(path, population, node_ids, times):
    order = np.argsort(times, kind="stable")
    with h5py().File(path, "w") as f:
        group = f.create_group(f"spikes/{population}")
        group.attrs.create("sorting", SORTING["by_time"], dtype=h5py().enum_dtype(SORTING, basetype="u1"))
        group["timestamps"] = np.asarray(times, np.float64)[order]
        group["timestamps"].attrs["units"] = "ms"
        group["node_ids"] = np.asarray(node_ids, np.uint64)[order]


def write_report(path, population, cache, model):
    order, nodes, elements, positions = column_order(model)
    n_cells, done = len(model.cell_names), cache.frames_done
    dt = 1.0 / cache.meta["frames_per_ms"]
    start = float(cache.meta.get("t_start", 0.0))
    pointers = np.concatenate([[0], np.cumsum(np.bincount(nodes, minlength=n_cells))]).astype(np.uint64)
    with h5py().File(path, "w") as f:
        group = f.create_group(f"report/{population}")
        data = group.create_dataset("data", (done, len(order)), np.float32,
                                    chunks=(max(1, min(done, 64)), max(1, min(len(order), 4096))) if done else None)
        data.attrs["units"] = cache.meta.get("units") or ""
        data.attrs["variable"] = cache.meta["variable"]
        mapping = group.create_group("mapping")
        mapping["node_ids"] = np.arange(n_cells, dtype=np.uint64)
        mapping["index_pointers"] = pointers
        mapping["index_pointer"] = mapping["index_pointers"]  # a hard link: BMTK 1.2 reads this name
        mapping["element_ids"] = elements.astype(np.uint32)
        mapping["element_pos"] = positions.astype(np.float32)
        mapping["time"] = np.array([start, start + done * dt, dt])
        mapping["time"].attrs["units"] = "ms"
        step = max(1, BLOCK_BYTES // max(4 * len(order), 1))
        direct = np.array_equal(order, np.arange(len(order)))
        for a in range(0, done, step):
            block = np.asarray(cache.frames[a:a + step], np.float32)
            data[a:a + len(block)] = block if direct else block[:, order]
