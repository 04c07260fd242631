"""Settings shared by the GAN tests: small enough for a few iterations per preset in well
under a second each."""

TINY = [
    "train.batch_size=8",
    "model.width=8",
    "model.z_dim=12",
    "train.log_every=1",
    "train.grid=4",
    "eval.metrics=[]",
]
