"""Bad model input is refused with `file:line` before NEURON (or numpy) can crash on it."""
import io
import pickle
import zipfile
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, MORPHOLOGIES

GOOD_SWC = "1 1 0 0 0 5 -1\n2 3 0 10 0 1 1\n3 3 0 20 0 1 2\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# -- SWC: plain NEURON segfaults on several of these ---------------------------------------------

@pytest.mark.parametrize("text, match", [
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 99\n", r"cell\.swc:2: parent id 99 does not exist"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 1\n2 3 0 20 0 1 1\n", r"cell\.swc:3: id 2 is used again \(first on line 2\)"),
    ("1 1 0 0 0 5 -1\n# a comment\n2 3 0 nan 0 1 1\n", r"cell\.swc:3: y is nan"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 inf 1\n", r"cell\.swc:2: radius is inf"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 -1 1\n", r"cell\.swc:2: radius -1 is negative"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 4\n3 3 0 10 0 1 2\n4 3 0 10 0 1 3\n",
     r"cell\.swc:2: parent ids loop \(2 → 4 → 3 → 2\) and never reach a root"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 2\n", r"cell\.swc:2: parent ids loop \(2 → 2\)"),
    ("1 1 0 0 0 5 2\n2 3 0 10 0 1 1\n", r"cell\.swc:1: no root point"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 1 3\n3 3 0 5 0 1 1\n", r"cell\.swc:2: parent id 3 is not smaller than"),
    ("1 1 0 0 0 5 -1\n3 3 0 20 0 1 2\n2 3 0 10 0 1 1\n", r"cell\.swc:3: id 2 comes after id 3 \(line 2\)"),
    ("1 1 0 0 0 5 -1\n2 3 0 10 0 1\n", r"cell\.swc:2: expected 7 numbers"),
    ("1 1 0 0 0 5 -1\n2 3 0 ten 0 1 1\n", r"cell\.swc:2: 'ten' is not a number"),
    ("1 1 0 0 0 5 -1\n2.5 3 0 10 0 1 1\n", r"cell\.swc:2: id 2\.5 is not an integer"),
    ("1 1 0 0 0 5 -1\n-2 3 0 10 0 1 1\n", r"cell\.swc:2: id -2 is outside"),
    ("1 1 0 0 0 5 -1\n99999999 3 0 10 0 1 1\n", r"cell\.swc:2: id 99999999 is outside"),
    ("# header only\n\n", r"cell\.swc: no SWC points"),
])
def test_malformed_swc_is_refused_and_a_good_one_loads_after(nl, scene, tmp_path, text, match):
    with pytest.raises(nl.model_loaders.ModelLoadError, match=match):
        nl.load_model(str(write(tmp_path, "cell.swc", text)), build=False)
    model = nl.load_model(str(write(tmp_path, "good.swc", GOOD_SWC)), build=False)
    assert model.n_sections == 2 and len(model.points) > 0


@pytest.mark.in_blender
def test_refused_swc_leaves_the_loaded_model(nl, scene, tmp_path):
    nl.load_model(str(write(tmp_path, "good.swc", GOOD_SWC)), build=False)
    with pytest.raises(nl.model_loaders.ModelLoadError, match="does not exist"):
        nl.load_model(str(write(tmp_path, "bad.swc", "1 1 0 0 0 5 -1\n2 3 0 10 0 1 7\n")), build=False)
    from neuron import h
    assert len(list(h.allsec())) == 2, "refused before anything was cleared"


@pytest.mark.parametrize("text", [
    "# comment\n\n1 1 0 0 0 5 -1   # soma\n2 3 0 10 0 0 1\n",  # trailing comment, zero radius
    "10 1 0 0 0 5 -1\n20 3 0 10 0 1 10\n30 1 50 0 0 5 -1\n40 3 50 10 0 1 30\n",  # gaps, two trees
])
def test_unusual_but_valid_swc_loads(nl, scene, tmp_path, text):
    model = nl.load_model(str(write(tmp_path, "odd.swc", text)), build=False)
    assert model.n_sections >= 2


@pytest.mark.skipif(not (MORPHOLOGIES / "h10.CNG.swc").exists(), reason="shared morphologies absent")
@pytest.mark.parametrize("name", ["h10.CNG.swc", "ca2.CNG.swc", "CA1.morph.xml", "cell1.asc"])
def test_shared_morphologies_still_load(nl, scene, name):
    model = nl.load_model(str(MORPHOLOGIES / name), build=False)
    assert model.n_sections > 20 and len(model.points) > 100


# -- recordings: sizes are checked before anything is allocated ----------------------------------

def blenderspike_sections(x):
    """One section as BlenderSpike pickles it, with `x` as its X coordinates."""
    return [{"ID": 0, "type": "soma", "X": x, "Y": [0.0, 0.0], "Z": [0.0, 0.0], "DIAM": [2.0, 2.0],
             "Voltage": {0: [-65.0], 1: [-60.0]}}]


class _Allocates:
    """Pickles as a call of an allowed constructor asking for a huge allocation."""

    def __init__(self, make, *args):
        self.make, self.args = make, args

    def __reduce__(self):
        return self.make, self.args


def shared_lists(levels, width=10):
    """A few hundred pickled bytes standing for width**levels numbers."""
    x = [0.0]
    for _ in range(levels):
        x = [x] * width
    return x


@pytest.mark.parametrize("x, match", [
    (shared_lists(9), r"more than [\d,]+ values"),
    (_Allocates(bytes, 10**10), r"builtins\.bytes asks for 10,000,000,000 values"),
    (_Allocates(np.ndarray, (10**6, 10**5)), r"(Unable to allocate|more than [\d,]+ values)"),
    (shared_lists(40, width=1), r"nested more than \d+ deep"),
])
def test_blenderspike_pickle_too_large_for_its_size_is_refused(nl, scene, tmp_path, x, match):
    path = tmp_path / "bomb.pickle"
    path.write_bytes(pickle.dumps(blenderspike_sections(x)))
    assert path.stat().st_size < 2000
    with pytest.raises(nl.model_loaders.ModelLoadError,
                       match=rf"bomb\.pickle: (refused to open|not a BlenderSpike) .*{match}"):
        nl.open_recording(path)
    honest = tmp_path / "honest.pickle"
    honest.write_bytes(pickle.dumps(blenderspike_sections(np.array([0.0, 20.0]))))
    assert nl.open_recording(honest).frames.shape == (2, 1)


@pytest.fixture(scope="module")
def recording(nl, tmp_path_factory):
    """A frame cache of examples/ball_and_stick.hoc and its Model, to pair with model files."""
    import bpy
    bpy.ops.wm.read_homefile(use_empty=True)
    model = nl.load_model(str(EXAMPLES / "ball_and_stick.hoc"), build=False)
    cache = nl.run(tstop=2)
    return Path(cache.folder), model


def recording_with(tmp_path, recording, model=None, member=None, array=None, header_shape=None):
    """A copy of the recording whose model.npz holds `model`, with one member replaced by
    `array`, or its header rewritten to claim `header_shape` (the data left as it was)."""
    import shutil
    folder, good = recording
    copy = tmp_path / "run.nlcache"
    shutil.copytree(folder, copy)
    model_io = import_module(good.__module__.rsplit(".", 1)[0] + ".model_io")
    model_io.save_model(model or good, copy / "model.npz")
    if member:
        _replace_member(copy / "model.npz", member + ".npy", array, header_shape)
    return copy


def _replace_member(npz, member, array, header_shape):
    with zipfile.ZipFile(npz) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = io.BytesIO()
    if header_shape is None:
        np.save(buffer, array)
    else:
        old = np.load(io.BytesIO(members[member]))
        np.lib.format.write_array_header_1_0(buffer, {"descr": np.lib.format.dtype_to_descr(old.dtype),
                                                      "fortran_order": False, "shape": header_shape})
        buffer.write(old.tobytes())
    members[member] = buffer.getvalue()
    with zipfile.ZipFile(npz, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_model_file_with_sane_arrays_opens(nl, scene, tmp_path, recording):
    cache = nl.open_recording(recording_with(tmp_path, recording))
    assert cache.frames.shape[1] == recording[1].n_segments
    assert [o for o in scene.objects if o.get("neuron_live_cells")], "the cell is on screen"


@pytest.mark.parametrize("member, change, match", [
    ("points", dict(header_shape=(10**9, 4)), r"points\.npy claims \(1000000000, 4\) float32 .* but holds"),
    ("section_segment_start", dict(array=np.array([0, 1, 10**9])), r"a section claims [\d,]+ segments"),
    ("section_segment_start", dict(array=np.array([0, 30000, 60000, 90000, 10**8])),
     r"section_segment_start has shape \(5,\)"),
    ("point_arc", dict(array=np.zeros(1, np.float32)), r"point_arc has shape \(1,\), expected"),
    ("section_parent", dict(array=np.array([-1, 7], np.int32)), r"section_parent holds values outside -1\.\.1"),
    ("section_type", dict(array=np.array(["soma", "dend"])), r"section_type\.npy is of type <U4, not numbers"),
])
def test_model_file_claiming_too_much_is_refused(nl, scene, tmp_path, recording, member, change, match):
    folder = recording_with(tmp_path, recording, member=member, **change)
    with pytest.raises(nl.model_loaders.ModelLoadError, match=rf"model\.npz: .*{match}"):
        nl.open_recording(folder)


def test_model_file_claiming_too_many_segments_is_refused(nl, scene, tmp_path, recording):
    import dataclasses
    n = 2000  # each within NEURON's 32767 segments per section, 65 million in all
    huge = dataclasses.replace(recording[1], section_names=[f"s{i}" for i in range(n)],
                               section_segment_start=np.arange(n + 1, dtype=np.int64) * 32767,
                               section_point_start=np.zeros(n + 1, dtype=np.int64))
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"model\.npz: claims 65,534,000 segments"):
        nl.open_recording(recording_with(tmp_path, recording, model=huge))


# -- errors name the file and line where they happen ---------------------------------------------

def model_folder(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("files, entry, match", [
    ({"main.hoc": 'create soma\nload_file("sub/other.hoc")\n', "sub/other.hoc": "x = 1\n\nthis is bad\n"},
     "main.hoc", r"sub/other\.hoc:3: syntax error"),
    ({"main.hoc": 'create soma\nxopen("sub/other.hoc")\n', "sub/other.hoc": "x = 1\nthis is bad\n"},
     "main.hoc", r"sub/other\.hoc:2: syntax error"),
    ({"main.hoc": 'create soma\nload_file("sub/run.hoc")\n',
      "sub/run.hoc": 'proc f() {\n  execerror("boom")\n}\nf()\n'},
     "main.hoc", r"sub/run\.hoc:4: boom"),
    ({"main.py": "import helper\n", "helper.py": "x = 1\n\ndef f():\n    print 'hi'\n"},
     "main.py", r"helper\.py:4: this is Python 2 code"),
    ({"main.py": "import helper\nhelper.f()\n", "helper.py": "def f():\n    raise ValueError('deep')\n"},
     "main.py", r"helper\.py:2: ValueError: deep"),
])
def test_error_names_the_file_it_happened_in(nl, scene, tmp_path, files, entry, match):
    folder = model_folder(tmp_path, files)
    with pytest.raises(nl.model_loaders.ModelLoadError, match=match):
        nl.load_model(str(folder / entry), build=False)


DEAD_QUIT = """create soma
soma { L = 10 diam = 10 }
if (0) { quit() }
if (0) {
    quit()
}
proc never_called() { quit() }
xbutton("Quit", "quit()")
// quit()
/* quit() */
"""


def test_quit_that_cannot_run_at_load_is_allowed(nl, scene, tmp_path):
    model = nl.load_model(str(write(tmp_path, "dead.hoc", DEAD_QUIT)), build=False)
    assert model.n_sections == 1


@pytest.mark.parametrize("files, match", [
    ({"main.hoc": "proc bye() {\n  quit()\n}\ncreate soma\nbye()\n"}, r"main\.hoc:2: calls quit\(\)"),
    ({"main.hoc": 'create soma\nload_file("sub/end.hoc")\n', "sub/end.hoc": "x = 1\nquit()\n"},
     r"sub/end\.hoc:2: calls quit\(\)"),
    ({"main.hoc": 'create soma\nexecute("quit()")\n'}, r"main\.hoc:2: calls quit\(\)"),
    ({"main.hoc": "create soma\nif (1) { quit() }\n"}, r"main\.hoc:2: calls quit\(\)"),
])
def test_quit_that_runs_at_load_is_refused(nl, scene, tmp_path, files, match):
    folder = model_folder(tmp_path, files)
    with pytest.raises(nl.model_loaders.ModelLoadError, match=match):
        nl.load_model(str(folder / "main.hoc"), build=False, host="IN_BLENDER")


# -- folders NEURON cannot name: spaces and non-ASCII characters ---------------------------------

UNICODE_DIR = "模型 dir"


def test_hoc_model_in_a_unicode_folder_loads(nl, scene, tmp_path):
    folder = model_folder(tmp_path / UNICODE_DIR, {
        "main.hoc": 'load_file("params.hoc")\ncreate soma\nsoma { L = 10 diam = soma_diam }\n',
        "params.hoc": "soma_diam = 17\n"})
    model = nl.load_model(str(folder / "main.hoc"), build=False)
    assert abs(model.points[:, 3].max() - 17) < 1e-4


def test_swc_in_a_unicode_folder_loads(nl, scene, tmp_path):
    (tmp_path / UNICODE_DIR).mkdir()
    model = nl.load_model(str(write(tmp_path / UNICODE_DIR, "cell.swc", GOOD_SWC)), build=False)
    assert model.n_sections == 2


def test_mod_model_in_a_unicode_folder_loads(nl, scene, tmp_path):
    import shutil
    folder = tmp_path / UNICODE_DIR
    shutil.copytree(EXAMPLES / "hoc_custom_mod", folder)
    model = nl.load_model(str(folder / "cell.hoc"), build=False)
    assert model.mechanisms == ["kleak"] and model.n_sections == 4


def test_menu_action_after_the_entry_chdirs(nl, scene, tmp_path):
    """NEURON restores the folder after load_file of an absolute path; by relative name
    the entry's chdir() holds when its button later loads a file from there."""
    folder = model_folder(tmp_path, {
        "mosinit.hoc": 'chdir("sims")\nxpanel("Figures")\n'
                       'xbutton("Fig 1", "load_file(\\"fig_after_chdir.hoc\\")")\nxpanel()\n',
        "sims/fig_after_chdir.hoc": "create soma\nsoma { L = 20 diam = 20 }\n"})
    model = nl.load_model(str(folder / "mosinit.hoc"), build=False, action="Fig 1")
    assert model.n_sections == 1


def test_malformed_swc_through_the_separate_process(nl, scene, tmp_path):
    """The same check guards the process host: a clear message, and the process (and the
    next load) carry on."""
    with pytest.raises(Exception, match=r"bad\.swc:2: parent id 7 does not exist"):
        nl.load_model(str(write(tmp_path, "bad.swc", "1 1 0 0 0 5 -1\n2 3 0 10 0 1 7\n")), build=False,
                      host="PROCESS")
    model = nl.load_model(str(write(tmp_path, "good.swc", GOOD_SWC)), build=False, host="PROCESS")
    assert model.n_sections == 2
    assert nl.run(tstop=2).frames_done == 5
