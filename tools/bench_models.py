"""The benchmark models, written as plain NEURON Python: the network (`cells` somas with
hh, each with `dends` passive dendrites of `nseg` segments, every soma driven by an
IClamp) and a ring of the same cells written for ParallelContext (gids dealt out
round-robin, so it also runs under mpiexec)."""
from pathlib import Path

# One cell: an hh soma with `dends` passive dendrites of `nseg` segments (names as given).
CELL = """
from neuron import h


def make_cell(soma_name, dend_prefix):
    soma = h.Section(name=soma_name)
    soma.L = soma.diam = 20
    soma.insert("hh")
    dends = []
    for j in range({dends}):
        d = h.Section(name=f"{{dend_prefix}}{{j}}")
        d.L, d.diam, d.nseg = 200, 1, {nseg}
        d.insert("pas")
        d.connect(soma(1))
        dends.append(d)
    return soma, dends
"""

NETWORK = CELL + """
cells = [make_cell(f"soma_{{i}}", f"dend_{{i}}_") for i in range({cells})]
stims = []
for soma, _ in cells:
    s = h.IClamp(soma(0.5)); s.delay, s.dur, s.amp = 1, 100, 0.3
    stims.append(s)
h.tstop = {tstop}
"""


def write_network(folder, cells, *, dends=10, nseg=99, tstop=20):
    path = Path(folder) / "network.py"
    path.write_text(NETWORK.format(cells=cells, dends=dends, nseg=nseg, tstop=tstop))
    return path


RING = CELL + """
pc = h.ParallelContext()
N = {cells}
cells, netcons = {{}}, []
for gid in range(int(pc.id()), N, int(pc.nhost())):
    soma, dends = make_cell(f"ring{{gid}}_soma", f"ring{{gid}}_dend")
    syn = h.ExpSyn(soma(0.5))
    syn.tau = 2
    cells[gid] = (soma, dends, syn)
    pc.set_gid2node(gid, pc.id())
    source = h.NetCon(soma(0.5)._ref_v, None, sec=soma)
    source.threshold = 0
    pc.cell(gid, source)
for gid, (soma, dends, syn) in cells.items():
    nc = pc.gid_connect((gid - 1) % N, syn)
    nc.weight[0], nc.delay = 0.5, 1
    netcons.append(nc)
stim = None
if 0 in cells:
    stim = h.IClamp(cells[0][0](0.5)); stim.delay, stim.dur, stim.amp = 1, 2, 2
h.tstop = {tstop}
"""


def write_ring(folder, cells, *, dends=10, nseg=99, tstop=20):
    path = Path(folder) / "ring.py"
    path.write_text(RING.format(cells=cells, dends=dends, nseg=nseg, tstop=tstop))
    return path
