"""Every benchmark row runs (tiny sizes, nothing timed): a broken benchmark fails here."""
import subprocess
import sys

from conftest import REPO, isolated_env


def test_every_benchmark_row_runs_at_tiny_sizes(tmp_path):
    out = tmp_path / "bench.tsv"
    result = subprocess.run([sys.executable, str(REPO / "tools" / "bench.py"), "--smoke", "--out", str(out)],
                            capture_output=True, text=True, env=isolated_env(tmp_path), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures = [line.split("\t")[0] for line in out.read_text().splitlines()]
    for expected in ("add-on enable (s)", "frame update per 1 M vertices (ms)",
                     "simulation wall time (s), network", "main-thread stall, max (ms), network",
                     "process (default host) wall time (s), network",
                     "simulation wall time against plain NEURON (s), network, process (default host)",
                     "main-thread stall during a run, max (ms), network, process (default host)",
                     "Run → first frame (s), network, in Blender",
                     "Run → first frame (s), network, process (default host)",
                     "cancel latency (s), process (default host)",
                     "load → cells on screen (s), ball-and-stick, process (default host)",
                     "load → cells on screen (s), network, process (default host)",
                     "main-thread wait during a load, max (ms), hoc computing 0.2 s, in Blender",
                     "main-thread wait during a load, max (ms), hoc computing 0.2 s, process (default host)",
                     "spare process CPU over", "spare process memory, RssAnon",
                     "2 threads speed-up (×), network", "2 threads speed-up (×), ring",
                     "overlay update per frame, handler (ms)", "frame change with overlays − without (ms)",
                     "render with overlays / without (×)",
                     "SONATA 3 h10 cells", "SONATA 4 point somata",
                     "click → probe placed (ms", "run with 2 full-resolution probes (s), network",
                     "live probe plot, main thread per refresh"):
        assert any(figure.startswith(expected) for figure in figures), (expected, figures)
    assert any(figure.startswith("mesh build") for figure in figures), figures


def test_engine_benchmark_runs_alone(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "tools" / "bench_engine.py"), "--cells", "2", "--smoke"],
                            capture_output=True, text=True, env=isolated_env(tmp_path), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "simulation wall time" in result.stdout
    assert "2 threads speed-up (×), ring" in result.stdout
    assert "2 MPI processes speed-up" in result.stdout or "no mpiexec" in result.stdout
