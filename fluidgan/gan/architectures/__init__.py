"""Network families, registered by name in GENERATORS, DISCRIMINATORS and TRANSLATORS.

========  ====================================================================
mlp       fully connected G and D (GAN, 2014)
dcgan     strided-conv D, transposed-conv G, BN, LeakyReLU (DCGAN)
sagan     DCGAN + self-attention + spectral norm in G and D (SAGAN)
biggan    residual G/D, class-conditional BN, shared embedding, hierarchical z,
          projection D (BigGAN; sample with the truncation trick)
autoencoder   D only: reconstruction-error energy (EBGAN, BEGAN)
patch     D only: PatchGAN critic (CycleGAN, DualGAN)
resnet / unet / encoder_decoder   translators for CycleGAN / DualGAN / DiscoGAN
========  ====================================================================

LAPGAN's residual level networks and IcGAN's encoder are built by their games.
"""

from __future__ import annotations

from fluidgan.gan.architectures import autoencoder, biggan, dcgan, mlp, translators
from fluidgan.gan.architectures.base import DISCRIMINATORS, GENERATORS, TRANSLATORS
from fluidgan.gan.architectures.biggan import truncated_normal

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "TRANSLATORS",
    "autoencoder",
    "biggan",
    "dcgan",
    "mlp",
    "translators",
    "truncated_normal",
]
