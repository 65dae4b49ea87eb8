"""The objective shared by network training and the Gatys baseline.

Normalisation (our convention, chosen so that one set of weights works for every descriptor,
image size and input range):

* ``gram_matrix`` divides by the number of positions H*W, so a Gram is the mean outer product
  of feature vectors and does not depend on the image size (Johnson et al. 2016 divide by
  C*H*W; Gatys et al. 2015 do not divide and put 1/(4 N^2 M^2) into the loss instead).
* each style layer's loss is the squared Frobenius distance *relative to the target's energy*,
  ``||G(x) - G(t)||^2 / ||G(t)||^2``, and the content loss likewise
  ``||F(x) - F(c)||^2 / ||F(c)||^2``. Both are therefore independent of the layer width, of the
  activation scale (a Caffe VGG fed 0-255 has activations in the hundreds, a torchvision VGG
  in single digits) and of the image size. Gatys' per-layer factor 1/(4 N^2 M^2) makes layers
  comparable only for a given input range; the relative form does it for all of them and keeps
  L-BFGS stable (unnormalised Caffe-scale Grams sent it to NaN).
* total variation is the mean squared difference of neighbouring pixels of a [0, 1] image.

All losses return one value per batch element (shape (B,)); callers take the mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import Tensor, nn

from texture_nets.objective.swd import draw_seed, random_projections, swd_layer_loss

TEXTURE_LOSSES = ("gram", "swd")
_EPS = 1e-12


def gram_matrix(features: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, C, C): mean outer product of the feature vectors, in float32."""
    batch, channels, height, width = features.shape
    flat = features.float().reshape(batch, channels, height * width)
    return torch.bmm(flat, flat.transpose(1, 2)) / (height * width)


def relative_squared_error(value: Tensor, target: Tensor) -> Tensor:
    """Per-sample ``||value - target||^2 / ||target||^2``; ``target`` may lack the batch dim."""
    value = value.float()
    target = target.float()
    if target.dim() < value.dim():
        target = target.unsqueeze(0)
    dims = tuple(range(1, value.dim()))
    error = (value - target).pow(2).sum(dim=dims)
    energy = target.pow(2).sum(dim=tuple(range(1, target.dim()))).clamp_min(_EPS)
    return error / energy


def shifted_gram(features: Tensor, shift: int, axis: int) -> Tensor:
    """(B, C, H, W) -> (B, C, C): mean outer product of every feature vector with the one
    ``shift`` pixels further along ``axis`` (3: to the right, 2: below), in float32.

    Berger & Memisevic 2016 ("Incorporating long-range consistency in CNN-based texture
    generation"): a Gram matrix forgets where features are; these cross-correlations keep how
    a feature at one place goes with the features a fixed distance away, which is the order of
    a regular texture (bricks, weaves)."""
    size = features.shape[axis]
    if not 0 < shift < size:
        raise ValueError(f"shift {shift} needs a feature map longer than {shift} px, got {size}")
    flat = features.float()
    batch, channels = flat.shape[:2]
    here = flat.narrow(axis, 0, size - shift).reshape(batch, channels, -1)
    there = flat.narrow(axis, shift, size - shift).reshape(batch, channels, -1)
    return torch.bmm(here, there.transpose(1, 2)) / here.shape[-1]


def pool_crops(features: Tensor, crops: int) -> Tensor:
    """(B, C, H, W) -> (B / crops, C, crops * H, W): every ``crops`` consecutive maps (crops of
    one photo) stacked into one, whose Gram is the mean of theirs: statistics of the photo,
    not of each crop."""
    batch, channels, height, width = features.shape
    if crops < 1 or batch % crops:
        raise ValueError(f"a batch of {batch} does not split into groups of {crops} crops")
    grouped = features.reshape(batch // crops, crops, channels, height, width).transpose(1, 2)
    return grouped.reshape(batch // crops, channels, crops * height, width)


def style_layer_loss(features: Tensor, target_gram: Tensor) -> Tensor:
    """Per-sample relative Gram distance for one layer; ``target_gram`` is (C, C) or (B, C, C)."""
    return relative_squared_error(gram_matrix(features), target_gram)


def content_loss(features: Tensor, target: Tensor) -> Tensor:
    """Per-sample relative feature distance at one layer."""
    return relative_squared_error(features, target)


def tv_loss(images: Tensor) -> Tensor:
    """Per-sample mean squared difference between neighbouring pixels."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).pow(2).flatten(1).mean(1)
    dy = (images[..., 1:, :] - images[..., :-1, :]).pow(2).flatten(1).mean(1)
    return dx + dy


class _UnitGradient(torch.autograd.Function):
    """Identity forward; backward divides each sample's gradient by its L1 norm."""

    @staticmethod
    def forward(ctx: Any, features: Tensor) -> Tensor:
        return features.view_as(features)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        norms = grad.abs().flatten(1).sum(dim=1).clamp_min(_EPS)
        return grad / norms.view(-1, *([1] * (grad.dim() - 1)))


def unit_gradient(features: Tensor) -> Tensor:
    """``features`` unchanged, but the gradient flowing back through them is scaled to an L1
    norm of 1 per sample: every layer then pulls the image equally hard, whatever its loss
    scale (the original texture_nets' ``normalize_gradients``; ``TrainConfig``)."""
    return cast(Tensor, _UnitGradient.apply(features))


def nearest_neighbour_entropy(features: Tensor) -> Tensor:
    """The Kozachenko-Leonenko entropy estimate of a batch's features, up to constants:
    ``mean_i ln min_{j != i} ||F_i - F_j||`` over the batch's B >= 2 samples (Improved Texture
    Networks, Ulyanov et al. 2017: maximised, it keeps a generator from collapsing to one
    texture). Scale-free in its gradient (a scale of F only adds a constant)."""
    flat = features.float().flatten(1)
    if flat.shape[0] < 2:
        raise ValueError("the entropy estimate needs at least 2 samples")
    # exact differences (cdist's matrix-product shortcut loses close pairs to cancellation)
    distances = torch.cdist(flat[None], flat[None], compute_mode="donot_use_mm_for_euclid_dist")[0]
    distances = distances + torch.diag(torch.full_like(distances[0], float("inf")))
    return distances.min(dim=1).values.clamp_min(_EPS).log().mean()


@dataclass
class LossTerms:
    """The total loss (mean over the batch) and every weighted term, for logging."""

    total: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)


class TextureLoss(nn.Module):
    """Style Grams (+ optional content and TV) against fixed targets; the one objective.

    Args:
        style_layers: layer name -> weight for the Gram loss (weights are used as given).
        content_layers: layer name -> weight for the content loss (empty for textures).
        style_weight, content_weight, tv_weight: global factors of the three terms.
        texture_loss: how a style layer is compared with the example: ``gram`` (relative
            Gram distance, Gatys et al.) or ``swd`` (sliced Wasserstein distance of the feature
            vectors, Heitz et al. 2021: the whole distribution of every projection, not only
            second moments; new random directions at every ``draw``).
        seed: the seed of the sliced Wasserstein directions (with the draw number).
        shift_layers, shifts, shift_weight: the shifted-Gram term (``shifted_gram``): at each
            of these style layers, the relative distance of the cross-correlations at every
            shift (feature-map pixels, right and down) to the example's, averaged; times
            ``shift_weight`` (0: off).
    """

    def __init__(
        self,
        style_layers: Mapping[str, float],
        content_layers: Mapping[str, float] | None = None,
        style_weight: float = 1.0,
        content_weight: float = 1.0,
        tv_weight: float = 0.0,
        texture_loss: str = "gram",
        seed: int = 0,
        shift_layers: Sequence[str] = (),
        shifts: Sequence[int] = (),
        shift_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if not style_layers:
            raise ValueError("at least one style layer is needed")
        if texture_loss not in TEXTURE_LOSSES:
            raise ValueError(
                f"unknown texture loss {texture_loss!r}; choose one of {TEXTURE_LOSSES}"
            )
        self.texture_loss = texture_loss
        self.seed = seed
        self.draw_number = 0  # which random directions the sliced Wasserstein loss uses
        self.style_layers = dict(style_layers)
        self.content_layers = dict(content_layers or {})
        self.style_weight = style_weight
        self.content_weight = content_weight
        self.tv_weight = tv_weight
        for name in self.style_layers:
            self.register_buffer(_gram_key(name), torch.empty(0), persistent=True)
        self.shift_weight = shift_weight
        self.shift_layers = list(shift_layers) if shift_weight else []
        self.shifts = [int(shift) for shift in shifts]
        if self.shift_layers and not self.shifts:
            raise ValueError("the shifted-Gram term needs at least one shift")
        if unknown := set(self.shift_layers) - set(self.style_layers):
            raise ValueError(f"shift layers must be style layers: {sorted(unknown)}")
        for key in self._shift_keys():
            self.register_buffer(key, torch.empty(0), persistent=True)
        # the example's feature vectors per layer (swd only): large (~130 MB for a 512 px
        # example), so neither buffers (DDP would broadcast them every step) nor saved;
        # set_style recomputes them where they are used
        self.examples: dict[str, Tensor] = {}

    @property
    def layers(self) -> list[str]:
        """Every descriptor layer this loss reads (style and content)."""
        return list(dict.fromkeys([*self.style_layers, *self.content_layers]))

    def set_style(
        self, style_features: Sequence[Mapping[str, Tensor]], blend: Sequence[float] | None = None
    ) -> None:
        """Compute the target Grams once, from one or several style images' features.

        Several styles are blended as the weighted mean of their Grams (weights sum to 1).
        """
        blend = list(blend) if blend is not None else [1.0] * len(style_features)
        if len(blend) != len(style_features) or sum(blend) <= 0:
            raise ValueError("style blend weights must match the style images and be positive")
        total = sum(blend)
        if self.texture_loss == "swd":
            if len(style_features) != 1:
                raise ValueError("the sliced Wasserstein loss takes one style image, not a blend")
            self.examples = {
                name: style_features[0][name][0].float().flatten(1).t().contiguous().detach()
                for name in self.style_layers
            }  # (H*W, C) each
        for name in self.style_layers:
            grams = [
                gram_matrix(feats[name])[0] * (w / total)
                for feats, w in zip(style_features, blend, strict=True)
            ]
            setattr(self, _gram_key(name), torch.stack(grams).sum(0).detach())
        for name in self.shift_layers:
            for shift in self.shifts:
                for axis in (2, 3):
                    grams = [
                        shifted_gram(feats[name], shift, axis)[0] * (w / total)
                        for feats, w in zip(style_features, blend, strict=True)
                    ]
                    key = _shift_key(name, shift, axis)
                    setattr(self, key, torch.stack(grams).sum(0).detach())

    def _shift_keys(self) -> list[str]:
        return [
            _shift_key(name, shift, axis)
            for name in self.shift_layers
            for shift in self.shifts
            for axis in (2, 3)
        ]

    def shift_layer(self, name: str, features: Tensor) -> Tensor:
        """One layer's per-sample shifted-Gram loss, the mean over shifts and directions."""
        losses = []
        for shift in self.shifts:
            for axis in (2, 3):
                target: Tensor = getattr(self, _shift_key(name, shift, axis))
                if target.numel() == 0:
                    raise RuntimeError("TextureLoss.set_style() has not been called")
                losses.append(relative_squared_error(shifted_gram(features, shift, axis), target))
        return torch.stack(losses).mean(0)

    def target_gram(self, layer: str) -> Tensor:
        gram: Tensor = getattr(self, _gram_key(layer))
        if gram.numel() == 0:
            raise RuntimeError("TextureLoss.set_style() has not been called")
        return gram

    def draw(self, number: int) -> None:
        """Use the ``number``-th random directions (training: the step; Gatys: the
        iteration), so a resumed run draws what an uninterrupted one would."""
        self.draw_number = number

    def style_layer(self, name: str, features: Tensor) -> Tensor:
        """One style layer's per-sample loss (Gram or sliced Wasserstein)."""
        if self.texture_loss == "gram":
            return style_layer_loss(features, self.target_gram(name))
        if name not in self.examples:
            raise RuntimeError("TextureLoss.set_style() has not been called")
        example = self.examples[name].to(features.device)
        seed = draw_seed(self.seed, self.draw_number, name)
        channels = example.shape[1]
        directions = random_projections(channels, channels, seed)
        return swd_layer_loss(features, example, directions, torch.Generator().manual_seed(seed))

    def per_sample(
        self,
        features: Mapping[str, Tensor],
        content_targets: Mapping[str, Tensor] | None = None,
        images: Tensor | None = None,
        crops_per_photo: int = 1,
    ) -> dict[str, Tensor]:
        """Unweighted per-layer losses, each of shape (B,), keyed ``style/<layer>`` etc.;
        ``crops_per_photo``: the style loss of every such group of consecutive images is
        computed on their pooled features (``pool_crops``), and given to each of them."""
        out = {
            f"style/{name}": self.style_layer(
                name, pool_crops(features[name], crops_per_photo)
            ).repeat_interleave(crops_per_photo)
            for name in self.style_layers
        }
        for name in self.shift_layers:
            out[f"shift/{name}"] = self.shift_layer(name, features[name])
        if self.content_layers:
            if content_targets is None:
                raise ValueError("content layers are set but no content targets were given")
            for name in self.content_layers:
                out[f"content/{name}"] = content_loss(features[name], content_targets[name])
        if self.tv_weight > 0 and images is not None:
            out["tv"] = tv_loss(images)
        return out

    def forward(
        self,
        features: Mapping[str, Tensor],
        content_targets: Mapping[str, Tensor] | None = None,
        images: Tensor | None = None,
        crops_per_photo: int = 1,
    ) -> LossTerms:
        parts = self.per_sample(features, content_targets, images, crops_per_photo)
        terms = {f"raw/{name}": value.mean().detach() for name, value in parts.items()}
        groups = {  # term: (its weight, {per-sample part: its layer weight})
            "style": (self.style_weight, {f"style/{n}": w for n, w in self.style_layers.items()}),
            "shift": (
                self.shift_weight,
                {f"shift/{n}": self.style_layers[n] for n in self.shift_layers},
            ),
            "content": (
                self.content_weight,
                {f"content/{n}": w for n, w in self.content_layers.items()},
            ),
            "tv": (self.tv_weight, {"tv": 1.0}),
        }
        total = torch.zeros(())
        for term, (weight, layers) in groups.items():
            if any(part in parts for part in layers):
                value = weight * sum(
                    (w * parts[k] for k, w in layers.items()), start=torch.zeros(())
                )
                total = total + value
                terms[term] = value.mean()
        return LossTerms(total.mean(), terms)


def _gram_key(layer: str) -> str:
    return f"target_gram_{layer}"


def _shift_key(layer: str, shift: int, axis: int) -> str:
    return f"target_shift_{layer}_{'xy'[axis - 2]}{shift}"
