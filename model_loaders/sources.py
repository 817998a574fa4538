"""Which files a model consists of: the entry and what it loads by a literal name.

Read as text, never run: used to find a menu's buttons and the hoc templates a model
would define before NEURON executes anything.
"""
import re
from pathlib import Path

QUOTED = r'''(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')'''
_LOADS = re.compile(rf"\b(?:load_file|xopen|load_template|load_proc|load_func)\s*\(\s*(?:\d+\s*,\s*)?{QUOTED}")
SOURCE_SUFFIXES = {".hoc", ".oc", ".nrn", ".ses", ".py", ".tem", ".template"}


def unescape(text):
    return re.sub(r"\\(.)", r"\1", text)


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


_CHDIR = re.compile(rf"\bchdir\s*\(\s*{QUOTED}")


def loads_in(path, entry):
    """[(offset, file)] for each model file `path` loads by a literal name, in order.

    A name is looked up where NEURON would find it: after a `chdir("sub")` earlier in the
    file, from that folder (ModelDB entries that change into their model folder first);
    else beside `path` (load_file runs a file from its own folder) or the entry.
    """
    path, entry = Path(path), Path(entry)
    text, here, found = path.read_text(errors="replace"), path.parent, []
    events = sorted([*_LOADS.finditer(text), *_CHDIR.finditer(text)], key=lambda m: m.start())
    for match in events:
        name = unescape(match[1] if match[1] is not None else match[2])
        if match.re is _CHDIR:
            here = here / name if (here / name).is_dir() else here
            continue
        for folder in dict.fromkeys((here, path.parent, entry.parent)):
            candidate = (folder / name).resolve()
            if candidate.suffix.lower() in SOURCE_SUFFIXES and candidate.is_file():
                found.append((match.start(), candidate))
                break
    return found


def chdir_folders(entry):
    """The folders the entry `chdir()`s into (by a literal name), in order."""
    entry = Path(entry)
    here, folders = entry.parent, []
    for match in _CHDIR.finditer(entry.read_text(errors="replace")):
        name = unescape(match[1] if match[1] is not None else match[2])
        if (here / name).is_dir():
            here = (here / name).resolve()
            folders.append(here)
    return folders


def files_loaded_by(entry, limit=200):
    """The entry and the files it loads by a literal name, recursively, in load order."""
    entry = Path(entry).resolve()
    seen, todo = [], [entry]
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        todo.extend(file for _, file in loads_in(path, entry))
    return seen


_TEMPLATE = re.compile(r"^[ \t]*begintemplate\b.*?^[ \t]*endtemplate\b[^\n]*", re.MULTILINE | re.DOTALL)
_OWN_RUN = re.compile(r"^[ \t]*proc[ \t]+(run|init|advance)[ \t]*\(", re.MULTILINE)


def own_run_procs(entry):
    """The stdrun procedures (run, init, advance) the model's hoc files define for
    themselves: such a model makes its stimuli or steps its own way inside them."""
    found = set()
    for path in files_loaded_by(entry):
        if path.suffix.lower() in (".hoc", ".oc", ".nrn", ".ses"):
            text = _TEMPLATE.sub("", path.read_text(errors="replace"))  # a template's init() is its constructor
            found.update(match[1] for match in _OWN_RUN.finditer(text))
    return sorted(found)


def stdrun_definition(h, name):
    """The text of stdrun.hoc's own top-level `proc <name>()` (outside its templates), read
    from the NEURON in use, to restore a procedure that a model redefined."""
    text = (Path(h.neuronhome()) / "lib" / "hoc" / "stdrun.hoc").read_text(errors="replace")
    depth_in_template = 0
    for line_start in _line_starts(text):
        line = text[line_start:text.find("\n", line_start)].strip()
        if line.startswith("begintemplate"):
            depth_in_template += 1
        elif line.startswith("endtemplate"):
            depth_in_template -= 1
        elif not depth_in_template and re.match(rf"proc\s+{name}\s*\(", line):
            return text[line_start:_block_end(text, text.index("{", line_start))]
    raise LookupError(f"stdrun.hoc defines no proc {name}()")


def _line_starts(text):
    yield 0
    yield from (match.end() for match in re.finditer("\n", text))


def _block_end(text, opening):
    """Just past the brace that closes the one at `opening` (hoc comments skipped)."""
    depth, i = 0, opening
    while i < len(text):
        if text.startswith("//", i):
            i = text.find("\n", i) if text.find("\n", i) >= 0 else len(text)
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i) + 2 if text.find("*/", i) >= 0 else len(text)
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return i
    raise LookupError("unbalanced braces in stdrun.hoc")
