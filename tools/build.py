#!/usr/bin/env python3
"""Build one NEURON Live zip per platform with Blender's own extension builder.

    python tools/build.py [--platform linux-x64 ...] [--output-dir dist]

Runs ``tools/wheels.py --check`` first, then ``blender_ext.py build --split-platforms`` and
``validate`` from the bpy module of the running Python (so it works for any bpy venv), and
asserts each zip carries only its own platform's wheels and NEURON for every Blender Python.

With linux-x64 it also writes ``<id>-<version>-linux_x64-legacy.zip`` for Blender 3.4–4.1
(what Linux distributions ship): the same files in a top folder ``<id>/`` (the layout of a
legacy add-on, found by its ``bl_info``) with the wheels for the Python of those Blenders;
the add-on installs them into its own user folder on first enable.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wheels  # noqa: E402  (tools/wheels.py: lock, tags and platform mapping)

ROOT = wheels.ROOT


def blender_ext() -> Path:
    """Blender's extension CLI shipped inside the bpy wheel (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"error: no bpy module for {sys.executable}; use a bpy venv's python")
    found = sorted(Path(spec.submodule_search_locations[0]).glob(
        "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        sys.exit("error: blender_ext.py not found in the bpy module")
    return found[-1]


def run(cmd: list, what: str) -> str:
    """Run a command; on failure print its output and stop, since the build is unusable."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{proc.stdout}{proc.stderr}error: {what} failed")
    return proc.stdout


def stage(source: Path, platforms: list[str], tmp: Path) -> Path:
    """Copy of the source whose manifest lists only ``platforms`` and their wheels.

    The builder has no platform filter and needs every listed wheel, so a subset build
    (which may have fetched only its own wheels) runs on this copy instead."""
    def ignore(folder, names):  # big top-level folders the builder excludes anyway; wheels are linked
        top = {".git", ".venvs", "dist", "build", "out"} if Path(folder) == source else set()
        return [n for n in names if n in top or n.endswith(".whl") or n == "__pycache__"]

    staged = Path(shutil.copytree(source, tmp / "src", ignore=ignore))
    manifest = staged / "blender_manifest.toml"
    names = [n for n in wheels.read_lock(source / "vendored_wheels") if wheels.in_platforms(n, platforms)]
    for name in names:
        (staged / "vendored_wheels" / name).symlink_to(source / "vendored_wheels" / name)
    wheels.write_manifest_wheels(manifest, names)
    text, count = re.subn(r"(?m)^platforms = \[.*\]$",
                          "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]",
                          manifest.read_text())
    if count != 1:
        sys.exit("error: expected one single-line `platforms = [...]` in the manifest")
    manifest.write_text(text)
    return staged


def require(ok: bool, message: str) -> None:
    """Stop the build with ``message`` (not ``assert``: it must also run under ``python -O``)."""
    if not ok:
        sys.exit(f"error: {message}")


def check_zip(path: Path, platform: str, lock: dict[str, str]) -> None:
    """Fail unless the zip holds exactly the locked wheels of ``platform`` (+ pure ones), one
    build per package and Python, NEURON for every Blender Python, and no development files."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    require("blender_manifest.toml" in names, f"{path.name}: no blender_manifest.toml")
    got = {n.rsplit("/", 1)[-1] for n in names if n.endswith(".whl")}
    want = {n for n in lock if wheels.in_platforms(n, [platform])}
    require(got == want, f"{path.name}: extra {sorted(got - want)}, missing {sorted(want - got)}")
    keys = [(wheels.wheel_tags(n)[0], wheels.wheel_tags(n)[2]) for n in got]
    require(len(keys) == len(set(keys)), f"{path.name}: two builds of one package for one Python")
    for py in wheels.BLENDER_NUMPY:
        tag = "cp" + py.replace(".", "")
        require(("neuron", tag) in keys, f"{path.name}: no NEURON wheel for {tag}")
    dev = [n for n in names if n.split("/")[0] in {"tests", "tools", ".venvs", ".git"} or n == "examples/demo.py"]
    require(not dev, f"{path.name}: development files {dev[:5]}")
    require("examples/ball_and_stick.hoc" in names, f"{path.name}: no example models (Load Example ▸ lists them)")


# Distribution Blenders before 4.2 embed the system Python (Debian 12: 3.11); the official
# 3.4–4.1 builds embed 3.10, for which NEURON publishes no wheel (the add-on falls back to PyPI).
LEGACY_PYTHON = "cp311"
LEGACY_PLATFORM = "linux-x64"


def legacy_zip(extension_zip: Path, package: str, version: str) -> Path:
    """The legacy add-on zip, repacked from the platform's extension zip (same files)."""
    out = extension_zip.with_name(f"{package}-{version}-{LEGACY_PLATFORM.replace('-', '_')}-legacy.zip")

    def keep(name: str) -> bool:
        if not name.endswith(".whl"):
            return True
        python = wheels.wheel_tags(name.rsplit("/", 1)[-1])[2]
        return python == LEGACY_PYTHON or python.startswith("py")

    with zipfile.ZipFile(extension_zip) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if keep(info.filename):
                target.writestr(f"{package}/{info.filename}", source.read(info),
                                compress_type=zipfile.ZIP_STORED if info.filename.endswith(".whl") else None)
    return out


def check_legacy_zip(path: Path, package: str, version: str) -> None:
    """Fail unless the legacy zip has its package folder, a bl_info of the manifest's
    version, and NEURON for the legacy Python."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        init = zf.read(f"{package}/__init__.py").decode()
    require(all(n.startswith(f"{package}/") for n in names), f"{path.name}: files outside {package}/")
    found = re.search(r'"version":\s*\(([\d, ]+)\)', init)
    require(found is not None and tuple(int(v) for v in found.group(1).split(",")) ==
            tuple(int(v) for v in version.split(".")),
            f"{path.name}: bl_info's version is not the manifest's {version}")
    require(any(n.rsplit("/", 1)[-1].startswith("neuron-") and f"-{LEGACY_PYTHON}-" in n for n in names),
            f"{path.name}: no NEURON wheel for {LEGACY_PYTHON}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append", choices=list(wheels.PLATFORMS),
                        help="build only these platforms (repeatable, default all)")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    with (ROOT / "blender_manifest.toml").open("rb") as fh:
        manifest = tomllib.load(fh)
    platforms = args.platform or manifest["platforms"]

    check = [sys.executable, Path(__file__).with_name("wheels.py"), "--check"]
    print(run(check + [a for p in platforms for a in ("--platform", p)], "wheels check"), end="")

    cli = blender_ext()
    out = args.output_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="neuron-live-build-") as tmp:
        source = ROOT if set(platforms) == set(manifest["platforms"]) else stage(ROOT, platforms, Path(tmp))
        run([sys.executable, cli, "build", "--split-platforms", "--source-dir", source,
             "--output-dir", out], "blender_ext.py build")
    lock = wheels.read_lock(ROOT / "vendored_wheels")
    for platform in platforms:
        zip_path = out / f"{manifest['id']}-{manifest['version']}-{platform.replace('-', '_')}.zip"
        run([sys.executable, cli, "validate", zip_path], f"blender_ext.py validate {zip_path.name}")
        check_zip(zip_path, platform, lock)
        print(f"{zip_path} {zip_path.stat().st_size / 1e6:.1f} MB")
        if platform == LEGACY_PLATFORM:
            legacy = legacy_zip(zip_path, manifest["id"], manifest["version"])
            check_legacy_zip(legacy, manifest["id"], manifest["version"])
            print(f"{legacy} {legacy.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
