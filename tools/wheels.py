#!/usr/bin/env python3
"""Vendor the Python wheels NEURON Live needs but Blender does not ship.

Blender installs the wheels listed in ``blender_manifest.toml`` from the extension zip,
so every dependency of NEURON and seaborn must be bundled for each Python/platform
that Blender uses -- except numpy, which Blender itself provides.

    python tools/wheels.py [--fetch] [--platform linux-x64]  download the locked wheels
    python tools/wheels.py --check                           lock, manifest and folder agree?
    python tools/wheels.py --lock                            re-resolve the pins below (developer)

Standard library only; downloads go through ``pip download``.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"
WHEEL_DIR = ROOT / "vendored_wheels"
LOCK_NAME = "wheels.lock"
MANIFEST_PREFIX = "./vendored_wheels/"  # wheel paths are relative to the manifest

# What the add-on imports.
REQUIREMENTS = {"neuron": "9.0.2", "seaborn": "0.13.2", "h5py": "3.16.0"}  # h5py: SONATA in and out
# Every transitive dependency, pinned so that --lock is reproducible. --lock fails when the
# resolver needs a package missing here (or no longer needs one listed), so keep them in sync.
PINS = {
    "contourpy": "1.3.3",
    "cycler": "0.12.1",
    "find-libpython": "0.5.1",
    "fonttools": "4.68.0",
    "kiwisolver": "1.4.9",
    "matplotlib": "3.10.9",  # last 3.10: seaborn 0.13.2 predates matplotlib 3.11
    "mpmath": "1.3.0",
    "packaging": "26.3",
    "pandas": "2.3.3",  # last 2.x: seaborn 0.13.2 has known bugs with pandas 3
    "pillow": "12.3.0",
    "pyparsing": "3.2.5",
    "python-dateutil": "2.9.0.post0",
    "pytz": "2026.6",
    "setuptools": "80.9.0",  # nrnivmodl imports setuptools.command.build_ext
    "six": "1.17.0",
    "sympy": "1.14.0",
    "tzdata": "2026.6",
}
# Blender's own numpy per Python: resolved against so every pin works with it, never vendored.
# Blender 4.2-5.0 ship Python 3.11 + numpy 1.26.4; 5.1+ ship Python 3.13 + numpy >= 2.2.
BLENDER_NUMPY = {"3.11": "numpy==1.26.4", "3.13": "numpy==2.2.*"}
# Blender platform -> wheel platform tags Blender runs on (Blender 4.2+: glibc 2.28, macOS 11).
# pip expands a macosx tag to older macOS versions and universal2 by itself, not manylinux tags.
PLATFORMS = {
    "linux-x64": [f"manylinux_2_{m}_x86_64" for m in range(28, 4, -1)]
    + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"],
    "macos-arm64": ["macosx_11_0_arm64"],
    "macos-x64": ["macosx_11_0_x86_64"],
}
ARCHS = {"x86_64": ["x64"], "amd64": ["x64"], "arm64": ["arm64"], "aarch64": ["arm64"],
         "universal2": ["x64", "arm64"]}


def norm(name: str) -> str:
    """PEP 503 name, so wheel file names and pins compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_tags(filename: str) -> tuple[str, str, str, str, str]:
    """(name, version, python tag, abi tag, platform tag) of a wheel file name."""
    parts = filename[:-len(".whl")].split("-")
    return norm(parts[0]), parts[1], parts[-3], parts[-2], parts[-1]


def blender_platforms(filename: str) -> set[str]:
    """Blender platforms a wheel runs on, like Blender's ``--split-platforms``; empty if pure."""
    result = set()
    for tag in wheel_tags(filename)[4].split("."):
        if tag == "any":
            continue
        system = ("linux" if "linux" in tag else "macos" if tag.startswith("macosx")
                  else "windows" if tag.startswith("win") else tag)
        arch = next((a for key, a in ARCHS.items() if tag == key or tag.endswith("_" + key)), None)
        if arch is None:
            sys.exit(f"error: unknown wheel platform tag {tag!r} in {filename}")
        result.update(f"{system}-{a}" for a in arch)
    return result


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_lock(wheel_dir: Path) -> dict[str, str]:
    """filename -> sha256 from ``wheels.lock`` (comments and blank lines ignored)."""
    lock = {}
    for line in (wheel_dir / LOCK_NAME).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, digest = line.split()
            lock[name] = digest
    return lock


def manifest_wheels(manifest: Path) -> list[str]:
    with manifest.open("rb") as fh:
        return tomllib.load(fh).get("wheels", [])


def pip_download(args: list[str], dest: Path) -> None:
    """Run ``pip download`` into ``dest``; on failure show pip's output and stop."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:", "--dest", str(dest), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"error: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")


def target_flags(python: str, platform: str) -> list[str]:
    abi = "cp" + python.replace(".", "")
    flags = ["--python-version", python, "--implementation", "cp", "--abi", abi]
    for tag in PLATFORMS[platform]:
        flags += ["--platform", tag]
    return flags


def wheel_flags(filename: str) -> list[str]:
    """pip flags that accept exactly this wheel's tags (the lock stores no target)."""
    _, _, py, abi, plat = wheel_tags(filename)
    if plat == "any":
        return ["--platform", "any", "--implementation", "py", "--abi", "none",
                "--python-version", min(BLENDER_NUMPY), "--ignore-requires-python"]
    flags = ["--implementation", "cp", "--abi", abi, "--python-version", f"{py[2]}.{py[3:]}"]
    for tag in plat.split("."):
        flags += ["--platform", tag]
    return flags


def in_platforms(filename: str, platforms: list[str]) -> bool:
    plats = blender_platforms(filename)
    return not plats or bool(plats & set(platforms))


def parallel(fn, items):
    """Run ``fn`` over ``items`` in threads (each runs pip, so this is I/O bound)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(fn, items))


def fetch(wheel_dir: Path, platforms: list[str]) -> None:
    """Download the locked wheels of ``platforms`` that are missing or corrupt; verify sha256."""
    lock = {f: h for f, h in read_lock(wheel_dir).items() if in_platforms(f, platforms)}
    todo = []
    for name, digest in sorted(lock.items()):
        path = wheel_dir / name
        if path.is_file() and sha256(path) != digest:
            print(f"hash mismatch, downloading again: {name}")
            path.unlink()
        if not path.is_file():
            todo.append(name)
    print(f"fetch: {len(lock) - len(todo)} of {len(lock)} wheels present, {len(todo)} to download")
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in todo:
        groups.setdefault(tuple(wheel_flags(name)), []).append(name)

    with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
        def download(item):
            flags, names = item
            dest = Path(tempfile.mkdtemp(dir=tmp))
            pip_download(["--no-deps", *flags,
                          *(f"{wheel_tags(n)[0]}=={wheel_tags(n)[1]}" for n in names)], dest)
            return dest

        for dest, names in zip(parallel(download, groups.items()), groups.values()):
            got = {p.name for p in dest.glob("*.whl")}
            if got != set(names):
                sys.exit(f"error: pip fetched {sorted(got)}, the lock expects {sorted(names)}")
            for name in names:
                digest = sha256(dest / name)
                if digest != lock[name]:
                    sys.exit(f"error: sha256 mismatch for {name}\n  lock: {lock[name]}\n  got:  {digest}")
                shutil.move(dest / name, wheel_dir / name)
                print(f"  {name} ({(wheel_dir / name).stat().st_size / 1e6:.1f} MB)")
    for platform in platforms:
        size = sum((wheel_dir / n).stat().st_size for n in lock if in_platforms(n, [platform]))
        print(f"{platform}: {size / 1e6:.0f} MB of wheels")


def check(manifest: Path, wheel_dir: Path, platforms: list[str]) -> int:
    """Report every disagreement between manifest, lock and folder; return the exit code."""
    entries = manifest_wheels(manifest)
    problems = [f"manifest entry not under {MANIFEST_PREFIX}: {e}"
                for e in entries if not e.startswith(MANIFEST_PREFIX)]
    listed = {e.rsplit("/", 1)[-1] for e in entries}
    lock = read_lock(wheel_dir)
    files = {p.name for p in wheel_dir.glob("*.whl")}
    pins = REQUIREMENTS | PINS
    locked = {wheel_tags(n)[:2] for n in lock}
    problems += [f"lock out of date with the pins in tools/wheels.py (run --lock): {n}=={v}"
                 for n, v in sorted(locked ^ pins.items())]
    problems += [f"in lock, not in manifest: {n}" for n in sorted(lock.keys() - listed)]
    problems += [f"in manifest, not in lock: {n}" for n in sorted(listed - lock.keys())]
    problems += [f"not downloaded (run tools/wheels.py): {n}" for n in sorted(lock.keys() - files)
                 if in_platforms(n, platforms)]
    problems += [f"extra file, not in lock (delete it): {n}" for n in sorted(files - lock.keys())]
    problems += [f"sha256 mismatch (delete it, run tools/wheels.py): {n}"
                 for n in sorted(files & lock.keys()) if sha256(wheel_dir / n) != lock[n]]
    if problems:
        print(f"wheels check FAILED ({manifest.name}, {wheel_dir}):", *problems, sep="\n  ")
        return 1
    print(f"wheels check ok: {len(lock)} locked wheels, manifest and {wheel_dir.name}/ agree")
    return 0


def write_manifest_wheels(manifest: Path, names: list[str]) -> None:
    """Replace (or insert before the first table) the ``wheels`` list, leaving the rest as is."""
    text = manifest.read_text()
    block = "wheels = [\n" + "".join(f'  "{MANIFEST_PREFIX}{n}",\n' for n in sorted(names)) + "]\n"
    existing = re.compile(r"^wheels = \[.*?^\]\n", re.MULTILINE | re.DOTALL)
    if existing.search(text):
        text = existing.sub(lambda _: block, text, count=1)
    else:
        table = re.search(r"^\[", text, re.MULTILINE)
        at = table.start() if table else len(text)
        text = text[:at] + block + "\n" + text[at:]
    manifest.write_text(text)


def lock(manifest: Path, wheel_dir: Path) -> None:
    """Resolve REQUIREMENTS for every Python x platform, check them against PINS, write the
    lock and the manifest list, and keep the downloaded wheels in ``wheel_dir``."""
    targets = [(py, plat) for py in BLENDER_NUMPY for plat in PLATFORMS]
    with tempfile.TemporaryDirectory(prefix="wheels-lock-") as tmp:
        def resolve(target):
            python, platform = target
            dest = Path(tmp, f"{python}-{platform}")
            constraints = Path(tmp, f"constraints-{python}.txt")
            constraints.write_text("".join(f"{n}=={v}\n" for n, v in PINS.items())
                                   + BLENDER_NUMPY[python] + "\n")
            pip_download([*target_flags(python, platform), "--constraint", str(constraints),
                          *(f"{n}=={v}" for n, v in REQUIREMENTS.items())], dest)
            print(f"resolved Python {python} {platform}")
            return dest

        found: dict[str, Path] = {}
        needed: set[str] = set()
        for (python, platform), dest in zip(targets, parallel(resolve, targets)):
            wheels = [p for p in dest.glob("*.whl") if wheel_tags(p.name)[0] != "numpy"]
            names = {wheel_tags(p.name)[0] for p in wheels}
            if unpinned := names - PINS.keys() - REQUIREMENTS.keys():
                sys.exit(f"error: Python {python} {platform} needs unpinned {sorted(unpinned)}: "
                         "add them to PINS")
            needed |= names
            found.update((p.name, p) for p in wheels)
        if unused := PINS.keys() - needed:
            sys.exit(f"error: pins no longer needed, remove them from PINS: {sorted(unused)}")
        # Blender puts a universal2 wheel in both macOS zips: drop the thin macOS wheel of the
        # same package and Python so no zip carries two builds of one package.
        def package_python(name):
            return wheel_tags(name)[0], wheel_tags(name)[2]
        universal = {package_python(n) for n in found if "universal2" in n}
        found = {n: p for n, p in found.items()
                 if "macosx" not in n or "universal2" in n or package_python(n) not in universal}

        wheel_dir.mkdir(exist_ok=True)
        for stale in sorted(p for p in wheel_dir.glob("*.whl") if p.name not in found):
            print(f"removing {stale.name} (not in the new lock)")
            stale.unlink()
        lines = []
        for name, path in sorted(found.items()):
            lines.append(f"{name} {sha256(path)}\n")
            shutil.move(path, wheel_dir / name)
    (wheel_dir / LOCK_NAME).write_text(
        "# Wheels bundled with NEURON Live (numpy excluded: Blender ships it). <file> <sha256>\n"
        "# Generated from the pins in tools/wheels.py; regenerate: python tools/wheels.py --lock\n"
        + "".join(lines))
    write_manifest_wheels(manifest, list(found))
    print(f"locked {len(found)} wheels into {wheel_dir / LOCK_NAME} and {manifest.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fetch", action="store_true", help="download locked wheels (default)")
    mode.add_argument("--check", action="store_true", help="fail if manifest, lock and folder disagree")
    mode.add_argument("--lock", action="store_true", help="re-resolve the pins, rewrite lock + manifest")
    parser.add_argument("--platform", action="append", choices=list(PLATFORMS),
                        help="only these platforms (fetch/check; repeatable, default all)")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="manifest to use")
    parser.add_argument("--dir", type=Path, default=WHEEL_DIR, help="wheel folder with wheels.lock")
    args = parser.parse_args(argv)
    platforms = args.platform or list(PLATFORMS)
    if args.check:
        return check(args.manifest, args.dir, platforms)
    if args.lock:
        lock(args.manifest, args.dir)
    else:
        fetch(args.dir, platforms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
