"""Installing the add-on the ways users do, each in a fresh Python with its own Blender profile.

Every test runs tests/install_probe.py in a subprocess with `isolated_env` (a clean profile,
no PYTHONPATH), so the only NEURON that process can import is the one the add-on brings:
the bundled wheels of the built zip, or the "Install NEURON" button's pip install.
"""
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from conftest import EXAMPLES, REPO, isolated_env

PROBE = Path(__file__).resolve().parent / "install_probe.py"
PROBE_TIMEOUT = 300
EXAMPLE = EXAMPLES / "ball_and_stick.py"
NEURON_VERSION = "9.0.2"
SOURCES = ("__init__.py", "blender_manifest.toml", "addon", "model_loaders")

pytestmark = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")),
    reason="installs the linux-x64 zip, which only this platform can load")


# --------------------------------------------------------------------------- helpers

def _sources_mtime():
    files = [REPO / "__init__.py", REPO / "blender_manifest.toml", REPO / "vendored_wheels" / "wheels.lock"]
    for folder in ("addon", "model_loaders"):
        files += (REPO / folder).rglob("*.py")
    return max(f.stat().st_mtime for f in files if f.exists())


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory):
    """dist/'s linux zip when it is newer than every source it holds, else a fresh build."""
    built = sorted((REPO / "dist").glob("neuron_live-*-linux_x64.zip"))
    if built and built[-1].stat().st_mtime > _sources_mtime():
        print(f"reusing {built[-1]}")
        yield built[-1]
        return
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, REPO / "tools" / "build.py", "--platform", "linux-x64",
                           "--output-dir", out], capture_output=True, text=True, cwd=REPO,
                          timeout=PROBE_TIMEOUT)
    assert proc.returncode == 0, f"tools/build.py failed:\n{proc.stdout}\n{proc.stderr}"
    zips = sorted(out.glob("neuron_live-*-linux_x64.zip"))
    assert len(zips) == 1, f"expected one linux zip in {out}, got {zips}\n{proc.stdout}"
    print(f"built {zips[0].name} in {time.monotonic() - started:.1f} s")
    yield zips[0]
    shutil.rmtree(out, ignore_errors=True)  # 117 MB; pytest keeps three runs' tmp folders


class Probe:
    """A finished probe run: its JSON result and its output (for assertion messages)."""

    def __init__(self, proc, seconds):
        self.seconds = seconds
        self.output = f"--- stdout ---\n{proc.stdout[-12000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
        line = next((line for line in reversed(proc.stdout.splitlines()) if line.startswith("PROBE-RESULT ")), None)
        if proc.returncode != 0 or line is None:
            pytest.fail(f"probe exited with {proc.returncode}\n{self.output}", pytrace=False)
        self.result = json.loads(line[len("PROBE-RESULT "):])

    def __getitem__(self, key):
        return self.result[key]

    def check(self, condition, what):
        """assert with the probe's whole output attached."""
        assert condition, f"{what}\nresult: {json.dumps(self.result, indent=1)}\n{self.output}"


def run_probe(tmp_path, mode, argument, *, env=None):
    env = env or isolated_env(tmp_path)
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, PROBE, mode, argument, example_copy(tmp_path)],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"probe {mode} ran past {PROBE_TIMEOUT} s\n{exc.stdout}\n{exc.stderr}", pytrace=False)
    probe = Probe(proc, time.monotonic() - started)
    print(f"probe {mode}: {probe.seconds:.1f} s\n{proc.stdout}")
    return probe


def example_copy(tmp_path):
    """The example beside nothing else (models write beside themselves)."""
    target = tmp_path / "model" / EXAMPLE.name
    target.parent.mkdir(exist_ok=True)
    shutil.copy(EXAMPLE, target)
    return target


def discard_profile(tmp_path):
    """After a pass: drop the profile's unpacked wheels (hundreds of MB per test and run)."""
    shutil.rmtree(tmp_path / "blender", ignore_errors=True)


def is_under(path, folder):
    return path is not None and Path(path).resolve().is_relative_to(Path(folder).resolve())


def check_simulation(probe):
    sim = probe["simulation"]
    probe.check(sim["complete"] and not sim["cancelled"] and sim["error"] is None, "run(tstop=10) did not complete")
    probe.check(sim["shape"] == [21, sim["n_segments"]] and sim["dtype"] == "float32",
                "expected 10 ms x 2 frames/ms + 1 = 21 frames of float32 per segment")
    probe.check(sim["all_finite"], "the frames hold NaN or inf")
    probe.check(sim["v_init"] == -65.0 and abs(sim["soma_v_frame0"] - (-65.0)) < 1e-3,
                "the soma's first segment does not start at v_init = -65 mV")
    probe.check(sim["soma_v_max"] > 0, "the soma should fire under the 0.3 nA clamp from 5 ms")


# --------------------------------------------------------------------------- 1. built zip

def test_built_zip_installs_and_simulates_with_bundled_neuron(tmp_path, linux_zip):
    probe = run_probe(tmp_path, "zip", linux_zip)
    local = probe["local_site_packages"]

    probe.check(probe["neuron_before_install"].startswith("ImportError"),
                "this process must have no NEURON before the add-on brings one")
    probe.check(probe["module_loaded"] and probe["addon_enabled"],
                "package_install_files returned but the add-on is not loaded and enabled")
    probe.check(probe["heavy_after_enable"] == [], "enabling imported NEURON/seaborn/matplotlib")
    probe.check(is_under(local, tmp_path), "the extensions' .local folder is outside this test's profile")
    probe.check(probe["local_on_sys_path"], "Blender did not put the wheels' site-packages on sys.path")
    probe.check(is_under(probe["neuron_file"], local), "neuron was not imported from the bundled wheel")
    probe.check(probe["neuron_version"] == NEURON_VERSION, f"expected NEURON {NEURON_VERSION}")
    probe.check(probe["status"]["found"] and probe["status"]["version"] == NEURON_VERSION
                and is_under(probe["status"]["path"], local), "neuron_status() does not show the bundled NEURON")
    probe.check(is_under(probe["seaborn_file"], local), "seaborn was not imported from the bundled wheel")
    check_simulation(probe)
    discard_profile(tmp_path)


# --------------------------------------------------------------------------- 2. enable/disable

@pytest.fixture(scope="module")
def toggled(tmp_path_factory, linux_zip):
    """One probe run: install, enable, disable, re-enable, disable mid-run, disable."""
    folder = tmp_path_factory.mktemp("toggle")
    yield run_probe(folder, "toggle", linux_zip)
    discard_profile(folder)


# (frame_change_post: playback's handler and the overlays')
ONE_OF_EACH = {"addon_enabled": True, "frame_change_post": 2, "load_post": 1, "import_menu": 1,
               "scene_property": True, "panel_type": True, "run_poll": True, "pump_timer": False}
NONE_OF_OURS = {"addon_enabled": False, "frame_change_post": 0, "load_post": 0, "import_menu": 0,
                "scene_property": False, "panel_type": False, "registered_classes": [], "operators": [],
                "pump_timer": False}


def test_enable_disable_reenable_leaves_no_strays(toggled):
    states = toggled["states"]
    for label, expected in (("installed", NONE_OF_OURS), ("enabled", ONE_OF_EACH), ("disabled", NONE_OF_OURS),
                            ("re-enabled", ONE_OF_EACH), ("disabled again", NONE_OF_OURS)):
        state = states[label]
        wrong = {key: state[key] for key, value in expected.items() if state[key] != value}
        toggled.check(not wrong, f"after {label!r}: unexpected {wrong}")
    classes, operators = toggled["classes"], toggled["operator_ids"]
    toggled.check({"NEURONLIVE_OT_run", "NEURONLIVE_OT_install_neuron", "NEURONLIVE_PT_main"} <= set(classes)
                  and {"run", "install_neuron"} <= set(operators), "registration.CLASSES lacks a class")
    for label in ("enabled", "re-enabled"):
        toggled.check(states[label]["registered_classes"] == classes,
                      f"not every class of registration.CLASSES is registered after {label!r}")
        toggled.check(states[label]["operators"] == operators, f"bpy.ops.neuron_live after {label!r}")
    for label in ("disabled", "disabled again"):
        toggled.check(states[label]["run_poll"] is not True, f"bpy.ops.neuron_live.run still polls after {label!r}")
    toggled.check(toggled["heavy_after_enable"] == [],
                  "enabling must not import NEURON, seaborn or matplotlib")
    toggled.check(toggled["mid_run_timer_before_disable"] and not toggled["mid_run_timer_after_disable"],
                  "the pump timer must run during a simulation and be gone after disabling")
    toggled.check(toggled["mid_run_task_stopped"], "disabling did not stop the running simulation")
    for label, times in toggled["timings"].items():
        print(f"{label}: Blender's wheel sync {times['wheel_sync_s']:.3f} s, "
              f"add-on enable {times['enable_s']:.3f} s")


def test_reenable_after_disabling_mid_run_can_run_again(toggled):
    outcome = toggled["run_after_mid_run_disable"]
    toggled.check(outcome["ok"], f"run() after disable-during-run + re-enable: {outcome}")


# --------------------------------------------------------------------------- 3. Install NEURON

def source_copy_without_wheels(tmp_path):
    """The add-on's sources whose manifest lists no wheels (Blender installs nothing)."""
    copy = tmp_path / "source" / "neuron_live"
    copy.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "x86_64", "arm64", "aarch64", "*.nlcache")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            shutil.copy(source, copy / name)
    manifest = copy / "blender_manifest.toml"
    text, count = re.subn(r"(?ms)^wheels = \[.*?^\]\n", "", manifest.read_text())
    assert count == 1, "expected one `wheels = [...]` list in blender_manifest.toml"
    manifest.write_text(text)
    assert "wheels" not in tomllib.loads(text)
    (copy / "vendored_wheels").symlink_to(REPO / "vendored_wheels", target_is_directory=True)
    return copy


def test_install_neuron_button_from_a_blender_without_neuron(tmp_path):
    env = isolated_env(tmp_path)
    # pip's bytecode compilation makes the install 4-5 times slower (20 s against 4 s here)
    # and is not what this test is about; everything else is the button's own pip call.
    env["PIP_COMPILE"] = "0"
    probe = run_probe(tmp_path, "install", source_copy_without_wheels(tmp_path), env=env)
    site = probe["user_site_packages"]

    probe.check(probe["neuron_before_enable"].startswith("ImportError"),
                "this process must have no NEURON before the add-on installs one")
    probe.check(not probe["status_before"]["found"], "neuron_status() found a NEURON before installing")
    probe.check(probe["preferences_registered"] and probe["preferences_in_addons"],
                "the preferences (which hold the Install button) are not registered")
    probe.check(probe["pump_timer_while_installing"], "the operator did not start the pump timer")
    probe.check(is_under(site, tmp_path), "the extension's user folder is outside this test's profile")
    after = probe["status_after"]
    probe.check(after["found"] and after["version"] == NEURON_VERSION and is_under(after["path"], site),
                f"neuron_status() after installing should show NEURON {NEURON_VERSION} under {site}")
    probe.check(is_under(probe["neuron_file"], site) and probe["neuron_version"] == NEURON_VERSION,
                "import neuron (without restarting) did not load the installed NEURON")
    check_simulation(probe)
    discard_profile(tmp_path)


# --------------------------------------------------------------------------- install failures

@pytest.fixture(scope="module")
def neuron_setup():
    """addon/install/neuron_setup.py on its own (it imports neither bpy nor NEURON)."""
    spec = importlib.util.spec_from_file_location("neuron_live_setup_under_test",
                                                  REPO / "addon" / "install" / "neuron_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_commands_without_bundled_wheels_use_pypi_only(neuron_setup, tmp_path):
    empty = tmp_path / "wheels"
    empty.mkdir()
    commands = neuron_setup.install_commands(tmp_path / "target", empty)
    assert len(commands) == 1, commands
    (command,) = commands
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--no-index" not in command and "--find-links" not in command
    assert set(neuron_setup.REQUIREMENTS) <= set(command)
    assert command[command.index("--target") + 1] == str(tmp_path / "target")


def test_install_commands_prefer_the_bundled_wheels(neuron_setup, tmp_path):
    commands = neuron_setup.install_commands(tmp_path / "target", REPO / "vendored_wheels")
    assert len(commands) == 2, commands
    offline = commands[0]
    assert "--no-index" in offline and offline[offline.index("--find-links") + 1] == str(REPO / "vendored_wheels")
    assert {"neuron", "seaborn", "matplotlib"} <= set(offline)


def test_pip_failure_returns_pips_lines(neuron_setup, tmp_path):
    lines = []
    ok, output = neuron_setup._run_streaming(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-index",
         "--target", str(tmp_path / "target"), "does-not-exist-xyz"], lines.append, None)
    assert not ok
    assert output == lines and any("does-not-exist-xyz" in line for line in output), output


def test_cancelling_pip_raises_install_error(neuron_setup):
    with pytest.raises(neuron_setup.InstallError, match="cancelled"):
        neuron_setup._run_streaming([sys.executable, "-c", "print('one'); print('two')"], None, lambda: True)


def test_install_neuron_failure_raises_with_pips_last_lines(neuron_setup, tmp_path, monkeypatch):
    """Broken bundled wheel, and no index (offline): both attempts fail, both are reported."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / f"neuron-{NEURON_VERSION}-py3-none-any.whl").write_text("not a zip")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # the PyPI attempt fails at once, without the network
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no user pip.conf (index, find-links)
    seen = []
    with pytest.raises(neuron_setup.InstallError) as raised:
        neuron_setup.install_neuron(tmp_path / "target", wheels_dir=wheels, on_line=seen.append)
    message = str(raised.value)
    assert message.startswith("Installing NEURON failed:"), message
    attempts = message.split("\n---\n")
    assert len(attempts) == 2, message
    assert "neuron" in attempts[0].lower() and "neuron==" + NEURON_VERSION in attempts[1], message
    assert seen, "pip's output was not forwarded to on_line"
    assert not (tmp_path / "target" / "neuron").exists()
