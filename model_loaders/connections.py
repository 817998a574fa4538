"""NetCons and point processes as flat numpy arrays (one walk at load time).

Locations are (section index, x) pairs in the `Model`'s section order; -1 marks an end
with no place in space (an artificial cell such as NetStim, or a NetCon that only
records spikes). `Model.locate` turns them into 3-D points.

An earlier model's objects may outlive its sections (hoc variables hold them). They are
told apart without holding on to them: its point processes lost their location, its
NetCons were switched off and detached (`retire_netcons`), and its artificial cells
feed no live NetCon.
"""
import numpy as np


def point_process_types(h):
    """(name, artificial?) of every point process type NEURON knows (IClamp, NetStim, …)."""
    types, name, found = h.MechanismType(1), h.ref(""), []
    for i in range(int(types.count())):
        types.select(i)
        types.selected(name)
        found.append((name[0], bool(types.is_artificial(i))))
    return found


def retire_netcons(h):
    """Switch off and detach every NetCon before the sections go: an event delivered to
    a synapse whose section was deleted crashes NEURON."""
    for nc in h.List("NetCon"):
        nc.active(False)
        nc.setpost(None)


def _retired(nc):
    return not nc.active() and nc.syn() is None


def live_netcons(h):
    return [nc for nc in h.List("NetCon") if not _retired(nc)]


def _where(index, segment):
    if segment is None:
        return -1, np.nan
    return index.get(segment.sec, -1), segment.x


def extract_point_processes(h, index, netcons):
    """Every point process instance: type index (into the returned names), section, x."""
    connected = {obj for nc in netcons for obj in (nc.pre(), nc.syn()) if obj is not None}
    names, kinds, sections, xs = [], [], [], []
    for name, artificial in point_process_types(h):
        instances = []
        for pp in h.List(name):
            if not artificial:
                if pp.has_loc():
                    instances.append((pp, *_where(index, pp.get_segment())))
            elif pp in connected:  # an artificial cell (NetStim, IntFire…) of this model
                instances.append((pp, -1, np.nan))
        if not instances:
            continue
        names.append(name)
        for _, section, x in instances:
            kinds.append(len(names) - 1)
            sections.append(section)
            xs.append(x)
    return {
        "point_process_names": names,
        "point_process_type": np.array(kinds, dtype=np.int16),
        "point_process_section": np.array(sections, dtype=np.int32),
        "point_process_x": np.array(xs, dtype=np.float32),
    }


def extract_netcons(index, netcons):
    """Every NetCon: source and target (section, x), weight[0], delay."""
    rows = []
    for nc in netcons:
        source = _where(index, nc.preseg())
        target = _where(index, nc.postseg() if nc.syn() is not None else None)
        rows.append((*source, *target, nc.weight[0] if nc.wcnt() else np.nan, nc.delay))
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return {
        "netcon_source_section": table[:, 0].astype(np.int32),
        "netcon_source_x": table[:, 1].astype(np.float32),
        "netcon_target_section": table[:, 2].astype(np.int32),
        "netcon_target_x": table[:, 3].astype(np.float32),
        "netcon_weight": table[:, 4].astype(np.float32),
        "netcon_delay": table[:, 5].astype(np.float32),
    }
