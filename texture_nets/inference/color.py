"""Colour-space helpers: luminance-only style transfer (Gatys et al. 2016, "Preserving Color
in Neural Artistic Style Transfer", arXiv 1606.05897).

YCbCr is the full-range BT.601 transform of JPEG, on [0, 1] images: Y in [0, 1], Cb and Cr
centred on 0.5. Tensors are (..., 3, H, W).
"""

from __future__ import annotations

import torch
from torch import Tensor

_KR, _KG, _KB = 0.299, 0.587, 0.114


def rgb_to_ycbcr(images: Tensor) -> Tensor:
    r, g, b = images.unbind(-3)
    y = _KR * r + _KG * g + _KB * b
    cb = 0.5 + (b - y) / (2 * (1 - _KB))
    cr = 0.5 + (r - y) / (2 * (1 - _KR))
    return torch.stack([y, cb, cr], dim=-3)


def ycbcr_to_rgb(images: Tensor) -> Tensor:
    y, cb, cr = images.unbind(-3)
    r = y + 2 * (1 - _KR) * (cr - 0.5)
    b = y + 2 * (1 - _KB) * (cb - 0.5)
    g = (y - _KR * r - _KB * b) / _KG
    return torch.stack([r, g, b], dim=-3)


def preserve_colors(stylized: Tensor, content: Tensor) -> Tensor:
    """The stylized image's luminance with the content's chroma (CbCr), clamped to [0, 1]."""
    if stylized.shape != content.shape:
        raise ValueError(f"shapes differ: {tuple(stylized.shape)} vs {tuple(content.shape)}")
    luminance = rgb_to_ycbcr(stylized.float())[..., :1, :, :]
    chroma = rgb_to_ycbcr(content.float())[..., 1:, :, :]
    return ycbcr_to_rgb(torch.cat([luminance, chroma], dim=-3)).clamp(0, 1)
