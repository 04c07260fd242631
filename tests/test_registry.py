"""The name tables: one Registry class, its error messages, and every table built on it."""

from __future__ import annotations

import pytest

from fluidgan.errors import UserError
from fluidgan.registry import Registry


def _registry(ordered: bool) -> Registry:
    reg = Registry("colour", ordered=ordered)
    for name in ("red", "green", "blue"):
        reg.register(name)(name.upper())
    return reg


def test_lookup_membership_and_size():
    reg = _registry(ordered=False)
    assert reg.get("green") == reg["green"] == "GREEN"
    assert "blue" in reg and "pink" not in reg
    assert len(reg) == 3


@pytest.mark.parametrize(
    ("ordered", "listed"),
    [(False, ["blue", "green", "red"]), (True, ["red", "green", "blue"])],
)
def test_names_sorted_or_in_registration_order(ordered, listed):
    reg = _registry(ordered)
    assert reg.names() == list(reg) == listed
    for lookup in (reg.get, reg.__getitem__):
        with pytest.raises(UserError) as err:
            lookup("pink")
        assert str(err.value) == f"unknown colour 'pink'; valid: {', '.join(listed)}"


def test_a_name_registered_twice_is_an_error_and_keeps_the_first():
    reg = _registry(ordered=True)
    with pytest.raises(ValueError, match="colour 'red' registered twice"):
        reg.register("red")("CRIMSON")
    assert reg["red"] == "RED" and len(reg) == 3


def test_get_with_a_default_behaves_like_a_dict():
    reg = _registry(ordered=False)
    assert reg.get("pink", None) is None and reg.get("red", None) == "RED"


def test_a_test_can_swap_a_component_in_and_out(monkeypatch):
    reg = _registry(ordered=True)
    with monkeypatch.context() as m:
        m.setitem(reg, "pink", "PINK")
        m.setitem(reg, "red", "CRIMSON")
        assert reg["pink"] == "PINK" and reg["red"] == "CRIMSON"
        assert reg.names() == ["red", "green", "blue", "pink"]
    assert reg.names() == ["red", "green", "blue"] and reg["red"] == "RED"


def test_register_returns_the_object_so_it_works_as_a_decorator():
    reg = Registry("function")

    @reg.register("double")
    def double(x):
        return 2 * x

    assert double(3) == 6 and reg["double"] is double


def test_check_options_names_the_key_and_the_valid_options():
    reg = Registry("block")
    reg.register("conv")(lambda spec, width=4, depth=2: None)
    reg.check_options("conv", {"width": 8}, "model.options", skip=1)
    with pytest.raises(UserError, match=r"'model.options.spec' .* valid: width, depth"):
        reg.check_options("conv", {"spec": 1}, "model.options", skip=1)


def _tables():
    from fluidgan.data.channels import CHANNEL_SETS, PARTS
    from fluidgan.evaluation.baselines import BASELINES
    from fluidgan.io.preview import ANIMATION_WRITERS, FIELDS
    from fluidgan.metrics.domain import DOMAINS
    from fluidgan.metrics.features import EXTRACTORS, _load_builtin_extractors
    from fluidgan.metrics.images import BUILTIN_DATASETS, VALUE_RANGES
    from fluidgan.metrics.smoke_frames import SPLIT_SEEDS
    from fluidgan.metrics.suite import METRICS
    from solvers.advection import CLAMP_MODES
    from solvers.pressure import METHODS
    from solvers.scene import GENERATORS
    from solvers.smoke import ORDERS
    from solvers.sources import SHAPES

    _load_builtin_extractors()
    return {
        "channel sets": (CHANNEL_SETS, ["rho", "rho+v", "rho+v+w"]),
        "input parts": (PARTS, ["density", "velocity", "vorticity"]),
        "baselines": (BASELINES, ["nearest", "linear", "cubic"]),
        "animation writers": (ANIMATION_WRITERS, [".gif", ".mp4"]),
        "preview fields": (FIELDS, ["density", "velocity", "vorticity"]),
        "domains": (DOMAINS, ["digits", "smoke"]),
        "extractors": (EXTRACTORS, ["domain", "inception"]),
        "built-in data sets": (BUILTIN_DATASETS, ["digits", "smoke"]),
        "metrics": (METRICS, ["fid", "kid", "is", "pr"]),
        "value ranges": (VALUE_RANGES, ["0,1", "-1,1", "0,255"]),
        "smoke splits": (SPLIT_SEEDS, ["train", "test", "all"]),
        "clamp modes": (CLAMP_MODES, ["clamp", "revert", "none"]),
        "pressure methods": (METHODS, ["cg", "micpcg", "mgpcg"]),
        "scene generators": (GENERATORS, ["fixed", "training"]),
        "advection schemes": (ORDERS, ["semi_lagrangian", "maccormack"]),
        "source shapes": (SHAPES, ["box", "cylinder", "sphere"]),
    }


@pytest.mark.parametrize("table", sorted(_tables()))
def test_every_name_table_is_a_registry_with_its_names(table):
    """The names (and their order: defaults and reports follow it) survive the move."""
    reg, names = _tables()[table]
    assert isinstance(reg, Registry)
    assert list(reg) == names
    with pytest.raises(ValueError, match="registered twice"):
        reg.register(names[0])(None)


def test_kernel_mode_codes_and_orders_are_unchanged():
    """The Numba kernels take these integers: the registry must hand back the same ones."""
    from solvers.advection import CLAMP_MODES
    from solvers.smoke import ORDERS

    assert [CLAMP_MODES[n] for n in CLAMP_MODES] == [0, 1, 2]
    assert (ORDERS["semi_lagrangian"], ORDERS["maccormack"]) == (1, 2)
