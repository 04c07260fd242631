"""The `fluidgan run` quickstart preset resolves before anything runs: a mistyped override
in its train stage would otherwise surface only after the simulations (minutes in)."""

from fluidgan.config import load_toml, preset_path, resolve
from fluidgan.train.config import TrainConfig
from pipelines.run import QUICKSTART


def _stages():
    data = load_toml(QUICKSTART)
    return {s.get("name", s["kind"]): s for s in data["stage"]}


def test_quickstart_train_stage_resolves_to_the_fast_generator():
    spec = _stages()["train"]
    cfg = resolve(
        TrainConfig,
        load_toml(preset_path("train", spec["config"])),
        {"iterations": spec["iterations"]},
        sets=tuple(spec.get("set", ())),
    )
    assert cfg.model.generator == "fast"
    assert cfg.model.fast.bias is False  # G(0) = 0: the plume's empty space stays empty
    assert cfg.model.input_residual == "linear"  # G starts as bilinear interpolation
    assert cfg.model.fast.upsample == "resize"
    assert cfg.loss.lambda_t == 3.0
    assert all(w < 0 for w in cfg.loss.lambda_f)  # the paper's sign: more detail
    assert cfg.iterations == 1000
    # validation L1 at least 5 times, so the curve shows it against bilinear's
    assert 0 < cfg.preview_every <= cfg.iterations // 5


def test_quickstart_previews_late_frames_of_the_held_out_plume():
    stages = _stages()
    test = stages["test_data"]
    assert test["scene"] == "plume" and test["seed"] != stages["train_data"]["seed"]
    start, stop = (int(v) for v in stages["preview"]["frames"].split(":"))
    assert 0 < start < stop <= test["frames"]
    assert start >= test["frames"] // 2  # the smoke has risen off the inflow by then
