"""SONATA in and out, checked against the field: a BMTK network (its own NEURON run) opened
here equals BMTK's report, spikes and placement; our own SONATA output reads back in
libsonata; data sets written here as the specification lays them out open with the same
numbers; bad input names the file and field and leaves the scene as it was.

BMTK (PyPI `bmtk`, with libsonata beside it) lives in a small venv of its own under
.venvs/ (made once, then reused): it brings pandas 3 and matplotlib 3.11, which would
shadow the add-on's bundled pandas 2.3 and matplotlib 3.10 in the bpy test venvs.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, MORPHOLOGIES, REPO, isolated_env

BMTK_VENV = REPO / ".venvs" / f"bmtk-{sys.version_info.major}.{sys.version_info.minor}"
BMTK_PACKAGES = ["h5py==3.16.0", "libsonata==0.2.2", "pandas", "jsonschema", "six", "scipy", "sympy"]
MORPHOLOGY = MORPHOLOGIES / "h10.CNG.swc"


def _bmtk_python():
    """The BMTK venv's Python, made on first use (bmtk without its plotting extras)."""
    python = BMTK_VENV / "bin" / "python"
    if (BMTK_VENV / ".installed").exists():
        return python
    shutil.rmtree(BMTK_VENV, ignore_errors=True)
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    wheel = next((REPO / "vendored_wheels").glob(f"neuron-9.0.2-{tag}-{tag}-manylinux*.whl"))
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for step in ([sys.executable, "-m", "venv", str(BMTK_VENV)], [*pip, "--no-deps", "bmtk==1.2.0"],
                 [*pip, *BMTK_PACKAGES, str(wheel)]):
        result = subprocess.run(step, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{' '.join(step)}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    (BMTK_VENV / ".installed").touch()
    return python


def in_bmtk_venv(tmp_path, *args, code=None):
    command = [str(_bmtk_python()), *(["-c", code] if code else []), *map(str, args)]
    env = isolated_env(tmp_path)
    env["NEURON_MODULE_OPTIONS"] = "-nogui"
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def bmtk_run(tmp_path_factory):
    """A 4-cell hh network built and simulated by BMTK: its folder."""
    folder = tmp_path_factory.mktemp("bmtk")
    in_bmtk_venv(folder, REPO / "tests" / "bmtk_network.py", folder / "net", MORPHOLOGY)
    return folder / "net"


def _session(nl):
    return nl.addon.session.tasks.session


def _module(name):
    from importlib import import_module

    from conftest import PACKAGE
    return import_module(f"{PACKAGE}.{name}")


def test_bmtk_network_opens_with_bmtk_numbers(nl, scene, bmtk_run):
    import h5py

    cache = nl.open_recording(bmtk_run / "config.json")
    model = _session(nl).model
    with h5py.File(bmtk_run / "output" / "membrane_potential.h5") as f:
        report = f["report/cortex"]
        data, ids = report["data"][()], report["mapping/element_ids"][()]
        pointers = report["mapping/index_pointer"][()]
    assert cache.meta["complete"] and cache.frames_done == len(data) == 2400
    assert len(model.cell_names) == 4 and cache.meta["frames_per_ms"] == pytest.approx(40.0)
    segments = _column_segments(model, pointers, ids)
    frames = np.asarray(cache.frames)
    np.testing.assert_array_equal(frames[:, segments], data.astype(np.float32))
    soma = [segments[a] for a in pointers[:-1]]
    assert (frames[:, soma].max(axis=0) > 0).all(), "every cell fired (the followers through their synapses)"
    assert np.isnan(np.delete(frames[0], segments)).all(), "segments the report lacks hold no data"
    with h5py.File(bmtk_run / "output" / "spikes.h5") as f:
        times, nodes = f["spikes/cortex/timestamps"][()], f["spikes/cortex/node_ids"][()]
    raster = nl.spike_times()
    order = np.lexsort((nodes, times))
    np.testing.assert_array_equal(raster["time"], times[order])
    np.testing.assert_array_equal(np.sort(raster["cell"]), np.sort(nodes))
    assert len(times) >= 8


def _column_segments(model, pointers, element_ids):
    """Our segment of each BMTK report column: cell k's section element_id (x order)."""
    pointers, element_ids = pointers.astype(np.int64), element_ids.astype(np.int64)
    first = np.searchsorted(model.section_cell, np.arange(len(model.cell_names)))
    cell = np.repeat(np.arange(len(pointers) - 1), np.diff(pointers))
    section = first[cell] + element_ids
    rank = np.arange(len(section)) - np.searchsorted(section, section)
    return model.section_segment_start[section] + rank


def test_bmtk_cells_sit_where_bmtk_put_them(nl, scene, bmtk_run):
    import h5py

    nl.open_recording(bmtk_run / "config.json")
    model = _session(nl).model
    placed = np.load(bmtk_run / "placed.npz")
    with h5py.File(bmtk_run / "network" / "cortex_nodes.h5") as f:
        xyz = np.column_stack([f[f"nodes/cortex/0/{axis}"][()] for axis in "xyz"])
    somata = _module("addon.engine.sonata_write").cell_somata(model)
    np.testing.assert_allclose(somata, xyz, atol=1e-3)
    np.testing.assert_allclose(placed["soma"], xyz, atol=1e-6)
    with h5py.File(bmtk_run / "output" / "membrane_potential.h5") as f:
        mapping = f["report/cortex/mapping"]
        segments = _column_segments(model, mapping["index_pointer"][()], mapping["element_ids"][()])
    centres = model.locate(model.segment_section[segments], model.segment_x[segments])
    np.testing.assert_allclose(centres, placed["centres"], atol=0.05, err_msg="BMTK's rotated segment centres")
    objects = nl.addon.scene.playback.cell_objects(scene)
    assert objects and all(len(obj.data.vertices) for obj in objects)


def test_run_in_blender_writes_sonata_that_libsonata_and_bmtk_read(nl, scene, tmp_path):
    nl.load_model(EXAMPLES / "ball_and_stick.hoc")
    cache = nl.run(tstop=30, frames_per_ms=4)
    paths = nl.write_sonata(tmp_path / "out", population="bs")
    model = _session(nl).model
    out = in_bmtk_venv(tmp_path, paths["report"], paths["spikes"], paths["nodes"], code=LIBSONATA_READ)
    read = np.load(tmp_path / "read.npz")
    assert json.loads(out)["populations"] == ["bs"]
    order = _module("addon.engine.sonata_write").column_order(model)[0]
    np.testing.assert_array_equal(read["data"], np.asarray(cache.frames)[:, order])
    ours = nl.spike_times()
    np.testing.assert_array_equal(read["spike_times"], ours["time"])
    assert len(ours["time"]) and read["n_nodes"] == len(model.cell_names)
    assert read["times"].tolist() == [0.0, 30.25, 0.25]
    np.testing.assert_array_equal(read["bmtk_data"], read["data"], err_msg="BMTK's reader: node 0 is every column")
    np.testing.assert_array_equal(read["bmtk_spikes"], ours["time"])


LIBSONATA_READ = """
import json, sys
import libsonata, numpy as np
report, spikes, nodes = sys.argv[1:4]
population = libsonata.ElementReportReader(report)["bs"]
frame = population.get()
spike = libsonata.SpikeReader(spikes)["bs"]
print(json.dumps({"populations": libsonata.ElementReportReader(report).get_population_names()}))
ids, times = zip(*spike.get()) if spike.get() else ((), ())
from bmtk.utils.reports.compartment import CompartmentReport
from bmtk.utils.reports.spike_trains import SpikeTrains
bmtk_data = CompartmentReport(report, mode="r").data(node_id=0, population="bs")
bmtk_spikes = SpikeTrains.load(spikes, file_type="sonata").to_dataframe()["timestamps"].to_numpy()
np.savez("read.npz", data=np.asarray(frame.data), times=np.asarray(population.times),
         spike_times=np.sort(np.asarray(times)), n_nodes=libsonata.NodeStorage(nodes).open_population("bs").size,
         bmtk_data=np.asarray(bmtk_data), bmtk_spikes=np.sort(bmtk_spikes))
"""


def record_sonata(tmp_path, model, *extra, ranks=0):
    """tools/record.py MODEL --sonata FOLDER (under mpiexec with `ranks`)."""
    import neuron

    env = isolated_env(tmp_path)
    env["PYTHONPATH"] = str(Path(neuron.__file__).parent.parent)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    command = [sys.executable, str(REPO / "tools" / "record.py"), str(model), "--out", str(tmp_path / "run.nlcache"),
               "--sonata", str(tmp_path / "sonata"), *extra]
    if ranks:
        command = ["mpiexec", "-n", str(ranks), *command, "--mpi"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not shutil.which("mpiexec"), reason="no mpiexec: make test installs Debian's OpenMPI as root")
def test_record_tool_writes_sonata_from_two_ranks(nl, scene, tmp_path):
    import h5py

    record_sonata(tmp_path, EXAMPLES / "parallel_ring.py", "--tstop", "30", ranks=2)
    cache = nl.open_recording(tmp_path / "run.nlcache")
    model = _session(nl).model
    order, nodes = _module("addon.engine.sonata_write").column_order(model)[:2]
    with h5py.File(tmp_path / "sonata" / "report.h5") as f:
        np.testing.assert_array_equal(f["report/neuron_live/data"][()], np.asarray(cache.frames)[:, order])
        assert f["report/neuron_live/mapping/node_ids"][()].tolist() == list(range(10))
    with h5py.File(tmp_path / "sonata" / "spikes.h5") as f:
        fired = set(f["spikes/neuron_live/node_ids"][()].tolist())
    assert fired == set(range(10)), "the spike goes around the whole ring (soma crossings of the frames)"


def test_record_tool_writes_sonata(nl, scene, tmp_path):
    import h5py

    record_sonata(tmp_path, EXAMPLES / "ball_and_stick.hoc", "--tstop", "20")
    cache = nl.open_recording(tmp_path / "run.nlcache")
    with h5py.File(tmp_path / "sonata" / "report.h5") as f:
        data = f["report/neuron_live/data"][()]
        assert f["report/neuron_live/mapping/time"][()].tolist() == [0.0, 20.5, 0.5]
    order = _module("addon.engine.sonata_write").column_order(_session(nl).model)[0]
    np.testing.assert_array_equal(data, np.asarray(cache.frames)[:, order])
    with h5py.File(tmp_path / "sonata" / "spikes.h5") as f:
        assert h5py.check_enum_dtype(f["spikes/neuron_live"].attrs.get_id("sorting").dtype) is not None
        assert len(f["spikes/neuron_live/timestamps"]) > 0, "NEURON's own spike record"


# -- data sets written here as the specification lays them out ----------------------------------
N_TIMES, DT = 100, 0.1
POSITIONS = np.array([[0.0, 0.0, 0.0], [500.0, -20.0, 30.0], [-400.0, 250.0, -60.0]])
QUATERNIONS = np.array([[1.0, 0, 0, 0], [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)], [0.5, 0.5, 0.5, 0.5]])


def write_spec_set(folder, *, morphology="h10.CNG", node_ids=(0, 1, 2), element_ids=(0, 0, 0), time_units="ms"):
    """A simulation config naming a circuit config: nodes (quaternions), a node-types CSV,
    morphologies, a soma report and spikes, as the SONATA specification lays them out."""
    import h5py

    (folder / "morphologies").mkdir(parents=True)
    shutil.copy(MORPHOLOGY, folder / "morphologies" / MORPHOLOGY.name)
    (folder / "node_types.csv").write_text(f"node_type_id model_type morphology\n1 biophysical {morphology}\n")
    with h5py.File(folder / "nodes.h5", "w") as f:
        group = f.create_group("nodes/v1")
        group["node_type_id"] = np.ones(3, np.uint64)
        group["node_group_id"] = np.zeros(3, np.uint32)
        group["node_group_index"] = np.arange(3, dtype=np.uint64)
        for k, axis in enumerate("xyz"):
            group[f"0/{axis}"] = POSITIONS[:, k]
        for k, name in enumerate("wxyz"):
            group[f"0/orientation_{name}"] = QUATERNIONS[:, k]
    with h5py.File(folder / "soma.h5", "w") as f:
        mapping = f.create_group("report/v1/mapping")
        mapping["node_ids"] = np.asarray(node_ids, np.uint64)
        mapping["index_pointers"] = np.arange(4, dtype=np.uint64)
        mapping["element_ids"] = np.asarray(element_ids, np.uint32)
        mapping["element_pos"] = np.full(3, 0.5, np.float32)
        mapping["time"] = np.array([0.0, N_TIMES * DT, DT]) * (1e-3 if time_units == "s" else 1.0)
        mapping["time"].attrs["units"] = time_units
        f["report/v1/data"] = spec_values()
        f["report/v1/data"].attrs["units"] = "mV"
    with h5py.File(folder / "spikes.h5", "w") as f:
        group = f.create_group("spikes/v1")
        group.attrs.create("sorting", 2, dtype=h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype="u1"))
        group["timestamps"], group["node_ids"] = [1.5, 2.5, 7.25], np.array([2, 0, 1], np.uint64)
        group["timestamps"].attrs["units"] = "ms"
    (folder / "circuit_config.json").write_text(json.dumps({
        "manifest": {"$BASE": "${configdir}"}, "components": {"morphologies_dir": "$BASE/morphologies"},
        "networks": {"nodes": [{"nodes_file": "$BASE/nodes.h5", "node_types_file": "$BASE/node_types.csv"}]}}))
    (folder / "simulation_config.json").write_text(json.dumps({
        "network": "circuit_config.json", "run": {"tstop": N_TIMES * DT, "dt": DT},
        "output": {"output_dir": ".", "spikes_file": "spikes.h5"},
        "reports": {"soma": {"type": "compartment", "module": "membrane_report", "variable_name": "v",
                             "sections": "soma", "file_name": "soma.h5", "dt": DT, "start_time": 0,
                             "end_time": N_TIMES * DT}}}))
    return folder / "simulation_config.json"


def spec_values():
    t = np.arange(N_TIMES)[:, None] * DT
    return (-65 + 30 * np.sin(t * np.array([1.0, 2.0, 3.0]))).astype(np.float32)


def test_spec_laid_out_set_opens_with_its_numbers(nl, scene, tmp_path):
    cache = nl.open_recording(write_spec_set(tmp_path))
    model = _session(nl).model
    soma = model.section_segment_start[np.searchsorted(model.section_cell, np.arange(3))]
    np.testing.assert_array_equal(np.asarray(cache.frames)[:, soma], spec_values())
    np.testing.assert_allclose(_module("addon.engine.sonata_write").cell_somata(model), POSITIONS, atol=1e-3)
    first = [model.section_point_start[np.searchsorted(model.section_cell, c)] for c in range(3)]
    count = first[1] - first[0]
    local = [model.points[a:a + count, :3] - POSITIONS[c] for c, a in enumerate(first)]
    turned = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # 90° about z: (x, y) -> (-y, x)
    np.testing.assert_allclose(local[1], local[0] @ turned.T, atol=2e-3)
    np.testing.assert_allclose(local[2], local[0][:, [2, 0, 1]], atol=2e-3)  # (w,x,y,z) = ½(1,1,1,1)
    raster = nl.spike_times()
    assert raster["time"].tolist() == [1.5, 2.5, 7.25] and raster["cell"].tolist() == [2, 0, 1]
    assert scene.frame_end == N_TIMES and "3 cell(s)" in scene.neuron_live.status


def test_nodes_file_with_its_folder_opens_too(nl, scene, tmp_path):
    write_spec_set(tmp_path)
    cache = nl.open_recording(tmp_path / "nodes.h5", report=tmp_path / "soma.h5")
    assert cache.frames_done == N_TIMES and len(_session(nl).model.cell_names) == 3


def _truncate(path):
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size * 6 // 10)


BAD = {
    "mapping names a node the nodes lack": (dict(node_ids=(0, 1, 7)), None, "soma.h5.*mapping/node_ids.*node 7"),
    "mapping names a section the morphology lacks": (dict(element_ids=(0, 0, 900)), None,
                                                     "mapping/element_ids.*element 900.*h10.CNG.swc has"),
    "missing morphology": (dict(morphology="gone_cell"), None, "nodes.h5.*morphology 'gone_cell'.*morphologies"),
    "truncated report": ({}, lambda folder: _truncate(folder / "soma.h5"), "soma.h5.*truncated"),
    "wrong time units": (dict(time_units="us"), None, "soma.h5.*mapping/time units.*'us'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_file_and_field_and_leaves_the_scene(nl, scene, tmp_path, case):
    arguments, damage, message = BAD[case]
    config = write_spec_set(tmp_path, **arguments)
    if damage:
        damage(tmp_path)
    before = set(scene.objects)
    with pytest.raises(_module("model_loaders.sonata").SonataError, match=message):
        nl.open_recording(config)
    assert set(scene.objects) == before and not nl.addon.scene.playback.cell_objects(scene)
    assert scene.neuron_live.model_path == ""


def test_neither_report_nor_spikes_is_named(nl, scene, tmp_path):
    config = write_spec_set(tmp_path)
    settings = json.loads(config.read_text())
    del settings["reports"], settings["output"]["spikes_file"]
    config.write_text(json.dumps(settings))
    with pytest.raises(_module("model_loaders.sonata").SonataError, match="simulation_config.json: names neither"):
        nl.open_recording(config)
    assert not nl.addon.scene.playback.cell_objects(scene)


def test_unknown_population_lists_the_known_ones(nl, scene, tmp_path):
    config = write_spec_set(tmp_path)
    with pytest.raises(_module("model_loaders.sonata").SonataError, match="soma.h5.*no population 'v2'.*v1"):
        nl.open_recording(config, population="v2")


def test_seconds_are_read_as_seconds(nl, scene, tmp_path):
    cache = nl.open_recording(write_spec_set(tmp_path, time_units="s"))
    assert cache.meta["frames_per_ms"] == pytest.approx(1 / DT) and cache.frames_done == N_TIMES


def test_import_operator_and_drop_open_sonata_like_the_api(nl, scene, tmp_path):
    import bpy

    config = write_spec_set(tmp_path)
    handler = _module("addon.ui.file_handler").NEURONLIVE_FH_model
    if _module("addon.scene.compat").FILE_HANDLER:
        assert ".json" in handler.bl_file_extensions.split(";") and ".h5" in handler.bl_file_extensions.split(";")
    assert bpy.ops.neuron_live.load_model(filepath=str(config)) == {"FINISHED"}
    by_operator = np.asarray(_session(nl).cache.frames).copy()
    names = sorted(obj.name for obj in nl.addon.scene.playback.cell_objects(scene))
    bpy.ops.wm.read_homefile(use_empty=True)
    nl.open_recording(config)
    np.testing.assert_array_equal(np.asarray(_session(nl).cache.frames), by_operator)
    assert sorted(obj.name for obj in nl.addon.scene.playback.cell_objects(bpy.context.scene)) == names


def test_beyond_the_tube_count_far_cells_are_centre_lines(nl, scene, tmp_path):
    config = write_spec_set(tmp_path)
    cache = nl.open_sonata(config, tube_cells=1)
    objects = nl.addon.scene.playback.cell_objects(scene)
    tubes = [obj for obj in objects if obj.name.startswith("near: 1 cells as tubes")]
    lines = [obj for obj in objects if obj.name.startswith("far: 2 cells as lines")]
    assert len(tubes) == 1 and len(lines) == 2, [obj.name for obj in objects]
    assert len(tubes[0].data.polygons) and all(not len(o.data.polygons) and len(o.data.edges) for o in lines)
    tubes = tubes[0]
    soma = _session(nl).model.section_segment_start[np.searchsorted(_session(nl).model.section_cell, 0)]
    scene.frame_set(40)
    assert np.nanmax(nl.frame_values(tubes, 40)) == pytest.approx(cache.frames[39][soma], abs=1e-5)


def test_point_neurons_show_as_somata_at_their_nodes(nl, scene, tmp_path):
    config = write_spec_set(tmp_path)
    (tmp_path / "node_types.csv").write_text("node_type_id model_type morphology\n1 point_process NULL\n")
    cache = nl.open_recording(config)
    model = _session(nl).model
    assert model.n_sections == model.n_segments == 3 and (model.section_type == 1).all()
    np.testing.assert_array_equal(np.asarray(cache.frames), spec_values())
    np.testing.assert_allclose(_module("addon.engine.sonata_write").cell_somata(model), POSITIONS, atol=1e-4)


def test_an_opened_data_set_plays_again_after_save_and_reopen(nl, scene, tmp_path):
    import bpy

    cache = nl.open_recording(write_spec_set(tmp_path / "set"))
    frames = np.asarray(cache.frames).copy()
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_mainfile(filepath=str(blend))
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    reopened = _session(nl).cache
    assert reopened is not None and reopened.meta["source"] == "SONATA", bpy.context.scene.neuron_live.status
    assert reopened.folder.parent == tmp_path
    np.testing.assert_array_equal(np.asarray(reopened.frames), frames)


def test_spikes_without_a_report_flash_on_the_somata(nl, scene, tmp_path):
    config = write_spec_set(tmp_path)
    settings = json.loads(config.read_text())
    del settings["reports"]
    config.write_text(json.dumps(settings))
    cache = nl.open_recording(config)
    model = _session(nl).model
    soma = model.section_segment_start[np.searchsorted(model.section_cell, np.arange(3))]
    flashes = np.asarray(cache.frames)[:, soma]
    dt = 1 / cache.meta["frames_per_ms"]
    expected = np.zeros_like(flashes)
    for time, cell in ((1.5, 2), (2.5, 0), (7.25, 1)):
        t = np.arange(len(flashes)) * dt
        expected[(t >= time - 1e-9) & (t < time + 2.0 - 1e-9), cell] = 1.0
    assert cache.meta["variable"] == "spikes" and cache.frames_done == len(flashes)
    np.testing.assert_array_equal(flashes, expected)
    assert (scene.neuron_live.vmin, scene.neuron_live.vmax) == (0.0, 1.0)
    assert nl.spike_times()["cell"].tolist() == [2, 0, 1]
