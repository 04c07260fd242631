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


@pytest.mark.parametrize("ordered", [False, True])
def test_items_pair_each_name_with_its_component_in_listing_order(ordered):
    reg = _registry(ordered)
    assert reg.items() == [(name, name.upper()) for name in reg.names()]


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
    from fluidgan.advection import LIMITERS
    from fluidgan.data.channels import CHANNEL_SETS, PARTS
    from fluidgan.evaluation.baselines import BASELINES
    from fluidgan.evaluation.report import STYLES
    from fluidgan.gan.architectures.base import NORMS
    from fluidgan.gan.core import CONDITIONING, DISTANCES
    from fluidgan.gan.data import SLICES
    from fluidgan.gan.losses import DIVERGENCES
    from fluidgan.gan.metrics import DOMAIN_FEATURES
    from fluidgan.inference.sources import READERS
    from fluidgan.io.preview import ANIMATION_WRITERS, FIELDS
    from fluidgan.metrics.domain import DOMAINS
    from fluidgan.metrics.features import EXTRACTORS, _load_builtin_extractors
    from fluidgan.metrics.images import BUILTIN_DATASETS, VALUE_RANGES
    from fluidgan.metrics.smoke_frames import SPLIT_SEEDS
    from fluidgan.metrics.suite import METRICS
    from fluidgan.models.tempogan import INPUT_RESIDUAL
    from fluidgan.train.preview import AXES, CURVES
    from solvers.advection import CLAMP_MODES
    from solvers.pressure import METHODS, TOL_MODES
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
        "pressure tolerance modes": (TOL_MODES, ["absolute", "relative"]),
        "f-divergences": (DIVERGENCES, ["kl", "reverse_kl", "pearson", "hellinger", "js"]),
        "label conditioning": (CONDITIONING, ["none", "concat", "acgan", "projection"]),
        "image distances": (DISTANCES, ["l1", "l2"]),
        "3D slices": (SLICES, ["middle", "all"]),
        "domain features": (DOMAIN_FEATURES, ["digits", "smoke_frames"]),
        "normalisations": (NORMS, ["batch", "virtual", "instance", "layer", "none"]),
        "input residuals": (INPUT_RESIDUAL, ["none", "nearest", "linear"]),
        "input readers": (READERS, ["simulation", "hdf5", "npz", "mantaflow"]),
        "MacCormack limiters": (LIMITERS, ["clamp", "revert", "none"]),
        "plot styles": (STYLES, ["reference", "low", "model", "nearest", "linear", "cubic"]),
        "curve abscissae": (AXES, ["iteration", "time"]),
        "curve panels": (
            CURVES,
            [
                "discriminators",
                "generator (adversarial)",
                "feature term (λ_f < 0)",
                "L1 (train, validation, interpolation baseline)",
            ],
        ),
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


def test_the_curve_panels_show_the_metrics_training_logs():
    """Panels and the metric keys in each: a key lost here silently drops a curve."""
    from fluidgan.train.preview import CURVES

    assert [keys for _, keys in CURVES.items()] == [
        ("d_s/loss", "d_t/loss"),
        ("g/adv_s", "g/adv_t", "g/l2_t"),
        ("g/feature",),
        ("g/l1", "val/l1", "val/l1_interp"),
    ]


def test_an_unknown_curve_abscissa_names_the_valid_ones_and_writes_nothing(tmp_path):
    from fluidgan.train.preview import save_curves

    rows = [{"iteration": i, "time": 0.5 * i, "g/l1": 1.0 / (i + 1)} for i in range(4)]
    with pytest.raises(UserError) as err:
        save_curves(rows, tmp_path / "c.png", x=("iteration", "epoch"))
    assert str(err.value) == "unknown curve abscissa 'epoch'; valid: iteration, time"
    assert not (tmp_path / "c.png").exists()
    assert save_curves(rows, tmp_path / "c.png", x=("iteration", "time")).is_file()


def test_a_curve_without_a_style_of_its_own_gets_none():
    """A model name of the user's (or a checkpoint's) is plotted in the default style."""
    from fluidgan.evaluation.report import _style

    assert _style("model") == {"color": "tab:red", "lw": 1.8}
    assert _style("reference")["color"] == "black" and _style("my_checkpoint") == {}


def test_input_residual_interpolations_by_name_and_dimension():
    import torch

    from fluidgan.models.tempogan import INPUT_RESIDUAL, add_input_residual

    modes = {n: (INPUT_RESIDUAL[n][2], INPUT_RESIDUAL[n][3]) for n in INPUT_RESIDUAL}
    assert modes == {
        "none": (None, None),
        "nearest": ("nearest", "nearest"),
        "linear": ("bilinear", "trilinear"),
    }
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]], [[9.0, 9.0], [9.0, 9.0]]]])  # (1, 2, 2, 2)
    out = torch.full((1, 1, 4, 4), 0.5)
    assert add_input_residual(out, x, "none", 2) is out
    near = add_input_residual(out, x, "nearest", 2)  # channel 0 only, each cell 2x2
    want = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]) + 0.5
    torch.testing.assert_close(near[0, 0], want.float())
    # bilinear, half-pixel centres: the corner cells keep their values, the mean is kept
    lin = add_input_residual(out, x, "linear", 2)[0, 0] - 0.5
    assert (lin[0, 0], lin[3, 3]) == (0.0, 3.0) and float(lin.mean()) == pytest.approx(1.5)


def test_torch_limiters_are_the_solvers_clamp_modes_and_limit_as_named():
    """The differentiable MacCormack and the Numba solver accept the same clamp names."""
    import torch

    from fluidgan.advection import LIMITERS
    from solvers.advection import CLAMP_MODES

    assert list(LIMITERS) == list(CLAMP_MODES)
    mc, fwd = torch.tensor([-1.0, 0.5, 2.0]), torch.tensor([9.0, 9.0, 9.0])
    lo, hi = torch.zeros(3), torch.ones(3)
    limited = {name: LIMITERS[name](mc, fwd, lo, hi).tolist() for name in LIMITERS}
    assert limited == {
        "clamp": [0.0, 0.5, 1.0],
        "revert": [9.0, 0.5, 9.0],
        "none": [-1.0, 0.5, 2.0],
    }


def test_pressure_tolerance_modes_scale_by_the_largest_right_hand_side():
    from solvers.grid import make_flags
    from solvers.multigrid import poisson_level
    from solvers.pressure import TOL_MODES

    level = poisson_level(make_flags((6, 6)))
    b = level.vector()
    level.field(b)[2:4, 3] = (1.0, -2.5)  # fluid cells; the largest |b| is negative
    assert TOL_MODES["absolute"](0.01, level, b) == 0.01
    assert TOL_MODES["relative"](0.01, level, b) == pytest.approx(0.025)


def test_inputs_are_read_by_the_reader_their_content_matches(tmp_path):
    import h5py
    import numpy as np

    from fluidgan.inference.sources import open_low_sequence

    density = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.savez(tmp_path / "seq.npz", density=density)
    with h5py.File(tmp_path / "seq.h5", "w") as f:
        f["low/density"] = density
    for name, kind in (("seq.npz", "npz"), ("seq.h5", "hdf5")):
        with open_low_sequence(tmp_path / name) as seq:
            assert seq.kind == kind
            np.testing.assert_array_equal(seq.density[:], density)


def test_config_choices_are_the_registry_names():
    """A name added to or renamed in a table must be accepted by the config that picks it."""
    from typing import get_args, get_type_hints

    from fluidgan.models.tempogan import INPUT_RESIDUAL
    from fluidgan.train.config import ModelConfig
    from solvers.pressure import TOL_MODES
    from solvers.scene import PressureSpec

    assert get_args(get_type_hints(ModelConfig)["input_residual"]) == tuple(INPUT_RESIDUAL)
    assert get_args(get_type_hints(PressureSpec)["tol_mode"]) == tuple(TOL_MODES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("gan", "train", "fgan", "--set", "loss.params.divergence=bogus"),
            "loss.params.divergence is 'bogus'; valid: kl, reverse_kl, pearson, hellinger, js",
        ),
        (
            ("gan", "train", "cyclegan", "--set", "model.game_options.distance=l3"),
            "model.game_options.distance is 'l3'; valid: l1, l2",
        ),
        (
            ("gan", "train", "began", "--set", "model.d.distance=l3"),
            "model.d.distance is 'l3'; valid: l1, l2",
        ),
        (
            ("gan", "train", "dcgan", "--set", "model.conditional=bogus"),
            "model.conditional is 'bogus'; valid: none, concat, acgan, projection",
        ),
        (
            ("train", "--data", ".", "--set", "model.input_residual=cubic"),
            "'model.input_residual' is 'cubic'; valid values: none, nearest, linear",
        ),
        (
            ("simulate", "--set", "scene.pressure.tol_mode=bogus"),
            "'scene.pressure.tol_mode' is 'bogus'; valid values: absolute, relative",
        ),
    ],
    ids=[
        "gan-divergence",
        "gan-cycle-distance",
        "gan-energy-distance",
        "gan-conditioning",
        "train-input-residual",
        "simulate-tol-mode",
    ],
)
def test_an_unknown_name_in_a_config_is_one_line_listing_the_valid_ones(
    args, message, tmp_path, capsys
):
    from cli_checks import cli

    out = tmp_path / "out"
    assert cli(*args, "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and err.endswith(message), err
    assert not [p for p in out.rglob("*") if p.is_file()]  # nothing written


def test_image_distances_by_hand():
    import torch

    from fluidgan.gan.core import DISTANCES

    a, b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, -2.0, -1.0])
    assert DISTANCES["l1"](a, b).tolist() == [2.0, 0.0, 1.5]
    assert DISTANCES["l2"](a, b).tolist() == [4.0, 0.0, 2.25]


def test_every_normalisation_builds_its_layer_and_an_unknown_one_is_refused():
    """An unknown name used to give no normalisation at all, silently."""
    from torch import nn

    from fluidgan.gan.architectures.base import norm_layer
    from fluidgan.gan.layers import VirtualBatchNorm

    built = {
        (name, flat): type(norm_layer(name, 6, flat=flat, n_ref=4))
        for name in ("batch", "virtual", "instance", "layer", "none")
        for flat in (False, True)
    }
    assert built == {
        ("batch", False): nn.BatchNorm2d,
        ("batch", True): nn.BatchNorm1d,
        ("virtual", False): VirtualBatchNorm,
        ("virtual", True): VirtualBatchNorm,
        ("instance", False): nn.InstanceNorm2d,
        ("instance", True): nn.LayerNorm,
        ("layer", False): nn.GroupNorm,
        ("layer", True): nn.LayerNorm,
        ("none", False): nn.Identity,
        ("none", True): nn.Identity,
    }
    with pytest.raises(UserError, match="unknown normalisation 'group'; valid: batch, virtual"):
        norm_layer("group", 6)


def test_3d_smoke_frames_give_the_slices_named(tmp_path):
    import h5py
    import numpy as np

    from fluidgan.gan.data import load_smoke_frames

    volumes = np.arange(3 * 4 * 3 * 2, dtype=np.float32).reshape(3, 4, 3, 2)  # (T, Z, Y, X)
    with h5py.File(tmp_path / "sim_00000.h5", "w") as f:
        f["high/density"] = volumes
    middle, _ = load_smoke_frames(tmp_path, slices="middle", stride=2)
    np.testing.assert_array_equal(middle, volumes[[0, 2], 2])
    every, _ = load_smoke_frames(tmp_path, slices="all", stride=2)
    want = np.stack([volumes[t, z] for t in (0, 2) for z in (0, 2)])  # frame-major
    np.testing.assert_array_equal(every, want)
    with pytest.raises(UserError, match=r"data.options.slices is 'edge'; valid: middle, all$"):
        load_smoke_frames(tmp_path, slices="edge")
