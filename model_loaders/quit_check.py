"""Find a `quit()` (hoc) or `quit`/`sys.exit`/`os._exit` (Python) that would end the
process running the model (Blender with it, when NEURON runs inside Blender): such models
are sent to a NEURON process of their own before anything of them runs.

Read as text, never run. Comments and strings are skipped, so a menu's
`xbutton("Quit", "quit()")` is fine (unless the string goes to `execute`). A quit in
an `if (0) { … }` block is dead code; one in a `proc`/`func` counts only when that
name is called somewhere in the model's files (any call, to stay on the safe side).
"""
import re
from dataclasses import dataclass

from .errors import NeedsOwnProcess
from .sources import files_loaded_by, line_of

_COMMENT_OR_STRING = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"', re.DOTALL)
_EXECUTE_BEFORE = re.compile(r"\bexecute1?\s*\(\s*$")
_QUIT = re.compile(r"\bquit\s*\(")
_BRACE = re.compile(r"[{}]")
_DEAD = re.compile(r"\bif\s*\(\s*0+\s*\)\s*$")
_DEFINITION = re.compile(r"\b(?:proc|func|obfunc|iterfunc|iterator)\s+(\w+)\s*\([^()]*\)\s*$")


# Python calls that end the process: NEURON's quit (direct, by name or through hoc), the
# interpreter's exit and quit builtins, sys.exit and os._exit.
_PY_ENDS = re.compile(r"^[^#\n]*?(?P<call>\bh\.quit\s*\(|[\"']quit\s*\(\s*\)|[\"']quit[\"']"
                      r"|\bsys\.exit\s*\(|\bos\._exit\s*\(|(?<![\w.])(?:exit|quit)\s*\()", re.MULTILINE)


def python_quit_offset(text):
    """Offset of the first call in Python `text` that would end the process, or None."""
    match = _PY_ENDS.search(text)
    return None if match is None else match.start("call")


def runtime_quit_offset(code):
    """Offset of a hoc quit( that can run after the load (in a proc or func that nothing
    calls at load: a run, an event or a button may), or None; dead `if (0)` code excluded."""
    spans = blocks(code)
    for match in _QUIT.finditer(code):
        around = [b for b in spans if b.start < match.start() < b.end]
        if not any(_DEAD.search(b.header) for b in around):
            return match.start()
    return None


@dataclass
class Block:
    start: int
    end: int
    header: str


def code_only(text):
    """`text` with comments and strings blanked (newlines kept, so offsets and lines stay);
    a string passed to execute() stays, since it runs."""
    def blank(match):
        kept = match[0]
        runs = kept.startswith('"') and _EXECUTE_BEFORE.search(text, 0, match.start())
        return kept if runs else re.sub(r"[^\n]", " ", kept)
    return _COMMENT_OR_STRING.sub(blank, text)


def blocks(code):
    """Every `{ … }` block with the code just before its brace (its header)."""
    found, open_at, last_end = [], [], 0
    for match in _BRACE.finditer(code):
        if match[0] == "{":
            header = code[last_end:match.start()].rsplit(";", 1)[-1]
            open_at.append((match.start(), header.strip()))
        elif open_at:
            start, header = open_at.pop()
            found.append(Block(start, match.end(), header))
        last_end = match.end()
    return found


def live_quit_offset(code, all_code):
    """Offset of the first quit( in `code` that can run at load, or None. `all_code`:
    the code of every file of the model, where calls of a quitting proc are looked for."""
    spans = blocks(code)
    for match in _QUIT.finditer(code):
        around = [b for b in spans if b.start < match.start() < b.end]
        if any(_DEAD.search(b.header) for b in around):
            continue
        defined = [d for b in around if (d := _DEFINITION.search(b.header))]
        if not defined or _is_called(defined[-1][1], all_code):
            return match.start()
    return None


def _is_called(name, all_code):
    """A call of `name` anywhere but its own definition line."""
    calls = re.finditer(rf"(?<!\w){re.escape(name)}\s*\(", all_code)
    return any(not re.search(r"\b(?:proc|func|obfunc|iterator)\s+$", all_code[max(0, c.start() - 12):c.start()])
               for c in calls)


def refuse_python_quit(path, text):
    """A quit or exit that runs while the Python entry loads."""
    offset = python_quit_offset(text)
    if offset is not None:
        _quit_error(path, text, offset)


def _quit_error(path, text, offset, when="while loading"):
    line = line_of(text, offset)
    call = text[offset:].split("\n", 1)[0].strip()[:60]
    raise NeedsOwnProcess(f"{path}:{line}: calls quit() ({call}) {when}, which would end the process "
                          "it runs in (Blender itself, when NEURON runs inside Blender): such a model "
                          "runs in a NEURON process of its own (host='PROCESS')")


def refuse_hoc_quit(entry, at_runtime=False):
    """A quit() that can run while loading (or, `at_runtime`, in a proc a run or an event
    may call), in the entry or a hoc file it loads."""
    files = [f for f in files_loaded_by(entry) if f.suffix.lower() != ".py"]
    texts = [f.read_text(errors="replace") for f in files]
    codes = [code_only(text) for text in texts]
    all_code = "\n".join(codes)
    for file, text, code in zip(files, texts, codes):
        offset = live_quit_offset(code, all_code)
        if offset is not None:
            _quit_error(file, text, offset)
    for file, text, code in zip(files, texts, codes):
        offset = runtime_quit_offset(code) if at_runtime else None
        if offset is not None:
            _quit_error(file, text, offset, when="in a procedure a run may call")
