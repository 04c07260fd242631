"""Which errors are faults of the machine, and the one line each becomes."""

from __future__ import annotations

import errno
import os
import pickle

import pytest

from fluidgan.errors import Fault
from fluidgan.io.faults import LOCKED, FileFault, as_fault, faults_named


@pytest.mark.parametrize(
    "code, reason",
    [
        (errno.ENOSPC, "disk full"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "permission denied"),
    ],
)
def test_os_errors_of_the_machine(code, reason):
    fault = as_fault(OSError(code, os.strerror(code), "/data/x.h5"))
    assert str(fault).startswith(f"/data/x.h5: {reason}; ")


def test_hdf5_messages_carry_the_errno_and_the_lock():
    # h5py raises RuntimeError for a failed flush, with HDF5's text (errno inside)
    flush = RuntimeError(
        "Unable to flush file (file write failed: time = …\n, filename = 'a.h5', "
        "file descriptor = 4, errno = 28, error message = 'No space left on device')"
    )
    assert str(as_fault(flush, "a.h5")).startswith("a.h5: disk full")
    locked = BlockingIOError(
        11, "Unable to synchronously open file (unable to lock file, errno = 11, …)"
    )
    assert str(as_fault(locked, "b.h5")) == f"b.h5: {LOCKED}"
    nfs = OSError(38, "Unable to open file (unable to lock file, errno = 38, error message = …)")
    assert "does not support HDF5 file locking" in str(as_fault(nfs, "c.h5"))


def test_other_errors_are_not_faults():
    assert as_fault(OSError(errno.ENOENT, "gone")) is None
    assert as_fault(RuntimeError("some bug")) is None
    assert as_fault(ValueError("errno = 28")) is None
    with pytest.raises(FileNotFoundError), faults_named("x"):
        raise FileNotFoundError(errno.ENOENT, "gone")


def test_the_stage_adds_what_was_completed_and_how_to_resume():
    with pytest.raises(FileFault) as info:
        with faults_named("run", lambda: "4 of 6 iterations done", "rerun with --resume"):
            with faults_named("run/ckpt_4.pt"):  # the innermost writer names the file
                raise OSError(errno.ENOSPC, "full")
    assert str(info.value) == (
        "run/ckpt_4.pt: disk full; 4 of 6 iterations done; free space and rerun with --resume"
    )
    assert isinstance(info.value, Fault)


def test_a_fault_survives_the_trip_from_a_worker_process():
    fault = FileFault("sim_3.h5", "disk full", "free space and {resume}", "2 of 5 done")
    back = pickle.loads(pickle.dumps(fault))
    assert str(back) == str(fault) and back.path == "sim_3.h5"
