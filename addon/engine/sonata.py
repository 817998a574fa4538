"""Open a SONATA data set (nodes, morphologies, spikes, a compartment report) as a `Model`
and a frame cache, without bpy.

Everything that can be wrong is checked before the caller touches its scene: the config
and the files it names, the population, every node's morphology file, the report's
mapping against the nodes and their morphologies, its time axis and units, and its last
row (a truncated file). Only then is the frame cache made; `fill` then copies the report
into it block by block (a few MB at a time, never the whole report in memory), so
playback starts with the first block while the rest arrives.

Morphologies are read by NEURON's own Import3d (`load_morphology`, given by the caller:
a NEURON process of its own, so Blender's NEURON never holds them), once per file however
many cells share it: the section order is Import3d's, which is what `element_ids` count.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...model_loaders.model import Model
from ...model_loaders.model_io import save_model
from ...model_loaders.sonata import SonataError, find_files, read_spikes
from ...model_loaders.sonata_flashes import SpikeFlashes
from ...model_loaders.sonata_nodes import VIRTUAL, read_nodes
from ...model_loaders.sonata_place import column_sections, place_cells, section_layout, segments_of_columns
from ...model_loaders.sonata_report import Report
from .cache import FrameCache
from .spikes import SPIKES_FILE

MODEL_FILE = "model.npz"
MORPHOLOGY_SUFFIXES = ("", ".swc", ".asc", ".ASC", ".SWC")
BLOCK_BYTES = 8 << 20  # rows read from the report at a time
TUBE_CELLS = 300  # more cells than this: the rest as centre lines (`detail_groups`)
POINT_TYPES = {"point_process", "point_neuron", "point_soma", "single_compartment"}
POINT = "point soma"  # a node of a point type without a morphology
POINT_DIAMETER = 10.0  # µm


@dataclass
class Opened:
    """A data set ready to show: its Model, the cache, and what `fill` copies into it."""
    model: object
    cache: FrameCache
    report: Report
    column_segment: np.ndarray  # segment of every report column
    files: object
    n_spikes: int


def open_sonata(path, folder, load_morphology, *, population=None, spikes=None, report=None, morphologies=None):
    """Check and read the data set at `path` (a config .json or a nodes .h5); the frame
    cache is made at `folder` (empty: `fill` copies the report in)."""
    files = find_files(path, spikes=spikes, report=report, morphologies=morphologies, population=population)
    if files.report is None and files.spikes is None:
        raise SonataError(f"{path}: names neither a compartment report (reports.<name> with module "
                          "membrane_report) nor a spike file (output.spikes_file); pass report= or spikes=")
    opened_report = Report(files.report, files.population) if files.report is not None else None
    try:
        return _build(path, files, opened_report, folder, load_morphology)
    except Exception:
        if opened_report is not None:
            opened_report.close()
        raise


def _build(path, files, report, folder, load_morphology):
    """`report` None: the spikes flash on the somata instead (`SpikeFlashes`)."""
    nodes = _nodes_of(files, report.population if report is not None else files.population)
    rows = np.array([i for i, kind in enumerate(nodes.model_type) if kind not in VIRTUAL], np.int64)
    if report is None:
        report = SpikeFlashes(files.spikes, nodes, rows)
    paths = _morphology_files(nodes, rows, files)
    loaded = {p: point_soma(path) if p == POINT else _one_cell(load_morphology(p), p) for p in dict.fromkeys(paths)}
    morphs = [loaded[p] for p in paths]
    cell_of_row = np.full(len(nodes), -1, np.int64)
    cell_of_row[rows] = np.arange(len(rows))
    first_section, _ = section_layout(morphs)
    section_of_column = column_sections(report, nodes, cell_of_row, morphs, first_section)
    nseg, column_segment = segments_of_columns(section_of_column, report.element_pos, int(first_section[-1]))
    names = [f"{nodes.population}[{int(nodes.node_id[r])}]" for r in rows]
    model = place_cells(path, nodes, rows, morphs, nseg, names)
    raster = _spike_arrays(files, nodes, cell_of_row, model)
    cache = FrameCache.create(folder, report.n_times, model.n_segments,
                              segments=(model.segment_section, model.segment_x),
                              variable=report.variable, frames_per_ms=1.0 / report.dt, model=str(path),
                              source="SONATA", section_names=model.section_names, t_start=report.start,
                              sonata={"report": str(report.path), "population": report.population,
                                      "nodes": [str(n) for n, _ in files.nodes]})
    cache.meta["units"] = report.units
    save_model(model, cache.folder / MODEL_FILE)
    if raster is not None:
        np.savez(cache.folder / SPIKES_FILE, **raster)
    return Opened(model, cache, report, column_segment, files, 0 if raster is None else len(raster["time"]))


def _nodes_of(files, population):
    """The NodeTable of `population` from whichever nodes file holds it."""
    problems = []
    for nodes_path, types_path in files.nodes:
        try:
            return read_nodes(nodes_path, types_path, population)
        except SonataError as exc:
            if f"population {population!r}" not in str(exc):
                raise
            problems.append(str(exc))
    raise SonataError("; ".join(problems) or f"{files.source}: no nodes file holds population {population!r}")


def _morphology_files(nodes, rows, files):
    """The morphology file of each node row; every missing one is found before any loads."""
    found, missing, cache = [], [], {}
    for row in rows:
        name = nodes.morphology[row]
        if nodes.model_type[row] in POINT_TYPES and not name:
            found.append(POINT)
            continue
        if not name:
            kind = nodes.model_type[row] or "no model_type"
            raise SonataError(f"{nodes.path}: node {int(nodes.node_id[row])} ({kind}) "
                              "has no morphology (field morphology, in its group or node types)")
        if name not in cache:
            cache[name] = _find_morphology(name, files.morphologies)
            if cache[name] is None:
                missing.append(name)
        found.append(cache[name])
    if missing:
        folders = ", ".join(str(f) for f in files.morphologies) or "no morphologies_dir given"
        raise SonataError(f"{nodes.path}: morphology {missing[0]!r} (field morphology; {len(missing)} missing in all) "
                          f"is not in {folders}")
    return found


def _find_morphology(name, folders):
    if name.endswith((".h5", ".H5")):
        raise SonataError(f"morphology {name!r}: HDF5 morphologies are not read yet; give SWC or ASC files")
    for folder in folders:
        for suffix in MORPHOLOGY_SUFFIXES:
            candidate = Path(folder) / (name + suffix)
            if candidate.is_file():
                return candidate.resolve()
    return None


def point_soma(path):
    """A one-section soma (a 10 µm cylinder along x) for a point neuron's node."""
    half = POINT_DIAMETER / 2
    points = np.array([[-half, 0, 0, POINT_DIAMETER], [half, 0, 0, POINT_DIAMETER]], np.float32)
    return Model(path=str(path), section_names=["soma"], section_type=np.array([1], np.int8),
                 section_cell=np.zeros(1, np.int32), section_parent=np.full(1, -1, np.int32),
                 section_length=np.array([POINT_DIAMETER], np.float32),
                 section_point_start=np.array([0, 2], np.int64), section_segment_start=np.array([0, 1], np.int64),
                 points=points, point_arc=np.array([0.0, 1.0], np.float32), cell_names=["point"])


def _one_cell(model, path):
    if len(model.cell_names) != 1:
        raise SonataError(f"{path}: a node's morphology must hold one cell, this one holds {len(model.cell_names)}")
    return model


def _spike_arrays(files, nodes, cell_of_row, model):
    """The spike file of the population as the arrays of our raster (`spikes.npz`)."""
    if files.spikes is None or not Path(files.spikes).is_file():
        return None
    node_ids, times = read_spikes(files.spikes, nodes.population)
    rows = nodes.row_of(node_ids, f"{files.spikes}: /spikes/{nodes.population}/node_ids")
    cells = cell_of_row[rows]
    kept = cells >= 0  # spikes of virtual (input) nodes have no cell to show them on
    n = len(model.cell_names)
    roots = np.searchsorted(model.section_cell, np.arange(n)).astype(np.int32)  # each cell's first: its soma
    return dict(time=times[kept], source=cells[kept].astype(np.int32), source_section=roots,
                source_x=np.full(n, 0.5, np.float32), source_cell=np.arange(n, dtype=np.int32),
                source_threshold=np.full(n, np.nan, np.float32), source_added=np.zeros(n, bool), error=np.array(""))


def detail_groups(model, tube_cells=TUBE_CELLS):
    """Level of detail by cell count: up to `tube_cells` cells as full tubes, the ones
    nearest the population's centre (where the camera aims); the others as centre lines
    (a tenth of the vertices: 10,000 cells then build in seconds and play at ~10 ms a
    frame). None when every cell fits as tubes: the scene's own groups apply."""
    n = len(model.cell_names)
    if n <= tube_cells:
        return None
    first = model.section_point_start[np.searchsorted(model.section_cell, np.arange(n))]
    somata = model.points[first, :3].astype(np.float64)
    distance = np.linalg.norm(somata - somata.mean(axis=0), axis=1)
    near = np.sort(np.argsort(distance, kind="stable")[:tube_cells])
    far = np.setdiff1d(np.arange(n), near)
    return [{"name": f"near: {len(near)} cells as tubes", "cells": near.tolist()},
            {"name": f"far: {len(far)} cells as lines", "cells": far.tolist(), "options": {"as_lines": True}}]


def fill(opened, *, progress=lambda done, total: None, cancelled=lambda: False):
    """Copy the report into the cache in blocks of rows; returns the frames done. A
    report whose columns are the segments in order is copied as is, else scattered."""
    cache, report, columns = opened.cache, opened.report, opened.column_segment
    total, n_segments = report.n_times, cache.meta["n_segments"]
    direct = len(columns) == n_segments and np.array_equal(columns, np.arange(n_segments))
    step = max(1, BLOCK_BYTES // max(4 * max(report.n_columns, n_segments), 1))
    try:
        for start in range(0, total, step):
            if cancelled():
                cache.finish(complete=False, cancelled=True)
                return cache.frames_done
            block = report.rows(start, min(start + step, total))
            if not direct:
                scattered = np.full((len(block), n_segments), np.nan, np.float32)
                scattered[:, columns] = block
                block = scattered
            cache.frames[start:start + len(block)] = block
            cache.meta["frames_done"] = start + len(block)
            progress(cache.frames_done, total)
    except Exception as exc:
        cache.finish(complete=False, error=str(exc))
        raise
    finally:
        report.close()
    cache.finish(complete=True)
    return cache.frames_done
