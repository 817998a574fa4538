"""Entries that build a button menu instead of a model (many ModelDB `mosinit.hoc`).

With `-nogui` the buttons never appear, so the model loads with 0 sections. We read the
`xbutton("label", "command")` calls in the entry and the files it loads, and offer
them: the user (or `load_model(path, action=...)`) picks one and we run its command.
A button may open another menu (its command loads a file with more buttons, itself or
through a procedure whose body loads it): those buttons are offered too, and picking one
first runs the buttons that lead to it, as a user pressing them in order would.
`xradiobutton("label", "command")` panels are menus the same way. A Python entry's
buttons may call Python functions: those are recorded while the entry runs
(`ButtonRecorder`), since no text says what a lambda does.
"""
import contextlib
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelLoadError
from .quit_check import blocks, code_only
from .sources import SOURCE_SUFFIXES, chdir_folders, line_of, loads_in, unescape


def _string(name):
    """A "double" or 'single' quoted string (single quotes: a Python entry's h.xbutton)."""
    return rf"""(?:"(?P<{name}>(?:[^"\\\n]|\\.)*)"|'(?P<{name}_sq>(?:[^'\\\n]|\\.)*)')"""


_XBUTTON = re.compile(rf"\bx(?:button|radiobutton)\s*\(\s*{_string('label')}\s*"
                      rf"(?:,\s*{_string('command')}\s*(?:,[^()]*)?)?\)")
_FILE_NAME = re.compile(r"""["']([^"'\n]+?\.(?:hoc|oc|nrn|ses|tem))["']""")
_DEFINITION = re.compile(r"\b(?:proc|func|obfunc)\s+(\w+)\s*\([^()]*\)\s*$")
_CALLED = re.compile(r"(?<![\w.])(\w+)\s*\(")
MAX_DEPTH = 4  # menus opening menus: deeper than this is not a menu a user clicks through


@dataclass(frozen=True)
class MenuAction:
    label: str
    command: str  # hoc statement(s) the button runs
    file: str     # where the button is defined
    line: int
    leads_in: tuple = ()  # the buttons pressed before this one (the menus that show it)

    def __post_init__(self):
        """Rebuilt from its dict (a NEURON process of its own sends actions as plain data),
        the buttons leading here are MenuActions again."""
        leads_in = tuple(MenuAction(**a) if isinstance(a, dict) else a for a in self.leads_in)
        object.__setattr__(self, "leads_in", leads_in)

    @property
    def commands(self):
        """Every command to run, in order: the buttons leading here, then this one."""
        return [*(action.command for action in self.leads_in), self.command]


class MenuOnlyModel(ModelLoadError):
    """The entry built a menu, not a model: `actions` lists the buttons it offers.

    Load again with `action=` set to one of the labels (or commands) to run it.
    """

    def __init__(self, path, actions):
        self.path, self.actions = str(path), list(actions)
        if self.actions:
            listed = "; ".join(f"'{a.label}'" for a in self.actions[:8])
            more = f" and {len(self.actions) - 8} more" if len(self.actions) > 8 else ""
            message = (f"{path}: builds a menu, not a model (0 sections). Choose one of its "
                       f"{len(self.actions)} button(s): {listed}{more}")
        else:
            message = (f"{path}: loaded, but it created no sections (is it a menu or a library "
                       "file?); pick the file that builds the cells, or add a post-load statement")
        super().__init__(message)


def menu_actions(entry):
    """Every button in the entry and the files it loads, then (breadth first) those of
    the files a button's command loads, each with the buttons that lead to it."""
    entry = Path(entry).resolve()
    deferred = _deferred_loads(entry)
    actions, commands, seen_files = [], set(), set()
    todo = [(_loaded_at_once([entry], entry, deferred), ())]
    while todo:
        files, leads_in = todo.pop(0)
        for path in files:
            if path in seen_files:
                continue
            seen_files.add(path)
            text = path.read_text(errors="replace")
            for match in _XBUTTON.finditer(text):
                label = unescape(_group(match, "label"))
                command = _group(match, "command")
                command = unescape(command) if command is not None else label
                key = (command, tuple(a.command for a in leads_in))
                if key in commands or not command.strip():
                    continue
                commands.add(key)
                action = MenuAction(_unique(label, leads_in, actions), command, str(path),
                                    line_of(text, match.start()), leads_in)
                actions.append(action)
                opened = _files_opened(command, path, entry, deferred)
                if opened and len(leads_in) < MAX_DEPTH:
                    todo.append((_loaded_at_once(opened, entry, deferred), (*leads_in, action)))
    return actions


def _group(match, name):
    return match[name] if match[name] is not None else match[f"{name}_sq"]


def _unique(label, leads_in, actions):
    """A nested menu's button keeps its label unless another button has it already (every
    figure's "Init & Run"): then it is named after the button that opens its menu."""
    if not leads_in or all(action.label != label for action in actions):
        return label
    return f"{leads_in[-1].label} › {label}"


def _deferred_loads(entry):
    """{(file, offset): procedure} for each load inside a hoc procedure that no code calls
    (only a button's command may): it runs when the button is pressed, not at load."""
    files, texts = _all_files(entry)
    codes = {path: code_only(text) for path, text in texts.items()}
    all_code = "\n".join(codes.values())
    deferred = {}
    for path in files:
        if path.suffix.lower() == ".py":
            continue
        procs = [(b, d[1]) for b in blocks(codes[path]) if (d := _DEFINITION.search(b.header))]
        for offset, _ in loads_in(path, entry):
            inside = [name for block, name in procs if block.start < offset < block.end]
            if inside and not _called_in_code(inside[-1], all_code):
                deferred[(path, offset)] = inside[-1]
    return deferred


def _all_files(entry):
    """Every file the model may load (at load or from a procedure), with its text."""
    files, todo = [], [entry]
    while todo and len(files) < 200:
        path = todo.pop(0)
        if path in files or not path.is_file():
            continue
        files.append(path)
        todo.extend(file for _, file in loads_in(path, entry))
    return files, {path: path.read_text(errors="replace") for path in files}


def _called_in_code(name, all_code):
    """A call of `name` in code (strings blanked: a button's command is no call at load)."""
    for call in re.finditer(rf"(?<![\w.]){re.escape(name)}\s*\(", all_code):
        before = all_code[max(0, call.start() - 12):call.start()]
        if not re.search(r"\b(?:proc|func|obfunc|iterator)\s+$", before):
            return True
    return False


def _loaded_at_once(starts, entry, deferred):
    """`starts` and what they load while they run (not inside a procedure left for a button)."""
    seen, todo = [], list(starts)
    while todo and len(seen) < 200:
        path = todo.pop(0)
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        todo.extend(file for offset, file in loads_in(path, entry) if (path, offset) not in deferred)
    return seen


def _files_opened(command, path, entry, deferred):
    """Files a button's command loads: by name, or through the procedures it calls."""
    folders = (path.parent, *chdir_folders(entry), entry.parent)
    opened = _files_named(command, *dict.fromkeys(folders))
    called = set(_CALLED.findall(command))
    for (loader, offset), proc in deferred.items():
        if proc in called:
            opened.extend(file for at, file in loads_in(loader, entry) if at == offset)
    return list(dict.fromkeys(opened))


def _files_named(command, *folders):
    """Model files a button's command names (load_file("x.hoc"), restart("x.hoc"), ...)."""
    found = []
    for name in _FILE_NAME.findall(command):
        for folder in folders:
            candidate = (folder / name).resolve()
            if candidate.suffix.lower() in SOURCE_SUFFIXES and candidate.is_file():
                found.append(candidate)
                break
    return found


def choose(actions, wanted):
    """The action whose label or command is `wanted`."""
    for action in actions:
        if wanted in (action.label, action.command):
            return action
    return None


class ButtonRecorder:
    """Stands in for NEURON's `h` while a Python entry runs, recording each `xbutton` and
    `xradiobutton` it makes (with -nogui NEURON keeps none) and passing everything else on.

    Only a recording knows a button whose action is a Python callable (a lambda, a def):
    `pressed(label)` returns it, so pressing the button calls what the author's would.
    """

    def __init__(self, h):
        object.__setattr__(self, "_h", h)
        object.__setattr__(self, "buttons", [])  # [(MenuAction, callable or None)]

    def __getattr__(self, name):
        if name in ("xbutton", "xradiobutton"):
            return functools.partial(self._record, getattr(self._h, name))
        return getattr(self._h, name)

    def __setattr__(self, name, value):
        setattr(self._h, name, value)

    def __call__(self, *args, **kwargs):
        return self._h(*args, **kwargs)

    def _record(self, real, label, action=None, *rest):
        caller = sys._getframe(1)
        callback = action if callable(action) else None
        command = str(action) if action is not None and callback is None else str(label)
        if callback is not None:
            command = f"python: {getattr(callback, '__qualname__', None) or repr(callback)}"
        made = MenuAction(str(label), command, caller.f_code.co_filename, caller.f_lineno)
        self.buttons.append((made, callback))
        return real(label, *(() if action is None else (action,)), *rest)

    def actions(self, known=()):
        """The recorded buttons, in the order the entry made them, then those of `known`
        (read from the files) that its run did not make."""
        made = [a for a, _ in self.buttons]
        listed = {(a.label, a.command) for a in made}
        return made + [a for a in known if (a.label, a.command) not in listed]

    def pressed(self, wanted):
        """(MenuAction, callable or None) of the recorded button `wanted`, or None."""
        return next(((a, call) for a, call in self.buttons if wanted in (a.label, a.command)), None)


@contextlib.contextmanager
def recording_buttons(h):
    """`neuron.h` is a `ButtonRecorder` inside (what `from neuron import h` gives the model)."""
    import neuron  # imported already by neuron_h(); no bpy here
    recorder, real = ButtonRecorder(h), neuron.h
    neuron.h = recorder
    try:
        yield recorder
    finally:
        neuron.h = real
