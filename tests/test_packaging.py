"""Packaging: the vendored wheels agree with lock and manifest, and each platform's zip is sound.

Reuses the zips in dist/ when they are newer than the manifest and the lock (fast); otherwise
builds them with tools/build.py into a temporary folder.
"""
import importlib.util
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"
LOCK = ROOT / "vendored_wheels" / "wheels.lock"
with MANIFEST.open("rb") as _fh:
    META = tomllib.load(_fh)
PYTHONS = ["cp311", "cp313"]  # Blender 4.2-5.0 and 5.1+
DEV_DIRS = ("tests/", "tools/", ".venvs/", ".git/", "examples/demo.py")  # the example models ship


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def own_platform(wheel: str, platform: str) -> bool:
    """Whether a wheel file belongs in ``platform``'s zip (pure wheels belong everywhere)."""
    tag = wheel[:-len(".whl")].split("-")[-1]
    system, arch = platform.split("-")
    if tag == "any":
        return True
    if system == "linux":
        return "linux" in tag and "x86_64" in tag
    return tag.startswith("macosx") and ("universal2" in tag or
                                         ("arm64" if arch == "arm64" else "x86_64") in tag)


def test_wheels_check_passes():
    result = run(ROOT / "tools" / "wheels.py", "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_when_manifest_lacks_a_wheel(tmp_path):
    lines = MANIFEST.read_text().splitlines(keepends=True)
    dropped = next(line for line in lines if "/neuron-" in line)
    manifest = tmp_path / "blender_manifest.toml"
    manifest.write_text("".join(line for line in lines if line != dropped))
    result = run(ROOT / "tools" / "wheels.py", "--check", "--manifest", manifest)
    assert result.returncode != 0
    assert dropped.strip().strip('",').rsplit("/", 1)[-1] in result.stdout


@pytest.fixture(scope="module")
def blender_ext():
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("needs a Python with the bpy module (Blender's extension builder)")
    return sorted(Path(spec.submodule_search_locations[0]).glob(
        "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))[-1]


@pytest.fixture(scope="module")
def zips(blender_ext, tmp_path_factory):
    """platform -> zip path; builds only when dist/ lacks current zips."""
    def paths(folder):
        return {p: folder / f"{META['id']}-{META['version']}-{p.replace('-', '_')}.zip"
                for p in META["platforms"]}

    newest_input = max(MANIFEST.stat().st_mtime, LOCK.stat().st_mtime)
    dist = paths(ROOT / "dist")
    if all(z.is_file() and z.stat().st_mtime > newest_input for z in dist.values()):
        return dist
    out = tmp_path_factory.mktemp("dist")
    result = run(ROOT / "tools" / "build.py", "--output-dir", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return paths(out)


@pytest.mark.parametrize("platform", META["platforms"])
def test_platform_zip(platform, zips, blender_ext):
    path = zips[platform]
    result = run(blender_ext, "validate", path)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert "blender_manifest.toml" in names
    wheels = [n.rsplit("/", 1)[-1] for n in names if n.endswith(".whl")]
    foreign = [w for w in wheels if not own_platform(w, platform)]
    assert not foreign, f"wheels of other platforms: {foreign}"
    for py in PYTHONS:
        assert any(w.startswith("neuron-") and f"-{py}-" in w for w in wheels), f"no NEURON {py}"
    assert not [n for n in names if n.startswith(DEV_DIRS)]
