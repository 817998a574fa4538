"""Which files a model consists of: the entry and what it loads by a literal name.

Read as text, never run: used to find a menu's buttons and the hoc templates a model
would define before NEURON executes anything.
"""
import re
from pathlib import Path

_QUOTED = r'''(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')'''
_LOADS = re.compile(rf"\b(?:load_file|xopen|load_template|load_proc|load_func)\s*\(\s*(?:\d+\s*,\s*)?{_QUOTED}")
SOURCE_SUFFIXES = {".hoc", ".oc", ".nrn", ".ses", ".py", ".tem", ".template"}


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def files_loaded_by(entry, limit=200):
    """The entry and the files it loads by a literal name, recursively, in load order."""
    entry = Path(entry).resolve()
    seen, todo = [], [entry]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        for match in _LOADS.finditer(path.read_text(errors="replace")):
            name = unescape(match[1] if match[1] is not None else match[2])
            for folder in (path.parent, entry.parent):
                candidate = (folder / name).resolve()
                if candidate.suffix.lower() in SOURCE_SUFFIXES and candidate.is_file():
                    todo.append(candidate)
                    break
    return seen
