"""A model's own `.mod` mechanisms: find them, compile them once, load them once.

Models ship NMODL files beside their hoc code and expect `nrnivmodl` to have been run
in their folder. We compile them with the nrnivmodl of the NEURON in use (a wheel
unpacked by Blender loses its executable bits and its PATH entry) into a cache folder
keyed by the files' content, so a model loads in seconds the second time. NEURON
cannot unload a mechanism, so a name that is already taken is refused up front (the
caller may load the model in a fresh NEURON process instead), never NEURON's
half-registered library.
"""
import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelLoadError, NeedsOwnProcess
from .sources import chdir_folders

MOD_FOLDERS = ("", "mod", "modfiles", "mods", "mechanisms")
# Files next to the .mod files that they may INCLUDE / VERBATIM-include.
SOURCE_SUFFIXES = {".mod", ".inc", ".h", ".hpp", ".c", ".cpp"}
_MODDIR = re.compile(r"^\s*//\s*moddir\s+(?P<folder>\S.*?)\s*$", re.MULTILINE | re.IGNORECASE)
_NAME = re.compile(r"\b(?:SUFFIX|POINT_PROCESS|ARTIFICIAL_CELL)\s+(\w+)")
_NEURON_BLOCK = re.compile(r"\bNEURON\s*\{(?P<body>[^}]*)\}", re.DOTALL)
_COMMENT_BLOCK = re.compile(r"^\s*COMMENT\b.*?^\s*ENDCOMMENT\b", re.DOTALL | re.MULTILINE)

# What this process has loaded: NEURON keeps mechanisms until the process ends.
_loaded_libraries = {}   # content key -> library path
_mechanism_origin = {}   # mechanism name -> folder its .mod came from


class MechanismError(ModelLoadError):
    """`.mod` files could not be compiled or loaded; the message says why and where."""


class MechanismConflict(MechanismError, NeedsOwnProcess):
    """A mechanism name this process already holds from other code: a fresh process can
    load the model."""


@dataclass
class Mechanisms:
    """The mechanisms a model brought, once compiled and loaded."""
    folder: Path                       # where the .mod files were found
    names: list = field(default_factory=list)
    library: Path = None
    compiled: bool = False             # False: came from the cache or was already loaded
    seconds: float = 0.0

    def summary(self):
        how = f"compiled in {self.seconds:.1f} s" if self.compiled else "cached"
        return f"{len(self.names)} mechanism(s) from {self.folder.name or self.folder} ({how})"


def find_mod_folder(entry):
    """The folder holding the model's .mod files, or None.

    A `//moddir <folder>` comment in the entry wins; then the entry's folder and its
    mod/, modfiles/ (…) subfolders; then the same in each folder the entry `chdir()`s
    into (it runs the model from there); then in the folder above (the model root when
    the entry sits in a subfolder such as `sim/`).
    """
    entry = Path(entry)
    match = _MODDIR.search(entry.read_text(errors="replace")) if entry.suffix != ".py" else None
    if match:
        folder = (entry.parent / match["folder"]).resolve()
        if not list(folder.glob("*.mod")):
            line = entry.read_text(errors="replace").count("\n", 0, match.start()) + 1
            raise MechanismError(f"{entry}:{line}: //moddir names {folder}, which holds no .mod files")
        return folder
    roots = (entry.parent, *(chdir_folders(entry) if entry.suffix != ".py" else ()), entry.parent.parent)
    for root in roots:
        for name in MOD_FOLDERS:
            folder = root / name
            if folder.is_dir() and any(folder.glob("*.mod")):
                return folder
    return None


def mechanism_names(mod_file):
    """Names a .mod file registers (SUFFIX, POINT_PROCESS, ARTIFICIAL_CELL)."""
    text = _COMMENT_BLOCK.sub("", Path(mod_file).read_text(errors="replace"))
    text = re.sub(r":.*", "", text)
    block = _NEURON_BLOCK.search(text)
    return _NAME.findall(block["body"]) if block else []


def _sources(folder):
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES)


def content_key(folder, neuron_version):
    """Hash of the sources, NEURON's version and the platform: the cache folder's name."""
    digest = hashlib.sha256(f"{neuron_version}|{platform.machine()}|{platform.system()}".encode())
    for path in _sources(folder):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def default_cache_folder():
    """Where compiled mechanisms go outside Blender (Blender passes its own folder)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neuron_live" / "mechanisms"


def find_compilers():
    """(C compiler, C++ compiler, make) that nrnivmodl needs; None where missing."""
    def which(*names):
        return next((found for name in names if name and (found := shutil.which(name))), None)
    return (which(os.environ.get("CC"), "cc", "gcc", "clang"),
            which(os.environ.get("CXX"), "c++", "g++", "clang++"),
            which("make", "gmake"))


def _neuron_prefix():
    """The installation prefix (`bin/nrnivmodl`, `share/nrn`) of the imported NEURON."""
    import neuron  # already imported by neuron_h(); no bpy here
    package = Path(neuron.__file__).parent
    for prefix in (package / ".data", package.parent.parent.parent, Path(os.environ.get("NRNHOME", "/nonexistent"))):
        if (prefix / "bin" / "nrnivmodl").is_file():
            return prefix
    raise MechanismError(f"This NEURON ({package}) ships no nrnivmodl, so .mod files cannot be compiled")


def _make_executable(prefix):
    """Blender unpacks wheels without executable bits; nrnivmodl calls these directly."""
    for name in ("nrnivmodl", "nocmodl", "mkthreadsafe", "modlunit"):
        path = prefix / "bin" / name
        if path.is_file() and not os.access(path, os.X_OK):
            try:
                path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            except OSError as exc:
                raise MechanismError(f"Cannot make {path} executable ({exc.strerror}); "
                                     "reinstall NEURON where you may write") from exc


def _compile_env(prefix, cc, cxx):
    env = dict(os.environ)
    env.update(NRNHOME=str(prefix), NEURONHOME=str(prefix / "share" / "nrn"), CORENRNHOME=str(prefix),
               NRNBIN=str(prefix / "bin"), CC=cc, CXX=cxx)
    return env


def compile_mechanisms(folder, cache_folder, neuron_version, on_line=None):
    """Compile the .mod files in `folder` into `cache_folder/<content key>/`; returns
    (library path, compiled now?). Concurrent compiles of the same key are safe: each
    builds in its own temporary folder and the first rename wins."""
    key = content_key(folder, neuron_version)
    target = Path(cache_folder) / key
    library = _library_in(target)
    if library is not None:
        return library, False
    cc, cxx, make = find_compilers()
    if not (cc and cxx and make):
        tools = (("a C compiler", cc), ("a C++ compiler", cxx), ("make", make))
        missing = ", ".join(name for name, found in tools if not found)
        raise MechanismError(f"{folder}: this model needs its .mod files compiled, but {missing} "
                             "could not be found. Install them (Linux: gcc, g++, make; macOS: "
                             "xcode-select --install) and load the model again")
    prefix = _neuron_prefix()
    _make_executable(prefix)
    # nrnivmodl's makefile breaks on a path with a space or a non-ASCII character (macOS's
    # "Application Support", a user name like "José"): build in the system's temporary folder.
    Path(cache_folder).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"nl-{key[:12]}-tmp-{os.getpid()}-"))
    try:
        for path in _sources(folder):
            shutil.copy2(path, work / path.name)
        lines = _run_nrnivmodl(prefix, work, cc, cxx, on_line)
        built = _library_in(work)
        if built is None:
            raise MechanismError(_compile_failure(folder, lines))
        staged = Path(cache_folder) / f"{key}.tmp-{os.getpid()}-{time.monotonic_ns()}"
        shutil.copytree(work, staged, symlinks=True)  # (the temporary folder may be another disk)
        try:
            staged.rename(target)
        except OSError:  # another process finished the same key first: use theirs
            shutil.rmtree(staged, ignore_errors=True)
            if _library_in(target) is None:
                raise
        return _library_in(target), True
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _run_nrnivmodl(prefix, work, cc, cxx, on_line):
    process = subprocess.Popen(["bash", str(prefix / "bin" / "nrnivmodl")], cwd=work,
                               env=_compile_env(prefix, cc, cxx), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        if on_line:
            on_line(lines[-1])
    process.wait()
    return lines


_AT_LINE = re.compile(r"\s*(?:Error:\s*)?(?P<what>.*?)\s*at line (?P<line>\d+) in file (?P<file>\S+?):?$")
_CXX_ERROR = re.compile(r"(?P<file>[^\s:]+)\.(?:cpp|c):(?P<line>\d+):(?:\d+:)?\s*(?:fatal )?error:")
_MAKE_FAILED = re.compile(r"^make: \*\*\* \[[^\]]*?(?P<stem>[\w.-]+)\.(?:cpp|c|o)\] Error")
_FAILURE = re.compile(r"error|Error|ERROR|Illegal|illegal|Assertion|Aborted|Segmentation|^nocmodl:"
                      r"|at line \d+|\.mod:\d+")
_NOT_WHY = ("NOTE", "make", "Warning", "Notice", "Thread Safe", "refer to", " -> ", "Translating")
_QUOTED_NAME = re.compile(r"[‘'`\"](\w+)[’'`\"]")


def _compile_failure(folder, lines):
    """Lead with the compiler's first error, at the .mod file (and line) it came from.

    The translator prints its warnings and notices first ("Warning: x undefined"), and
    make runs the files in parallel, so the last lines of the log are seldom the cause.
    """
    work_paths = re.compile(r"/\S*?-tmp-\d+-[^/\s]*/")
    lines = [work_paths.sub(f"{folder}/", line.rstrip()) for line in lines]
    first = next((i for i, line in enumerate(lines) if _is_failure(line)), None)
    if first is None:
        shown = "\n".join(lines[-12:])
        return f"{folder}: compiling the model's .mod files failed:\n{shown}"
    mod, line, lead = _failure_origin(folder, lines, first)
    where = f"{mod}:{line}" if line else str(mod)
    shown = "\n".join([text for text in lines[first:] if text.strip() and not text.startswith(_NOT_WHY)][:12])
    return f"{where}: compiling {Path(mod).name} failed: {lead}\n{shown}"


def _is_failure(line):
    return bool(_FAILURE.search(line)) and not line.lstrip().startswith(_NOT_WHY)


def _failure_origin(folder, lines, first):
    """(the .mod file, its line or None, the error's own words) for the first error."""
    for line in lines[first:first + 8]:  # the translator: "... at line 7 in file x.mod"
        if (at := _AT_LINE.match(line)) and not line.lstrip().startswith(_NOT_WHY):
            return folder / Path(at["file"]).name, int(at["line"]), at["what"] or line.strip()
    lead = lines[first].strip()
    cxx = _CXX_ERROR.search(lead)
    if cxx:  # the C++ compiler, in the file generated from a .mod
        mod = folder / f"{Path(cxx['file']).name}.mod"
        lead = lead[lead.rfind(Path(cxx["file"]).name):]
        return mod, _mod_line(mod, lines[first:first + 3], lead), lead
    failed = next((m for line in lines[first:] if (m := _MAKE_FAILED.match(line))), None)
    if failed:  # the translator stopped on this file without saying where
        mod = folder / f"{failed['stem']}.mod"
        return mod, _mod_line(mod, [], lead), lead
    return folder, None, lead


def _mod_line(mod, context, lead):
    """The .mod line a generated-code error points at: the compiler echoes the offending
    code (verbatim from a VERBATIM block) or names an identifier; found in the .mod."""
    if not mod.is_file():
        return None
    mod_lines = mod.read_text(errors="replace").splitlines()

    def squeeze(text):
        return re.sub(r"\s+", "", text)

    for echoed in context:
        code = squeeze(echoed.split("|", 1)[1]) if re.match(r"\s*\d+\s*\|", echoed) else ""
        found = next((i for i, text in enumerate(mod_lines) if code and code in squeeze(text)), None)
        if found is not None:
            return found + 1
    for name in _QUOTED_NAME.findall(lead) or re.findall(r"open:?\s+(\S+)", lead):
        found = next((i for i, text in enumerate(mod_lines)
                      if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text.split(":", 1)[0])), None)
        if found is not None:
            return found + 1
    return None


def _loadable(library, key):
    """`library` under a path NEURON can take (ASCII, no space): else a link to it in the
    system's temporary folder."""
    text = str(library)
    if text.isascii() and " " not in text:
        return library
    link = Path(tempfile.gettempdir()) / f"nl-{key[:16]}-{library.name}"
    if not (link.is_symlink() and link.resolve() == library.resolve()):
        link.unlink(missing_ok=True)
        link.symlink_to(library)
    return link


def _library_in(folder):
    for arch in (platform.machine(), "x86_64", "arm64", "aarch64", "umac"):
        for name in ("libnrnmech.so", "libnrnmech.dylib", ".libs/libnrnmech.so"):
            path = Path(folder) / arch / name
            if path.is_file():
                return path
    return None


def registered_mechanisms(h):
    """Names of every density mechanism and point process NEURON knows now."""
    names = set()
    for kind in (0, 1):
        types = h.MechanismType(kind)
        name = h.ref("")
        for i in range(int(types.count())):
            types.select(i)
            types.selected(name)
            names.add(name[0])
    return names


def check_conflicts(h, folder, key):
    """Refuse mechanisms whose names NEURON already has (it cannot unload them)."""
    if key in _loaded_libraries:
        return
    taken = registered_mechanisms(h)
    for mod in sorted(folder.glob("*.mod")):
        for name in mechanism_names(mod):
            if name not in taken:
                continue
            origin = _mechanism_origin.get(name)
            where = f"already loaded from {origin}" if origin else "built into NEURON"
            if not origin:
                raise MechanismError(f"{mod}: defines the mechanism '{name}', {where}. NEURON cannot "
                                     "redefine it: rename the SUFFIX/POINT_PROCESS in this file")
            raise MechanismConflict(
                f"{mod}: defines the mechanism '{name}', {where}. NEURON cannot unload or replace "
                "mechanisms: load this model in a NEURON process of its own (host='PROCESS', the "
                "default for such a model) or restart Blender")


def load_mechanisms(h, entry, cache_folder=None, on_line=None):
    """Find, compile (cached) and load the model's mechanisms; returns `Mechanisms` or None."""
    folder = find_mod_folder(entry)
    if folder is None:
        return None
    started = time.monotonic()
    version = h.nrnversion()
    key = content_key(folder, version)
    names = [n for mod in sorted(folder.glob("*.mod")) for n in mechanism_names(mod)]
    check_conflicts(h, folder, key)
    if key in _loaded_libraries:
        return Mechanisms(folder, names, _loaded_libraries[key])
    library, compiled = compile_mechanisms(folder, cache_folder or default_cache_folder(), version, on_line)
    try:
        ok = h.nrn_load_dll(str(_loadable(library, key)))
    except RuntimeError as exc:
        raise MechanismError(f"{folder}: NEURON could not load the compiled mechanisms ({exc})") from exc
    if not ok:
        raise MechanismError(f"{folder}: NEURON could not load {library}")
    _loaded_libraries[key] = library
    for name in names:
        _mechanism_origin[name] = folder
    return Mechanisms(folder, names, library, compiled, time.monotonic() - started)
