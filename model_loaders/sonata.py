"""Read SONATA (the format BMTK, NetPyNE, CoreNEURON and neurodamus write): which files a
config names, the nodes of a population, its spikes and its compartment report. No bpy.

h5py reads the HDF5 files (imported only when a SONATA file is opened). libsonata 0.2.2 has
wheels for every Python and platform we ship, but it reads only (we also write: see
addon/engine/sonata_write.py) and refuses files BMTK 1.2 writes (a report's
`mapping/index_pointer`, a spike file's `sorting` as a string): the field's peers read
both spellings, and so do we. Every refusal names the file and the field.

Layout (SONATA spec): nodes `/nodes/<pop>/{node_type_id, node_group_id, node_group_index,
<group>/<attribute>}` plus a node-types CSV (space separated) for attributes shared by a
type; spikes `/spikes/<pop>/{timestamps, node_ids}`; a report `/report/<pop>/data`
[times × columns] with `mapping/{node_ids, index_pointers, element_ids, element_pos,
time = [start, stop, dt] (stop exclusive)}`.
"""
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelLoadError

SONATA_SUFFIXES = {".json", ".h5", ".hdf5", ".sonata"}
TIME_UNITS = {"ms": 1.0, "s": 1000.0}
REPORT_MODULES = {"membrane_report", "compartment", "compartment_report"}


class SonataError(ModelLoadError):
    """A SONATA file (or the set of them) cannot be shown; the message names file and field."""


def h5py():
    """h5py, imported only when a SONATA file is opened (enabling the add-on stays fast)."""
    try:
        import h5py as module
    except ImportError as exc:
        raise SonataError("Reading SONATA needs h5py (bundled with NEURON Live; outside Blender: "
                          "pip install h5py)") from exc
    return module


def open_h5(path):
    """An HDF5 file opened read-only; a truncated or foreign file is named, not a traceback."""
    path = Path(path)
    if not path.is_file():
        raise SonataError(f"{path}: no such file")
    try:
        return h5py().File(path, "r")
    except OSError as exc:
        raise SonataError(f"{path}: not a readable HDF5 file (truncated or not HDF5?): {exc}") from exc


@dataclass
class SonataFiles:
    """What one SONATA data set consists of (paths; None where absent)."""
    source: Path
    nodes: list = field(default_factory=list)  # [(nodes .h5, node types .csv or None)]
    morphologies: list = field(default_factory=list)  # folders to find morphology files in
    spikes: Path = None
    report: Path = None
    population: str = None


# -- configs ---------------------------------------------------------------------------------
def _read_json(path):
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SonataError(f"{path}: not a readable JSON config ({exc})") from exc
    if not isinstance(data, dict):
        raise SonataError(f"{path}: a SONATA config is a JSON object, not {type(data).__name__}")
    return data


def _expand(value, variables):
    """`$NAME` / `${NAME}` of the manifest replaced, again until nothing changes."""
    if isinstance(value, dict):
        return {k: _expand(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, variables) for v in value]
    if not isinstance(value, str):
        return value
    for _ in range(10):
        new = re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), variables.get("$" + m.group(1), m.group(0))),
                     value)
        if new == value:
            break
        value = new
    return value


def read_config(path):
    """A config with its manifest applied; relative paths are taken from its folder."""
    path = Path(path).resolve()
    data = _read_json(path)
    variables = {"configdir": str(path.parent), "workingdir": str(path.parent)}
    for name, value in (data.get("manifest") or {}).items():
        variables[name.lstrip("$")] = _expand(str(value), variables)
    data = _expand({k: v for k, v in data.items() if k != "manifest"}, variables)
    data["_folder"] = path.parent
    return data


def _resolve(config, value):
    return None if value in (None, "") else (config["_folder"] / value).resolve()


def find_files(path, *, spikes=None, report=None, morphologies=None, population=None):
    """The files of the data set `path` names: a simulation or circuit config (.json), or a
    nodes .h5 (its morphologies, spikes and report looked for beside it); keyword arguments
    override what was found."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        found = _from_config(path)
    else:
        found = _beside_nodes(path)
    found.spikes = Path(spikes) if spikes else found.spikes
    found.report = Path(report) if report else found.report
    found.population = population or found.population
    if morphologies:
        found.morphologies.insert(0, Path(morphologies))
    if not found.nodes:
        raise SonataError(f"{path}: names no nodes file (networks.nodes[].nodes_file)")
    return found


def _from_config(path):
    config = read_config(path)
    if not any(key in config for key in ("networks", "network", "output", "reports", "components")):
        raise SonataError(f"{path}: not a SONATA config (none of networks, network, output, reports)")
    found = SonataFiles(source=path)
    circuit = config
    if isinstance(config.get("network"), str):  # a simulation config naming its circuit config
        circuit = read_config(_resolve(config, config["network"]))
    _add_circuit(found, circuit, path)
    _add_outputs(found, config)
    return found


def _add_circuit(found, circuit, path):
    nodes = (circuit.get("networks") or {}).get("nodes") or []
    if not isinstance(nodes, list):
        raise SonataError(f"{path}: networks.nodes must be a list")
    for entry in nodes:
        if "nodes_file" not in entry:
            raise SonataError(f"{path}: a networks.nodes entry has no nodes_file")
        found.nodes.append((_resolve(circuit, entry["nodes_file"]), _resolve(circuit, entry.get("node_types_file"))))
        folder = _morphology_folder(circuit, entry)
        if folder is not None:
            found.morphologies.append(folder)
    folder = _morphology_folder(circuit, {})
    if folder is not None:
        found.morphologies.append(folder)


def _morphology_folder(circuit, entry):
    components = {**(circuit.get("components") or {}), **(entry.get("components") or {})}
    for key in ("morphologies_dir", "alternate_morphologies"):
        value = components.get(key)
        if isinstance(value, dict):  # {"neurolucida-asc": dir, "h5v1": dir}
            value = value.get("neurolucida-asc") or next(iter(value.values()), None)
        if value:
            return _resolve(circuit, value)
    return None


def _add_outputs(found, config):
    output = config.get("output") or {}
    folder = _resolve(config, output.get("output_dir", ".")) or config["_folder"]
    if output.get("spikes_file"):
        found.spikes = folder / output["spikes_file"]
    for name, report in (config.get("reports") or {}).items():
        kind = str(report.get("module", report.get("type", ""))).lower()
        if kind in REPORT_MODULES and report.get("enabled", True):
            found.report = folder / report.get("file_name", f"{name}.h5")
            break


def _beside_nodes(path):
    folder = path.resolve().parent
    found = SonataFiles(source=path, nodes=[(path.resolve(), _types_beside(path))])
    for candidate in (folder / "morphologies", folder.parent / "morphologies",
                      folder.parent / "components" / "morphologies", folder):
        if candidate.is_dir():
            found.morphologies.append(candidate)
    for out in (folder, folder / "output", folder.parent / "output"):
        if found.spikes is None and (out / "spikes.h5").is_file():
            found.spikes = out / "spikes.h5"
        if found.report is None and out.is_dir():
            found.report = next((p for p in sorted(out.glob("*.h5")) if _is_report(p)), None)
    return found


def _types_beside(path):
    name = Path(path).name.replace("_nodes.h5", "_node_types.csv").replace("nodes.h5", "node_types.csv")
    candidate = Path(path).with_name(name)
    return candidate if candidate.is_file() and candidate != Path(path) else None


def _is_report(path):
    try:
        with h5py().File(path, "r") as f:
            return "report" in f
    except OSError:
        return False


# -- node types CSV ---------------------------------------------------------------------------
def read_node_types(path):
    """{node_type_id: {column: value}} from a node-types CSV (space separated)."""
    if path is None:
        return {}
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter=" ", skipinitialspace=True))
    except OSError as exc:
        raise SonataError(f"{path}: cannot read the node types ({exc})") from exc
    if rows and "node_type_id" not in rows[0]:
        raise SonataError(f"{path}: node types need a node_type_id column (found {', '.join(rows[0])})")
    try:
        return {int(row["node_type_id"]): row for row in rows}
    except (TypeError, ValueError) as exc:
        raise SonataError(f"{path}: node_type_id must be an integer ({exc})") from exc


def pick_population(path, group, wanted, field_name):
    """The population `wanted` of `group` (its only one when not given), named clearly."""
    names = sorted(group.keys())
    if wanted is None:
        if len(names) != 1:
            raise SonataError(f"{path}: /{field_name} holds {len(names)} populations ({', '.join(names)}): "
                              "pass population=")
        return names[0]
    if wanted not in names:
        raise SonataError(f"{path}: /{field_name} has no population {wanted!r} (it has {', '.join(names) or 'none'})")
    return wanted


def time_scale(path, dataset, field_name, default="ms"):
    """Factor to ms from a dataset's `units` attribute."""
    units = dataset.attrs.get("units", default)
    units = units.decode() if isinstance(units, bytes) else str(units)
    if units not in TIME_UNITS:
        raise SonataError(f"{path}: {field_name} is in {units!r}; expected one of {', '.join(TIME_UNITS)}")
    return TIME_UNITS[units]


def read_spikes(path, population):
    """(node_ids int64, times float64 ms) of `population`, sorted by time."""
    with open_h5(path) as f:
        if "spikes" not in f:
            raise SonataError(f"{path}: no /spikes group: not a SONATA spike file")
        spikes = f["spikes"]
        if population not in spikes:
            if len(spikes.keys()) == 0:  # BMTK writes an empty /spikes when nothing fired
                return np.zeros(0, np.int64), np.zeros(0, np.float64)
            pick_population(path, spikes, population, "spikes")
        group = spikes[population]
        for name in ("timestamps", "node_ids"):
            if name not in group:
                raise SonataError(f"{path}: /spikes/{population}/{name} is missing")
        scale = time_scale(path, group["timestamps"], f"/spikes/{population}/timestamps units")
        times, ids = _read(path, group, "timestamps", np.float64) * scale, _read(path, group, "node_ids", np.int64)
    if len(times) != len(ids):
        raise SonataError(f"{path}: /spikes/{population}: {len(times)} timestamps but {len(ids)} node_ids")
    order = np.argsort(times, kind="stable")
    return ids[order], times[order]


def _read(path, group, name, dtype):
    try:
        return np.asarray(group[name][()], dtype=dtype)
    except (OSError, ValueError, TypeError) as exc:
        raise SonataError(f"{path}: {group.name}/{name} cannot be read (truncated file?): {exc}") from exc
