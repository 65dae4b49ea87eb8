"""Steady video stylization: optical flow, a consistency mask, warping and blending.

A feed-forward stylizer paints each frame on its own, so small changes in the input (noise,
compression, motion) change the strokes from frame to frame: the clip flickers. Two remedies:
the same noise for every frame (the caller passes one seed), and ``TemporalBlender``: the
previous stylized frame, moved along the optical flow of the *input* frames, is blended into
the current one wherever the flow can be trusted (forward-backward consistency; Sundaram et
al. 2010, as used by Ruder et al. 2016 for video style transfer). Occluded and disoccluded
pixels keep the fresh stylization. ``warping_error`` is Lai et al. 2018's temporal error,
measured the same way for any output.

Images here are ``(H, W, 3)`` arrays (uint8 or float32 in [0, 255]); flows are ``(H, W, 2)``
float32 in pixels, ``flow[y, x] = (dx, dy)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from PIL import Image

from texture_nets.errors import UserError

# Measured by benchmarks/video_temporal.py (docs/benchmarks.md), 6 clips: warping error 0.34x
# frame by frame on average (0.53x worst), style distance 1.00x (1.07x worst); 0.6: 0.52x /
# 0.70x. The consistency mask keeps ghosts out of occlusions. 0 turns the blend off.
DEFAULT_TEMPORAL = 0.8
# Forward-backward check |f + b|^2 <= ALPHA (|f|^2 + |b|^2) + BETA (Ruder et al. 2016's values).
CONSISTENCY_ALPHA = 0.01
CONSISTENCY_BETA = 0.5

# Averaging two stroke patterns lowers their contrast, which the style is made of (a mean of
# two uncorrelated textures has a smaller Gram): the blend's fine detail is scaled back to the
# fresh frame's local energy. Measured (benchmarks/video_temporal.py, weight 0.6): style
# distance 1.11x on average (1.16x worst) without this, 1.01x (1.08x) with it; the warping
# error rises from 0.42x to 0.52x of frame by frame, which a higher weight buys back.
DETAIL_SIGMA = 1.5  # px: detail = image - Gaussian(image), the strokes' scale at these sizes
ENERGY_SIGMA = 6.0  # px: the neighbourhood whose detail energy is matched
MAX_GAIN = 2.0

Frame = Image.Image | np.ndarray


class VideoDependencyError(UserError, ImportError):
    """PyAV or OpenCV is not installed (the ``[video]`` extra)."""


def require_video_module(name: str, what: str) -> Any:
    """Import one of the ``[video]`` extra's modules, or raise a one-line ``UserError`` that
    says how to install it (``what``: the module and its pip package, for the message)."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise VideoDependencyError(
            f"video needs {what}: pip install 'texture-nets[video]'"
        ) from error


def require_cv2() -> Any:
    """The ``cv2`` module (optical flow)."""
    return require_video_module("cv2", "OpenCV for optical flow (opencv-python-headless)")


def as_array(frame: Frame) -> np.ndarray:
    """A PIL image or an (H, W, 3) array -> (H, W, 3) uint8 RGB."""
    if isinstance(frame, Image.Image):
        return np.asarray(frame.convert("RGB"))
    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] != 3:
        raise UserError(f"a frame must be an RGB image of shape (H, W, 3); got {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return array


class FlowEstimator:
    """Dense optical flow between two RGB frames with OpenCV's DIS (Kroeger et al. 2016):
    fast enough on a CPU to cost little next to the stylizer (a few ms at 640x360)."""

    def __init__(self, preset: str = "medium") -> None:
        cv2 = require_cv2()
        presets = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }
        self._cv2 = cv2
        self._dis = cv2.DISOpticalFlow_create(presets[preset])

    def gray(self, frame: np.ndarray) -> np.ndarray:
        return self._cv2.cvtColor(np.ascontiguousarray(frame), self._cv2.COLOR_RGB2GRAY)

    def __call__(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Flow ``f`` with ``source[p] ~ target[p + f(p)]``, for grayscale uint8 frames."""
        flow = self._dis.calc(source, target, None)
        return np.asarray(flow, dtype=np.float32)


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out[p] = image[p + flow(p)]`` (bilinear, edges replicated): with the backward flow
    of the current frame, the previous frame moved onto the current one."""
    cv2 = require_cv2()
    xs, ys = _grid(*flow.shape[:2])
    return np.asarray(
        cv2.remap(
            np.ascontiguousarray(image),
            xs + flow[..., 0],
            ys + flow[..., 1],
            interpolation=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
    )


def consistency_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) bool: where the current frame's pixel ``p`` is seen in the previous frame.

    ``backward`` maps the current frame into the previous one, ``forward`` the previous into
    the current; following one and then the other must come back to ``p``, and ``p +
    backward(p)`` must lie inside the previous frame. Occlusions, disocclusions and flow
    failures break the round trip and are left out.
    """
    height, width = backward.shape[:2]
    forward_there = warp(forward, backward)  # forward flow read at p + backward(p)
    round_trip = forward_there + backward
    magnitude = (forward_there**2).sum(-1) + (backward**2).sum(-1)
    consistent = (round_trip**2).sum(-1) <= CONSISTENCY_ALPHA * magnitude + CONSISTENCY_BETA
    xs, ys = _grid(height, width)
    x, y = xs + backward[..., 0], ys + backward[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return np.asarray(consistent & inside)


def restore_detail(blended: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """``blended`` (float32, (H, W, 3)) with its fine detail scaled, pixel by pixel, to the
    local detail energy of ``fresh`` (gain between 1 and ``MAX_GAIN``)."""
    cv2 = require_cv2()
    base = cv2.GaussianBlur(blended, (0, 0), DETAIL_SIGMA)
    detail = blended - base
    fresh_detail = fresh - cv2.GaussianBlur(fresh, (0, 0), DETAIL_SIGMA)
    energy = cv2.GaussianBlur((detail**2).mean(-1), (0, 0), ENERGY_SIGMA)
    target = cv2.GaussianBlur((fresh_detail**2).mean(-1), (0, 0), ENERGY_SIGMA)
    gain = np.clip(np.sqrt(target / np.maximum(energy, 1e-3)), 1.0, MAX_GAIN)
    return np.asarray(base + gain[..., None] * detail)


class TemporalBlender:
    """Blends each stylized frame with the previous *output*, warped along the input's flow.

    ``out_t = s_t + weight * mask_t * (warp(out_{t-1}) - s_t)``: a reliable pixel takes
    ``weight`` of its value from where it was a frame ago (recursively, so strokes persist
    with a memory of about ``1 / (1 - weight)`` frames), an unreliable one is painted afresh;
    then the blend's fine detail gets the fresh frame's contrast back (``restore_detail``,
    unless ``restore=False``). ``weight=0`` returns the stylized frames unchanged.
    """

    def __init__(
        self, weight: float, flow: FlowEstimator | None = None, restore: bool = True
    ) -> None:
        if not 0 <= weight < 1:
            raise UserError(f"temporal weight must be in [0, 1), got {weight}")
        self.weight = float(weight)
        self.restore = restore
        self._flow = flow if flow is not None or weight == 0 else FlowEstimator()
        self._previous_gray: np.ndarray | None = None
        self._previous_out: np.ndarray | None = None

    def __call__(self, content: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """``content``: the input frame, ``stylized``: its stylization, both (H, W, 3) at the
        same size; returns the blended frame as uint8."""
        stylized = as_array(stylized)
        if self.weight == 0 or self._flow is None:
            return stylized
        if content.shape != stylized.shape:
            raise ValueError(f"content {content.shape} and stylized {stylized.shape} differ")
        gray = self._flow.gray(content)
        out = stylized
        previous = self._previous_out
        if self._previous_gray is not None and previous is not None:
            backward = self._flow(gray, self._previous_gray)
            forward = self._flow(self._previous_gray, gray)
            mask = consistency_mask(backward, forward)
            warped = warp(previous, backward).astype(np.float32)
            fresh = stylized.astype(np.float32)
            alpha = (self.weight * mask.astype(np.float32))[..., None]
            blended = fresh + alpha * (warped - fresh)
            if self.restore:
                blended = restore_detail(blended, fresh)
            out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        self._previous_gray, self._previous_out = gray, out
        return out


def blend_frames(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]], weight: float, restore: bool = True
) -> Iterator[np.ndarray]:
    """(content, stylized) pairs -> blended frames (``TemporalBlender``), streamed."""
    blender = TemporalBlender(weight, restore=restore)
    for content, stylized in pairs:
        yield blender(content, stylized)


def warping_error(
    outputs: Iterable[np.ndarray],
    contents: Iterable[np.ndarray] | None = None,
    flows: Iterable[tuple[np.ndarray, np.ndarray]] | None = None,
) -> float:
    """Lai et al. 2018's temporal warping error: the mean absolute difference (in [0, 1]
    units) between each output frame and the previous output warped onto it, over the pixels
    that the flow of the *input* frames marks as visible in both, averaged over frame pairs.

    Give the input frames (``contents``, flow estimated with DIS) or, for a synthetic clip,
    the true ``(backward, mask)`` for each frame after the first.
    """
    estimator = FlowEstimator() if flows is None else None
    flow_iter = iter(flows) if flows is not None else None
    content_iter = iter(contents) if contents is not None else None
    if estimator is not None and content_iter is None:
        raise ValueError("give the input frames or the flows")
    errors: list[float] = []
    previous_out: np.ndarray | None = None
    previous_gray: np.ndarray | None = None
    for out in outputs:
        gray = None
        if estimator is not None and content_iter is not None:
            gray = estimator.gray(next(content_iter))
        if previous_out is not None:
            if flow_iter is not None:
                backward, mask = next(flow_iter)
            else:
                assert estimator is not None and gray is not None and previous_gray is not None
                backward = estimator(gray, previous_gray)
                mask = consistency_mask(backward, estimator(previous_gray, gray))
            warped = warp(previous_out, backward).astype(np.float32)
            difference = np.abs(out.astype(np.float32) - warped).mean(-1) / 255.0
            if mask.any():
                errors.append(float(difference[mask].mean()))
        previous_out, previous_gray = out, gray
    return float(np.mean(errors)) if errors else 0.0
