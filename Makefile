# NEURON Live — set-up and development commands. Each target installs what it needs.
#   make demo    simulate a bundled example and write out/ (animated .blend)
#   make test    ruff (make lint), then the test suite on Blender 4.2 LTS (Python 3.11) and 5.2 LTS
#                (Python 3.13), plus a real-window test in Debian's Blender 3.4 (tests/test_gui.py)
#   make lint    ruff check . (pyproject.toml says which rules and why)
#   make build   extension zips per platform into dist/, and the legacy zip for Blender 3.4–4.1
#   make bench   benchmark figures (printed, never asserted)

# An interpreter that runs (pyenv shims exist for versions that are not selected).
runs = $(shell $(1) -c 'import sys; assert sys.version_info[:2] == $(2)' >/dev/null 2>&1 && echo $(1))
PY311 ?= $(firstword $(foreach p,python3.11 python3 $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python),$(call runs,$(p),(3, 11))))
PY313 ?= $(firstword $(foreach p,python3.13 python3 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python),$(call runs,$(p),(3, 13))))
VENVS := .venvs
BLENDER_LTS := bpy42 bpy52
PYTHON_bpy42 := $(PY311)
PYTHON_bpy52 := $(PY313)
DEMO_VENV := bpy52
PYTEST_ARGS ?=
RUFF := ruff==0.17.5

.PHONY: demo test lint build wheels venvs clean bench mpi gui

$(VENVS)/%/.installed: tests/requirements-%.txt
	@test -n "$(PYTHON_$*)" || { echo "No Python for $* (set PY311/PY313)"; exit 1; }
	rm -rf $(VENVS)/$*
	$(PYTHON_$*) -m venv $(VENVS)/$*
	$(VENVS)/$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

venvs: $(foreach v,$(BLENDER_LTS),$(VENVS)/$(v)/.installed)

wheels: $(VENVS)/$(DEMO_VENV)/.installed
	$(VENVS)/$(DEMO_VENV)/bin/python tools/wheels.py

build: wheels
	$(VENVS)/$(DEMO_VENV)/bin/python tools/build.py

# Debian's OpenMPI for the 2-rank recording test (skipped, with its reason, where it cannot be installed).
mpi:
	@command -v mpiexec >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev) >/dev/null; } || \
	  echo "OpenMPI not installed: the MPI recording test will be skipped"

# Debian's Blender (3.4, the legacy add-on) in a virtual X display for the real-GUI test
# (skipped, with its reason, where it cannot be installed). Its Python has no numpy or pip of its own.
# tesseract-ocr: tests/test_overlays.py reads the rendered time stamp back by OCR.
GUI_PACKAGES := blender xvfb xdotool imagemagick tesseract-ocr python3-numpy python3-pip
gui:
	@dpkg -s $(GUI_PACKAGES) >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(GUI_PACKAGES)) >/dev/null; } || \
	  echo "$(GUI_PACKAGES) not all installed: the real-GUI test may be skipped"

# ruff beside pytest in the newest test venv (its own pinned install: a new requirements line
# would rebuild the venv, bpy and all).
$(VENVS)/$(DEMO_VENV)/bin/ruff: $(VENVS)/$(DEMO_VENV)/.installed
	$(VENVS)/$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(RUFF)
	touch $@

lint: $(VENVS)/$(DEMO_VENV)/bin/ruff
	$< check .

test: lint venvs build mpi gui
	@for v in $(BLENDER_LTS); do \
	  echo "=== tests on $$v ==="; \
	  $(VENVS)/$$v/bin/python -m pytest tests -q $(PYTEST_ARGS) || exit 1; \
	done

demo: wheels
	$(VENVS)/$(DEMO_VENV)/bin/python examples/demo.py examples/ball_and_stick.py --out out \
	  --overlays time,scale,colourbar,traces --title "Ball and stick" --stills 0,5,10

bench: wheels
	$(VENVS)/$(DEMO_VENV)/bin/python tools/bench.py --out out/bench.tsv

clean:
	rm -rf dist out build
