"""Typed configs: dataclasses with defaults, TOML presets that override what they change,
``--set a.b=c`` overrides, and an error naming the key for anything unknown or mistyped.

Every stage's config is a dataclass tree, resolved by one function,
:func:`resolve_config`: defaults <- preset (``extends`` followed) <- config file <-
explicit options <- ``--set``. :func:`build` turns the merged plain data into the
dataclass, checking every key and value (a value the dataclass refuses in
``__post_init__`` included) with one error type, :class:`~fluidgan.errors.UserError`;
:func:`to_dict` turns it back, and the resolved config is saved next to every output
with :func:`save_toml`.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import tomli_w
import tomllib

from fluidgan.errors import UserError
from fluidgan.io.atomic import write_text

T = TypeVar("T")

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def build(cls: type[T], data: Mapping[str, Any] | None = None, where: str = "") -> T:
    """A ``cls`` dataclass from plain data; unknown keys and bad values raise UserError."""
    data = dict(data or {})
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise UserError(
            f"unknown config key '{_join(where, unknown[0])}'; valid keys: {', '.join(names)}"
        )
    kwargs = {k: _convert(hints[k], v, _join(where, k)) for k, v in data.items()}
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise UserError(f"config '{where or cls.__name__}': {e}") from None
    return obj


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and coerce what is safe to coerce."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise UserError(f"config '{where}' must be a table, got {value!r}")
        return build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, where)
            except UserError as e:
                errors.append(str(e))
        raise UserError(errors[0])
    if origin is Literal:
        if value not in args:
            raise UserError(
                f"config '{where}' is {value!r}; valid values: {', '.join(map(str, args))}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"config '{where}' must be a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise UserError(f"config '{where}' needs {len(args)} items, got {len(value)}")
            return tuple(
                _convert(a, v, f"{where}[{i}]")
                for i, (a, v) in enumerate(zip(args, value, strict=True))
            )
        item = args[0] if args else Any
        items = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise UserError(f"config '{where}' must be a table, got {value!r}")
        return dict(value)
    return _convert_scalar(tp, value, where)


def _convert_scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, tp):
        return value
    name = getattr(tp, "__name__", str(tp))
    raise UserError(f"config '{where}' must be {name}, got {value!r}")


def to_dict(obj: Any) -> Any:
    """Plain data (dicts, lists, scalars) from a dataclass tree; ``None`` entries dropped."""
    if dataclasses.is_dataclass(obj):
        return {
            f.name: to_dict(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if getattr(obj, f.name) is not None
        }
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items() if v is not None}
    return obj


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML ({e})") from None


def save_toml(data: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write ``data`` as TOML atomically (temporary name, then rename)."""
    return write_text(path, tomli_w.dumps(to_dict(data)))


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, everything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_set(item: str) -> dict[str, Any]:
    """``"a.b=3"`` -> ``{"a": {"b": 3}}``; the value is read as TOML, else as a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. solver.tol=1e-4")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    out: dict[str, Any] = {}
    node = out
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


def apply_sets(data: Mapping[str, Any], sets: Iterable[str]) -> dict[str, Any]:
    out = dict(data)
    for item in sets:
        out = merge(out, parse_set(item))
    return out


# What an unknown preset name is called in the error, where not "<kind> preset".
PRESET_NOUNS = {"scenes": "scene"}


def preset_path(kind: str, name: str, dim: int | None = None) -> Path:
    """``configs/<kind>/<name>.toml``; a name without a ``2d``/``3d`` ending is looked up
    as ``<name><dim>d`` first (``dim`` unset: 2), so ``plume`` finds ``plume2d.toml``. A
    UserError lists the presets that exist."""
    folder = CONFIG_DIR / kind
    candidates = [name] if name[-2:] in ("2d", "3d") else [f"{name}{dim or 2}d", name]
    for candidate in candidates:
        path = folder / f"{candidate}.toml"
        if path.is_file():
            return path
    names = sorted(p.stem for p in folder.glob("*.toml"))
    noun = PRESET_NOUNS.get(kind, f"{kind} preset")
    raise UserError(f"unknown {noun} {name!r}; available: {', '.join(names)}")


def read_preset(
    kind: str, source: str | os.PathLike, dim: int | None = None, _seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A preset as plain data: ``source`` is a TOML file (a file that exists or a path
    ending in ``.toml``) or the name of one under ``configs/<kind>/``. A top-level ``extends =
    "NAME"`` starts from that preset (of the same kind), which this one overrides; its
    top-level ``name`` is not inherited."""
    path = Path(source)
    if not (path.suffix == ".toml" or path.is_file()):
        path = preset_path(kind, str(source), dim)
    data = load_toml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if parent in _seen:
        raise UserError(f"{path}: 'extends' loops through {parent!r}")
    base = read_preset(kind, parent, dim, (*_seen, path.stem))
    base.pop("name", None)
    return merge(base, data)


Layer = Mapping[str, Any] | None
Options = Layer | Callable[[dict[str, Any]], Layer]


def resolve(
    cls: type[T],
    *layers: Mapping[str, Any] | None,
    sets: Iterable[str] = (),
) -> T:
    """Defaults <- each layer in order <- ``--set``, built and checked by :func:`build`."""
    data: dict[str, Any] = {}
    for layer in layers:
        if layer:
            data = merge(data, layer)
    return build(cls, apply_sets(data, sets))


def resolve_config(
    cls: type[T],
    *,
    base: Mapping[str, Any] | None = None,
    kind: str | None = None,
    preset: str | os.PathLike | None = None,
    file: str | os.PathLike | Mapping[str, Any] | None = None,
    options: Options = None,
    sets: Iterable[str] = (),
    dim: int | None = None,
) -> T:
    """Every stage's config: defaults <- ``base`` (e.g. the saved config of a run being
    resumed) <- ``preset`` (a name under ``configs/<kind>/`` or a TOML file, ``extends``
    followed) <- ``file`` (a TOML file, or its data) <- ``options`` (the command line's;
    ``None`` values are options not given) <- ``--set`` strings.

    ``options`` may be a function of the preset and file data merged, for options whose
    meaning depends on them (``--dim 3`` keeps the preset's width). Every value is checked
    by :func:`build`: an unknown key, a mistyped value or one the config refuses is a
    one-line UserError naming it.
    """
    data = dict(base or {})
    if preset is not None:
        data = merge(data, read_preset(kind or "", preset, dim))
    if file is not None:
        data = merge(data, file if isinstance(file, Mapping) else load_toml(file))
    given = options(data) if callable(options) else options
    return resolve(cls, data, _given(given or {}), sets=sets)


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options given: ``None`` (not given) dropped at every depth."""
    return {
        k: _given(v) if isinstance(v, Mapping) else v for k, v in options.items() if v is not None
    }


def from_command_line(
    cls: type[T],
    config_file: str | os.PathLike | None = None,
    sets: Iterable[str] = (),
    **options: Any,
) -> T:
    """A command's config without presets: defaults <- ``config_file`` <- the options
    given on the command line (``None`` = not given) <- ``--set``."""
    return resolve_config(cls, file=config_file, options=options, sets=sets)
