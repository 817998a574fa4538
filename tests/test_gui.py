"""NEURON Live in a real Blender window: Debian's Blender (3.4, the legacy add-on) under Xvfb.

The bpy module draws no UI and fires no timers; this test runs the `blender` executable
with tests/gui/drive.py and checks what it wrote: a first use from a fresh profile (Load
Example ▸ Ball and Stick, Run, Show Colours: real clicks on what OCR finds on the screen,
counted), every panel opened alone and read back for cut-off text, then Esc, Continue and
playback. Screenshots stay in out/gui/; the user guide's pictures are written into
docs/images/ on every run (never committed). `make test` installs blender, xvfb, xdotool,
imagemagick and tesseract-ocr when run as root.
It runs once per `make test` (under the Python 3.11 venv): the window needs no bpy module.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOLS = ("blender", "xvfb-run", "xdotool", "import", "tesseract")
DOCS = REPO / "docs" / "images"  # the user guide's screenshots, rewritten by every run
GUIDE_PICTURES = ("cell-spike", "panel-empty", "menu-examples", "panel-loaded", "solid-hint", "panel-model",
                  "panel-run", "panel-settings", "panel-colour", "panel-geometry", "panel-running", "preferences")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = [
    pytest.mark.skipif(bool(MISSING), reason=f"real-GUI test needs {', '.join(MISSING)} "
                       "(as root: apt-get install blender xvfb xdotool imagemagick tesseract-ocr)"),
    pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the real-GUI test runs once, under Python 3.11"),
]


def blender_version():
    out = subprocess.run(["blender", "--version"], capture_output=True, text=True, timeout=60).stdout
    found = re.search(r"Blender (\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else None


def legacy_zip():
    """The built legacy zip when it is newer than every source file, else None (then the
    source folder is linked in, so the test never runs stale code)."""
    found = sorted((REPO / "dist").glob("neuron_live-*-linux_x64-legacy.zip"))
    if not found:
        return None
    newest = max(p.stat().st_mtime for p in [REPO / "__init__.py", *REPO.glob("addon/**/*.py"),
                                             *REPO.glob("model_loaders/**/*.py")])
    return found[-1] if found[-1].stat().st_mtime > newest else None


@pytest.fixture(scope="module")
def gui(tmp_path_factory):
    version = blender_version()
    if version is None or version >= (4, 2):
        pytest.skip(f"real-GUI test drives the legacy add-on in Blender < 4.2, found {version}")
    tmp = tmp_path_factory.mktemp("gui")
    shots = REPO / "out" / "gui"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEURONHOME", "PYTHONHOME")}
    env.update(HOME=str(tmp / "home"), TMPDIR=str(tmp), XDG_CACHE_HOME=str(tmp / "xdg-cache"),
               BLENDER_USER_CONFIG=str(tmp / "config"), BLENDER_USER_SCRIPTS=str(tmp / "scripts"),
               BLENDER_USER_DATAFILES=str(tmp / "datafiles"), NL_GUI_RESULTS=str(tmp / "results.json"),
               NL_GUI_SHOTS=str(shots), NL_GUI_DOCS=str(DOCS))
    zip_path = legacy_zip()
    if zip_path:
        env["NL_GUI_ZIP"] = str(zip_path)
    else:
        (tmp / "scripts" / "addons").mkdir(parents=True)
        (tmp / "scripts" / "addons" / "neuron_live").symlink_to(REPO)
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "blender", "--factory-startup",
         "-p", "0", "0", "1280", "800", "--python", str(REPO / "tests" / "gui" / "drive.py")],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    output = proc.stdout + proc.stderr
    (shots / "blender.log").write_text(output)
    results_file = tmp / "results.json"
    assert results_file.is_file(), f"Blender wrote no results (exit {proc.returncode}):\n{output[-3000:]}"
    shutil.copy(results_file, shots / "results.json")
    results = json.loads(results_file.read_text())
    if results.get("skip"):
        pytest.skip(results["skip"])
    return results, output, zip_path


def test_session_in_a_real_window(gui):
    results, output, zip_path = gui
    assert "error" not in results, results["error"]
    assert "Traceback" not in output, output[output.index("Traceback") - 200:][:3000]
    assert "NEURON 9" in results["neuron"], results
    assert results["draws"].get("panel", 0) > 0
    assert results["cells"], results
    assert results["run_result"] == ["RUNNING_MODAL"], "Run did not stay modal in a window"
    assert any("%" in t or "ms" in t for t in results["progress_texts"]), results["progress_texts"][:5]
    assert results["running_before_esc"] and results["cancelled"], results
    assert results["continue_complete"], results["continue_status"]
    assert results["continue_frames"] == results["continue_expected"], results
    rest, spike = results["soma_rest_rgb"], results["soma_spike_rgb"]
    assert rest[2] > rest[0] + 0.1, f"soma at rest should be blue, got {rest}"
    assert spike[0] > spike[2] + 0.1, f"soma at the spike should be red, got {spike}"
    assert results["played_to_frame"] > 1
    assert results["draws"].get("preferences", 0) > 0
    assert results["from_zip"] == bool(zip_path) and "/scripts/addons/neuron_live/" in results["add_on"]


def test_first_use_takes_four_clicks_and_shows_colours(gui):
    """Fresh profile, add-on enabled, NEURON tab open: Load Example ▸ Ball and Stick, Run,
    Show Colours — four clicks until the cell shows its activity colours."""
    results = gui[0]
    assert "error" not in results, results["error"]
    assert results["first_use_clicks"] == ["Load Example", "Ball and Stick", "Run", "Show Colours"], results
    assert results["shading_before"] == "SOLID" and results["shading_after"] == "MATERIAL", results
    grey, colour = results["soma_solid_rgb"], results["soma_colour_rgb"]
    assert max(grey) - min(grey) < 0.08, f"Solid view should draw the soma grey, got {grey}"
    assert max(colour) - min(colour) > 0.15, f"the soma should show an activity colour, got {colour}"
    assert results["first_status"].startswith("Simulated"), results["first_status"]
    empty = " ".join(results["empty_panel_words"])
    assert "Load" in empty and "Run" in empty, f"the empty panel should say what to do: {empty}"


def test_every_panel_shows_its_text_whole(gui):
    """Each panel opened alone at the default sidebar width: tesseract reads no ellipsis
    (Blender's mark of a cut text) and every text the panel draws fits its room (blf)."""
    results = gui[0]
    assert "error" not in results, results["error"]
    assert {"Model", "Run", "Settings", "Colour", "Geometry"} <= set(results["walked"]), results["walked"]
    assert not any(results["cut_words"].values()), results["cut_words"]
    assert not any(results["too_wide"].values()), results["too_wide"]
    missing = [name for name in GUIDE_PICTURES if not (DOCS / f"{name}.png").is_file()]
    assert not missing, f"the guide's pictures not written: {missing}"


def test_probe_and_clamp_placed_by_clicking_the_cell(gui):
    """The probe tool's click on the dendrite and the stimulus tool's on the soma place their
    markers there (named as NEURON names the place); the pick tool's click on the dendrite
    picks it; Run → the probe's trace shows the spike."""
    results = gui[0]
    assert "error" not in results, results["error"]
    assert results["placing"] == [["RUNNING_MODAL"]] * 3, "the tools wait for a click"
    assert results["picked"] == {"sections": ["dend"], "cubes": ["dend · picked"]}, results["picked"]
    markers = results["experiment_markers"]
    assert len(markers) == 2 and markers[0].startswith("IClamp soma(") and markers[1].startswith("dend("), markers
    probe = next(key for key in results["probe_peaks"])
    assert probe.startswith("dend(") and results["probe_peaks"][probe] > 0, results["probe_peaks"]
