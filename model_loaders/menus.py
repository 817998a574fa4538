"""Entries that build a button menu instead of a model (many ModelDB `mosinit.hoc`).

With `-nogui` the buttons never appear, so the model loads with 0 sections. We read the
`xbutton("label", "command")` calls in the entry and the files it loads, and offer
them: the user (or `load_model(path, action=...)`) picks one and we run its command.
A button may open another menu (its command loads a file with more buttons): those
buttons are offered too, and picking one first runs the buttons that lead to it, as a
user pressing them in order would.
"""
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelLoadError
from .sources import SOURCE_SUFFIXES, files_loaded_by, line_of, unescape

_STRING = r'"((?:[^"\\\n]|\\.)*)"'
_XBUTTON = re.compile(rf"\bxbutton\s*\(\s*{_STRING}\s*(?:,\s*{_STRING}\s*)?\)")
_FILE_NAME = re.compile(r"""["']([^"'\s]+\.(?:hoc|oc|nrn|ses|tem))["']""")
MAX_DEPTH = 4  # menus opening menus: deeper than this is not a menu a user clicks through


@dataclass(frozen=True)
class MenuAction:
    label: str
    command: str  # hoc statement(s) the button runs
    file: str     # where the button is defined
    line: int
    leads_in: tuple = ()  # the buttons pressed before this one (the menus that show it)

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
    """Every `xbutton` in the entry and the files it loads, then (breadth first) those of
    the files a button's command names, each with the buttons that lead to it."""
    actions, commands, seen_files = [], set(), set()
    todo = [(files_loaded_by(entry), ())]
    while todo:
        files, leads_in = todo.pop(0)
        for path in files:
            if path in seen_files:
                continue
            seen_files.add(path)
            text = path.read_text(errors="replace")
            for match in _XBUTTON.finditer(text):
                label = unescape(match[1])
                command = unescape(match[2]) if match[2] is not None else label
                if command in commands or not command.strip():
                    continue
                commands.add(command)
                action = MenuAction(label, command, str(path), line_of(text, match.start()), leads_in)
                actions.append(action)
                opened = _files_named(command, path.parent, Path(entry).parent)
                if opened and len(leads_in) < MAX_DEPTH:
                    todo.append(([f for name in opened for f in files_loaded_by(name)], (*leads_in, action)))
    return actions


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
