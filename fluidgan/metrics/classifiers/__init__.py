"""The domain classifiers' weights, shipped so that FID_domain is the same on every machine
(see :mod:`fluidgan.metrics.domain`; ``classifiers.toml`` lists each file's sha256)."""
