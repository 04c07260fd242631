"""The frame-by-frame accumulation equals the whole-sequence pure functions."""

from __future__ import annotations

import numpy as np
import pytest

from fluidgan.evaluation.baselines import upsample
from fluidgan.evaluation.fields import psnr, relative_l2, smoke_mask, ssim
from fluidgan.evaluation.sequence import SequenceEvaluator
from fluidgan.evaluation.spectra import high_frequency_energy_fraction, radial_power_spectrum
from fluidgan.evaluation.temporal import frame_difference_error, warping_errors


@pytest.fixture
def sequence():
    rng = np.random.default_rng(0)
    frames, f = 4, 4
    ref = rng.random((frames, 16, 24)).astype(np.float32)
    ref[:, :4] = 0.0  # some air, so the smoke mask matters
    low = ref.reshape(frames, 4, f, 6, f).mean(axis=(2, 4))
    model = np.clip(ref + 0.05 * rng.standard_normal(ref.shape), 0, None).astype(np.float32)
    velocity = rng.standard_normal((frames, 16, 24, 2)).astype(np.float32)
    low_velocity = rng.standard_normal((frames, 4, 6, 2)).astype(np.float32)
    return ref, low, model, velocity, low_velocity, f


def test_streamed_metrics_equal_whole_sequence_functions(sequence):
    ref, low, model, velocity, low_velocity, f = sequence
    evaluator = SequenceEvaluator(["model", "cubic"], f)
    cubic = upsample(low, f, "cubic", axes=(1, 2))
    for t in range(len(ref)):
        evaluator.add(
            t + 1.0,
            ref[t],
            {"model": model[t], "cubic": cubic[t]},
            low[t],
            velocity[t],
            low_velocity[t],
        )
    result = evaluator.result()
    assert result["frames"] == 4 and result["temporal_pairs"] == 3
    for name, pred in (("model", model), ("cubic", cubic)):
        m = result["methods"][name]
        assert m["psnr"] == pytest.approx(psnr(pred, ref))
        assert m["psnr_smoke"] == pytest.approx(psnr(pred, ref, mask=smoke_mask(ref)))
        assert m["rel_l2"] == pytest.approx(relative_l2(pred, ref))
        assert m["ssim"] == pytest.approx(np.mean([ssim(p, r) for p, r in zip(pred, ref)]))
        assert m["hf_energy_fraction"] == pytest.approx(
            high_frequency_energy_fraction(pred, ref, cutoff=3.0, dim=2)
        )
        assert m["frame_difference_error"] == pytest.approx(frame_difference_error(pred, ref))
        assert m["warping_error"] == pytest.approx(warping_errors(pred, velocity).mean(), rel=1e-5)
        assert m["warping_error_ratio"] == pytest.approx(
            warping_errors(pred, velocity).mean() / warping_errors(ref, velocity).mean(), rel=1e-5
        )
    assert result["spectra"]["k_low_nyquist"] == 3.0 and result["spectra"]["k_nyquist"] == 12.0
    np.testing.assert_allclose(
        result["spectra"]["density"]["reference"], radial_power_spectrum(ref, dim=2)
    )
    np.testing.assert_allclose(
        result["spectra"]["density"]["low"], radial_power_spectrum(low, dim=2)
    )
    ke_low = result["spectra"]["kinetic_energy"]["low"]
    assert np.sum(ke_low) == pytest.approx(0.5 * np.mean(np.sum((f * low_velocity) ** 2, -1)))


def test_perfect_prediction_and_a_gap_in_time(sequence):
    ref, low, _, velocity, _, f = sequence
    evaluator = SequenceEvaluator(["model"], f, fid_slices=1)
    for t in (0, 1, 3):  # frame 2 missing: no pair (1, 3)
        evaluator.add(float(t), ref[t], {"model": ref[t]}, low[t], velocity[t], follows=t != 3)
    result = evaluator.result()
    m = result["methods"]["model"]
    assert m["psnr"] == np.inf and m["ssim"] == pytest.approx(1.0)
    assert m["hf_energy_fraction"] == pytest.approx(1.0) and m["lsd"] == 0.0
    assert m["warping_error_ratio"] == 1.0 and m["frame_difference_error"] == 0.0
    assert result["temporal_pairs"] == 1 and result["temporal"]["times"] == [1.0]
    real, fakes = evaluator.fid_images()
    assert real.shape == (3, 16, 24, 1) and real.dtype == np.uint8
    np.testing.assert_array_equal(fakes["model"], real)
