"""hoc templates cannot be redefined: a model whose templates are already taken needs a
NEURON process of its own.

NEURON keeps every `begintemplate` until the process ends, and executing one again is a
hoc error halfway through the load ("a template cannot be redefined"). We read the
model's files first and refuse before anything runs, so the loaded model stays as it
was (and the caller can load it in a fresh process). hoc's `load_file` skips a file it
has loaded before, so a template that comes from the very same file as last time is no
conflict unless that file is the entry itself (which is always executed again).
"""
import re
from pathlib import Path

from .errors import ModelLoadError, NeedsOwnProcess
from .sources import files_loaded_by, line_of

_TEMPLATE = re.compile(r"^[ \t]*begintemplate[ \t]+(\w+)", re.MULTILINE)
_HOC = {".hoc", ".oc", ".nrn", ".tem", ".template"}
_origin = {}  # template name -> file that defined it in this process


def templates_in(entry):
    """[(name, file, line)] for every `begintemplate` in the files the entry loads."""
    found = []
    for path in files_loaded_by(entry):
        if path.suffix.lower() in _HOC:
            text = path.read_text(errors="replace")
            found.extend((m[1], path, line_of(text, m.start())) for m in _TEMPLATE.finditer(text))
    return found


def check_templates(h, entry):
    """Raise when the model would redefine a template NEURON already has; returns the
    model's templates (pass them to `remember` once it loaded)."""
    entry = Path(entry).resolve()
    found = templates_in(entry)
    for name, path, line in found:
        if not h.name_declared(name):
            continue
        origin = _origin.get(name)
        if origin == path and path != entry:
            continue  # load_file will not execute it again
        where = f"by {origin}" if origin else "in NEURON"
        raise NeedsOwnProcess(
            f"{path}:{line}: defines the hoc template '{name}', which is already defined {where}. "
            "NEURON cannot unload templates: load this model in a NEURON process of its own "
            "(host='PROCESS', the default for such a model) or restart Blender")
    return found


def remember(found):
    for name, path, _ in found:
        _origin.setdefault(name, path)


def explain(error):
    """Add the way out to NEURON's own message when a template slipped past the check."""
    text = str(error)
    if "template cannot be redefined" in text:
        return ModelLoadError(text + " (NEURON cannot unload hoc templates: load this model in "
                              "a NEURON process of its own, host='PROCESS', or restart Blender)")
    return error
