"""hoc's `load_file("x.hoc")` runs a file only the first time that name is given in a
NEURON process (NEURON keeps every name and cannot forget one). A model loaded again, or
another model whose files share a name with an earlier one's ("cell.hoc", "run.ses"),
would silently skip them: no cells, or its session file's CVode and tstop gone. Such a
model needs a NEURON process of its own.

Read as text, never run: the names are the literal ones given to `load_file` (not forced
with a first argument of 1) that name a file of the model, not NEURON's library. A file
holding only templates is no loss when skipped: NEURON keeps its templates (`templates`
checks those).
"""
import re

from .errors import NeedsOwnProcess
from .sources import QUOTED, SOURCE_SUFFIXES, files_loaded_by, line_of, unescape

_LOAD_ONCE = re.compile(rf"\bload_file\s*\(\s*(?:0\s*,\s*)?{QUOTED}")
_TEMPLATE = re.compile(r"^[ \t]*begintemplate\b.*?^[ \t]*endtemplate\b[^\n]*", re.MULTILINE | re.DOTALL)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_taken = {}  # name given to load_file -> the model file it ran, in this process


def names_loaded_once(entry):
    """[(name, file, loader, line)]: the model files `entry` runs through load_file by name."""
    found = []
    for loader in files_loaded_by(entry):
        text = loader.read_text(errors="replace")
        for match in _LOAD_ONCE.finditer(text):
            name = unescape(match[1] if match[1] is not None else match[2])
            for folder in (loader.parent, entry.parent):
                candidate = (folder / name).resolve()
                if candidate.suffix.lower() in SOURCE_SUFFIXES and candidate.is_file():
                    found.append((name, candidate, loader, line_of(text, match.start())))
                    break
    return found


def check_load_once(entry):
    """Raise when a file the model loads by name would be skipped by this NEURON (and it
    is more than templates); returns the names (pass them to `remember` once it loaded)."""
    found = names_loaded_once(entry)
    for name, path, loader, line in found:
        if name in _taken and not _only_templates(path):
            raise NeedsOwnProcess(
                f"{loader}:{line}: load_file(\"{name}\") would not run {path.name}: NEURON in this process "
                f"already loaded a file by that name ({_taken[name]}) and runs each name once. Load this "
                "model in a NEURON process of its own (host='PROCESS', the default for such a model)")
    return found


def skipped_on_reload(entry):
    """Whether loading `entry` again in this process would skip one of its files."""
    return any(not _only_templates(path) for _, path, _, _ in names_loaded_once(entry))


def remember(found):
    for name, path, _, _ in found:
        _taken.setdefault(name, path)


def _only_templates(path):
    text = _COMMENT.sub("", _TEMPLATE.sub("", path.read_text(errors="replace")))
    return not text.strip()
