"""Load a hoc, Python or morphology file into NEURON and describe it as a `Model`.

Models come as scientists download them: they use relative paths, call GUI code and
print to the terminal, so every load runs from the model's folder with NEURON headless,
and errors name the file and line that failed.
"""
import contextlib
import io
import os
import re
import runpy
import sys
import tempfile
import traceback
from pathlib import Path

from .extract import extract_model
from .nrn import neuron_h

HOC_SUFFIXES = {".hoc", ".oc", ".nrn"}
MORPHOLOGY_READERS = {".swc": "Import3d_SWC_read", ".asc": "Import3d_Neurolucida3",
                      ".xml": "Import3d_MorphML"}
SUFFIXES = HOC_SUFFIXES | {".py"} | set(MORPHOLOGY_READERS)
_HOC_QUIT = re.compile(r"^[^/\n]*\bquit\s*\(\s*\)", re.MULTILINE)
_PY_QUIT = re.compile(r"^[^#\n]*(\bh\.quit\s*\(|[\"']quit\s*\(\s*\))", re.MULTILINE)

# A Python model's globals stay alive here: its sections, stimuli and NetCons would
# otherwise be garbage-collected when the script's namespace goes away.
_namespaces = []


class ModelLoadError(RuntimeError):
    """A model failed to load; the message names the file (and line when known)."""


def load_model(path, *, clear=True):
    """Load the model file at `path` into NEURON and return its `Model`.

    `clear` deletes the sections of a previously loaded model first (NEURON cannot
    unload mechanisms or templates, but sections can go).
    """
    path = Path(path).resolve()
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    if suffix not in SUFFIXES:
        raise ModelLoadError(f"{path}: not a model file (expected one of {', '.join(sorted(SUFFIXES))})")
    h = neuron_h()
    if clear:
        _clear(h)
    with _in_folder(path.parent):
        if suffix in HOC_SUFFIXES:
            _load_hoc(h, path)
        elif suffix == ".py":
            _load_python(path)
        else:
            _load_morphology(h, path, MORPHOLOGY_READERS[suffix])
    model = extract_model(h, path)
    if model.n_sections == 0:
        raise ModelLoadError(f"{path}: loaded, but it created no sections (is it a menu or a library file?)")
    return model


def _clear(h):
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)
    _namespaces.clear()
    h.t = 0


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


class _Tee(io.TextIOBase):
    """Collects what is written while still passing it to the real stream."""

    def __init__(self, stream):
        self.stream, self.text = stream, io.StringIO()

    def write(self, text):
        self.text.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


@contextlib.contextmanager
def _captured_stderr():
    """Collect NEURON's error messages: NEURON 9 prints them through Python's sys.stderr
    (and, from C code, file descriptor 2), so both are watched."""
    sys.stderr.flush()
    saved_fd, saved_stream = os.dup(2), sys.stderr
    with tempfile.TemporaryFile(mode="w+") as sink:
        os.dup2(sink.fileno(), 2)
        sys.stderr = tee = _Tee(saved_stream)
        lines = []
        try:
            yield lines
        finally:
            sys.stderr = saved_stream
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            from_c = sink.read()
            saved_stream.write(from_c)  # still show them on the real terminal
            lines.extend((tee.text.getvalue() + from_c).splitlines())


def _refuse_quit(path, text, pattern):
    match = pattern.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise ModelLoadError(f"{path}:{line}: calls quit(), which would close Blender; "
                             "remove that line (or run the model in an isolated process)")


_HOC_WHERE = re.compile(r"^\s*in (?P<file>\S+) near line (?P<line>\d+)")


def hoc_error(path, lines, fallback):
    """`file:line: message` from NEURON's first error report (\"NEURON: …\" + \"in F near line N\")."""
    for i, line in enumerate(lines):
        if line.startswith("NEURON:"):
            where = _HOC_WHERE.match(lines[i + 1]) if i + 1 < len(lines) else None
            if where:
                folder = Path(path).parent
                return ModelLoadError(f"{folder / where['file']}:{where['line']}: {line[8:].strip()}")
            return ModelLoadError(f"{path}: {line[8:].strip()}")
    return ModelLoadError(f"{path}: {fallback}")


def _load_hoc(h, path):
    _refuse_quit(path, path.read_text(errors="replace"), _HOC_QUIT)
    failure = "hoc error"
    with _captured_stderr() as errors:
        try:
            ok = h.load_file(1, str(path))
        except RuntimeError as exc:
            ok, failure = False, exc
    if not ok:  # raised after the with block, which fills `errors`
        raise hoc_error(path, errors, failure)


def _load_python(path):
    _refuse_quit(path, path.read_text(errors="replace"), _PY_QUIT)
    sys.path.insert(0, str(path.parent))
    try:
        _namespaces.append(runpy.run_path(str(path), run_name="__main__"))
    except SystemExit as exc:
        raise ModelLoadError(f"{path}: the model called sys.exit({exc.code})") from exc
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise ModelLoadError(f"{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent))


def _load_morphology(h, path, reader_name):
    """Import3d a reconstruction; give the soma pas + hh so Run shows spikes."""
    h.load_file("import3d.hoc")
    reader = getattr(h, reader_name)()
    with _captured_stderr() as errors:
        try:
            reader.input(str(path))
            h.Import3d_GUI(reader, 0).instantiate(None)
        except RuntimeError as exc:
            raise ModelLoadError(f"{path}: not a readable morphology: {' '.join(errors) or exc}") from exc
    for sec in h.allsec():
        sec.insert("pas")
        if "soma" in sec.name().lower():
            sec.insert("hh")
