"""Check an SWC file before NEURON's Import3d reads it.

NEURON 9's SWC reader trusts its input: a missing parent id, a duplicate id or a NaN
coordinate crash the whole process (Blender with it), and a loop in the parent chain
or a parent listed after its child ends in "Arg out of range". Everything it needs is
checked here first, so a bad file gets `file:line: what is wrong` instead.

Radii must be finite and >= 0: negative ones make negative diameters (a nonsense
membrane area); zero is allowed because real reconstructions have zero-radius tips and
NEURON reads them (a section made only of such points shows up as NaN when run).
"""
import math

import numpy as np

from .errors import ModelLoadError

FIELDS = "id type x y z radius parent"
# Import3d allocates a table as long as the largest id (8 bytes per entry).
MAX_ID = 10_000_000


def check_swc(path):
    """Raise `ModelLoadError` naming `path:line` for the first problem; return the point count."""
    table, lines = _parse(path)
    if not len(table):
        raise ModelLoadError(f"{path}: no SWC points (lines of {FIELDS}) in the file")
    ids, parents = table[:, 0].astype(np.int64), table[:, 6].astype(np.int64)
    _check_numbers(path, table, lines)
    _check_ids(path, ids, lines)
    parent_index = _check_parents(path, ids, parents, lines)
    _check_loops(path, ids, parent_index, parents < 0, lines)
    _check_order(path, ids, parents, lines)
    return len(table)


def _fail(path, line, message):
    raise ModelLoadError(f"{path}:{line}: {message}")


def _parse(path):
    """(points × 7 float array, line number of each point); comments and blank lines skipped."""
    rows, lines = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) < 7:
                _fail(path, number, f"expected 7 numbers ({FIELDS}), found {len(fields)}: {line.strip()[:60]!r}")
            rows.append(_numbers(path, number, fields[:7]))
            lines.append(number)
    return np.array(rows, dtype=np.float64).reshape(-1, 7), np.array(lines, dtype=np.int64)


def _numbers(path, number, fields):
    bad = next((field for field in fields if not _is_number(field)), None)
    if bad is not None:
        _fail(path, number, f"{bad[:30]!r} is not a number (expected {FIELDS})")
    return [float(field) for field in fields]


def _is_number(text):
    if "_" in text:  # Python reads 1_0 as 10; NEURON's sscanf would not
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_numbers(path, table, lines):
    """Integer ids, finite coordinates, radii >= 0 (see the module note)."""
    for column, name in ((0, "id"), (6, "parent id")):
        values = table[:, column]
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            i = int(np.argmax(bad))
            _fail(path, lines[i], f"{name} {values[i]:g} is not an integer")
    finite = np.isfinite(table[:, 2:6])
    if not finite.all():
        i, column = np.argwhere(~finite)[0]
        name = ("x", "y", "z", "radius")[column]
        _fail(path, lines[i], f"{name} is {table[i, 2 + column]:g}; coordinates and radii must be finite numbers")
    negative = table[:, 5] < 0
    if negative.any():
        i = int(np.argmax(negative))
        _fail(path, lines[i], f"radius {table[i, 5]:g} is negative")


def _check_ids(path, ids, lines):
    out_of_range = (ids < 0) | (ids > MAX_ID)
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        _fail(path, lines[i], f"id {ids[i]} is outside 0..{MAX_ID:,}")
    order = np.argsort(ids, kind="stable")
    repeated = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(repeated):
        # The duplicate that comes first in the file, reported at its second use.
        pairs = [(lines[order[k + 1]], lines[order[k]]) for k in repeated]
        second, first = min(pairs)
        _fail(path, second, f"id {ids[lines == second][0]} is used again (first on line {first})")


def _check_parents(path, ids, parents, lines):
    """Index of each point's parent (a root points to itself); every parent must exist."""
    order = np.argsort(ids)
    position = np.clip(np.searchsorted(ids[order], parents), 0, len(ids) - 1)
    found = ids[order][position] == parents
    root = parents < 0
    missing = ~found & ~root
    if missing.any():
        i = int(np.argmax(missing))
        _fail(path, lines[i], f"parent id {parents[i]} does not exist")
    if not root.any():
        _fail(path, lines[0], "no root point (a point whose parent id is -1)")
    return np.where(root, np.arange(len(ids)), order[position])


def _check_loops(path, ids, parent_index, root, lines):
    """Every parent chain must end at a root: pointer jumping, log2(n) vectorised steps."""
    up = parent_index.copy()
    for _ in range(math.ceil(math.log2(max(len(up), 2))) + 1):
        up = up[up]
    stuck = ~root[up]  # the chain ends in a loop, not at a root
    if stuck.any():
        loop = _loop_from(int(np.argmax(stuck)), parent_index)
        start = min(loop, key=lambda i: lines[i])
        at = loop.index(start)
        shown = [int(ids[i]) for i in loop[at:] + loop[:at]][:6]
        chain = " → ".join(map(str, shown + [shown[0]] if len(loop) <= 6 else shown + ["…"]))
        _fail(path, lines[start], f"parent ids loop ({chain}) and never reach a root")


def _loop_from(start, parent_index):
    """The points of the loop that the chain from `start` runs into (only on error)."""
    seen, path, i = {}, [], start
    while i not in seen:
        seen[i] = len(path)
        path.append(i)
        i = int(parent_index[i])
    return path[seen[i]:]


def _check_order(path, ids, parents, lines):
    """NEURON's reader needs parents listed with a smaller id, and ids increasing."""
    later = (parents >= 0) & (parents >= ids)
    if later.any():
        i = int(np.argmax(later))
        _fail(path, lines[i], f"parent id {parents[i]} is not smaller than the point's id {ids[i]}; "
                              "NEURON's SWC reader needs parents numbered before their children "
                              "(renumber the points)")
    backwards = np.flatnonzero(ids[1:] < ids[:-1])
    if len(backwards):
        i = int(backwards[0]) + 1
        _fail(path, lines[i], f"id {ids[i]} comes after id {ids[i - 1]} (line {lines[i - 1]}); "
                              "NEURON's SWC reader needs the points in increasing id order")
