"""A Python ball-and-stick cell (soma with hh, passive dendrite) firing under a current clamp."""
from neuron import h

soma = h.Section(name="soma")
soma.L = soma.diam = 20
soma.insert("hh")

dend = h.Section(name="dend")
dend.L, dend.diam, dend.nseg = 300, 2, 15
dend.insert("pas")
dend.connect(soma(1))

# 3-D points so the cell has a shape of its own (the dendrite bends upward).
for sec, pts in ((soma, [(-10, 0, 0, 20), (10, 0, 0, 20)]),
                 (dend, [(10, 0, 0, 2), (150, 40, 0, 2), (280, 120, 0, 1.5)])):
    sec.pt3dclear()
    for x, y, z, d in pts:
        sec.pt3dadd(x, y, z, d)

stim = h.IClamp(soma(0.5))
stim.delay, stim.dur, stim.amp = 5, 30, 0.3

h.tstop = 40
h.v_init = -65
