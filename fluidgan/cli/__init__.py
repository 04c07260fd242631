"""The ``fluidgan`` command line: one thin click command per stage (see docs/FORMATS.md).

Commands are imported lazily from :data:`COMMANDS`, so ``fluidgan --help`` and the solver
stages start without importing torch. Errors: a :class:`~fluidgan.errors.UserError` or a
bad option prints one line and exits 2; a fault of the machine (a full disk, a read-only
or locked file: :class:`~fluidgan.errors.Fault` or the ``OSError`` behind it) and an
internal failure print one line and exit 1 (set ``FLUIDGAN_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from fluidgan import __version__
from fluidgan.errors import Fault, Interrupted, UserError
from fluidgan.registry import Registry

# name -> "module:attribute" of the click command, imported when the command runs
COMMANDS: Registry[str] = Registry("command")
for _name, _target in {
    "simulate": "fluidgan.cli.simulate:simulate",
    "info": "fluidgan.cli.info:info",
    "train": "fluidgan.cli.train:train_cmd",
    "upscale": "fluidgan.cli.upscale:upscale",
    "export": "fluidgan.cli.export:export",
    "preview": "fluidgan.cli.preview:preview",
    "evaluate": "fluidgan.cli.evaluate:evaluate",
    "gan": "fluidgan.cli.gan:gan",
    "run": "fluidgan.cli.run:run",
    "import": "fluidgan.cli.importer:import_cmd",
}.items():
    COMMANDS.register(_name)(_target)


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx, name):
        if name in COMMANDS:
            module, attr = COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fluidgan")
def cli():
    """fluidgan: fluid super-resolution with tempoGAN.

    \b
    fluidgan simulate   Numba smoke solver -> paired low/high-res HDF5
    fluidgan info       describe a dataset, simulation file, run or checkpoint
    fluidgan train      tempoGAN: generator + spatial and temporal discriminators
    fluidgan upscale    a trained generator on a low-res (or coarse-simulated) sequence
    fluidgan export     VTK image data (.vti + .pvd) for ParaView, mantaflow .uni
    fluidgan preview    PNG / GIF / MP4 of low | SR | high frames
    fluidgan evaluate   SR against ground truth and interpolation baselines
    fluidgan gan        image GAN variants: train, sample, FID/IS
    fluidgan run        the stages end to end (no argument: a 2D quickstart)
    fluidgan import     mantaflow .uni frames (tempoGAN's layout) -> a dataset
    """


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="fluidgan", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.UsageError as e:
        fail(" ".join(e.format_message().split()), 2)
    except click.ClickException as e:
        fail(e.format_message(), e.exit_code)
    except UserError as e:
        fail(str(e), 2)
    except Interrupted as e:
        fail(str(e), 130)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Fault as e:  # a full disk, a read-only or locked file: one line, exit 1
        fail(str(e), 1)
    except (OSError, RuntimeError) as e:  # RuntimeError: h5py's for some HDF5 I/O errors
        from fluidgan.io.faults import as_fault

        fault = as_fault(e)
        if fault is None or os.environ.get("FLUIDGAN_DEBUG"):
            fail_internal(e)
        fail(str(fault), 1)
    except Exception as e:
        fail_internal(e)
    sys.exit(rv if isinstance(rv, int) else 0)


def fail_internal(e: Exception) -> None:
    """An internal failure: one line unless debugging."""
    if os.environ.get("FLUIDGAN_DEBUG"):
        raise e
    text = " ".join(str(e).split())  # HDF5 messages span lines
    fail(f"{type(e).__name__}: {text} (set FLUIDGAN_DEBUG=1 for the traceback)", 1)
