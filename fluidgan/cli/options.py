"""Options every command shares: ``--config``, ``--set`` and ``--quiet``."""

from __future__ import annotations

import sys

import click

from fluidgan.errors import UserError


def config_options(fn):
    fn = click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override one config value: --set key.sub=value (repeatable).",
    )(fn)
    fn = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="A TOML config; --set and explicit options override it.",
    )(fn)
    return fn


def quiet_option(fn):
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(fn)


def show_progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def parse_fraction(value: str, option: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N)."""
    try:
        k, n = (int(v) for v in value.split("/"))
    except ValueError:
        raise UserError(f"{option} {value!r}: expected K/N, e.g. 0/4") from None
    if n < 1:
        raise UserError(f"{option} {value!r}: N must be >= 1")
    return k, n


def split_list(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ["a", "b"]; None stays None."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def group_list(groups: tuple[str, ...]) -> list[str] | None:
    """``--group`` values, repeated or comma-separated, as one list; None when not given."""
    return [g for item in groups for g in split_list(item)] or None


def groups_option(names: str):
    """``--group`` of a command that reads a simulation file; ``names``: the groups as
    the help lists them ("high, low or sr")."""
    return click.option(
        "--group",
        "groups",
        multiple=True,
        help=f"{names} (repeatable or comma-separated); default: every group in the file.",
    )


def frames_option(fn):
    return click.option(
        "--frames", help="Frame range A:B (Python slice, e.g. 0:10, -5:); default all."
    )(fn)


def out_dir_option(fn):
    return click.option(
        "--out", type=click.Path(file_okay=False), required=True, help="Output directory."
    )(fn)
