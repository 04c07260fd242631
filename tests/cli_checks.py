"""Running the command line inside a test, and checking its one-line errors.

Importable from every test (``pythonpath = ["tests"]`` in pyproject.toml)."""

from __future__ import annotations

import pytest

from fluidgan.cli import main


def cli(*args) -> int:
    """``fluidgan ARGS`` in this process; its exit code."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    return exit_info.value.code


def one_line_error(capsys, *names) -> str:
    """The captured stderr: one ``error:`` line, no traceback, naming every ``names``."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and "Traceback" not in err, err
    for name in names:
        assert str(name) in err, err
    return err
