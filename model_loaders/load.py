"""Load a hoc, Python or morphology file into NEURON and describe it as a `Model`.

Models come as scientists download them: they use relative paths, call GUI code and
print to the terminal, so every load runs from the model's folder with NEURON headless,
and errors name the file and line that failed.
"""
import contextlib
import gc
import hashlib
import itertools
import os
import re
import runpy
import sys
import traceback
from pathlib import Path

from . import load_once, quit_check, stimulus, templates
from .connections import retire_netcons
from .errors import ModelLoadError
from .extract import extract_model
from .fresh import fresh_cvode, fresh_settings
from .hoc_errors import captured_stderr, hoc_error
from .mechanisms import load_mechanisms
from .menus import MenuOnlyModel, choose, menu_actions, recording_buttons
from .nrn import neuron_h
from .run_at_load import CAP_MS, capped_runs, live_objects
from .sources import own_run_procs, stdrun_definition
from .stimulus import Clamp
from .swc_check import check_swc

HOC_SUFFIXES = {".hoc", ".oc", ".nrn"}
MORPHOLOGY_READERS = {".swc": "Import3d_SWC_read", ".asc": "Import3d_Neurolucida3",
                      ".xml": "Import3d_MorphML"}
SUFFIXES = HOC_SUFFIXES | {".py"} | set(MORPHOLOGY_READERS)
LANGUAGES = ("hoc", "python")
# Where the model runs, for the quit()/exit checks: "shared" (a process that must survive
# the model: refuse one that quits at load), "auto" (also one that may quit during a run,
# so the caller can start it in a process of its own), "own" (its own process: no checks).
PROCESS_KINDS = ("shared", "auto", "own")

# A Python model's globals stay alive here: its sections, stimuli and NetCons would
# otherwise be garbage-collected when the script's namespace goes away.
_namespaces = []


def load_model(path, *, clear=True, action=None, before="", after="", language="hoc",
               clamp=None, mechanisms_folder=None, cap_ms=CAP_MS, layout=True, on_line=None, process="shared",
               run_to=None, on_init=None):
    """Load the model file at `path` into NEURON and return its `Model`.

    `clear` deletes the sections of a previously loaded model first (NEURON cannot
    unload mechanisms or templates, but sections can go; a model that would redefine
    either is refused before anything runs, leaving the loaded model as it was).
    `action`: label or command of one of the entry's menu buttons to run after it
    loads (an entry that builds only a menu raises `MenuOnlyModel` listing them).
    `before` / `after`: statements in `language` ("hoc" or "python") run before the
    entry and after it (and its action). `clamp`: a `Clamp` (or True) adds an IClamp
    at the soma. `mechanisms_folder`: where compiled .mod files are cached.
    `cap_ms`: a run started while loading is stopped after this many ms (None: never).
    `run_to`: every run started while loading goes to this many ms instead (with `cap_ms`
    None); `on_init()` is called at each finitialize while loading (see `replay_load`).
    `on_line(text)` receives the compiler's output while .mod files compile.
    `process`: one of PROCESS_KINDS; a model that would end a "shared" or "auto" process
    raises `NeedsOwnProcess` before anything runs.
    """
    path = Path(path).resolve()
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    if suffix not in SUFFIXES:
        raise ModelLoadError(f"{path}: not a model file (expected one of {', '.join(sorted(SUFFIXES))})")
    if language not in LANGUAGES:
        raise ModelLoadError(f"statements must be in one of {LANGUAGES}, not {language!r}")
    h = neuron_h()
    fresh_cvode(h.CVode())  # read before any model changes it
    # Everything that can refuse the model runs before the loaded model is cleared.
    text = "" if suffix in MORPHOLOGY_READERS else path.read_text(errors="replace")
    if suffix in HOC_SUFFIXES and process != "own":
        quit_check.refuse_hoc_quit(path, at_runtime=process == "auto")
    elif suffix == ".py":
        if process != "own":
            quit_check.refuse_python_quit(path, text)
        _check_python_syntax(path, text)
    elif suffix == ".swc":
        check_swc(path)  # NEURON's SWC reader crashes the process on some bad files
    found_templates = templates.check_templates(h, path) if suffix not in MORPHOLOGY_READERS else []
    loaded_once = load_once.check_load_once(path) if suffix not in MORPHOLOGY_READERS else []
    # A Python entry's buttons may call Python functions: known only once it has run.
    records, recorder = suffix == ".py" and bool(_MAKES_BUTTONS.search(text)), None
    chosen = _chosen_action(path, action, wait_for_python=records) if action else None
    mechanisms = load_mechanisms(h, path, mechanisms_folder, on_line) if text else None
    if clear:
        _clear(h)
    namespace = {"h": h}
    with _in_folder(path.parent), capped_runs(h, cap_ms, run_to, on_init) as ran:
        _statement(h, before, language, namespace, path, "pre-load")
        if suffix in HOC_SUFFIXES:
            _load_hoc(h, path)
        elif suffix == ".py":
            with recording_buttons(h) if records else contextlib.nullcontext() as recorder:
                namespace = _load_python(path)
        else:
            _load_morphology(h, path, MORPHOLOGY_READERS[suffix])
        templates.remember(found_templates)
        load_once.remember(loaded_once)
        if action and chosen is None:  # a button only the Python entry's run made
            chosen = _press_recorded(h, path, action, recorder)
        elif chosen is not None:
            _run_action(h, chosen)
        _statement(h, after, language, namespace, path, "post-load")
    stimuli_gone = ran.initialized and live_objects(h) < ran.live_in_run
    notes = []
    if clamp:
        clamp = clamp if isinstance(clamp, Clamp) else Clamp()
        notes.append(stimulus.add_soma_clamp(h, clamp)[1])
    _next_load()
    model = extract_model(h, path, layout=layout)
    if model.n_sections == 0:
        known = menu_actions(path)
        raise MenuOnlyModel(path, recorder.actions(known) if recorder else known)
    model.t_at_load = ran.t
    if ran.v_init is not None:  # the model passed its v_init to finitialize() itself
        model.settings["v_init"] = ran.v_init
    if ran.run_target > 0:  # the length of the model's own run at load (run(), continuerun(t))
        # (never shorter than the soma clamp needs to fire: the clamp raised h.tstop for that)
        model.settings["tstop"] = max(ran.run_target, model.settings["tstop"]) if clamp else ran.run_target
    elif not ran.capped and ran.t > model.settings["tstop"]:  # its own fadvance loop went further
        model.settings["tstop"] = round(ran.t, 6)
    own = own_run_procs(path) if suffix in HOC_SUFFIXES else []
    _own_procs.update(own)
    replayable = stimuli_gone and not (own or clamp or load_once.skipped_on_reload(path))
    model.settings["own_run"] = bool(own) or bool(replayable)
    _replay.clear()
    if own:
        notes.append(f"runs through its own {', '.join(p + '()' for p in own)} (Model's own run)")
    elif replayable:
        _replay.update(path=path, action=action, before=before, after=after, language=language,
                       mechanisms_folder=mechanisms_folder, layout=layout, on_line=on_line, process=process)
        notes.append("its stimuli exist only during the run it makes while loading: Run loads it again and "
                     "records that run (Model's own run)")
    elif stimuli_gone and clamp:
        notes.append("its stimuli exist only during the run it makes while loading: Run simulates from 0 "
                     "with the soma clamp instead")
    elif stimuli_gone:
        notes.append("its stimuli exist only during the run it makes while loading, and NEURON would not run "
                     "the files it loads by load_file() a second time: Run simulates from 0 without them "
                     "(add the soma clamp, or a post-load statement)")
    model.notes[:0] = [note for note in (
        ran.summary(),
        mechanisms.summary() if mechanisms else "",
        f"ran the menu action '{chosen.label}'" if chosen else "",
    ) if note] + notes
    model.mechanisms = mechanisms.names if mechanisms else []
    return model


def replay_load(run_to, on_init):
    """Load the current model again as it was loaded, recording the run it makes while
    loading: Run for a model whose stimuli exist only in that run (see `run_at_load`).
    Its runs go to `run_to` ms; `on_init()` is called at each of its finitialize calls."""
    if not _replay:
        raise ModelLoadError("the loaded model makes no run while loading that could be replayed")
    return load_model(**dict(_replay), cap_ms=None, run_to=run_to, on_init=on_init)


def replays_load():
    """Whether the loaded model's own run is the run it makes while loading."""
    return bool(_replay)


_MAKES_BUTTONS = re.compile(r"\bx(?:button|radiobutton)\s*\(")


def _chosen_action(path, wanted, wait_for_python=False):
    """The menu button `wanted`, read from the files; None when only the Python entry's run
    can tell (`wait_for_python`: it makes buttons whose actions may be Python callables)."""
    actions = menu_actions(path)
    chosen = choose(actions, wanted)
    if chosen is None and not wait_for_python:
        _no_such_button(path, wanted, actions)
    return chosen


def _no_such_button(path, wanted, actions):
    offered = ", ".join(f"'{a.label}'" for a in actions) or "none"
    raise ModelLoadError(f"{path}: has no menu button '{wanted}' (it offers: {offered})")


def _press_recorded(h, path, wanted, recorder):
    """Press a button the Python entry made while it ran: call its Python callable (or run
    its hoc command), as NEURON's panel would."""
    found = recorder.pressed(wanted)
    if found is None:
        _no_such_button(path, wanted, recorder.actions(menu_actions(path)))
    action, callback = found
    if callback is None:
        _run_action(h, action)
        return action
    try:
        callback()
    except Exception as exc:  # reported at the model's line, then the load stops
        raise ModelLoadError(f"{_model_frame(path, exc)}: the menu action '{action.label}' failed: "
                             f"{type(exc).__name__}: {exc}") from exc
    return action


def _run_action(h, action):
    """Run a menu button's hoc command, as pressing the button would (after the buttons that
    lead to it, in order)."""
    for command in action.commands:
        with captured_stderr() as errors:
            ok = h(command)
        if not ok:
            raise hoc_error(action.file, errors, f"the menu action '{action.label}' failed (at {command!r})")


def _statement(h, code, language, namespace, path, when):
    """A pre-/post-load statement; errors name the statement, not the model's file."""
    if not code or not code.strip():
        return
    if language == "hoc":
        with captured_stderr() as errors:
            ok = h(code)
        if not ok:
            detail = next((line[8:].strip() for line in errors if line.startswith("NEURON:")), "hoc error")
            raise ModelLoadError(f"{path}: the {when} statement failed: {detail} (in: {code.strip()[:80]})")
        return
    try:
        exec(compile(code, f"<{when} statement>", "exec"), namespace)
    except Exception as exc:  # reported with the statement, then the load stops
        raise ModelLoadError(f"{path}: the {when} statement failed: {type(exc).__name__}: {exc}") from exc


_loads = itertools.count(1)
_current_load = 0


def current_load():
    """Which load NEURON's sections belong to: changes with every load or clear, so
    anything cached from the sections (the engine's pointers) knows when it went stale."""
    return _current_load


def _next_load():
    global _current_load
    _current_load = next(_loads)


def _clear(h):
    _next_load()
    retire_netcons(h)  # hoc variables may keep an earlier model's NetCons alive
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)
    _namespaces.clear()
    _replay.clear()
    stimulus.clear()
    # A Python model's globals are often in reference cycles: free its stimuli now, not at some
    # later collection, so none outlives its model (the next one counts what its run made).
    gc.collect()
    if _own_procs:  # hoc procs outlive their model: put stdrun's run()/init()/advance() back
        for name in sorted(_own_procs):
            h(stdrun_definition(h, name))
        _own_procs.clear()
    fresh_settings(h)


_own_procs = set()  # stdrun procedures the loaded model redefined
_replay = {}  # load_model's arguments, when the loaded model's own run is its run at load

@contextlib.contextmanager
def _in_folder(folder):
    """Run from the model's folder with stdin closed, like the model's author did."""
    cwd, stdin = os.getcwd(), sys.stdin
    os.chdir(folder)
    sys.stdin = open(os.devnull)
    try:
        yield
    finally:
        sys.stdin.close()
        sys.stdin = stdin
        os.chdir(cwd)


def _ascii_name(path):
    """A name NEURON can open for `path` from its folder: its own when ASCII, else a link
    with an ASCII name beside it (NEURON's file functions take only ASCII names)."""
    if path.name.isascii():
        return path.name
    alias = path.with_name(f".nl-{hashlib.sha256(path.name.encode()).hexdigest()[:10]}{path.suffix}")
    if not alias.is_symlink():
        alias.symlink_to(path.name)
    return alias.name


def _load_hoc(h, path):
    """By the relative name, from the model's folder (the caller chdirs there): NEURON takes
    only ASCII paths, and after load_file of an absolute path it restores the directory,
    undoing a model's own chdir()."""
    failure = "hoc error"
    with captured_stderr() as errors:
        try:
            ok = h.xopen(_ascii_name(path))  # as `nrniv entry.hoc`: a file it loads may share its name
        except RuntimeError as exc:
            ok, failure = False, exc
    if not ok:  # raised after the with block, which fills `errors`
        raise templates.explain(hoc_error(path, errors, failure))


_PY2_HINTS = re.compile(r"^\s*(print\s+[^\s(=]|print\s*$|exec\s+[\"']|except\s+[\w.]+\s*,\s*\w+\s*:"
                        r"|raise\s+\w+\s*,)|`|<>|\b0\d+\b|\bur[\"']")


def _check_python_syntax(path, text):
    """A SyntaxError before anything runs; Python 2 code gets said so (ModelDB has lots)."""
    try:
        compile(text, str(path), "exec")
    except SyntaxError as exc:
        raise _syntax_error(path, exc) from exc


def _syntax_error(path, exc):
    line = (exc.text or "").strip()
    where = f"{path}:{exc.lineno}"
    if "Missing parentheses in call to" in (exc.msg or "") or _PY2_HINTS.search(line):
        return ModelLoadError(f"{where}: this is Python 2 code ({line[:60]!r}), which Blender's "
                              "Python 3 cannot run; convert it (e.g. with the 2to3 tool) and load it again")
    return ModelLoadError(f"{where}: SyntaxError: {exc.msg}")


def _load_python(path):
    """Run the file as __main__ with its folder first on sys.path; returns its globals."""
    sys.path.insert(0, str(path.parent))
    try:
        namespace = runpy.run_path(str(path), run_name="__main__")
        _namespaces.append(namespace)
        return namespace
    except SystemExit as exc:
        raise ModelLoadError(f"{path}: the model called sys.exit({exc.code})") from exc
    except SyntaxError as exc:  # in a module the model imports
        module = Path(exc.filename) if exc.filename and Path(exc.filename).is_file() else path
        raise _syntax_error(module, exc) from exc
    except Exception as exc:
        raise ModelLoadError(f"{_model_frame(path, exc)}: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent))


def _model_frame(path, exc):
    """`file:line` of the deepest traceback frame in the model's own files (the entry or a
    module beside it), not in NEURON or other installed packages."""
    folder = path.parent
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        file = Path(frame.filename)
        if file.is_relative_to(folder) and not {"site-packages", "dist-packages"} & set(file.parts):
            return f"{file}:{frame.lineno}"
    return str(path)


def _load_morphology(h, path, reader_name):
    """Import3d a reconstruction; pas everywhere and hh in the soma, so Run shows spikes."""
    h.load_file("import3d.hoc")
    reader = getattr(h, reader_name)()
    with captured_stderr() as errors:
        try:
            reader.input(_ascii_name(path))  # from the model's folder: Import3d takes only ASCII paths
            h.Import3d_GUI(reader, 0).instantiate(None)
        except RuntimeError as exc:
            raise ModelLoadError(f"{path}: not a readable morphology: {' '.join(errors) or exc}") from exc
    for sec in h.allsec():  # typical cortical passive properties, not NEURON's bare defaults
        sec.Ra, sec.cm = 150.0, 1.0
        sec.insert("pas")
        for seg in sec:
            seg.pas.g, seg.pas.e = 5e-5, -65.0  # Rm 20 kΩ·cm²
    soma = stimulus.soma_section(h)  # a section named soma, else the first root
    if soma is not None:
        soma.insert("hh")
