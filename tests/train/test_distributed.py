"""Multi-process training under torchrun: 2 CPU processes, gloo, DistributedDataParallel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import torch

from fluidgan.train import checkpoint as ckpt
from fluidgan.train.logging import read_metrics

WORKER = textwrap.dedent("""
    import hashlib, json, os, sys
    import torch
    torch.set_num_threads(1)
    from pipelines.train import train

    config, data, run, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    digests = {}

    def digest(done, metrics, trainer):
        # The parameters (not BatchNorm buffers, which DDP syncs from rank 0 only at a
        # wrapped forward) of every network on this rank after iteration ``done``.
        h = hashlib.sha256()
        for name, net in sorted(trainer.nets.items()) + [("ema", trainer.ema)]:
            for p in net.parameters():
                h.update(p.detach().numpy().tobytes())
        digests[done] = h.hexdigest()

    result = train(config, data, run, device="cpu", after_iteration=digest)
    with open(f"{out}/rank{os.environ['RANK']}.json", "w") as f:
        json.dump({"result": result, "world": os.environ["WORLD_SIZE"], "digests": digests}, f)
""")


def test_two_gloo_processes_train_in_lockstep(dataset2d, tiny_config, tmp_path):
    # With the EMA of G: it averages the unwrapped G, the same on every rank.
    tiny_config.update(iterations=2, checkpoint_every=1, preview_every=2, ema_decay=0.5)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path]),
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(script),
        json.dumps(tiny_config),
        str(dataset2d),
        str(tmp_path / "run"),
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == ["2", "2"]
    assert ranks[0]["result"]["iterations"] == ranks[1]["result"]["iterations"] == 2
    # Each rank draws its own tiles (test_batches), so only averaged gradients keep the
    # replicas of G, D_s and D_t equal after every iteration.
    assert ranks[0]["digests"] == ranks[1]["digests"]
    assert len(set(ranks[0]["digests"].values())) == 2
    # Rank 0 alone writes checkpoints, logs and previews.
    assert ranks[1]["result"]["checkpoint"] is None
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "run")] == [
        "ckpt_00000001.pt",
        "ckpt_00000002.pt",
    ]
    assert [r["iteration"] for r in read_metrics(tmp_path / "run")] == [1, 2]
    assert (tmp_path / "run" / "previews" / "preview_00000002.png").is_file()
    state = torch.load(ranks[0]["result"]["checkpoint"], weights_only=True)
    assert all(torch.isfinite(t).all() for t in state["generator"].values())
    assert state["generator_ema"].keys() == state["generator"].keys()
