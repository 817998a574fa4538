"""Build and simulate a small biophysically detailed network with BMTK (bionet, NEURON),
for tests/test_sonata.py: it writes SONATA nodes, edges, spikes and a membrane report that
NEURON Live must open with the same numbers. Run by the BMTK venv's Python (never bpy):

    python bmtk_network.py OUT_FOLDER MORPHOLOGY.swc

Also writes OUT_FOLDER/placed.npz: the soma centre and segment centres of each cell after
BMTK placed and rotated it (BMTK's own seg_coords), so the test can check where the cells sit.
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np

N_CELLS = 4
TSTOP, DT = 60.0, 0.025


def build(out, morphology):
    from bmtk.builder.networks import NetworkBuilder

    (out / "components" / "morphologies").mkdir(parents=True, exist_ok=True)
    (out / "components" / "synaptic_models").mkdir(parents=True, exist_ok=True)
    shutil.copy(morphology, out / "components" / "morphologies" / morphology.name)
    (out / "components" / "synaptic_models" / "exc.json").write_text(
        json.dumps({"level_of_detail": "exp2syn", "tau1": 0.5, "tau2": 3.0, "erev": 0.0}))
    rng = np.random.default_rng(7)
    net = NetworkBuilder("cortex")
    common = dict(model_type="biophysical", model_template="ctdb:Biophys1.hoc",
                  model_processing="hh_everywhere", morphology=morphology.name)
    net.add_nodes(N=1, pop_name="driver", x=[0.0], y=[0.0], z=[0.0],
                  rotation_angle_xaxis=[0.3], rotation_angle_yaxis=[0.0], rotation_angle_zaxis=[1.1], **common)
    net.add_nodes(N=N_CELLS - 1, pop_name="follower", x=rng.uniform(-300, 300, N_CELLS - 1),
                  y=rng.uniform(-300, 300, N_CELLS - 1), z=rng.uniform(-100, 100, N_CELLS - 1),
                  rotation_angle_xaxis=rng.uniform(-np.pi, np.pi, N_CELLS - 1),
                  rotation_angle_yaxis=rng.uniform(-np.pi, np.pi, N_CELLS - 1),
                  rotation_angle_zaxis=rng.uniform(-np.pi, np.pi, N_CELLS - 1), **common)
    net.add_edges(source={"pop_name": "driver"}, target={"pop_name": "follower"}, connection_rule=1,
                  syn_weight=0.3, delay=2.0, target_sections=["somatic"], distance_range=[0.0, 1e9],
                  dynamics_params="exc.json", model_template="exp2syn")
    net.build()
    net.save(output_dir=str(out / "network"))


def config(out):
    conf = {
        "manifest": {"$BASE_DIR": "${configdir}", "$NETWORK_DIR": "$BASE_DIR/network",
                     "$COMPONENTS_DIR": "$BASE_DIR/components", "$OUTPUT_DIR": "$BASE_DIR/output"},
        "target_simulator": "NEURON",
        "run": {"tstart": 0.0, "tstop": TSTOP, "dt": DT, "dL": 20.0, "spike_threshold": -15.0, "nsteps_block": 500},
        "conditions": {"celsius": 6.3, "v_init": -65.0},
        "inputs": {"clamp": {"input_type": "current_clamp", "module": "IClamp",
                             "node_set": {"population": "cortex", "node_id": [0]},
                             "amp": 4.0, "delay": 5.0, "duration": 40.0}},
        "output": {"log_file": "log.txt", "output_dir": "$OUTPUT_DIR", "spikes_file": "spikes.h5",
                   "overwrite_output_dir": True},
        "reports": {"membrane_potential": {"cells": "all", "variable_name": "v", "module": "membrane_report",
                                           "sections": "all"}},
        "components": {"morphologies_dir": "$COMPONENTS_DIR/morphologies",
                       "synaptic_models_dir": "$COMPONENTS_DIR/synaptic_models"},
        "networks": {"nodes": [{"nodes_file": "$NETWORK_DIR/cortex_nodes.h5",
                                "node_types_file": "$NETWORK_DIR/cortex_node_types.csv"}],
                     "edges": [{"edges_file": "$NETWORK_DIR/cortex_cortex_edges.h5",
                                "edge_types_file": "$NETWORK_DIR/cortex_cortex_edge_types.csv"}]},
    }
    (out / "config.json").write_text(json.dumps(conf, indent=1))
    return out / "config.json"


def simulate(config_path, out):
    from bmtk.simulator import bionet
    from neuron import h

    @bionet.model_processing
    def hh_everywhere(hobj, cell, dynamics_params):
        """hh in every section: spikes without compiling .mod files."""
        for sec in hobj.all:
            sec.Ra, sec.cm = 150.0, 1.0
            sec.insert("hh")
        return hobj

    conf = bionet.Config.from_json(str(config_path), validate=True)
    conf.build_env()
    net = bionet.BioNetwork.from_config(conf)
    sim = bionet.BioSimulator.from_config(conf, network=net)
    sim.run()
    placed = [_placed(net.get_cell_gid(gid)) for gid in range(N_CELLS)]
    np.savez(out / "placed.npz", soma=np.array([p.soma_pos.ravel() for p in placed]),
             centres=np.concatenate([p.p05.T for p in placed]))
    h.quit()


def _placed(cell):
    """BMTK's own placement of `cell` (Morphology.move_and_rotate on a fresh Morphology of
    its hoc object). Not `cell.seg_coords`: cells sharing a morphology share the object it
    rotates in place, so every read of that property turns all of them once more."""
    from bmtk.simulator.bionet.morphology import Morphology

    node = cell._node
    angles = [node.rotation_angle_xaxis, node.rotation_angle_yaxis, node.rotation_angle_zaxis]
    return Morphology(cell.hobj).move_and_rotate(soma_coords=np.array(node.position, float).ravel(),
                                                 rotation_angles=angles).seg_coords


if __name__ == "__main__":
    folder, swc = Path(sys.argv[1]), Path(sys.argv[2])
    build(folder, swc)
    simulate(config(folder), folder)
