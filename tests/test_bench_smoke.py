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
                     "separate process wall time (s), network", "Run → first frame (s), network, in Blender",
                     "Run → first frame (s), network, separate process", "cancel latency (s), separate process",
                     "2 threads speed-up (×), network", "2 threads speed-up (×), ring"):
        assert any(figure.startswith(expected) for figure in figures), (expected, figures)
    assert any(figure.startswith("mesh build") for figure in figures), figures


def test_engine_benchmark_runs_alone(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "tools" / "bench_engine.py"), "--cells", "2", "--smoke"],
                            capture_output=True, text=True, env=isolated_env(tmp_path), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "simulation wall time" in result.stdout
    assert "2 threads speed-up (×), ring" in result.stdout
    assert "2 MPI processes speed-up" in result.stdout or "no mpiexec" in result.stdout
