"""Evaluation of super-resolved fluids against the high-res ground truth (docs/METHOD.md).

* :mod:`.fields`    PSNR, SSIM, relative L2 -- pure, dimension-generic functions;
* :mod:`.spectra`   radially averaged power and kinetic-energy spectra, high-frequency
                    energy fraction, log-spectral distance;
* :mod:`.temporal`  frame-difference error, the advection warping error and the flicker
                    of the detail band (the part above the low-res Nyquist);
* :mod:`.baselines` nearest / linear / cubic upsampling of the low-res input;
* :mod:`.sequence`  the frame-by-frame accumulation of all of them over a sequence;
* :mod:`.fid`       FID on density slices through :mod:`fluidgan.metrics`;
* :mod:`.report`    ``metrics.json``, ``report.md`` and its plots.
"""
