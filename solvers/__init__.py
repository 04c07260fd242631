"""The Numba smoke solver (docs/METHOD.md, "Simulation").

Numba's parallel kernels pick a threading layer at their first call, TBB first when a TBB
library is installed on the system. Its shutdown can spin forever in ``tbb::finalize``
when the process exits (seen with Debian's libtbb12: a finished ``fluidgan simulate``
never returned), so the solver prefers GNU OpenMP, then Numba's own workqueue, and takes
TBB last — unless the user chose one with ``NUMBA_THREADING_LAYER``.
"""

import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]
