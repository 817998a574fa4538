"""The benchmark network, written as a plain NEURON Python model: `cells` somas with hh,
each with `dends` passive dendrites of `nseg` segments, every soma driven by an IClamp."""
from pathlib import Path

NETWORK = """
from neuron import h
cells = []
for i in range({cells}):
    soma = h.Section(name=f"soma_{{i}}")
    soma.L = soma.diam = 20
    soma.insert("hh")
    dends = []
    for j in range({dends}):
        d = h.Section(name=f"dend_{{i}}_{{j}}")
        d.L, d.diam, d.nseg = 200, 1, {nseg}
        d.insert("pas")
        d.connect(soma(1))
        dends.append(d)
    cells.append((soma, dends))
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
