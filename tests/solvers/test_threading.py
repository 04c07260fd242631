"""Numba's threading layer: TBB last (its shutdown can hang a finished process)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_solver_prefers_openmp_over_tbb():
    code = (
        "import numba, numpy as np, solvers\n"
        "@numba.njit(parallel=True)\n"
        "def f(a):\n"
        "    s = 0.0\n"
        "    for i in numba.prange(a.size):\n"
        "        s += a[i]\n"
        "    return s\n"
        "assert f(np.ones(8)) == 8.0\n"
        "print(numba.config.THREADING_LAYER_PRIORITY[0], numba.threading_layer())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    priority, layer = out.stdout.split()
    assert priority == "omp" and layer in ("omp", "workqueue")
