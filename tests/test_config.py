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
