"""History buffer, BigGAN's orthogonal-regularisation convention and TP-GAN's
data-agnostic losses, each against a hand computation or an independent implementation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fluidgan.errors import UserError
from fluidgan.gan import trainer
from fluidgan.gan.config import load_config
from fluidgan.gan.core import Ctx, DiscOutput, Pair
from fluidgan.gan.regularizers import (
    history_query,
    make_hook,
    orthogonal_penalty,
    pixelwise_l1,
    symmetry_loss,
    total_variation,
)

# --- CycleGAN's history buffer ----------------------------------------------------------


def test_history_buffer_fills_then_swaps_like_cyclegans_image_pool():
    size, batches = 5, [torch.arange(k, k + 4, dtype=torch.float64)[:, None] for k in (0, 10, 20)]
    torch.manual_seed(3)
    pool, got = None, []
    for b in batches:
        out, pool = history_query(pool, b, size, 0.5)
        got.append(out[:, 0].tolist())
    # CycleGAN's ImagePool.query written out, replaying the same global RNG draws.
    torch.manual_seed(3)
    ref_pool, want = [], []
    for b in batches:
        images = b[:, 0].tolist()
        out = []
        for img in images:
            if len(ref_pool) < size:
                ref_pool.append(img)
                out.append(img)
            else:
                u = float(torch.rand(()))
                if u < 0.5:
                    i = int(torch.randint(0, size, ()))
                    out.append(ref_pool[i])
                    ref_pool[i] = img
                else:
                    out.append(img)
        want.append(out)
    assert got == want
    assert got[0] == [0, 1, 2, 3] and got[1][0] == 10  # filling: the new images pass
    assert sorted(pool[:, 0].tolist()) == sorted(ref_pool)
    assert len(pool) == size
    # once full, some images D gets come from earlier batches
    assert any(v < 10 for v in got[1][1:]) or any(v < 20 for v in got[2])


def test_history_buffer_with_p_one_returns_only_stored_images_once_full():
    pool, _ = history_query(None, torch.arange(3.0)[:, None], 3, 1.0)
    out, pool = history_query(pool, torch.tensor([[7.0], [8.0]]), 3, 1.0)
    assert set(out[:, 0].tolist()) <= {0.0, 1.0, 2.0, 7.0}  # 7 may be swapped in then out
    assert 8.0 in pool[:, 0].tolist() and out[-1, 0] != 8.0
    out, _ = history_query(pool, torch.tensor([[9.0]]), 3, 0.0)
    assert out[:, 0].tolist() == [9.0]  # p = 0: the newest fake always


def test_the_trainer_shows_d_the_pooled_fakes_and_checkpoints_the_pool(tmp_path):
    sets = ["train.batch_size=4", "model.width=8", "model.z_dim=8", "eval.metrics=[]",
            "regularizers.history_buffer.size=6", "train.grid=2"]  # fmt: skip
    cfg = load_config("cyclegan", sets=sets)
    run = trainer.build_run(cfg)
    assert run.hooks["history_buffer"].scope == "fake_batch"
    seen = []
    disc_b = run.models["d"]["b"]
    hook = disc_b.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().clone()))
    for _ in range(3):
        trainer.d_step(run, run.batcher.next())
    hook.remove()
    pool = run.hooks["history_buffer"].state["poolb"]
    assert pool.shape == (6, 1, 16, 16)
    # D_b's inputs per step: real b, then the fakes; every fake it saw is in the pool or
    # was returned from it, and in step 3 (pool full) it saw something from before.
    fakes = [seen[1], seen[3], seen[5]]
    earlier = torch.cat(fakes[:2])
    from_past = [any(torch.equal(f, e) for e in earlier) for f in fakes[2]]
    assert any(from_past)
    trainer.train(cfg, tmp_path, iterations=1)
    state = trainer.read_checkpoint(tmp_path)
    assert state["hooks"]["history_buffer"]["poolb"].shape[0] == 4  # one batch stored
    with pytest.raises(UserError, match="size must be"):
        make_hook("history_buffer", {"size": 0})
    with pytest.raises(UserError, match="p in"):
        make_hook("history_buffer", {"p": 1.5})


# --- BigGAN's orthogonal regularisation: the reference code's gradient ------------------


def test_orthogonal_hook_at_half_beta_has_the_reference_codes_gradient():
    """BigGAN-PyTorch adds 2 β_ref (W Wᵀ ⊙ (1 - I)) W to the gradient by hand."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.Conv2d(3, 6, 3))
    beta_ref = 1e-4
    hook = make_hook("orthogonal", {})  # the default weight is the preset's
    assert hook.scope == "net" and hook.stages == ("g",)
    hook.fn(Ctx("g", net, None)).backward()
    for layer in (net[0], net[1]):
        w = layer.weight.detach().flatten(1)
        off = (w @ w.t()) * (1 - torch.eye(w.shape[0]))
        want = 2 * beta_ref * (off @ w)
        assert torch.allclose(layer.weight.grad.flatten(1), want, rtol=1e-5, atol=1e-12)
        assert layer.bias.grad is None  # biases are not regularised
    assert load_config("biggan").regularizers["orthogonal"]["weight"] == pytest.approx(5e-5)


def test_orthogonal_penalty_gradient_is_four_times_offdiag_gram_times_w():
    w = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]], dtype=torch.float64, requires_grad=True)
    orthogonal_penalty([w]).backward()
    # W Wᵀ off-diagonal: w0·w1 = 0.5 - 2 = -1.5; d/dW Σ_{i≠j} (w_i·w_j)² = 4 (-1.5) w_other
    want = 4 * -1.5 * torch.tensor([[0.5, -1.0, 3.0], [1.0, 2.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(w.grad, want)


# --- TP-GAN's data-agnostic losses ------------------------------------------------------

X = torch.tensor([[[[1.0, 2.0, 4.0], [0.0, -1.0, 3.0]]]], dtype=torch.float64)  # (1,1,2,3)


def test_symmetry_loss_by_hand():
    # left half (W // 2 = 1 column) against its mirror: |1 - 4|, |0 - 3|; middle left out
    assert float(symmetry_loss(X)) == pytest.approx((3 + 3) / 2)
    even = torch.tensor([[[[1.0, 5.0, 2.0, 0.0]]]])
    assert float(symmetry_loss(even)) == pytest.approx((1 + 3) / 2)
    assert float(symmetry_loss(even + even.flip(-1))) == 0.0  # a mirror-symmetric image
    assert float(symmetry_loss(even.transpose(-1, -2))) == 0.0  # W = 1: nothing to compare


def test_total_variation_by_hand():
    # horizontal: |2-1| + |4-2| + |-1-0| + |3+1| = 8; vertical: |0-1| + |-1-2| + |3-4| = 5
    assert float(total_variation(X)) == pytest.approx(13.0)
    two = torch.cat([X, 2 * X])  # per-image sums averaged over the batch
    assert float(total_variation(two)) == pytest.approx((13 + 26) / 2)
    vol = torch.zeros(1, 1, 2, 2, 2)
    vol[0, 0, 1, 1, 1] = 1.0  # 3-D: one bright voxel touches three neighbours
    assert float(total_variation(vol)) == pytest.approx(3.0)


def test_pixelwise_hook_needs_paired_pairs_and_weights_the_mean_l1():
    fake, real = X, X.flip(-1)
    assert float(pixelwise_l1(fake, real)) == pytest.approx((3 + 0 + 3 + 3 + 0 + 3) / 6)
    hook = make_hook("pixelwise", {"weight": 2.0})
    paired = Pair(nn.Module(), real, fake, paired=True)
    ctx = Ctx("g", nn.Module(), None, paired, None, DiscOutput(torch.zeros(1)))
    assert float(hook.fn(ctx)) == pytest.approx(2 * 2.0)
    assert float(make_hook("pixelwise", {}).fn(ctx)) == pytest.approx(2.0)  # TP-GAN's λ = 1
    unpaired = Ctx("g", nn.Module(), None, Pair(nn.Module(), real, fake))
    with pytest.raises(UserError, match="paired"):
        hook.fn(unpaired)


def test_tp_gan_terms_train_in_any_game():
    sets = ["train.batch_size=4", "model.width=8", "model.z_dim=8", "eval.metrics=[]",
            "regularizers.symmetry.weight=0.3",
            "regularizers.total_variation.weight=1e-4"]  # fmt: skip
    run = trainer.build_run(load_config("dcgan", sets=sets))
    logs = trainer.train_step(run)
    assert logs["g/symmetry"] > 0 and logs["g/total_variation"] > 0
    sets = [*sets[:4], "data.paired=true", "regularizers.pixelwise.weight=1.0"]
    run = trainer.build_run(load_config("cyclegan", sets=sets))
    assert trainer.train_step(run)["g/pixelwise"] > 0


def test_symmetry_and_total_variation_hooks_weight_their_terms_on_the_fakes():
    fake, real = X * 2, X  # the hooks must look at the fakes
    ctx = Ctx("g", nn.Module(), None, Pair(nn.Module(), real, fake), None, DiscOutput(X[:, 0]))
    sym = make_hook("symmetry", {"weight": 0.3})
    tv = make_hook("total_variation", {"weight": 1e-2})
    assert sym.stages == tv.stages == ("g",) and sym.scope == tv.scope == "pair"
    assert float(sym.fn(ctx)) == pytest.approx(0.3 * 6.0)  # 2 × the by-hand value 3
    assert float(tv.fn(ctx)) == pytest.approx(1e-2 * 26.0)
    assert make_hook("symmetry", {}).fn(ctx) == pytest.approx(0.3 * 6.0)  # TP-GAN's λ
    assert float(make_hook("total_variation", {}).fn(ctx)) == pytest.approx(1e-4 * 26.0)
