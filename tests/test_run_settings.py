"""The run settings have one source (engine/run_settings.py): the Blender properties, the
headless job's options and the checks before a run are built from it and agree with it."""
import argparse
import dataclasses

import pytest

FLT_MAX = 3.4028234663852886e38


@pytest.fixture(scope="module")
def settings(nl):
    return nl.addon.engine.run_settings


def bad_values(spec):
    """Values the spec refuses: past each bound, and of the wrong kind."""
    if spec.kind is bool:
        return ["yes", 2]
    if spec.kind is str:
        return []  # a string's form is settings_check's (the variable name pattern)
    values = ["1", None, True]
    if spec.min is not None:
        values.append(spec.min - 1 if spec.kind is int else spec.min - max(abs(spec.min), 1e-3) * 1e-3)
    if spec.max is not None:
        values.append(spec.max + 1)
    values += [float("nan"), float("inf")] if spec.kind is float else [1.5]
    return values


def test_every_field_but_the_engines_own_is_a_user_setting(settings):
    names = [f.name for f in dataclasses.fields(settings.RunSettings)]
    assert [n for n in names if n not in settings.SPECS] == ["chunk_seconds"]
    assert settings.RUN_SETTINGS == tuple(n for n in names if n != "chunk_seconds")
    run = settings.RunSettings()
    for name, spec in settings.SPECS.items():
        assert getattr(run, name) == spec.default and isinstance(spec.default, spec.kind), name
        assert spec.check(spec.default) == spec.default, f"{name}'s default passes its own check"


def test_properties_have_the_specs_default_bounds_and_unit(nl, scene, settings):
    rna = scene.neuron_live.bl_rna.properties
    for name, spec in settings.SPECS.items():
        prop = rna[name]
        assert prop.name == spec.title and spec.description in prop.description, name
        if spec.unit:
            assert f"({spec.unit})" in prop.name and f"({spec.unit})" in prop.description, name
        if spec.kind is float:
            assert prop.default == pytest.approx(spec.default, rel=1e-6), name
        else:
            assert prop.default == spec.default, name
        if spec.kind in (int, float):  # no bound in the spec: Blender's widest (C's int or float limits)
            widest = 2 ** 31 - 1 if spec.kind is int else FLT_MAX
            assert prop.hard_min == pytest.approx(-widest if spec.min is None else spec.min, rel=1e-6), name
            assert prop.hard_max == pytest.approx(widest if spec.max is None else spec.max, rel=1e-6), name
        assert getattr(scene.neuron_live, name) == pytest.approx(spec.default, rel=1e-6), name


def test_the_job_has_one_option_per_setting_checked_like_the_run(nl, settings):
    cli = nl.addon.job.cli
    options = {action.dest: action for action in cli.parser()._actions}
    for name, spec in settings.SPECS.items():
        action = options[name]
        assert action.option_strings[0] == "--" + name.replace("_", "-") and action.default is None, name
        if spec.kind is bool:
            assert isinstance(action, argparse.BooleanOptionalAction), name
            continue
        for value in bad_values(spec):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                with pytest.raises(argparse.ArgumentTypeError):
                    action.type(repr(value) if spec.kind is float else str(value))
        assert action.type(str(spec.default)) == spec.default, name
    args = cli.parser().parse_args(["model.hoc", "--dt", "0.01", "--no-cvode", "--threads", "2"])
    assert {k: v for k, v in cli.job_options(args).items() if k in settings.SPECS} == \
        dict(dt=0.01, cvode=False, threads=2)


def test_every_setting_is_checked_with_the_specs_bounds(nl, settings):
    check = nl.addon.engine.settings_check
    assert check.MAX_CORES == settings.SPECS["threads"].max == settings.SPECS["processes"].max
    for name, spec in settings.SPECS.items():
        for value in bad_values(spec):
            with pytest.raises(check.SettingsError, match=name):
                check.check_settings({name: value})
        if spec.min is not None:
            check.check_settings({name: spec.min})  # the bounds are inclusive, as Blender's are
        if spec.max is not None:
            check.check_settings({name: spec.max})
    with pytest.raises(check.SettingsError, match="not a NEURON range variable name"):
        check.check_settings({"variable": "not a name"})
