"""A SONATA compartment report, read lazily: the mapping up front (small), the data
[times × columns] only in the blocks of rows asked for (a 10,000-cell report of 10,000
frames is tens of GB). No bpy.

Every check that can be made without reading the data is made when the report opens,
and its last row is read once, so a truncated file is refused before anything is built.
"""
import numpy as np

from .sonata import SonataError, open_h5, pick_population, time_scale

DATA_UNITS = {"v": {"mV"}}  # a variable whose units we know; others are shown as written


class Report:
    def __init__(self, path, population=None, variable=None):
        self.path = path
        self.file = open_h5(path)
        try:
            self._open(population, variable)
        except Exception:
            self.file.close()
            raise

    def _open(self, population, variable):
        path, f = self.path, self.file
        if "report" not in f:
            raise SonataError(f"{path}: no /report group: not a SONATA compartment report")
        self.population = pick_population(path, f["report"], population, "report")
        group = f["report"][self.population]
        self.where = f"{path}: /report/{self.population}"
        if "data" not in group or "mapping" not in group:
            raise SonataError(f"{self.where} needs data and mapping")
        self.data = group["data"]
        mapping = group["mapping"]
        self.node_ids = self._mapping(mapping, "node_ids", np.int64)
        pointers = "index_pointers" if "index_pointers" in mapping else "index_pointer"  # BMTK 1.2 spelling
        self.index_pointers = self._mapping(mapping, pointers, np.int64, "index_pointers")
        self.element_ids = self._mapping(mapping, "element_ids", np.int64)
        self.element_pos = self._mapping(mapping, "element_pos", np.float64) if "element_pos" in mapping else None
        self._check_mapping()
        self._read_time(mapping)
        self.variable = variable or _text(self.data.attrs.get("variable", "v"))
        self.units = _text(self.data.attrs.get("units", "mV" if self.variable == "v" else ""))
        known = DATA_UNITS.get(self.variable)
        if known and self.units not in known:
            raise SonataError(f"{self.where}/data units are {self.units!r}; {self.variable} must be in "
                              f"{', '.join(sorted(known))}")
        self.rows(self.n_times - 1, self.n_times)  # a truncated file fails here, not half-way through

    def _mapping(self, mapping, name, dtype, label=None):
        if name not in mapping:
            raise SonataError(f"{self.where}/mapping/{label or name} is missing")
        try:
            return np.asarray(mapping[name][()], dtype=dtype).ravel()
        except (OSError, ValueError, TypeError) as exc:
            raise SonataError(f"{self.where}/mapping/{name} cannot be read (truncated file?): {exc}") from exc

    def _check_mapping(self):
        where, pointers, n_nodes = self.where, self.index_pointers, len(self.node_ids)
        if self.data.ndim != 2:
            raise SonataError(f"{where}/data has shape {self.data.shape}; expected [times × columns]")
        columns = self.data.shape[1]
        if len(pointers) != n_nodes + 1:
            raise SonataError(f"{where}/mapping/index_pointers has {len(pointers)} entries; "
                              f"{n_nodes} node_ids need {n_nodes + 1}")
        if pointers[0] != 0 or (np.diff(pointers) < 0).any() or pointers[-1] != columns:
            raise SonataError(f"{where}/mapping/index_pointers must rise from 0 to the {columns} columns of data "
                              f"(they go from {int(pointers[0])} to {int(pointers[-1])})")
        for name in ("element_ids", "element_pos"):
            values = getattr(self, name)
            if values is not None and len(values) != columns:
                raise SonataError(f"{where}/mapping/{name} has {len(values)} entries; data has {columns} columns")
        if len(self.element_ids) and self.element_ids.min() < 0:
            raise SonataError(f"{where}/mapping/element_ids holds negative section ids")
        if self.element_pos is not None and ((self.element_pos < 0) | (self.element_pos > 1)).any():
            raise SonataError(f"{where}/mapping/element_pos must lie in 0..1 (positions along a section)")

    def _read_time(self, mapping):
        time = self._mapping(mapping, "time", np.float64)
        if len(time) != 3:
            raise SonataError(f"{self.where}/mapping/time must be [start, stop, dt], not {len(time)} values")
        scale = time_scale(self.path, mapping["time"], f"/report/{self.population}/mapping/time units")
        self.start, self.stop, self.dt = (float(v) * scale for v in time)
        if not self.dt > 0 or not self.stop > self.start:
            raise SonataError(f"{self.where}/mapping/time [{self.start}, {self.stop}, {self.dt}] ms needs "
                              "dt > 0 and stop > start")
        self.n_times = int(round((self.stop - self.start) / self.dt))  # stop exclusive
        if self.data.shape[0] != self.n_times:
            raise SonataError(f"{self.where}/data has {self.data.shape[0]} rows but mapping/time "
                              f"[{self.start:g}, {self.stop:g}, {self.dt:g}] ms makes {self.n_times}")

    @property
    def n_columns(self):
        return self.data.shape[1]

    def column_nodes(self):
        """The node id of every column."""
        return np.repeat(self.node_ids, np.diff(self.index_pointers))

    def rows(self, start, stop):
        """Rows start..stop-1 as float32 (times × columns)."""
        try:
            return np.asarray(self.data[start:stop], dtype=np.float32)
        except (OSError, ValueError) as exc:
            raise SonataError(f"{self.where}/data rows {start}..{stop - 1} cannot be read "
                              f"(truncated file?): {exc}") from exc

    def close(self):
        self.file.close()


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)
