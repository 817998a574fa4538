"""NEURON's error messages as `file:line: message`: NEURON prints them (through Python's
sys.stderr and, from C, file descriptor 2) rather than raising them with a place."""
import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path

from .errors import ModelLoadError
from .sources import files_loaded_by


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
def captured_stderr():
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


_HOC_WHERE = re.compile(r"^\s*in (?P<file>\S+) near line (?P<line>\d+)")


def hoc_error(path, lines, fallback):
    """`file:line: message` from NEURON's first error report (\"NEURON: …\" + \"in F near line N\")."""
    for i, line in enumerate(lines):
        if line.startswith("NEURON:"):
            where = _HOC_WHERE.match(lines[i + 1]) if i + 1 < len(lines) else None
            if where:
                return ModelLoadError(f"{_reported_file(path, where['file'])}:{where['line']}: {line[8:].strip()}")
            return ModelLoadError(f"{path}: {line[8:].strip()}")
    return ModelLoadError(f"{path}: {fallback}")


def _reported_file(entry, name):
    """The file NEURON means by `name`: load_file runs a file from its own folder and
    names it relative to that, so one in a subfolder is found among those the entry loads."""
    entry, name = Path(entry), Path(name)
    here = entry.parent / name
    if name.is_absolute():
        return name
    matches = [f for f in files_loaded_by(entry) if f.name == name.name]
    if here.resolve() in matches or (here.is_file() and not matches):
        return here
    return matches[-1] if matches else here  # the last loaded: loading stops at an error
