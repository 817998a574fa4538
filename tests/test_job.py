"""The README's first command end to end: examples/demo.py (what `make demo` runs) on a tiny
run in a subprocess, its outputs read back with Blender itself; every example headless;
the `blender --command neuron_live` entry. Expected values come from the frame cache file
and the rendered PNGs, never from what the job reported."""
import json
import shutil
import struct
import subprocess
import sys
import textwrap

import bpy
import numpy as np
import pytest

from conftest import EXAMPLES, MORPHOLOGIES, REPO, isolated_env

TSTOP, FRAMES = 10, 21  # the default 2 samples per ms: t = 0, 0.5, ..., 10 ms on frames 1..21
SIZE = (64, 36)


def demo(args, folder, timeout=240):
    return subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), *map(str, args)], capture_output=True,
                          text=True, env=isolated_env(folder), timeout=timeout)


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """One tiny demo run (Cycles, 64×36, 2 samples); returns (out folder, the process)."""
    folder = tmp_path_factory.mktemp("job")
    out = folder / "out"
    result = demo([EXAMPLES / "ball_and_stick.py", "--out", out, "--tstop", TSTOP,
                   "--resolution", "x".join(map(str, SIZE)), "--samples", 2], folder)
    log = out / "ball_and_stick.log"
    assert result.returncode == 0, result.stdout + result.stderr + (log.read_text()[-3000:] if log.exists() else "")
    return out, result


def png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def pixels(path):
    image = bpy.data.images.load(str(path))
    try:
        return np.array(image.pixels[:]).reshape(image.size[1], image.size[0], -1)[..., :3]
    finally:
        bpy.data.images.remove(image)


def test_demo_writes_every_output_and_reports_progress(job):
    out, result = job
    name = "ball_and_stick"
    expected = [out / f"{name}{suffix}" for suffix in
                (".blend", ".mp4", "_rest.png", "_peak.png", "_traces.png", "_colour_bar.png")]
    for path in expected:
        assert path.is_file() and path.stat().st_size > 0, path
        assert f"wrote {path}" in result.stdout
    [cache] = out.glob(f"{name}_*_{name}-*.nlcache")
    assert (cache / "frames.npy").is_file(), "the cache lies beside the .blend"
    assert not list(out.glob("*.blend1")) and not list(out.glob(f".{name}_frames*")), "no backups or frames left"
    for stage in ("load", "simulate", "build", "render", "encode", "plots"):
        assert f"% {stage}" in result.stderr.replace("%  ", "% "), f"no progress line for {stage}"
    assert png_size(out / f"{name}_rest.png") == png_size(out / f"{name}_peak.png") == SIZE
    assert png_size(out / f"{name}_traces.png") == (800, 400)
    assert png_size(out / f"{name}_colour_bar.png") == (160, 600)
    assert np.abs(pixels(out / f"{name}_peak.png") - pixels(out / f"{name}_rest.png")).max() > 0.2, \
        "the still at the spike shows other colours than the one at rest"


def test_movie_has_every_frame(job):
    out, _ = job
    path = out / "ball_and_stick.mp4"
    assert path.read_bytes()[4:8] == b"ftyp", "an MP4 container"
    clip = bpy.data.movieclips.load(str(path))
    try:
        assert clip.frame_duration == FRAMES
        assert tuple(clip.size) == SIZE and clip.fps == 24
    finally:
        bpy.data.movieclips.remove(clip)
    # Its first frame is the still at rest (H.264 at 64×36 is lossy: close, not equal).
    assert np.abs(pixels(path) - pixels(out / "ball_and_stick_rest.png")).mean() < 0.03


def test_blend_reopens_with_the_animation(nl, job):
    out, _ = job
    bpy.ops.wm.open_mainfile(filepath=str(out / "ball_and_stick.blend"))
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES)
    assert scene.render.engine == "CYCLES" and scene.view_settings.view_transform == "Standard"
    assert bpy.path.abspath(scene.render.filepath) == str(out / "ball_and_stick.mp4"), "re-renders the same movie"
    cache = np.load(next(out.glob("ball_and_stick_*.nlcache")) / "frames.npy")
    assert cache.shape[0] == FRAMES and np.isfinite(cache).all()
    obj = next(o for o in scene.objects if o.get("neuron_live_cells"))
    segment = nl.addon.scene.attributes.read(obj.data, "segment", "INT")
    shown = {}
    for frame in (1, 18):  # at rest, and during the spike (t = 8.5 ms)
        scene.frame_set(frame)
        shown[frame] = nl.addon.scene.attributes.read(obj.data, "voltage")
        np.testing.assert_array_equal(shown[frame], cache[frame - 1][segment])
    assert np.abs(shown[18] - shown[1]).max() > 20, "the reopened file plays the spike"


def test_bad_model_path_exits_1_with_one_line(tmp_path):
    result = demo([tmp_path / "no_such_cell.hoc", "--out", tmp_path / "out"], tmp_path, timeout=60)
    assert result.returncode == 1
    missing = tmp_path / "no_such_cell.hoc"
    assert result.stderr.strip().splitlines() == [f"demo.py: failed: {missing}: no such model file"]
    assert not (tmp_path / "out").exists(), "nothing started, nothing written"


def test_model_error_exits_1_with_one_line(job):
    out, _ = job
    broken = out.parent / "broken.hoc"
    broken.write_text("create soma\nsoma { insert hh }\nthis is not hoc\n")
    result = demo([broken, "--out", out, "--no-video"], out.parent, timeout=120)  # same profile: no wheel install
    assert result.returncode == 1, result.stdout + result.stderr
    failures = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(failures) == 1 and failures[0] == result.stderr.strip().splitlines()[-1]
    assert failures[0].startswith("demo.py: failed: ") and "broken.hoc:3" in failures[0], failures
    assert not (out / "broken.blend").exists(), "a model that does not load leaves no .blend"


def test_help_answers_without_blender(tmp_path):
    result = demo(["--help"], tmp_path, timeout=30)
    assert result.returncode == 0
    for option in ("--engine", "--resolution", "--fps", "--frames", "--samples", "--tstop", "--palette", "--no-video"):
        assert option in result.stdout
    assert "default: 640x360" in result.stdout and "default: CYCLES" in result.stdout


def test_blender_command_is_registered_once(nl, capsys):
    registration = nl.addon.ui.registration
    assert len(registration.CLI_COMMANDS) == 1, "blender --command neuron_live (one handle while enabled)"
    assert nl.addon.job.cli.blender_command(["--help"]) == 0
    assert "blender --command neuron_live" in capsys.readouterr().out
    assert nl.addon.job.cli.blender_command(["/no/such/model.hoc"]) == 1
    assert "no such model file" in capsys.readouterr().err


# ---------------------------------------------------------------------------- the examples

EXAMPLE_FILES = ["ball_and_stick.py", "ball_and_stick.hoc", "hoc_custom_mod/cell.hoc", "network/ring.hoc",
                 "parallel_ring.py"]
MORPHOLOGY = "h10.CNG.swc"

PROBE = """
    import json, sys
    import numpy as np
    sys.path.insert(0, {tools!r})
    from headless import enable_from_source
    import bpy
    nl = enable_from_source()
    for path in sys.argv[1:]:
        bpy.ops.wm.read_homefile(use_empty=True)
        try:
            model = nl.load_model(path, build=False)
            cache = nl.run(tstop=3)
            objects = nl.build_mesh()
            row = dict(ok=True, cells=len(model.cell_names), netcons=model.n_netcons, frames=cache.frames_done,
                       vertices=sum(len(o.data.vertices) for o in objects),
                       finite=bool(np.isfinite(cache.frames[:cache.frames_done]).any()))
        except Exception as exc:  # reported per example, the probe goes on with the next
            row = dict(ok=False, error=f"{{type(exc).__name__}}: {{exc}}")
        print("RESULT", json.dumps(dict(path=path, **row)), flush=True)
"""


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory):
    """Every example loaded, run for 3 ms and built in one fresh headless process (a hoc
    template can be defined once per process); examples are copied (models write beside
    themselves)."""
    folder = tmp_path_factory.mktemp("examples")
    paths = {}
    for name in EXAMPLE_FILES:
        source = EXAMPLES / name
        target = folder / "examples" / name
        if not target.parent.exists():
            shutil.copytree(source.parent, target.parent)
        paths[name] = target
    if (MORPHOLOGIES / MORPHOLOGY).exists():
        paths[MORPHOLOGY] = shutil.copy(MORPHOLOGIES / MORPHOLOGY, folder / MORPHOLOGY)
    code = textwrap.dedent(PROBE.format(tools=str(REPO / "tools")))
    result = subprocess.run([sys.executable, "-c", code, *map(str, paths.values())], capture_output=True,
                            text=True, env=isolated_env(folder), timeout=300)
    rows = {}
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            row = json.loads(line[len("RESULT "):])
            rows[next(name for name, path in paths.items() if str(path) == row["path"])] = row
    assert result.returncode == 0 and len(rows) == len(paths), result.stdout[-3000:] + result.stderr[-3000:]
    return rows


@pytest.mark.parametrize("name", [*EXAMPLE_FILES, MORPHOLOGY])
def test_example_runs_headless(examples_run, name):
    if name == MORPHOLOGY and name not in examples_run:
        pytest.skip(f"{MORPHOLOGIES / MORPHOLOGY} is absent")
    row = examples_run[name]
    assert row["ok"], row["error"]
    assert row["frames"] == 7 and row["finite"] and row["vertices"] > 0
    if "ring" in name:
        assert row["cells"] >= 10 and row["netcons"] >= 10, "a network of ≥ 10 cells with NetCons"


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_has_a_one_line_description(name):
    first = (EXAMPLES / name).read_text().splitlines()[0]
    assert first.startswith(('"""', "//", "#")) and len(first.strip('"/# ')) > 20, first
    assert f"`{name}`" in (EXAMPLES / "README.md").read_text(), f"examples/README.md does not list {name}"


@pytest.mark.parametrize("option", [["--fps", "0"], ["--samples", "0"], ["--tstop", "-5"], ["--tstop", "nan"],
                                    ["--resolution", "641x360"], ["--resolution", "wide"], ["--frames", "9-3"],
                                    ["--frames-per-ms", "0"], ["--dt", "0"], ["--threads", "65"],
                                    ["--secondorder", "3"], ["--celsius", "warm"]])
def test_bad_options_exit_2_before_blender_starts(nl, option, tmp_path, capsys):
    started = []
    code = nl.addon.job.cli.main([str(EXAMPLES / "ball_and_stick.py"), "--out", str(tmp_path), *option],
                                 prog="demo.py", prepare=lambda args: started.append(args))
    assert code == 2 and not started, "refused by the parser: nothing loaded"
    assert option[0] in capsys.readouterr().err


@pytest.mark.parametrize("option, message", [(["--palette", "nosuchpalette"], "nosuchpalette"),
                                             (["--frames", "1-100000"], "outside the frames this run makes")])
def test_options_the_parser_cannot_check_exit_2_before_simulating(nl, scene, option, message, tmp_path, capsys):
    code = nl.addon.job.cli.main([str(EXAMPLES / "ball_and_stick.py"), "--out", str(tmp_path), "--tstop", "5",
                                  "--verbose", *option], prog="demo.py", prepare=lambda args: nl.run_job)
    assert code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.glob("*.nlcache")), "refused before simulating"
