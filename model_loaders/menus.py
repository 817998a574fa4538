"""Entries that build a button menu instead of a model (many ModelDB `mosinit.hoc`).

With `-nogui` the buttons never appear, so the model loads with 0 sections. We read the
`xbutton("label", "command")` calls in the entry and the files it loads, and offer
them: the user (or `load_model(path, action=...)`) picks one and we run its command.
"""
import re
from dataclasses import dataclass

from .errors import ModelLoadError
from .sources import files_loaded_by, line_of, unescape

_STRING = r'"((?:[^"\\\n]|\\.)*)"'
_XBUTTON = re.compile(rf"\bxbutton\s*\(\s*{_STRING}\s*(?:,\s*{_STRING}\s*)?\)")


@dataclass(frozen=True)
class MenuAction:
    label: str
    command: str  # hoc statement(s) the button runs
    file: str     # where the button is defined
    line: int


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
    """Every `xbutton` in the entry and the files it loads, in order, without repeats."""
    actions, commands = [], set()
    for path in files_loaded_by(entry):
        text = path.read_text(errors="replace")
        for match in _XBUTTON.finditer(text):
            label = unescape(match[1])
            command = unescape(match[2]) if match[2] is not None else label
            if command in commands or not command.strip():
                continue
            commands.add(command)
            actions.append(MenuAction(label, command, str(path), line_of(text, match.start())))
    return actions


def choose(actions, wanted):
    """The action whose label or command is `wanted`."""
    for action in actions:
        if wanted in (action.label, action.command):
            return action
    return None
