"""A ring of 10 ball-and-stick cells written for NEURON's ParallelContext: each cell
excites the next through a NetCon; a current clamp starts cell 0. Runs serially or under
`mpiexec -n N` (cells are dealt out round-robin by gid)."""
from neuron import h

h.load_file("stdrun.hoc")
pc = h.ParallelContext()
N_CELLS = 10


class BallAndStick:
    def __init__(self, gid):
        self.soma = h.Section(name=f"cell{gid}_soma")
        self.soma.L = self.soma.diam = 20
        self.soma.insert("hh")
        self.dend = h.Section(name=f"cell{gid}_dend")
        self.dend.L, self.dend.diam, self.dend.nseg = 200, 1, 9
        self.dend.insert("pas")
        self.dend.connect(self.soma(1))
        angle_x, angle_y = [(1, 0), (0, 1), (-1, 0), (0, -1)][gid % 4]
        x0, y0 = 400 * (gid % 5), 400 * (gid // 5)
        for sec, pts in ((self.soma, [(x0 - 10, y0, 0, 20), (x0 + 10, y0, 0, 20)]),
                         (self.dend, [(x0 + 10, y0, 0, 1), (x0 + 10 + 200 * angle_x, y0 + 200 * angle_y, 0, 1)])):
            sec.pt3dclear()
            for x, y, z, d in pts:
                sec.pt3dadd(x, y, z, d)
        self.synapse = h.ExpSyn(self.dend(0.5))
        self.synapse.tau = 2


cells, netcons = {}, []
for gid in range(int(pc.id()), N_CELLS, int(pc.nhost())):
    cell = BallAndStick(gid)
    cells[gid] = cell
    pc.set_gid2node(gid, pc.id())
    source = h.NetCon(cell.soma(0.5)._ref_v, None, sec=cell.soma)
    source.threshold = 0
    pc.cell(gid, source)
for gid, cell in cells.items():
    netcon = pc.gid_connect((gid - 1) % N_CELLS, cell.synapse)
    netcon.weight[0], netcon.delay = 0.05, 1
    netcons.append(netcon)

stim = None
if 0 in cells:
    stim = h.IClamp(cells[0].soma(0.5))
    stim.delay, stim.dur, stim.amp = 1, 2, 0.5

h.tstop = 40
