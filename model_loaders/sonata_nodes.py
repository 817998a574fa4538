"""The nodes of a SONATA population: where each cell sits, how it is turned, which
morphology it has. No bpy.

An attribute lives either per node in the node's group (`/nodes/<pop>/<group>/<name>`,
indexed by `node_group_index`) or per node type in the node-types CSV; the group wins.
Rotation: `orientation_{w,x,y,z}` (a quaternion), else `rotation_angle_{x,y,z}axis`
(radians) composed as BMTK does (see `euler_matrices`), turning the morphology about its
soma centre before the soma goes to x, y, z.
"""
from dataclasses import dataclass

import numpy as np

from .sonata import SonataError, open_h5, pick_population, read_node_types

VIRTUAL = {"virtual"}  # BMTK's input cells: spikes only, no morphology, never in a report
MISSING = {"NULL", "None", "none", "nan", "NaN"}  # how node-types CSVs (BMTK's) write "no value"


@dataclass
class NodeTable:
    path: str
    population: str
    node_id: np.ndarray      # int64 (N,)
    position: np.ndarray     # float64 (N, 3) µm, the soma centre
    rotation: np.ndarray     # float64 (N, 3, 3)
    morphology: list         # str per node ('' for none)
    model_type: list         # str per node

    def __len__(self):
        return len(self.node_id)

    def row_of(self, node_ids, where):
        """Row of each node id; a clear error for ids this population lacks."""
        order = np.argsort(self.node_id)
        rows = np.searchsorted(self.node_id, node_ids, sorter=order)
        rows = order[np.minimum(rows, len(order) - 1)] if len(order) else rows
        bad = np.flatnonzero(self.node_id[rows] != node_ids) if len(order) else np.arange(len(node_ids))
        if len(bad):
            raise SonataError(f"{where} names node {int(node_ids[bad[0]])} (and {len(bad) - 1} more), which "
                              f"population {self.population!r} of {self.path} does not have "
                              f"({len(self)} nodes, ids {int(self.node_id.min()) if len(self) else 0}..)")
        return rows


def read_nodes(path, types_path=None, population=None):
    """The `NodeTable` of `population` (the file's only one when None)."""
    types = read_node_types(types_path)
    with open_h5(path) as f:
        if "nodes" not in f:
            raise SonataError(f"{path}: no /nodes group: not a SONATA nodes file")
        population = pick_population(path, f["nodes"], population, "nodes")
        group = f["nodes"][population]
        attributes = _Attributes(path, group, types, types_path)
        n = attributes.n
        node_id = _dataset(path, group, "node_id", np.int64) if "node_id" in group else np.arange(n)
        position = np.column_stack([attributes.numbers(axis, 0.0) for axis in "xyz"])
        rotation = _rotations(attributes, n)
        morphology = attributes.strings("morphology")
        model_type = attributes.strings("model_type")
    return NodeTable(str(path), population, node_id, position, rotation, morphology, model_type)


def _dataset(path, group, name, dtype):
    try:
        return np.asarray(group[name][()], dtype=dtype)
    except (OSError, ValueError, TypeError) as exc:
        raise SonataError(f"{path}: {group.name}/{name} cannot be read (truncated file?): {exc}") from exc


class _Attributes:
    """Per-node values of an attribute from the node groups, else from the node types."""

    def __init__(self, path, group, types, types_path):
        self.path, self.group, self.types, self.types_path = path, group, types, types_path
        if "node_type_id" not in group:
            raise SonataError(f"{path}: {group.name}/node_type_id is missing")
        self.type_id = _dataset(path, group, "node_type_id", np.int64)
        self.n = len(self.type_id)
        self.group_id = _dataset(path, group, "node_group_id", np.int64) if "node_group_id" in group \
            else np.zeros(self.n, np.int64)
        self.group_index = _dataset(path, group, "node_group_index", np.int64) if "node_group_index" in group \
            else np.arange(self.n)
        for name, values in (("node_group_id", self.group_id), ("node_group_index", self.group_index)):
            if len(values) != self.n:
                raise SonataError(f"{path}: {group.name}/{name} has {len(values)} entries, node_type_id {self.n}")
        missing = sorted(set(self.type_id.tolist()) - set(types)) if types else []
        if missing:
            raise SonataError(f"{types_path}: has no node_type_id {missing[0]}, which {path} "
                              f"{group.name}/node_type_id uses")

    def _per_group(self, name, dtype):
        """Values from the groups that hold `name` (None where a node's group does not)."""
        out, found = None, np.zeros(self.n, bool)
        for gid in np.unique(self.group_id):
            key = str(int(gid))
            if key in self.group and name in self.group[key]:
                rows = np.flatnonzero(self.group_id == gid)
                values = _dataset(self.path, self.group[key], name, dtype)
                index = self.group_index[rows]
                if len(index) and index.max() >= len(values):
                    raise SonataError(f"{self.path}: {self.group.name}/{key}/{name} has {len(values)} values "
                                      f"but node_group_index goes to {int(index.max())}")
                if out is None:
                    out = np.zeros(self.n, dtype) if dtype is not object else np.empty(self.n, object)
                out[rows], found[rows] = values[index], True
        return out, found

    def _from_types(self, name):
        values = [str(self.types.get(int(t), {}).get(name, "") or "") for t in self.type_id]
        return ["" if value in MISSING else value for value in values]

    def numbers(self, name, default=None):
        values, found = self._per_group(name, np.float64)
        if values is not None and found.all():
            return values
        typed = self._from_types(name)
        out = np.full(self.n, np.nan) if values is None else values
        for row in np.flatnonzero(~found):
            out[row] = _number(typed[row], default, self.types_path, name)
        return out

    def strings(self, name):
        values, found = self._per_group(name, object)
        typed = self._from_types(name)
        return [(_text(values[i]) if found[i] else typed[i]) for i in range(self.n)]

    def has(self, name):
        _, found = self._per_group(name, np.float64)
        return bool(found.any()) or any(name in row for row in self.types.values())


def _number(text, default, path, name):
    if text == "" or text in MISSING:
        return np.nan if default is None else default
    try:
        return float(text)
    except ValueError as exc:
        raise SonataError(f"{path}: column {name} holds {text!r}, not a number") from exc


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _rotations(attributes, n):
    if attributes.has("orientation_w"):
        w, x, y, z = (attributes.numbers(f"orientation_{k}", 0.0) for k in "wxyz")
        return quaternion_matrices(w, x, y, z)
    angles = [attributes.numbers(f"rotation_angle_{k}axis", 0.0) for k in "xyz"]
    return euler_matrices(*(np.nan_to_num(a) for a in angles))


def euler_matrices(ax, ay, az):
    """(N, 3, 3) Rx(ax) · Ry(-ay) · Rz(az), radians: what BMTK (whose nodes carry these
    angles) does; its Euler-Rodrigues matrix about y turns the other way. Measured against
    BMTK 1.2's own placement in tests/test_sonata.py."""
    def about(axis, angle):
        c, s = np.cos(angle), np.sin(angle)
        m = np.zeros((len(angle), 3, 3))
        i, j = [k for k in range(3) if k != axis]
        m[:, axis, axis] = 1.0
        m[:, i, i], m[:, i, j], m[:, j, i], m[:, j, j] = c, -s, s, c
        return m
    return about(0, np.asarray(ax)) @ about(1, -np.asarray(ay)) @ about(2, np.asarray(az))


def quaternion_matrices(w, x, y, z):
    """(N, 3, 3) rotation of unit quaternions (normalised first)."""
    q = np.column_stack([w, x, y, z]).astype(np.float64)
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = (q / np.where(norm > 0, norm, 1.0)).T
    return np.stack([
        np.column_stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)]),
        np.column_stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)]),
        np.column_stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]),
    ], axis=1)
