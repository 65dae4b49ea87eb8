"""Tests for texture_nets.evaluation.metrics against independent numpy / loop references."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn
from torchmetrics import Metric

from texture_nets.evaluation.metrics import (
    ContentDistance,
    ContentSSIM,
    Diversity,
    SlicedWassersteinDistance,
    StyleDistance,
    random_projections,
    resample_sorted,
    shift_invariant_distance,
    sliced_wasserstein,
    texture_report,
)
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import TextureLoss

LAYERS = ["relu1_1", "relu2_1", "relu3_1"]


def rand(*shape: int, seed: int) -> Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def features_np(descriptor: VGGDescriptor, images: Tensor, layer: str) -> np.ndarray:
    """(B, C, H, W) float64 features of one layer."""
    with torch.no_grad():
        return descriptor(images, [layer])[layer].double().numpy()


def values(result: Any) -> dict[str, float]:
    if isinstance(result, dict):
        return {key: float(value) for key, value in result.items()}
    return {"value": float(result)}


# --- independent references -----------------------------------------------------------------


def ref_relative(value: np.ndarray, target: np.ndarray) -> float:
    return float(np.sum((value - target) ** 2) / np.sum(target**2))


def ref_gram(feature: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (C, C): sum over positions of outer products, divided by H*W."""
    channels = feature.shape[0]
    flat = feature.reshape(channels, -1)
    gram = np.zeros((channels, channels))
    for position in range(flat.shape[1]):
        gram += np.outer(flat[:, position], flat[:, position])
    return gram / flat.shape[1]


def ref_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two (3, H, W) images in [0, 1]: 11-tap Gaussian (sigma 1.5), reflect padding."""
    taps = np.arange(-5, 6)
    kernel = np.exp(-(taps**2) / (2 * 1.5**2))
    kernel /= kernel.sum()
    height, width = x.shape[-2:]

    def blur(image: np.ndarray) -> np.ndarray:
        padded = np.pad(image, ((0, 0), (5, 5), (5, 5)), mode="reflect")
        rows = sum(kernel[i] * padded[:, :, i : i + width] for i in range(11))
        return sum(kernel[i] * rows[:, i : i + height, :] for i in range(11))

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx = np.maximum(blur(x * x) - mx**2, 0)
    vy = np.maximum(blur(y * y) - my**2, 0)
    cxy = blur(x * y) - mx * my
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(index.mean())


def ref_swd(a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> float:
    """Per direction: sorted projections, quantiles by np.interp at the shorter list's levels."""
    squared, variances = [], []
    for p in range(theta.shape[1]):
        pa, pb = np.sort(a @ theta[:, p]), np.sort(b @ theta[:, p])
        n = min(len(pa), len(pb))
        levels = (np.arange(n) + 0.5) / n
        qa = np.interp(levels, (np.arange(len(pa)) + 0.5) / len(pa), pa)
        qb = np.interp(levels, (np.arange(len(pb)) + 0.5) / len(pb), pb)
        squared.append(np.mean((qa - qb) ** 2))
        variances.append(np.var(pb))
    return float(np.mean(squared) / np.mean(variances))


def positions_np(feature: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H*W, C)."""
    return feature.reshape(feature.shape[0], -1).T


# --- StyleDistance ----------------------------------------------------------------------------


def test_style_distance_matches_reference(descriptor: VGGDescriptor) -> None:
    example, images = rand(3, 32, 32, seed=1), rand(3, 3, 24, 24, seed=2)
    weights = {"relu1_1": 0.5, "relu2_1": 2.0, "relu3_1": 1.0}
    metric = StyleDistance(descriptor, example, LAYERS, weights)
    metric.update(images[:2])
    metric.update(images[2:])
    result = values(metric.compute())

    expected: dict[str, float] = {}
    for layer in LAYERS:
        target = ref_gram(features_np(descriptor, example[None], layer)[0])
        feats = features_np(descriptor, images, layer)
        expected[layer] = float(np.mean([ref_relative(ref_gram(f), target) for f in feats]))
        assert result[f"style_distance/{layer}"] == pytest.approx(expected[layer], rel=1e-4)
    total = sum(weights[layer] * expected[layer] for layer in LAYERS)
    assert result["style_distance"] == pytest.approx(total, rel=1e-4)
    assert set(result) == {"style_distance", *(f"style_distance/{n}" for n in LAYERS)}


def test_style_distance_is_the_training_style_term(descriptor: VGGDescriptor) -> None:
    example, images = rand(3, 32, 32, seed=3), rand(2, 3, 32, 32, seed=4)
    layers = {"relu1_1": 1.0, "relu3_1": 3.0}
    loss = TextureLoss(layers)
    with torch.no_grad():
        loss.set_style([descriptor(example[None], layers)])
        terms = loss(descriptor(images, layers)).terms
    metric = StyleDistance(descriptor, example, layers)  # mapping: weights from the loss
    metric.update(images)
    assert float(metric.compute()["style_distance"]) == pytest.approx(
        float(terms["style"]), rel=1e-5
    )


def test_style_distance_zero_for_the_example(descriptor: VGGDescriptor) -> None:
    example = rand(3, 32, 32, seed=5)
    metric = StyleDistance(descriptor, example, LAYERS)
    metric.update(example[None])
    assert float(metric.compute()["style_distance"]) < 1e-10


def test_style_distance_rejects_bad_arguments(descriptor: VGGDescriptor) -> None:
    example = rand(3, 16, 16, seed=0)
    with pytest.raises(ValueError, match="not available"):
        StyleDistance(descriptor, example, ["relu4_1"])
    with pytest.raises(ValueError, match="one weight per layer"):
        StyleDistance(descriptor, example, LAYERS, {"relu1_1": 1.0})
    with pytest.raises(ValueError, match="single image"):
        StyleDistance(descriptor, rand(2, 3, 16, 16, seed=0), LAYERS)
    metric = StyleDistance(descriptor, example, LAYERS)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        metric.update(rand(3, 16, 16, seed=0))


# --- ContentDistance / ContentSSIM ------------------------------------------------------------


def test_content_distance_matches_reference(descriptor: VGGDescriptor) -> None:
    images, contents = rand(3, 3, 24, 24, seed=6), rand(3, 3, 24, 24, seed=7)
    metric = ContentDistance(descriptor, layer="relu2_1")
    metric.update(images, contents)
    out, ref = (
        features_np(descriptor, images, "relu2_1"),
        features_np(descriptor, contents, "relu2_1"),
    )
    expected = np.mean([ref_relative(o, c) for o, c in zip(out, ref, strict=True)])
    assert float(metric.compute()) == pytest.approx(expected, rel=1e-4)


def test_content_distance_single_content_image_and_sizes(descriptor: VGGDescriptor) -> None:
    images, content = rand(2, 3, 24, 24, seed=8), rand(1, 3, 24, 24, seed=9)
    broadcast = ContentDistance(descriptor, layer="relu3_1")
    broadcast.update(images, content)
    explicit = ContentDistance(descriptor, layer="relu3_1")
    explicit.update(images, content.expand(2, -1, -1, -1))
    assert float(broadcast.compute()) == pytest.approx(float(explicit.compute()), rel=1e-6)
    with pytest.raises(ValueError, match="same size"):
        broadcast.update(images, rand(2, 3, 32, 32, seed=0))
    with pytest.raises(ValueError, match="not available"):
        ContentDistance(descriptor)  # relu4_2 is deeper than this descriptor


def test_content_ssim_matches_reference() -> None:
    images, contents = rand(2, 3, 20, 24, seed=10), rand(2, 3, 20, 24, seed=11)
    contents[1] = (images[1] * 0.7 + 0.1).clamp(0, 1)  # a structurally similar pair as well
    metric = ContentSSIM()
    metric.update(images, contents)
    expected = np.mean(
        [
            ref_ssim(x.double().numpy(), y.double().numpy())
            for x, y in zip(images, contents, strict=True)
        ]
    )
    assert float(metric.compute()) == pytest.approx(expected, abs=1e-5)


def test_content_ssim_identical_and_size_mismatch() -> None:
    images = rand(2, 3, 16, 16, seed=12)
    metric = ContentSSIM()
    metric.update(images, images)
    assert float(metric.compute()) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"same size; got \(16, 16\) and \(16, 20\)"):
        metric.update(images, rand(2, 3, 16, 20, seed=0))
    with pytest.raises(ValueError, match="data_range"):
        ContentSSIM(data_range=255.0)


# --- sliced Wasserstein: the core function -----------------------------------------------------


def test_random_projections_are_seeded_unit_directions() -> None:
    theta = random_projections(7, 16, seed=3)
    assert theta.shape == (7, 16)
    assert torch.allclose(theta.norm(dim=0), torch.ones(16), atol=1e-6)
    assert torch.equal(theta, random_projections(7, 16, seed=3))
    assert not torch.allclose(theta, random_projections(7, 16, seed=4))


@pytest.mark.parametrize(("size", "length"), [(10, 4), (7, 7), (5, 13), (64, 9)])
def test_resample_sorted_is_quantile_interpolation(size: int, length: int) -> None:
    sorted_values = rand(3, size, seed=size).sort(dim=-1).values
    out = resample_sorted(sorted_values, length).numpy()
    levels = (np.arange(length) + 0.5) / length
    source = (np.arange(size) + 0.5) / size
    for row, got in zip(sorted_values.double().numpy(), out, strict=True):
        np.testing.assert_allclose(got, np.interp(levels, source, row), atol=1e-6)


def test_sliced_wasserstein_zero_for_permuted_or_duplicated_samples() -> None:
    b = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    theta = random_projections(6, 32, seed=0)
    permuted = b[torch.randperm(50, generator=torch.Generator().manual_seed(1))]
    assert float(sliced_wasserstein(permuted, b, theta)) == pytest.approx(0.0, abs=1e-12)
    duplicated = torch.cat([b, b])  # 100 samples of the same empirical distribution
    assert float(sliced_wasserstein(duplicated, b, theta)) == pytest.approx(0.0, abs=1e-10)
    assert float(sliced_wasserstein(b, duplicated, theta)) == pytest.approx(0.0, abs=1e-10)


def test_sliced_wasserstein_of_a_shift_is_known() -> None:
    b = torch.randn(40, 5, generator=torch.Generator().manual_seed(2))
    shift = torch.tensor([0.5, -1.0, 0.0, 2.0, 0.25])
    theta = random_projections(5, 24, seed=1)
    t = theta.double().numpy()
    projected_b = b.double().numpy() @ t
    expected = np.mean((shift.double().numpy() @ t) ** 2) / np.mean(projected_b.var(axis=0))
    got = float(sliced_wasserstein(b + shift, b, theta))
    assert got == pytest.approx(expected, rel=1e-5)
    assert got > 0.1


@pytest.mark.parametrize(("n_a", "n_b"), [(30, 30), (45, 20), (16, 37)])
def test_sliced_wasserstein_matches_reference(n_a: int, n_b: int) -> None:
    generator = torch.Generator().manual_seed(n_a * 100 + n_b)
    a = torch.randn(n_a, 8, generator=generator) * 1.5 + 0.3
    b = torch.rand(n_b, 8, generator=generator) * 2
    theta = random_projections(8, 20, seed=5)
    expected = ref_swd(a.double().numpy(), b.double().numpy(), theta.double().numpy())
    assert float(sliced_wasserstein(a, b, theta)) == pytest.approx(expected, rel=1e-5)


def test_sliced_wasserstein_is_scale_free() -> None:
    generator = torch.Generator().manual_seed(3)
    a, b = torch.randn(60, 4, generator=generator), torch.rand(35, 4, generator=generator)
    theta = random_projections(4, 16, seed=2)
    base = float(sliced_wasserstein(a, b, theta))
    assert base > 0.01
    for scale in (1e-3, 7.0, 250.0):
        scaled = float(sliced_wasserstein(a * scale, b * scale, theta))
        assert scaled == pytest.approx(base, rel=1e-4)
    # Scaling one side only is a real change of distribution.
    assert float(sliced_wasserstein(a * 3, b, theta)) > 2 * base


def test_sliced_wasserstein_grows_as_distributions_diverge() -> None:
    generator = torch.Generator().manual_seed(4)
    b = torch.randn(80, 6, generator=generator)
    direction = torch.randn(6, generator=generator)
    theta = random_projections(6, 32, seed=3)
    shifted = [float(sliced_wasserstein(b + t * direction, b, theta)) for t in (0, 0.2, 0.5, 1, 2)]
    spread = [float(sliced_wasserstein(b * s, b, theta)) for s in (1, 1.2, 1.5, 2, 3)]
    for series in (shifted, spread):
        assert series[0] == pytest.approx(0.0, abs=1e-10)
        assert all(later > earlier for earlier, later in itertools.pairwise(series))


def test_sliced_wasserstein_batched_matches_unbatched() -> None:
    generator = torch.Generator().manual_seed(5)
    a, b = torch.randn(3, 25, 4, generator=generator), torch.randn(30, 4, generator=generator)
    theta = random_projections(4, 8, seed=0)
    batched = sliced_wasserstein(a, b, theta)
    assert batched.shape == (3,)
    for i in range(3):
        assert float(batched[i]) == pytest.approx(float(sliced_wasserstein(a[i], b, theta)))


# --- sliced Wasserstein: the metric -----------------------------------------------------------


def test_swd_metric_matches_reference(descriptor: VGGDescriptor) -> None:
    example, images = rand(3, 32, 32, seed=13), rand(3, 3, 24, 24, seed=14)
    metric = SlicedWassersteinDistance(descriptor, example, LAYERS, num_projections=16, seed=7)
    metric.update(images[:1])
    metric.update(images[1:])
    result = values(metric.compute())
    per_layer = {}
    for layer in LAYERS:
        theta = metric.projections(layer).double().numpy()
        assert theta.shape[1] == 16
        b = positions_np(features_np(descriptor, example[None], layer)[0])
        per_image = [
            ref_swd(positions_np(f), b, theta) for f in features_np(descriptor, images, layer)
        ]
        per_layer[layer] = float(np.mean(per_image))
        assert result[f"swd/{layer}"] == pytest.approx(per_layer[layer], rel=1e-4)
    assert result["swd"] == pytest.approx(np.mean(list(per_layer.values())), rel=1e-4)


def test_swd_metric_zero_for_example_and_seeded_directions(descriptor: VGGDescriptor) -> None:
    example = rand(3, 32, 32, seed=15)
    metric = SlicedWassersteinDistance(descriptor, example, LAYERS, num_projections=8, seed=1)
    metric.update(example[None])
    assert float(metric.compute()["swd"]) == pytest.approx(0.0, abs=1e-10)
    again = SlicedWassersteinDistance(descriptor, example, ["relu2_1"], num_projections=8, seed=1)
    other = SlicedWassersteinDistance(descriptor, example, ["relu2_1"], num_projections=8, seed=2)
    assert torch.equal(again.projections("relu2_1"), metric.projections("relu2_1"))
    assert not torch.allclose(other.projections("relu2_1"), metric.projections("relu2_1"))
    # Per layer: not the same draw for two layers of equal width (relu1_1 and relu1_2 are 64).
    pair = SlicedWassersteinDistance(descriptor, example, ["relu1_1", "relu1_2"], 8, seed=1)
    assert not torch.allclose(pair.projections("relu1_1"), pair.projections("relu1_2"))


# --- Diversity ----------------------------------------------------------------------------------


def test_diversity_zero_for_identical_samples(descriptor: VGGDescriptor) -> None:
    same = rand(1, 3, 16, 16, seed=16).expand(4, -1, -1, -1)
    for metric in (Diversity(), Diversity(descriptor, "relu2_1")):
        metric.update(same)
        assert float(metric.compute()) == 0.0
        metric.update(rand(2, 3, 16, 16, seed=17))
        assert float(metric.compute()) > 0.0


def test_diversity_hand_computation() -> None:
    # Three flat images at 0, 0.5 and 1: pair distances 0.5, 1.0 and 0.5 -> mean 2/3.
    levels = torch.tensor([0.0, 0.5, 1.0]).view(3, 1, 1, 1).expand(3, 3, 4, 4)
    metric = Diversity()
    metric.update(levels)
    assert float(metric.compute()) == pytest.approx(2 / 3, rel=1e-6)


def test_diversity_matches_reference_and_accumulates_pairs(descriptor: VGGDescriptor) -> None:
    first, second = rand(3, 3, 16, 16, seed=18), rand(2, 3, 16, 16, seed=19)
    pixel, feature = Diversity(), Diversity(descriptor, "relu2_1")
    for batch in (first, second):
        pixel.update(batch)
        feature.update(batch)

    pixel_pairs, feature_pairs = [], []
    for batch in (first, second):
        x = batch.double().numpy()
        f = features_np(descriptor, batch, "relu2_1")
        for i in range(len(x)):
            for j in range(len(x)):
                if i < j:
                    pixel_pairs.append(np.mean(np.abs(x[i] - x[j])))
                if i != j:
                    feature_pairs.append(ref_relative(f[i], f[j]))
    assert len(pixel_pairs) == 3 + 1
    assert float(pixel.compute()) == pytest.approx(np.mean(pixel_pairs), rel=1e-5)
    assert float(feature.compute()) == pytest.approx(np.mean(feature_pairs), rel=1e-4)


def test_shift_invariant_distance_sees_through_shifts() -> None:
    image = rand(1, 3, 24, 20, seed=20)[0]
    shifted = image.roll((7, -5), dims=(-2, -1))
    other = rand(1, 3, 24, 20, seed=21)[0]
    assert float(shift_invariant_distance(image, shifted)) == pytest.approx(0.0, abs=1e-6)
    assert 0.8 < float(shift_invariant_distance(image, other)) < 1.0  # unrelated: about 1
    # a negative copy is no copy: no shift lines it up (only the positive correlations count)
    assert 0.8 < float(shift_invariant_distance(image, 1 - image)) < 1.0
    # by hand: min over shifts of ||a - S b||^2 / (||a||^2 + ||b||^2), means removed
    a, b = image.double(), other.double()
    a, b = a - a.mean((1, 2), keepdim=True), b - b.mean((1, 2), keepdim=True)
    best = min(
        float((a - b.roll((dy, dx), dims=(1, 2))).pow(2).sum())
        for dy in range(24)
        for dx in range(20)
    )
    expected = best / float(a.pow(2).sum() + b.pow(2).sum())
    assert float(shift_invariant_distance(image, other)) == pytest.approx(expected, rel=1e-5)
    # pixel diversity calls shifted copies diverse; the shift-invariant one does not
    copies = torch.stack([image, shifted, image.roll(3, dims=-1)])
    pixels, shifts = Diversity(), Diversity(shift_invariant=True)
    pixels.update(copies)
    shifts.update(copies)
    assert float(pixels.compute()) > 0.1 and float(shifts.compute()) < 1e-6


def test_diversity_rejects_bad_arguments(descriptor: VGGDescriptor) -> None:
    with pytest.raises(ValueError, match="compares pixels"):
        Diversity(descriptor, "relu2_1", shift_invariant=True)
    with pytest.raises(ValueError, match="at least 2 samples"):
        Diversity().update(rand(1, 3, 16, 16, seed=0))
    with pytest.raises(ValueError, match="both descriptor and layer"):
        Diversity(descriptor)
    with pytest.raises(ValueError, match="both descriptor and layer"):
        Diversity(layer="relu2_1")


# --- accumulation, reset, synchronisation, autograd (every metric) ----------------------------


@dataclass
class Case:
    make: Callable[..., Metric]
    args: Callable[[Tensor], tuple[Tensor, ...]]  # update arguments for a batch of images


def cases(descriptor: VGGDescriptor) -> dict[str, Case]:
    example = rand(3, 24, 24, seed=20)

    def with_content(images: Tensor) -> tuple[Tensor, ...]:
        # Each image's "content" is derived from the image itself, so pairs survive splitting.
        return images, (images.flip(-1).roll(3, dims=-2) * 0.8 + 0.1).detach()

    return {
        "style": Case(
            lambda **kw: StyleDistance(descriptor, example, LAYERS, **kw), lambda x: (x,)
        ),
        "content": Case(lambda **kw: ContentDistance(descriptor, "relu2_1", **kw), with_content),
        "ssim": Case(lambda **kw: ContentSSIM(**kw), with_content),
        "swd": Case(
            lambda **kw: SlicedWassersteinDistance(descriptor, example, LAYERS, 8, **kw),
            lambda x: (x,),
        ),
        "diversity": Case(lambda **kw: Diversity(**kw), lambda x: (x,)),
        "feature_diversity": Case(
            lambda **kw: Diversity(descriptor, "relu1_1", **kw), lambda x: (x,)
        ),
    }


CASES = ["style", "content", "ssim", "swd", "diversity", "feature_diversity"]
PER_IMAGE = ["style", "content", "ssim", "swd"]  # diversity pairs never span two updates


@pytest.mark.parametrize("name", PER_IMAGE)
def test_accumulation_equals_one_update_and_reset(descriptor: VGGDescriptor, name: str) -> None:
    case = cases(descriptor)[name]
    images = rand(6, 3, 16, 16, seed=22)
    split, whole = case.make(), case.make()
    split.update(*case.args(images[:2]))
    split.update(*case.args(images[2:]))
    whole.update(*case.args(images))
    expected = values(whole.compute())
    got = values(split.compute())
    assert got == pytest.approx(expected, rel=1e-5)
    # Batches of different sizes: the mean is per image, not per batch.
    single = case.make()
    single.update(*case.args(images[:2]))
    assert values(single.compute()) != pytest.approx(expected, rel=1e-3)

    split.reset()
    split.update(*case.args(images[:2]))
    assert values(split.compute()) == pytest.approx(values(single.compute()), rel=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_states_reduce_across_ranks(descriptor: VGGDescriptor, name: str) -> None:
    """Simulated 2-rank DDP: compute() gathers every state and reduces with dist_reduce_fx."""
    case = cases(descriptor)[name]
    images = rand(5, 3, 16, 16, seed=23)
    other = case.make()
    other.update(*case.args(images[3:]))

    def gather(tensor: Tensor, group: Any = None) -> list[Tensor]:
        state = next(k for k in rank0._defaults if getattr(rank0, k) is tensor)
        return [tensor, getattr(other, state)]

    rank0 = case.make(dist_sync_fn=gather, distributed_available_fn=lambda: True)
    rank0.update(*case.args(images[:3]))
    reference = case.make()
    reference.update(*case.args(images[:3]))
    reference.update(*case.args(images[3:]))
    assert values(rank0.compute()) == pytest.approx(values(reference.compute()), rel=1e-5)


@pytest.mark.parametrize("name", CASES)
def test_metrics_keep_no_graph(descriptor: VGGDescriptor, name: str) -> None:
    case = cases(descriptor)[name]
    logits = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(24))
    images = logits.requires_grad_().sigmoid()  # like a generator's output during training
    metric = case.make()
    metric.update(*case.args(images))
    batch_value = metric(*case.args(images))  # forward(): batch value + accumulation
    with torch.no_grad():
        metric.update(*case.args(images.detach()))
    for state in metric._defaults:
        value = getattr(metric, state)
        assert not value.requires_grad and value.grad_fn is None
    for value in (metric.compute(), batch_value):
        for tensor in value.values() if isinstance(value, dict) else [value]:
            assert not tensor.requires_grad
    assert logits.grad is None


def test_forward_returns_batch_value_and_accumulates(descriptor: VGGDescriptor) -> None:
    case = cases(descriptor)["style"]
    first, second = rand(2, 3, 16, 16, seed=25), rand(3, 3, 16, 16, seed=26)
    metric, alone, both = case.make(), case.make(), case.make()
    metric(first)
    batch = metric(second)
    alone.update(second)
    both.update(torch.cat([first, second]))
    assert values(batch) == pytest.approx(values(alone.compute()), rel=1e-6)
    assert values(metric.compute()) == pytest.approx(values(both.compute()), rel=1e-5)


# --- the descriptor reference -------------------------------------------------------------------


def test_descriptor_is_not_state_but_moves_with_the_metric(descriptor: VGGDescriptor) -> None:
    own = copy.deepcopy(descriptor)  # the session fixture must stay on the CPU
    example = rand(3, 16, 16, seed=27)
    metric = SlicedWassersteinDistance(own, example, ["relu1_1"], num_projections=4)
    metric.persistent(True)
    assert metric.descriptor is own
    assert list(metric.children()) == [] and list(metric.parameters()) == []
    assert set(metric.state_dict()) == {"layer_sum", "count"}

    parent = nn.Module()
    parent.metric = metric
    parent.to("meta")
    assert own.mean.device.type == "meta"
    assert next(own.parameters()).device.type == "meta"
    assert metric.projections("relu1_1").device.type == "meta"
    assert metric.layer_sum.device.type == "meta" and metric.device.type == "meta"


def test_texture_report(descriptor: VGGDescriptor) -> None:
    example, samples = rand(3, 24, 24, seed=28), rand(3, 3, 16, 16, seed=29)
    report = texture_report(descriptor, example, samples, ["relu1_1", "relu2_1"], seed=3)
    style = StyleDistance(descriptor, example, ["relu1_1", "relu2_1"])
    swd = SlicedWassersteinDistance(descriptor, example, ["relu1_1", "relu2_1"], seed=3)
    diversity = Diversity()
    expected: dict[str, float] = {}
    for metric in (style, swd):
        metric.update(samples)
        expected.update(values(metric.compute()))
    diversity.update(samples)
    expected["diversity"] = float(diversity.compute())
    assert report == pytest.approx(expected, rel=1e-6)
    assert all(type(v) is float for v in report.values())
    single = texture_report(descriptor, example, samples[:1], ["relu1_1"])
    assert set(single) == {"style_distance", "style_distance/relu1_1", "swd", "swd/relu1_1"}
