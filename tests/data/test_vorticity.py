"""Curl and divergence by central differences: hand-computed values and identities."""

from __future__ import annotations

import numpy as np
import torch

from fluidgan.data.channels import build_inputs, channel_count, channel_names
from fluidgan.data.vorticity import curl, divergence


def linear_field(jac: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    p = np.indices(shape)[::-1] + 0.5
    return torch.from_numpy(np.einsum("ij,j...->i...", jac, p) + 0.2)[None]


def test_curl_2d_of_a_linear_field_is_its_antisymmetric_part_everywhere():
    jac = np.array([[0.3, -0.7], [1.1, 0.2]])  # du_i/dx_j
    omega = curl(linear_field(jac, (5, 6)))
    assert omega.shape == (1, 1, 5, 6)
    torch.testing.assert_close(omega, torch.full_like(omega, 1.1 + 0.7))  # dv/dx - du/dy


def test_curl_3d_of_a_linear_field():
    jac = np.arange(9.0).reshape(3, 3) ** 1.5 / 10
    omega = curl(linear_field(jac, (4, 5, 6)))
    expected = [jac[2, 1] - jac[1, 2], jac[0, 2] - jac[2, 0], jac[1, 0] - jac[0, 1]]
    assert omega.shape == (1, 3, 4, 5, 6)
    for c in range(3):
        torch.testing.assert_close(omega[0, c], torch.full_like(omega[0, c], expected[c]))


def test_curl_of_a_discrete_gradient_vanishes_inside():
    rng = np.random.default_rng(0)
    for shape in [(9, 10), (6, 7, 8)]:
        phi = torch.from_numpy(rng.standard_normal(shape))
        grad = torch.stack(torch.gradient(phi)[::-1])[None]  # components x first
        inside = (slice(None), slice(None)) + (slice(2, -2),) * len(shape)
        assert curl(grad)[inside].abs().max() < 1e-12


def test_divergence_of_rotation_and_expansion():
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert divergence(linear_field(rot, (6, 6))).abs().max() < 1e-12
    torch.testing.assert_close(
        divergence(linear_field(np.eye(3), (3, 4, 5))),
        torch.full((1, 1, 3, 4, 5), 3.0, dtype=torch.float64),
    )


def test_input_channel_sets_and_order():
    vel = linear_field(np.array([[0.0, -1.0], [1.0, 0.0]]), (4, 4))
    density = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    x = build_inputs(density, vel, "rho+v+w")
    assert x.shape[1] == channel_count("rho+v+w", 2) == 4
    assert channel_names("rho+v+w", 2) == ["density", "velocity_x", "velocity_y", "vorticity"]
    assert channel_names("rho+v+w", 3)[-3:] == ["vorticity_x", "vorticity_y", "vorticity_z"]
    assert [channel_count(c, 3) for c in ("rho", "rho+v", "rho+v+w")] == [1, 4, 7]
    torch.testing.assert_close(x[:, 0], density[:, 0])
    torch.testing.assert_close(x[:, 1:3], vel)
    torch.testing.assert_close(x[:, 3], torch.full_like(x[:, 3], 2.0))
