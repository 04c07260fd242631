"""Games: which networks a model has and which adversarial pairs a step plays.

A game builds its networks by role — "g" (trained by the G step), "d" (the D step),
"e" (an extra encoder step, IcGAN) — and turns a batch into :class:`Pair`s. The trainer
then applies the adversarial loss and the regularisers to every pair in the same way,
so any loss or trick combines with any game.

gan     one G(z[, y]) against one D(x[, y]): GAN, DCGAN, WGAN, SNGAN, SAGAN, BigGAN,
        cGAN, ACGAN, EBGAN, BEGAN, f-GAN, ...
icgan   a cGAN plus an encoder x -> (z, y) for attribute editing
lapgan  a Laplacian pyramid: a GAN at the coarsest level, residual GANs above
cycle   two mappings A->B, B->A, two critics and a cycle-consistency loss
        (CycleGAN, DualGAN, DiscoGAN)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fluidgan.errors import UserError
from fluidgan.gan.architectures import DISCRIMINATORS, GENERATORS, TRANSLATORS
from fluidgan.gan.architectures.biggan import truncated_normal
from fluidgan.gan.architectures.icgan import Encoder
from fluidgan.gan.architectures.lapgan import (
    ResidualDiscriminator,
    ResidualGenerator,
    check_levels,
    laplacian_pyramid,
    upsample,
)
from fluidgan.gan.core import DISTANCES, NetSpec, Pair, Registry
from fluidgan.gan.data import DOMAIN_TRANSFORMS, ImageData, two_domains

GAMES: Registry[type] = Registry("game")

Models = dict[str, nn.ModuleDict]
Sources = list[dict[str, Tensor]]


def _device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def _sample_labels(n: int, spec: NetSpec, device: torch.device) -> Tensor | None:
    """Labels 0, 1, ..., K-1, 0, ... so a grid shows one class per column."""
    return torch.arange(n, device=device) % spec.num_classes if spec.labelled else None


class NoiseGame:
    """Games whose samples start from z: :meth:`sample` draws z (truncated when asked) and
    hands it to :meth:`render`; the preview grid is a plain sample."""

    generators = GENERATORS
    spec: NetSpec

    def render(self, g: nn.ModuleDict, z: Tensor, generator: torch.Generator) -> Tensor:
        raise NotImplementedError

    def sample(
        self,
        g: nn.ModuleDict,
        n: int,
        *,
        generator: torch.Generator,
        truncation: float | None,
        sources: Sources,
    ) -> Tensor:
        """n images (n, C, H, W); z from the truncated normal when ``truncation``."""
        z = truncated_normal((n, self.spec.z_dim), truncation, generator)
        return self.render(g, z.to(_device(g)), generator)

    def preview(self, g: nn.ModuleDict, n: int, **kwargs: Any) -> Tensor:
        return self.sample(g, n, **kwargs)

    def reference(self, sources: Sources) -> Tensor:
        """The real images its samples imitate (N, C, H, W): the training images."""
        return sources[0]["x"]

    def capacity(self, sources: Sources) -> int | None:
        """How many distinct samples it can give: no limit, z is drawn afresh."""
        return None


@GAMES.register("gan")
class ImageGAN(NoiseGame):
    """One generator against one discriminator; fakes take the real batch's labels."""

    def __init__(self, spec: NetSpec, model: Any):
        self.spec, self.model = spec, model

    def build(self) -> Models:
        G = self.generators.get(self.model.generator)(self.spec, **self.model.g)
        D = DISCRIMINATORS.get(self.model.discriminator)(self.spec, **self.model.d)
        return {"g": nn.ModuleDict({"G": G}), "d": nn.ModuleDict({"D": D})}

    def sources(self, data: ImageData, data_cfg: Any, seed: int) -> Sources:
        if self.spec.labelled:
            return [{"x": data.images, "y": data.labels}]
        return [{"x": data.images}]

    def _fake(self, models: Models, batch: dict[str, Tensor]) -> Tensor:
        x = batch["x"]
        z = torch.randn(x.shape[0], self.spec.z_dim, device=x.device)
        return models["g"]["G"](z, batch.get("y"))

    def d_pairs(self, models: Models, batch: dict[str, Tensor]) -> list[Pair]:
        with torch.no_grad():
            fake = self._fake(models, batch)
        return [Pair(models["d"]["D"], batch["x"], fake, batch.get("y"))]

    def g_pairs(self, models: Models, batch: dict[str, Tensor]) -> tuple[list[Pair], dict]:
        fake = self._fake(models, batch)
        return [Pair(models["d"]["D"], batch["x"], fake, batch.get("y"))], {}

    def render(self, g: nn.ModuleDict, z: Tensor, generator: torch.Generator) -> Tensor:
        return g["G"](z, _sample_labels(z.shape[0], self.spec, z.device))


@GAMES.register("icgan")
class IcGAN(ImageGAN):
    """A cGAN plus an encoder E(x) = (z, y) (Perarnau et al. 2016), trained alongside:
    E_z on generated pairs, ‖E_z(G(z, y)) - z‖², and E_y on real labelled data,
    CE(E_y(x), y). Edit a real image with :meth:`edit`. (The paper trains the encoder
    after the cGAN; here it follows the current G, a step after each G step.)"""

    def __init__(self, spec: NetSpec, model: Any):
        if not spec.labelled:
            raise UserError(
                "game 'icgan' needs a label-conditioned model "
                "(model.conditional = 'concat') and a labelled data set"
            )
        super().__init__(spec, model)

    def build(self) -> Models:
        return {**super().build(), "e": nn.ModuleDict({"E": Encoder(self.spec)})}

    def encoder_loss(self, models: Models, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x, y = batch["x"], batch["y"]
        z = torch.randn(x.shape[0], self.spec.z_dim, device=x.device)
        with torch.no_grad():
            fake = models["g"]["G"](z, y)
        z_hat, _ = models["e"]["E"](fake)
        _, logits = models["e"]["E"](x)
        return {"e_z": F.mse_loss(z_hat, z), "e_y": F.cross_entropy(logits, y)}

    @staticmethod
    def edit(g: nn.ModuleDict, e: nn.ModuleDict, x: Tensor, labels: Tensor) -> Tensor:
        """x' = G(E_z(x), y'): the image x re-rendered with the new labels y' (B,)."""
        z, _ = e["E"](x)
        return g["G"](z, labels)


@GAMES.register("lapgan")
class LAPGAN(NoiseGame):
    """Level 0: ``model.generator`` / ``model.discriminator`` at the coarsest size;
    levels 1..L-1: residual conv networks conditioned on the upsampled coarser image.
    Every level trains on the real pyramid (as in the paper), all in one step."""

    def __init__(self, spec: NetSpec, model: Any, levels: int = 3):
        if spec.labelled:
            raise UserError("game 'lapgan' is unconditional here; set model.conditional='none'")
        check_levels(spec.size, levels)
        self.spec, self.model, self.levels = spec, model, levels
        self.specs = [
            spec.with_size(tuple(s // 2 ** (levels - 1 - k) for s in spec.size))
            for k in range(levels)
        ]

    def build(self) -> Models:
        g = {"level0": self.generators.get(self.model.generator)(self.specs[0], **self.model.g)}
        d = {"level0": DISCRIMINATORS.get(self.model.discriminator)(self.specs[0], **self.model.d)}
        for k in range(1, self.levels):
            g[f"level{k}"] = ResidualGenerator(self.specs[k])
            d[f"level{k}"] = ResidualDiscriminator(self.specs[k])
        return {"g": nn.ModuleDict(g), "d": nn.ModuleDict(d)}

    def sources(self, data: ImageData, data_cfg: Any, seed: int) -> Sources:
        return [{"x": data.images}]

    def _pairs(self, models: Models, x: Tensor) -> list[Pair]:
        g, d = models["g"], models["d"]
        coarsest, residuals, coarse = laplacian_pyramid(x, self.levels)
        z = torch.randn(x.shape[0], self.spec.z_dim, device=x.device)
        pairs = [Pair(d["level0"], coarsest, g["level0"](z), name="0")]
        for k, (h, c) in enumerate(zip(residuals, coarse, strict=True), start=1):
            noise = torch.randn_like(c[:, :1])
            pairs.append(Pair(d[f"level{k}"], h, g[f"level{k}"](noise, c), c, name=str(k)))
        return pairs

    def d_pairs(self, models: Models, batch: dict[str, Tensor]) -> list[Pair]:
        with torch.no_grad():
            return self._pairs(models, batch["x"])

    def g_pairs(self, models: Models, batch: dict[str, Tensor]) -> tuple[list[Pair], dict]:
        return self._pairs(models, batch["x"]), {}

    def render(self, g: nn.ModuleDict, z: Tensor, generator: torch.Generator) -> Tensor:
        """I_0 = G_0(z), then I_k = u(I_{k-1}) + G_k(z_k, u(I_{k-1})) up the pyramid."""
        image = g["level0"](z)
        for k in range(1, self.levels):
            coarse = upsample(image)
            noise = torch.randn(coarse[:, :1].shape, generator=generator).to(z.device)
            image = coarse + g[f"level{k}"](noise, coarse)
        return image.clamp(-1, 1)


def cycle_distance(x: Tensor, y: Tensor, distance: str) -> Tensor:
    """Mean |x - y| ('l1', CycleGAN, DualGAN) or mean (x - y)² ('l2', DiscoGAN)."""
    return DISTANCES[distance](x, y).mean()


def cycle_loss(a: Tensor, rec_a: Tensor, b: Tensor, rec_b: Tensor, distance: str) -> Tensor:
    """Cycle consistency d(F(G(a)), a) + d(G(F(b)), b)."""
    return cycle_distance(rec_a, a, distance) + cycle_distance(rec_b, b, distance)


@GAMES.register("cycle")
class CycleGame:
    """Two mappings G_ab, G_ba (``model.generator`` from the translators), two critics
    D_a, D_b, and λ_cyc (d(G_ba(G_ab(a)), a) + d(G_ab(G_ba(b)), b)), optionally
    λ_id (d(G_ab(b), b) + d(G_ba(a), a)). Data: data.domain_b names the transform that
    makes domain B; unpaired unless data.paired."""

    generators = TRANSLATORS

    def __init__(
        self,
        spec: NetSpec,
        model: Any,
        cycle_weight: float = 10.0,
        distance: str = "l1",
        identity_weight: float = 0.0,
    ):
        if spec.labelled:
            raise UserError("game 'cycle' is unconditional; set model.conditional='none'")
        if distance not in DISTANCES:
            raise UserError(
                f"model.game_options.distance is {distance!r}; valid: {', '.join(DISTANCES)}"
            )
        self.spec, self.model, self.paired = spec, model, False
        self.cycle_weight, self.distance, self.identity_weight = (
            cycle_weight,
            distance,
            identity_weight,
        )

    def build(self) -> Models:
        make_t = self.generators.get(self.model.generator)
        make_d = DISCRIMINATORS.get(self.model.discriminator)
        g = {"ab": make_t(self.spec, **self.model.g), "ba": make_t(self.spec, **self.model.g)}
        d = {"a": make_d(self.spec, **self.model.d), "b": make_d(self.spec, **self.model.d)}
        return {"g": nn.ModuleDict(g), "d": nn.ModuleDict(d)}

    def sources(self, data: ImageData, data_cfg: Any, seed: int) -> Sources:
        if data_cfg.domain_b is None:
            raise UserError(
                "game 'cycle' needs data.domain_b; valid: " + ", ".join(DOMAIN_TRANSFORMS.names())
            )
        a, b = two_domains(data, data_cfg.domain_b, data_cfg.paired, seed)
        self.paired = bool(data_cfg.paired)
        return [{"a": a, "b": b}] if data_cfg.paired else [{"a": a}, {"b": b}]

    def d_pairs(self, models: Models, batch: dict[str, Tensor]) -> list[Pair]:
        g, d, a, b = models["g"], models["d"], batch["a"], batch["b"]
        with torch.no_grad():
            fake_b, fake_a = g["ab"](a), g["ba"](b)
        return [Pair(d["b"], b, fake_b, name="b"), Pair(d["a"], a, fake_a, name="a")]

    def g_pairs(self, models: Models, batch: dict[str, Tensor]) -> tuple[list[Pair], dict]:
        g, d, a, b = models["g"], models["d"], batch["a"], batch["b"]
        fake_b, fake_a = g["ab"](a), g["ba"](b)
        terms = {
            "cycle": self.cycle_weight
            * cycle_loss(a, g["ba"](fake_b), b, g["ab"](fake_a), self.distance)
        }
        if self.identity_weight:
            terms["identity"] = self.identity_weight * (
                cycle_distance(g["ab"](b), b, self.distance)
                + cycle_distance(g["ba"](a), a, self.distance)
            )
        pairs = [
            Pair(d["b"], b, fake_b, name="b", paired=self.paired),
            Pair(d["a"], a, fake_a, name="a", paired=self.paired),
        ]
        return pairs, terms

    def sample(self, g: nn.ModuleDict, n: int, *, sources: Sources, **_: Any) -> Tensor:
        """G_ab of the first n images of domain A (fakes of domain B); no noise, so
        ``generator`` and ``truncation`` do not apply."""
        return g["ab"](sources[0]["a"][:n].to(_device(g)))

    def reference(self, sources: Sources) -> Tensor:
        """Domain B, the images G_ab's samples imitate."""
        return next(s["b"] for s in sources if "b" in s)

    def capacity(self, sources: Sources) -> int | None:
        """Samples are G_ab(a) for the domain-A images: as many as there are."""
        return len(sources[0]["a"])

    def preview(self, g: nn.ModuleDict, n: int, *, sources: Sources, **_: Any) -> Tensor:
        """Rows of [a | G_ab(a) | G_ba(G_ab(a))] side by side."""
        a = sources[0]["a"][:n].to(_device(g))
        fake_b = g["ab"](a)
        return torch.cat([a, fake_b, g["ba"](fake_b)], dim=3)
