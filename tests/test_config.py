"""Typed configs: presets override what they change; unknown or mistyped keys are named."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from fluidgan.config import build, load_toml, parse_set, resolve, save_toml, to_dict
from fluidgan.errors import UserError


@dataclass
class Inner:
    kind: Literal["a", "b"] = "a"
    size: tuple[float, float] = (1.0, 2.0)


@dataclass
class Outer:
    n: int = 1
    x: float = 0.5
    name: str = "z"
    flag: bool = False
    limit: int | None = None
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)


def test_layers_apply_in_order_and_sets_win():
    cfg = resolve(Outer, {"n": 2, "inner": {"kind": "b"}}, {"n": 3}, sets=["inner.size=[3, 4]"])
    assert cfg == Outer(n=3, inner=Inner(kind="b", size=(3.0, 4.0)))


def test_int_is_accepted_for_float_but_not_the_reverse():
    assert build(Outer, {"x": 2}).x == 2.0
    with pytest.raises(UserError, match="'n' must be int, got 1.5"):
        build(Outer, {"n": 1.5})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nn": 1}, "unknown config key 'nn'; valid keys: n, x, name"),
        ({"inner": {"kind": "c"}}, "'inner.kind' is 'c'; valid values: a, b"),
        ({"items": [{"size": [1]}]}, "'items\\[0\\].size' needs 2 items, got 1"),
        ({"flag": 1}, "'flag' must be bool"),
        ({"inner": 3}, "'inner' must be a table"),
    ],
)
def test_bad_values_name_the_key(data, message):
    with pytest.raises(UserError, match=message):
        build(Outer, data)


def test_set_parses_toml_values_and_falls_back_to_strings():
    assert parse_set("a.b=1e-3") == {"a": {"b": 1e-3}}
    assert parse_set("name=plume") == {"name": "plume"}
    assert parse_set("flag=true") == {"flag": True}
    with pytest.raises(UserError, match="expected KEY=VALUE"):
        parse_set("novalue")


def test_toml_round_trip(tmp_path):
    cfg = Outer(n=4, limit=None, items=[Inner(kind="b")])
    path = save_toml(to_dict(cfg), tmp_path / "c.toml")
    assert build(Outer, load_toml(path)) == cfg
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_toml_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("a = [")
    with pytest.raises(UserError, match="bad.toml: invalid TOML"):
        load_toml(bad)


# --- the one resolver: defaults <- base <- preset (extends) <- file <- options <- --set ---


@dataclass
class Checked:
    n: int = 1
    name: str = "z"
    inner: Inner = field(default_factory=Inner)

    def __post_init__(self):
        if self.n < 0:
            raise ValueError(f"n must be >= 0, got {self.n}")


@pytest.fixture
def presets(tmp_path, monkeypatch):
    """configs/kind/: parent.toml, child.toml (extends parent), loop_a/loop_b (a cycle),
    shape2d.toml and shape3d.toml (dimension variants)."""
    import fluidgan.config as cfgio

    folder = tmp_path / "kind"
    folder.mkdir()
    (folder / "parent.toml").write_text('name = "parent"\nn = 2\n[inner]\nkind = "b"\n')
    (folder / "child.toml").write_text('extends = "parent"\n[inner]\nsize = [5, 6]\n')
    (folder / "loop_a.toml").write_text('extends = "loop_b"\n')
    (folder / "loop_b.toml").write_text('extends = "loop_a"\n')
    (folder / "shape2d.toml").write_text("n = 20\n")
    (folder / "shape3d.toml").write_text("n = 30\n")
    monkeypatch.setattr(cfgio, "CONFIG_DIR", tmp_path)
    return folder


def test_every_layer_overrides_the_one_before(presets, tmp_path):
    from fluidgan.config import resolve_config

    file = tmp_path / "file.toml"
    file.write_text('name = "from file"\n[inner]\nkind = "a"\n')
    cfg = resolve_config(Checked, kind="kind", preset="child")
    # child extends parent: parent's n and inner.kind, child's inner.size, not parent's name
    assert cfg == Checked(n=2, name="z", inner=Inner(kind="b", size=(5.0, 6.0)))
    cfg = resolve_config(
        Checked,
        base={"n": 7, "name": "base"},
        kind="kind",
        preset="child",
        file=file,
        options={"n": 9, "name": None, "inner": {"size": None}},  # None: not given
        sets=["inner.size=[1, 1]"],
    )
    assert cfg == Checked(n=9, name="from file", inner=Inner(kind="a", size=(1.0, 1.0)))
    # the preset beats the base (a resumed run's saved config) where both set a key; the
    # base's keys survive where the preset is silent
    cfg = resolve_config(Checked, base={"n": 7, "name": "base"}, kind="kind", preset="child")
    assert (cfg.n, cfg.name) == (2, "base")
    # a file given as data works as the file does; --set beats explicit options
    assert resolve_config(Checked, file={"n": 3}, options={"n": 4}, sets=["n=5"]).n == 5


def test_options_may_depend_on_the_preset_and_file_data(presets):
    from fluidgan.config import resolve_config

    seen = []

    def options(data):
        seen.append(dict(data))
        return {"n": data["n"] + 1}

    assert (
        resolve_config(Checked, kind="kind", preset="parent", file={"n": 4}, options=options).n == 5
    )
    assert seen == [{"name": "parent", "n": 4, "inner": {"kind": "b"}}]


def test_presets_with_dimension_variants_and_paths(presets):
    from fluidgan.config import preset_path, resolve_config

    assert preset_path("kind", "shape").name == "shape2d.toml"  # dim unset: 2D
    assert preset_path("kind", "shape", dim=3).name == "shape3d.toml"
    assert preset_path("kind", "shape3d", dim=2).name == "shape3d.toml"  # named exactly
    assert resolve_config(Checked, kind="kind", preset="shape", dim=3).n == 30
    # a path to a TOML file is read as it is, wherever it lies
    assert resolve_config(Checked, kind="other", preset=presets / "shape3d.toml").n == 30


def test_resolver_errors_are_one_line_user_errors(presets):
    from fluidgan.config import resolve_config

    with pytest.raises(UserError, match="unknown kind preset 'nope'; available: child, loop_a"):
        resolve_config(Checked, kind="kind", preset="nope")
    with pytest.raises(UserError, match="'extends' loops through 'loop_a'"):
        resolve_config(Checked, kind="kind", preset="loop_a")
    with pytest.raises(UserError, match="config 'Checked': n must be >= 0, got -1"):
        resolve_config(Checked, options={"n": -1})  # __post_init__'s ValueError, converted
    with pytest.raises(UserError, match="unknown config key 'm'"):
        resolve_config(Checked, sets=["m=1"])
    with pytest.raises(UserError) as e:
        resolve_config(Checked, file=presets / "missing.toml")
    assert "\n" not in str(e.value) and "missing.toml: no such config file" in str(e.value)


def test_scene_presets_are_called_scenes_in_errors():
    from fluidgan.config import preset_path

    with pytest.raises(UserError, match="unknown scene 'nope'; available: .*plume2d"):
        preset_path("scenes", "nope")
