"""Conventions of published (ModelDB) models, each in a small model of our own: radio-button
menus, `//moddir` and entries that `chdir()` first, Python menus made under
`if __name__ == "__main__":` with Python callables, menus opened by a procedure, a failed
`.mod` compile, and old files (CR-only lines, names with spaces, `$(NEURONHOME)`).

Where a model simulates, Load (with the menu choice) then Run equals plain NEURON running the
same entry as `nrniv entry.hoc` / `python entry.py` does, then the same buttons' commands:
same spike count, first spike within 0.5 ms, |Δv| ≤ 1 mV at the frame times.
"""
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import isolated_env

FRAMES_PER_MS = 2.0

PLAIN = """
import json, os, runpy, sys
os.chdir({folder!r})
sys.path.insert(0, {folder!r})
sys.path.append({site!r})
from neuron import h
h.load_file("stdrun.hoc")  # what nrngui loads first
if {dll!r}:
    assert h.nrn_load_dll({dll!r})  # the model's mechanisms, as nrnivmodl built them
namespace = {{}}
if {entry!r}.endswith(".py"):
    namespace = runpy.run_path({entry!r}, run_name="__main__")
else:
    h.xopen({entry!r})  # as `nrniv entry.hoc` runs it
for command in {hoc_commands!r}:  # the buttons pressed, in order
    assert h(command), command
exec({python_press!r}, namespace)  # a Python button's callable, called as the panel would
soma = next(sec for sec in h.allsec() if sec.name().endswith("soma"))
frames = int(round(h.tstop * {per_ms})) + 1
times = h.Vector([k / {per_ms} for k in range(frames)])
v = h.Vector()
v.record(soma(0.5)._ref_v, times)
h.run()
print(json.dumps({{"v": list(v), "tstop": h.tstop}}))
"""


def plain_neuron(folder, entry, tmp_path, hoc_commands=(), python_press="", dll=""):
    """soma(0.5).v at the frame times in a plain-NEURON subprocess (the bundled NEURON)."""
    import neuron
    code = PLAIN.format(folder=str(folder), site=str(Path(neuron.__file__).parent.parent), entry=entry,
                        hoc_commands=list(hoc_commands), python_press=python_press, dll=str(dll),
                        per_ms=FRAMES_PER_MS)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            env={**isolated_env(tmp_path), "NEURON_MODULE_OPTIONS": "-nogui"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def spike_times(trace):
    above = np.asarray(trace) >= 0
    return np.flatnonzero(above[1:] & ~above[:-1]) / FRAMES_PER_MS


def assert_same_as_plain(nl, scene, model, reference):
    """Run with the panel as the load left it; compare the soma with plain NEURON's."""
    cache = nl.run(frames_per_ms=FRAMES_PER_MS)
    assert scene.neuron_live.tstop == pytest.approx(reference["tstop"])
    soma = next(i for i, name in enumerate(model.section_names) if name.endswith("soma"))
    ours = np.asarray(cache.frames[:, int(model.section_segment_start[soma])], np.float64)
    theirs = np.asarray(reference["v"])
    ours = ours[:len(theirs)]  # NEURON's own recording may stop one sample short of tstop
    assert len(ours) >= len(theirs) - 1
    ours_spikes, their_spikes = spike_times(ours), spike_times(theirs)
    assert len(ours_spikes) == len(their_spikes) >= 1, (ours_spikes, their_spikes)
    assert abs(ours_spikes[0] - their_spikes[0]) <= 0.5
    assert np.max(np.abs(ours - theirs[:len(ours)])) <= 1.0


def nrnivmodl(nl, mod_folder, tmp_path):
    """The model's mechanisms compiled by nrnivmodl, for plain NEURON to load."""
    version = nl.model_loaders.nrn.neuron_h().nrnversion()
    return nl.model_loaders.mechanisms.compile_mechanisms(mod_folder, tmp_path / "plain-mechs", version)[0]


def write(folder, files):
    """The model's files, byte for byte (CR-only lines stay CR-only)."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return folder


def line_with(text, part):
    return next(i for i, line in enumerate(re.split(r"\r\n|\r|\n", text), 1) if part in line)


CELL_TEMPLATE = """
begintemplate {name}
public soma
create soma
proc init() {{
  soma {{ L = 20  diam = 20  insert hh }}
}}
endtemplate {name}
"""

# 3. A panel of radio buttons is a menu like a panel of buttons.
RADIO = {"mosinit.hoc": CELL_TEMPLATE.format(name="RadioCell") + """
objref cell, stim
proc fig() {
  cell = new RadioCell()
  cell.soma stim = new IClamp(0.5)
  stim.del = 2  stim.dur = 100  stim.amp = $1
  tstop = 30
}
xpanel("Figures")
xradiobutton("Fig 1A (weak)", "fig(0.05)")
xradiobutton("Fig 1B (strong)", "fig(0.3)", 1)
xpanel()
"""}


def test_a_radio_button_menu_offers_its_choices(nl, scene, tmp_path):
    folder = write(tmp_path / "model", RADIO)
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as menu:
        nl.load_model(str(folder / "mosinit.hoc"), build=False)
    assert [a.label for a in menu.value.actions] == ["Fig 1A (weak)", "Fig 1B (strong)"]
    assert [a.line for a in menu.value.actions] == [line_with(RADIO["mosinit.hoc"], "Fig 1A"),
                                                    line_with(RADIO["mosinit.hoc"], "Fig 1B")]
    reference = plain_neuron(folder, "mosinit.hoc", tmp_path, ["fig(0.3)"])
    model = nl.load_model(str(folder / "mosinit.hoc"), build=False, action="Fig 1B (strong)")
    assert_same_as_plain(nl, scene, model, reference)


# 4. `//moddir` and an entry that chdir()s into its model folder and loads from there (its
# own mosinit.hoc by the entry's name: NEURON runs the entry by xopen, not load_file).
LEAK_MOD = """NEURON { SUFFIX %s RANGE g NONSPECIFIC_CURRENT i }
PARAMETER { g = 0.0002 (S/cm2) }
ASSIGNED { v (mV) i (mA/cm2) }
BREAKPOINT { i = g * (v + 65) }
"""
CHDIR = {
    "mosinit.hoc": 'chdir("Model")\nload_file("mosinit.hoc")\n',
    "Model/mosinit.hoc": 'load_file("cell.hoc")\nxpanel("Paper")\nxbutton("Fig 2", "fig2()")\nxpanel()\n',
    "Model/cell.hoc": CELL_TEMPLATE.format(name="ChdirCell").replace("insert hh", "insert hh  insert ppchdirleak")
    + """objref cell, stim
proc fig2() {
  cell = new ChdirCell()
  cell.soma stim = new IClamp(0.5)
  stim.del = 2  stim.dur = 100  stim.amp = 0.3
  tstop = 30
}
""",
    "Model/ppchdirleak.mod": LEAK_MOD % "ppchdirleak",
}
MODDIR = {
    "mosinit.hoc": '//moddir Model\nload_file("Model/cell.hoc")\n',
    "Model/cell.hoc": CHDIR["Model/cell.hoc"].replace("ppchdirleak", "ppmoddirleak").replace("Chdir", "Moddir")
    + "fig2()\n",
    "Model/ppmoddirleak.mod": LEAK_MOD % "ppmoddirleak",
}


def test_an_entry_that_chdirs_first_compiles_and_offers_what_its_folder_holds(nl, scene, tmp_path):
    folder = write(tmp_path / "model", CHDIR)
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as menu:
        nl.load_model(str(folder / "mosinit.hoc"), build=False)
    assert [(a.label, Path(a.file).parent.name) for a in menu.value.actions] == [("Fig 2", "Model")]
    reference = plain_neuron(folder, "mosinit.hoc", tmp_path, ["fig2()"], dll=nrnivmodl(nl, folder / "Model", tmp_path))
    model = nl.load_model(str(folder / "mosinit.hoc"), build=False, action="Fig 2")
    assert "ppchdirleak" in model.mechanisms
    assert_same_as_plain(nl, scene, model, reference)


def test_moddir_names_where_the_mechanisms_are(nl, scene, tmp_path):
    folder = write(tmp_path / "model", MODDIR)
    model = nl.load_model(str(folder / "mosinit.hoc"), build=False)
    assert model.mechanisms == ["ppmoddirleak"]
    reference = plain_neuron(folder, "mosinit.hoc", tmp_path, dll=nrnivmodl(nl, folder / "Model", tmp_path))
    assert_same_as_plain(nl, scene, model, reference)


# 5. A Python entry whose menu exists only when it runs as the main script, its buttons
# calling Python functions.
PYTHON_MENU = {"mosinit.py": """
from neuron import h
h.load_file("stdrun.hoc")
cell = {}


def fig(amp):
    soma = h.Section(name="soma")
    soma.L = soma.diam = 20
    soma.insert("hh")
    stim = h.IClamp(soma(0.5))
    stim.delay, stim.dur, stim.amp = 2, 100, amp
    cell.update(soma=soma, stim=stim)
    h.tstop = 30


def fig3():
    fig(0.3)


if __name__ == "__main__":
    h.xpanel("Figures")
    h.xbutton("Fig 3", fig3)
    h.xbutton("Fig 4 (weak)", lambda: fig(0.12))
    h.xbutton("Init & Run", "run()")
    h.xpanel()
"""}


@pytest.mark.parametrize("host", ["IN_BLENDER", "PROCESS"])
def test_a_python_menu_of_python_callables_is_pressed_as_the_panel_would(nl, scene, host, tmp_path):
    folder = write(tmp_path / "model", PYTHON_MENU)
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as menu:
        nl.load_model(str(folder / "mosinit.py"), build=False, host=host)
    assert [a.label for a in menu.value.actions] == ["Fig 3", "Fig 4 (weak)", "Init & Run"]
    assert menu.value.actions[0].line == line_with(PYTHON_MENU["mosinit.py"], '"Fig 3"'), "where it is made"
    for label, press in (("Fig 3", "fig3()"), ("Fig 4 (weak)", "fig(0.12)")):
        reference = plain_neuron(folder, "mosinit.py", tmp_path, python_press=press)
        model = nl.load_model(str(folder / "mosinit.py"), build=False, host=host, action=label)
        assert f"ran the menu action '{label}'" in model.notes
        assert_same_as_plain(nl, scene, model, reference)


def test_a_python_buttons_error_names_the_models_line(nl, scene, tmp_path):
    text = PYTHON_MENU["mosinit.py"].replace('h.xbutton("Fig 3", fig3)',
                                             'h.xbutton("Fig 3", lambda: fig(undefined_amp))')
    folder, line = write(tmp_path / "model", {"mosinit.py": text}), line_with(text, '"Fig 3"')
    with pytest.raises(nl.model_loaders.ModelLoadError, match=rf"mosinit\.py:{line}: the menu action 'Fig 3' failed: "
                                                               r"NameError"):
        nl.load_model(str(folder / "mosinit.py"), build=False, host="IN_BLENDER", action="Fig 3")


# 6. A first-level button calls a procedure whose body loads the file that builds the next
# panel (and defines the procedures of its buttons).
NESTED = {
    "mosinit.hoc": 'load_file("menus.hoc")\nxpanel("Paper")\nxbutton("Figure menu", "figmenu()")\nxpanel()\n',
    "menus.hoc": 'proc figmenu() {\n  load_file("figs/figs_menu.hoc")\n}\n',
    "figs/figs_menu.hoc": """create soma
objref stim
proc fig1d() {
  soma { L = 20  diam = 20  insert hh }
  soma stim = new IClamp(0.5)
  stim.del = 2  stim.dur = 100  stim.amp = $1
  tstop = 30
}
xpanel("Figures")
xbutton("Fig 1d", "fig1d(0.3)")
xbutton("Fig 1e", "fig1d(0.5)")
xpanel()
""",
}


def test_a_button_of_a_menu_a_procedure_opens_runs_that_procedure_first(nl, scene, tmp_path):
    folder = write(tmp_path / "model", NESTED)
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as menu:
        nl.load_model(str(folder / "mosinit.hoc"), build=False)
    actions = menu.value.actions
    assert [a.label for a in actions] == ["Figure menu", "Fig 1d", "Fig 1e"]
    assert [a.label for a in actions[1].leads_in] == ["Figure menu"]
    reference = plain_neuron(folder, "mosinit.hoc", tmp_path, ["figmenu()", "fig1d(0.5)"])
    model = nl.load_model(str(folder / "mosinit.hoc"), build=False, action="Fig 1e")
    assert_same_as_plain(nl, scene, model, reference)


def test_the_same_button_in_two_nested_menus_is_offered_for_each(nl, scene, tmp_path):
    files = {"mosinit.hoc": 'xpanel("Paper")\nxbutton("Fig 1", "load_file(\\"fig 1.hoc\\")")\n'
                            'xbutton("Fig 2", "load_file(\\"fig2.hoc\\")")\nxpanel()\n',
             "fig 1.hoc": 'xpanel("Fig 1")\nxbutton("Init & Run", "run()")\nxpanel()\n',
             "fig2.hoc": 'xpanel("Fig 2")\nxbutton("Init & Run", "run()")\nxpanel()\n'}
    folder = write(tmp_path / "model", files)
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as menu:
        nl.load_model(str(folder / "mosinit.hoc"), build=False)
    assert [a.label for a in menu.value.actions] == ["Fig 1", "Fig 2", "Init & Run", "Fig 2 › Init & Run"]


# 9. A failed compile leads with the compiler's first error, at the .mod file it came from.
BROKEN_MODS = {
    # the translator warns "zzz undefined" first; the C++ compiler's error is why it failed
    "undefined": ("ppundef.mod", "NEURON { SUFFIX ppundef NONSPECIFIC_CURRENT i }\nASSIGNED { v (mV) i (mA/cm2) }\n"
                  "BREAKPOINT {\n  i = 0.001 * (v + 65) + zzz\n}\n", 4, r"ppundef\.cpp:\d+:\d+: error: .zzz."),
    # an error in a VERBATIM block, beside a file whose translation only gives notices
    "verbatim": ("ppverb.mod", "NEURON { SUFFIX ppverb }\nPROCEDURE f() {\nVERBATIM\n  int x = not_declared + 1;\n"
                 "ENDVERBATIM\n}\n", 4, r"ppverb\.cpp:\d+:\d+: error: .not_declared."),
}
NOTICES = "NEURON { SUFFIX ppnotice GLOBAL q }\nASSIGNED { q }\nBREAKPOINT { q = 1 }\n"


@pytest.mark.parametrize("case", sorted(BROKEN_MODS))
def test_a_failed_compile_leads_with_the_first_error_at_its_mod_file(nl, scene, tmp_path, case):
    name, text, line, error = BROKEN_MODS[case]
    folder = write(tmp_path / case, {f"mod/{name}": text, "mod/ppnotice.mod": NOTICES, "cell.hoc": "create soma\n"})
    with pytest.raises(nl.model_loaders.ModelLoadError) as failed:  # (a MechanismError in Blender's process)
        nl.load_model(str(folder / "cell.hoc"), build=False)
    first_line = str(failed.value).splitlines()[0]
    assert first_line.startswith(f"{folder / 'mod' / name}:{line}: compiling {name} failed: "), first_line
    assert re.search(error, first_line), first_line
    assert "Warning" not in first_line and "Notice" not in first_line


# 11. Old files: CR-only line endings (hoc and mod), a file name with a space loaded relative
# to the file that loads it, $(NEURONHOME) in a path.
OLD = {
    "mosinit.hoc": 'xopen("$(NEURONHOME)/lib/hoc/noload.hoc")\r// written on a classic Mac\r'
                   'xpanel("Old paper")\rxbutton("Fig 5", "load_file(\\"figs/fig 5.hoc\\")")\rxpanel()\r',
    "figs/fig 5.hoc": 'load_file("soma cell.hoc")\r/* a block\r comment */\rsoma insert ppcrleak\rtstop = 30\r',
    "figs/soma cell.hoc": 'create soma\rsoma { L = 20  diam = 20  insert hh }\robjref stim\r'
                          'soma stim = new IClamp(0.5)\r{ stim.del = 2  stim.dur = 100  stim.amp = 0.3 }\r',
    "ppcrleak.mod": "TITLE old leak\rCOMMENT\rwritten on a Mac\rENDCOMMENT\r"
                    + (LEAK_MOD % "ppcrleak").replace("\n", "  : a comment\r"),
}


def test_old_files_load_as_neuron_loads_them(nl, scene, tmp_path):
    folder = write(tmp_path / "model", OLD)
    with pytest.raises(nl.model_loaders.MenuOnlyModel) as menu:
        nl.load_model(str(folder / "mosinit.hoc"), build=False)
    assert [(a.label, a.line) for a in menu.value.actions] == [("Fig 5", 4)]
    reference = plain_neuron(folder, "mosinit.hoc", tmp_path, ['load_file("figs/fig 5.hoc")'],
                             dll=nrnivmodl(nl, folder, tmp_path))
    model = nl.load_model(str(folder / "mosinit.hoc"), build=False, action="Fig 5")
    assert model.mechanisms == ["ppcrleak"]
    assert_same_as_plain(nl, scene, model, reference)


def test_an_error_in_a_cr_only_file_names_its_line(nl, scene, tmp_path):
    folder = write(tmp_path / "model", {"old.hoc": "create soma\r\rx = 1\ry = undefined_thing(3)\r"})
    with pytest.raises(nl.model_loaders.ModelLoadError, match=r"old\.hoc:4: undefined_thing undefined function"):
        nl.load_model(str(folder / "old.hoc"), build=False, host="IN_BLENDER")
