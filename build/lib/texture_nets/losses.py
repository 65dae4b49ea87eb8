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

import torch
from torch import Tensor, nn


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
    energy = target.pow(2).sum(dim=tuple(range(1, target.dim()))).clamp_min(1e-12)
    return error / energy


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
    """

    def __init__(
        self,
        style_layers: Mapping[str, float],
        content_layers: Mapping[str, float] | None = None,
        style_weight: float = 1.0,
        content_weight: float = 1.0,
        tv_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if not style_layers:
            raise ValueError("at least one style layer is needed")
        self.style_layers = dict(style_layers)
        self.content_layers = dict(content_layers or {})
        self.style_weight = style_weight
        self.content_weight = content_weight
        self.tv_weight = tv_weight
        for name in self.style_layers:
            self.register_buffer(_gram_key(name), torch.empty(0), persistent=True)

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
        for name in self.style_layers:
            grams = [
                gram_matrix(feats[name])[0] * (w / total)
                for feats, w in zip(style_features, blend, strict=True)
            ]
            setattr(self, _gram_key(name), torch.stack(grams).sum(0).detach())

    def target_gram(self, layer: str) -> Tensor:
        gram: Tensor = getattr(self, _gram_key(layer))
        if gram.numel() == 0:
            raise RuntimeError("TextureLoss.set_style() has not been called")
        return gram

    def per_sample(
        self,
        features: Mapping[str, Tensor],
        content_targets: Mapping[str, Tensor] | None = None,
        images: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """Unweighted per-layer losses, each of shape (B,), keyed ``style/<layer>`` etc."""
        out = {
            f"style/{name}": style_layer_loss(features[name], self.target_gram(name))
            for name in self.style_layers
        }
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
    ) -> LossTerms:
        parts = self.per_sample(features, content_targets, images)
        terms = {f"raw/{name}": value.mean().detach() for name, value in parts.items()}
        style = sum(
            (self.style_layers[n] * parts[f"style/{n}"] for n in self.style_layers),
            start=torch.zeros(()),
        )
        total = self.style_weight * style
        terms["style"] = self.style_weight * style.mean()
        if self.content_layers:
            content = sum(
                (self.content_layers[n] * parts[f"content/{n}"] for n in self.content_layers),
                start=torch.zeros(()),
            )
            total = total + self.content_weight * content
            terms["content"] = self.content_weight * content.mean()
        if "tv" in parts:
            total = total + self.tv_weight * parts["tv"]
            terms["tv"] = self.tv_weight * parts["tv"].mean()
        return LossTerms(total.mean(), terms)


def _gram_key(layer: str) -> str:
    return f"target_gram_{layer}"
