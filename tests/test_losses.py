"""Tests for texture_nets.objective.losses against explicit reference computations."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from texture_nets.evaluation.metrics import sliced_wasserstein
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import (
    TextureLoss,
    content_loss,
    gram_matrix,
    nearest_neighbour_entropy,
    pool_crops,
    relative_squared_error,
    shifted_gram,
    style_layer_loss,
    tv_loss,
    unit_gradient,
)
from texture_nets.objective.swd import random_projections, swd_layer_loss

# --- independent references (float64, loops / einsum) ----------------------------------------


def ref_gram(features: Tensor) -> Tensor:
    """Gram by an explicit sum over positions: G[b, i, j] = mean_p F[b, i, p] F[b, j, p]."""
    f = features.double()
    batch, channels, height, width = f.shape
    gram = torch.zeros(batch, channels, channels, dtype=torch.float64)
    for y in range(height):
        for x in range(width):
            v = f[:, :, y, x]  # (B, C)
            gram += v[:, :, None] * v[:, None, :]
    return gram / (height * width)


def ref_gram_einsum(features: Tensor) -> Tensor:
    f = features.double()
    return torch.einsum("bihw,bjhw->bij", f, f) / (f.shape[-2] * f.shape[-1])


def ref_relative(value: Tensor, target: Tensor) -> list[float]:
    """Per sample: sum of squared differences / sum of squared target entries."""
    out = []
    for b in range(value.shape[0]):
        t = target[b] if target.dim() == value.dim() else target
        num = sum(float(a - c) ** 2 for a, c in zip(value[b].flatten(), t.flatten(), strict=True))
        den = sum(float(c) ** 2 for c in t.flatten())
        out.append(num / den)
    return out


def ref_tv(images: Tensor) -> list[float]:
    """Mean squared horizontal neighbour difference + mean squared vertical one, per sample."""
    out = []
    for img in images.double():
        channels, height, width = img.shape
        dx = [
            float(img[c, y, x + 1] - img[c, y, x]) ** 2
            for c in range(channels)
            for y in range(height)
            for x in range(width - 1)
        ]
        dy = [
            float(img[c, y + 1, x] - img[c, y, x]) ** 2
            for c in range(channels)
            for y in range(height - 1)
            for x in range(width)
        ]
        out.append(sum(dx) / len(dx) + sum(dy) / len(dy))
    return out


def as64(values: list[float]) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


def feats(gen: torch.Generator, *shape: int) -> Tensor:
    """ReLU-like (non-negative) random features."""
    return torch.rand(*shape, generator=gen) * 2.0


# --- gram_matrix ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 4, 3, 3), (2, 1, 1, 7)])
def test_gram_matches_loop_reference(rng: torch.Generator, shape: tuple[int, ...]) -> None:
    f = torch.randn(*shape, generator=rng)
    gram = gram_matrix(f)
    assert gram.shape == (shape[0], shape[1], shape[1])
    assert gram.dtype == torch.float32
    torch.testing.assert_close(gram.double(), ref_gram(f), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gram.double(), ref_gram_einsum(f), rtol=1e-5, atol=1e-6)


def test_gram_normalised_by_number_of_positions() -> None:
    # All-ones features: every entry of F F^T is H*W, so the Gram must be exactly 1.
    gram = gram_matrix(torch.ones(1, 2, 3, 7))
    torch.testing.assert_close(gram, torch.ones(1, 2, 2))


def test_gram_bf16_input_gives_float32(rng: torch.Generator) -> None:
    f = torch.randn(2, 4, 6, 5, generator=rng).bfloat16()
    gram = gram_matrix(f)
    assert gram.dtype == torch.float32
    # Reference from the exact bf16 values, accumulated in float64.
    torch.testing.assert_close(gram.double(), ref_gram_einsum(f.double()), rtol=1e-5, atol=1e-5)


def test_gram_invariant_to_spatial_permutation(rng: torch.Generator) -> None:
    f = torch.randn(2, 5, 6, 7, generator=rng)
    perm = torch.randperm(6 * 7, generator=rng)
    shuffled = f.reshape(2, 5, 42)[:, :, perm].reshape(2, 5, 6, 7)
    assert not torch.equal(shuffled, f)
    torch.testing.assert_close(gram_matrix(shuffled), gram_matrix(f), rtol=1e-5, atol=1e-6)


def test_gram_invariant_to_periodic_tiling(rng: torch.Generator) -> None:
    f = torch.randn(1, 4, 5, 3, generator=rng)
    tiled = f.repeat(1, 1, 2, 2)
    assert tiled.shape == (1, 4, 10, 6)
    torch.testing.assert_close(gram_matrix(tiled), gram_matrix(f), rtol=1e-5, atol=1e-6)


# --- relative errors, style and content losses -----------------------------------------------


def test_relative_squared_error_matches_reference(rng: torch.Generator) -> None:
    value = torch.randn(3, 2, 4, generator=rng)
    target = torch.randn(3, 2, 4, generator=rng)
    result = relative_squared_error(value, target)
    assert result.shape == (3,)
    torch.testing.assert_close(result.double(), as64(ref_relative(value, target)))


def test_relative_squared_error_broadcasts_unbatched_target(rng: torch.Generator) -> None:
    value = torch.randn(2, 3, 3, generator=rng)
    target = torch.randn(3, 3, generator=rng)
    result = relative_squared_error(value, target)
    torch.testing.assert_close(result.double(), as64(ref_relative(value, target)))


def test_style_layer_loss_matches_reference(rng: torch.Generator) -> None:
    f = feats(rng, 2, 3, 4, 4)
    target_gram = ref_gram(feats(rng, 1, 3, 5, 5))[0]
    result = style_layer_loss(f, target_gram.float())
    expected = ref_relative(ref_gram(f), target_gram)
    torch.testing.assert_close(result.double(), as64(expected), rtol=1e-5, atol=1e-7)


def test_content_loss_matches_reference(rng: torch.Generator) -> None:
    f = feats(rng, 2, 3, 4, 5)
    target = feats(rng, 2, 3, 4, 5)
    result = content_loss(f, target)
    torch.testing.assert_close(result.double(), as64(ref_relative(f, target)))


@pytest.mark.parametrize("scale", [1e-3, 7.0, 255.0])
def test_losses_invariant_to_activation_scale(rng: torch.Generator, scale: float) -> None:
    f = feats(rng, 2, 4, 5, 5)
    style = feats(rng, 1, 4, 6, 6)
    content = feats(rng, 2, 4, 5, 5)
    style_base = style_layer_loss(f, gram_matrix(style)[0])
    style_scaled = style_layer_loss(f * scale, gram_matrix(style * scale)[0])
    torch.testing.assert_close(style_scaled, style_base, rtol=1e-4, atol=1e-7)
    content_base = content_loss(f, content)
    content_scaled = content_loss(f * scale, content * scale)
    torch.testing.assert_close(content_scaled, content_base, rtol=1e-4, atol=1e-7)
    assert float(style_base.min()) > 0 and float(content_base.min()) > 0


# --- total variation --------------------------------------------------------------------------


def test_tv_loss_matches_reference(rng: torch.Generator) -> None:
    images = torch.rand(2, 3, 5, 6, generator=rng)
    result = tv_loss(images)
    assert result.shape == (2,)
    torch.testing.assert_close(result.double(), as64(ref_tv(images)))


def test_tv_loss_known_stripes() -> None:
    # Vertical stripes 0,1,0,1: every horizontal pair differs by 1, every vertical pair by 0.
    images = torch.tensor([0.0, 1.0, 0.0, 1.0]).repeat(1, 3, 4, 1)
    torch.testing.assert_close(tv_loss(images), torch.tensor([1.0]))


def test_tv_loss_zero_on_constant_image() -> None:
    images = torch.full((2, 3, 8, 9), 0.37)
    assert torch.equal(tv_loss(images), torch.zeros(2))


# --- TextureLoss ------------------------------------------------------------------------------

STYLE = {"a": 0.5, "b": 2.0}
CONTENT = {"c": 3.0}


def make_features(gen: torch.Generator, batch: int) -> dict[str, Tensor]:
    return {
        "a": feats(gen, batch, 3, 6, 6),
        "b": feats(gen, batch, 5, 3, 3),
        "c": feats(gen, batch, 4, 3, 3),
    }


def test_texture_loss_total_is_weighted_sum(rng: torch.Generator) -> None:
    style_feats = make_features(rng, 1)
    x = make_features(rng, 2)
    content_targets = make_features(rng, 2)
    images = torch.rand(2, 3, 8, 8, generator=rng)
    loss = TextureLoss(STYLE, CONTENT, style_weight=10.0, content_weight=0.25, tv_weight=4.0)
    loss.set_style([style_feats])
    result = loss(x, {"c": content_targets["c"]}, images)

    per_sample_style = [
        sum(
            STYLE[n] * ref_relative(ref_gram(x[n][b : b + 1]), ref_gram(style_feats[n])[0])[0]
            for n in STYLE
        )
        for b in range(2)
    ]
    per_sample_content = [
        CONTENT["c"] * ref_relative(x["c"][b : b + 1], content_targets["c"][b])[0] for b in range(2)
    ]
    tv = ref_tv(images)
    total = [
        10.0 * s + 0.25 * c + 4.0 * t
        for s, c, t in zip(per_sample_style, per_sample_content, tv, strict=True)
    ]
    assert float(result.total) == pytest.approx(sum(total) / 2, rel=1e-5)
    assert float(result.terms["style"]) == pytest.approx(10.0 * sum(per_sample_style) / 2, rel=1e-5)
    assert float(result.terms["content"]) == pytest.approx(
        0.25 * sum(per_sample_content) / 2, rel=1e-5
    )
    assert result.total.dim() == 0
    assert result.total.requires_grad is False  # nothing in the inputs requires grad


def test_texture_loss_logged_tv_term_is_weighted(rng: torch.Generator) -> None:
    loss = TextureLoss({"a": 1.0}, tv_weight=4.0)
    loss.set_style([make_features(rng, 1)])
    images = torch.rand(2, 3, 8, 8, generator=rng)
    result = loss(make_features(rng, 2), images=images)
    # "style" and "content" are logged with their global weight; "tv" must be too.
    assert float(result.terms["tv"]) == pytest.approx(4.0 * sum(ref_tv(images)) / 2, rel=1e-5)


def test_texture_loss_tv_enters_total_weighted(rng: torch.Generator) -> None:
    loss = TextureLoss({"a": 1.0}, tv_weight=4.0)
    no_tv = TextureLoss({"a": 1.0})
    style = make_features(rng, 1)
    loss.set_style([style])
    no_tv.set_style([style])
    x = make_features(rng, 2)
    images = torch.rand(2, 3, 8, 8, generator=rng)
    diff = float(loss(x, images=images).total - no_tv(x, images=images).total)
    assert diff == pytest.approx(4.0 * sum(ref_tv(images)) / 2, rel=1e-5)
    assert "tv" not in no_tv(x, images=images).terms


def test_texture_loss_layer_weight_changes_only_its_term(rng: torch.Generator) -> None:
    style_feats = make_features(rng, 1)
    x = make_features(rng, 1)
    base = TextureLoss({"a": 1.0, "b": 1.0})
    base.set_style([style_feats])
    heavier = TextureLoss({"a": 1.0, "b": 5.0})
    heavier.set_style([style_feats])
    terms = base.per_sample(x)
    diff = heavier(x).total - base(x).total
    torch.testing.assert_close(diff, 4.0 * terms["style/b"][0])


def test_texture_loss_blends_several_styles(rng: torch.Generator) -> None:
    s1, s2 = make_features(rng, 1), make_features(rng, 1)
    loss = TextureLoss({"a": 1.0, "b": 1.0})
    loss.set_style([s1, s2], blend=[1.0, 3.0])
    for name in ("a", "b"):
        expected = (1.0 * ref_gram(s1[name])[0] + 3.0 * ref_gram(s2[name])[0]) / 4.0
        torch.testing.assert_close(loss.target_gram(name).double(), expected, rtol=1e-5, atol=1e-6)
    equal = TextureLoss({"a": 1.0})
    equal.set_style([s1, s2])  # default blend: plain mean
    expected_a = (ref_gram(s1["a"])[0] + ref_gram(s2["a"])[0]) / 2
    torch.testing.assert_close(equal.target_gram("a").double(), expected_a, rtol=1e-5, atol=1e-6)


def test_texture_loss_bad_blend_raises(rng: torch.Generator) -> None:
    s1 = make_features(rng, 1)
    loss = TextureLoss({"a": 1.0})
    with pytest.raises(ValueError, match="blend"):
        loss.set_style([s1, s1], blend=[1.0])
    with pytest.raises(ValueError, match="blend"):
        loss.set_style([s1], blend=[0.0])


def test_texture_loss_needs_style_layers() -> None:
    with pytest.raises(ValueError, match="style layer"):
        TextureLoss({})


def test_texture_loss_without_set_style_raises(rng: torch.Generator) -> None:
    loss = TextureLoss({"a": 1.0})
    with pytest.raises(RuntimeError, match="set_style"):
        loss(make_features(rng, 1))


def test_texture_loss_content_layers_need_targets(rng: torch.Generator) -> None:
    loss = TextureLoss({"a": 1.0}, {"c": 1.0})
    loss.set_style([make_features(rng, 1)])
    with pytest.raises(ValueError, match="content targets"):
        loss(make_features(rng, 1))


def test_texture_loss_layers_lists_style_then_content_once() -> None:
    loss = TextureLoss({"a": 1.0, "b": 1.0}, {"b": 1.0, "c": 1.0})
    assert loss.layers == ["a", "b", "c"]


def test_texture_loss_zero_when_features_equal_target(rng: torch.Generator) -> None:
    f = make_features(rng, 1)
    loss = TextureLoss(STYLE, CONTENT, tv_weight=0.0)
    loss.set_style([f])
    result = loss(f, {"c": f["c"]})
    assert float(result.total) == pytest.approx(0.0, abs=1e-10)
    # ...and a different input gives a positive loss (the test can fail).
    assert float(loss(make_features(rng, 1), {"c": f["c"]}).total) > 1e-3


def test_texture_loss_zero_through_descriptor(descriptor: VGGDescriptor) -> None:
    gen = torch.Generator().manual_seed(5)
    image = torch.rand(1, 3, 32, 32, generator=gen)
    loss = TextureLoss({"relu1_1": 1.0, "relu2_1": 1.0, "relu3_1": 1.0}, {"relu2_2": 1.0})
    with torch.no_grad():
        f = descriptor(image, loss.layers)
        loss.set_style([f])
        result = loss(f, {"relu2_2": f["relu2_2"]})
        other = loss(descriptor(image.flip(-1).roll(5, -2) * 0.5, loss.layers), f)
    assert float(result.total) == pytest.approx(0.0, abs=1e-8)
    assert float(other.total) > 1e-4


def test_texture_loss_gram_invariance_through_tiling(rng: torch.Generator) -> None:
    # A 2x2 tiling of the style features has the style's Gram: zero style loss.
    f = make_features(rng, 1)
    loss = TextureLoss({"a": 1.0, "b": 1.0})
    loss.set_style([f])
    tiled = {k: v.repeat(1, 1, 2, 2) for k, v in f.items()}
    assert float(loss(tiled).total) == pytest.approx(0.0, abs=1e-10)


def test_pooled_crops_have_the_mean_gram_of_their_group(rng: torch.Generator) -> None:
    """``pool_crops``: each group of consecutive maps becomes one map whose Gram is the mean
    of the group's Grams (a wrong reshape would mix channels or groups)."""
    x = feats(rng, 6, 4, 3, 5)
    pooled = pool_crops(x, 3)
    assert pooled.shape == (2, 4, 9, 5)
    for group in range(2):
        mean = gram_matrix(x[3 * group : 3 * group + 3]).mean(0)
        torch.testing.assert_close(gram_matrix(pooled)[group], mean, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="groups of 4"):
        pool_crops(x, 4)


def test_crops_of_one_photo_match_the_style_together_not_alone(rng: torch.Generator) -> None:
    """Two crops that each hold one half of the example (different statistics) are far from
    its Gram alone and match it pooled (``crops_per_photo`` 2); every crop of a group gets
    the group's loss."""
    example = {"a": feats(rng, 1, 4, 6, 8)}
    example["a"][..., :4] *= 3.0  # the halves differ
    loss = TextureLoss({"a": 1.0})
    loss.set_style([example])
    halves = {"a": torch.cat([example["a"][..., :4], example["a"][..., 4:]])}
    alone = loss.per_sample(halves)["style/a"]
    pooled = loss.per_sample(halves, crops_per_photo=2)["style/a"]
    assert alone.min() > 0.1
    torch.testing.assert_close(pooled, torch.zeros(2), atol=1e-6, rtol=0)
    assert float(loss(halves, crops_per_photo=2).total) < 1e-6 < float(loss(halves).total)


def test_texture_loss_batch_equals_per_sample(rng: torch.Generator) -> None:
    loss = TextureLoss(STYLE, CONTENT, tv_weight=2.0)
    loss.set_style([make_features(rng, 1)])
    x = make_features(rng, 3)
    targets = {"c": feats(rng, 3, 4, 3, 3)}
    images = torch.rand(3, 3, 6, 6, generator=rng)
    batched = loss.per_sample(x, targets, images)
    batched_total = loss(x, targets, images).total
    singles = []
    for b in range(3):
        one = {k: v[b : b + 1] for k, v in x.items()}
        one_targets = {"c": targets["c"][b : b + 1]}
        parts = loss.per_sample(one, one_targets, images[b : b + 1])
        for key, value in parts.items():
            assert value.shape == (1,)
            torch.testing.assert_close(batched[key][b : b + 1], value, rtol=1e-5, atol=1e-7)
        singles.append(loss(one, one_targets, images[b : b + 1]).total)
    assert set(batched) == {"style/a", "style/b", "content/c", "tv"}
    torch.testing.assert_close(batched_total, torch.stack(singles).mean(), rtol=1e-5, atol=1e-7)


def test_texture_loss_gradient_reaches_features(rng: torch.Generator) -> None:
    loss = TextureLoss({"a": 1.0})
    loss.set_style([make_features(rng, 1)])
    x = feats(rng, 1, 3, 6, 6).requires_grad_(True)
    loss({"a": x}).total.backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    # the target Gram is a constant: no gradient bookkeeping attached to it
    assert not loss.target_gram("a").requires_grad


def test_target_grams_in_state_dict(rng: torch.Generator) -> None:
    loss = TextureLoss({"a": 1.0, "b": 1.0})
    loss.set_style([make_features(rng, 1)])
    state = loss.state_dict()
    assert state["target_gram_a"].shape == (3, 3)
    assert state["target_gram_b"].shape == (5, 5)


# --- sliced Wasserstein loss ---------------------------------------------------------------------


def _features(seed: int, batch: int = 2, channels: int = 6, side: int = 8) -> Tensor:
    return torch.randn(batch, channels, side, side, generator=torch.Generator().manual_seed(seed))


def test_swd_layer_loss_is_the_metrics_formula_per_sample() -> None:
    features, example = _features(0), _features(1, batch=1)[0].flatten(1).t()
    directions = random_projections(6, 6, seed=2)
    loss = swd_layer_loss(features, example, directions)
    for b in range(2):
        positions = features[b].flatten(1).t()
        expected = sliced_wasserstein(positions, example, directions)
        torch.testing.assert_close(loss[b], expected)


def test_swd_layer_loss_sees_distributions_not_positions() -> None:
    features = _features(3, batch=1)
    example = features[0].flatten(1).t()
    shuffled = example[torch.randperm(64, generator=torch.Generator().manual_seed(4))]
    directions = random_projections(6, 6, seed=5)
    assert float(swd_layer_loss(features, shuffled, directions)) == pytest.approx(0, abs=1e-10)
    assert float(swd_layer_loss(features * 2 + 1, example, directions)) > 0.5


def test_swd_layer_loss_subsamples_a_larger_example_reproducibly() -> None:
    features, example = _features(6, batch=1), _features(7, batch=1, side=16)[0].flatten(1).t()
    directions = random_projections(6, 6, seed=8)

    def loss(seed: int) -> float:
        return float(
            swd_layer_loss(features, example, directions, torch.Generator().manual_seed(seed))
        )

    assert loss(1) == loss(1)
    assert loss(1) != loss(2)  # other positions of the example


def test_texture_loss_swd_draws_directions_per_step_and_trains() -> None:
    layers = {"relu1_1": 1.0, "relu2_1": 0.5}
    style = {"relu1_1": _features(9, batch=1), "relu2_1": _features(10, batch=1, channels=4)}
    loss = TextureLoss(layers, texture_loss="swd", seed=3)
    loss.set_style([style])
    sample = {
        "relu1_1": _features(11, batch=1).requires_grad_(True),
        "relu2_1": _features(12, batch=1, channels=4).requires_grad_(True),
    }
    loss.draw(5)
    first = loss(sample).total
    value = float(first.detach())
    assert float(loss(sample).total.detach()) == value  # one draw, one objective
    loss.draw(6)
    assert float(loss(sample).total.detach()) != value
    first.backward()
    assert all(float(f.grad.abs().sum()) > 0 for f in sample.values())  # type: ignore[union-attr]
    assert float(loss({k: v[0:1] for k, v in style.items()}).total) == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="one style image"):
        loss.set_style([style, style])
    with pytest.raises(ValueError, match="unknown texture loss"):
        TextureLoss(layers, texture_loss="swdd")
    fresh = TextureLoss(layers, texture_loss="swd")
    with pytest.raises(RuntimeError, match="set_style"):
        fresh(sample)
    assert not any(k.startswith("example_features") for k in loss.state_dict())  # not saved


def test_unit_gradient_scales_each_samples_gradient_to_l1_norm_one() -> None:
    features = _features(13).requires_grad_(True)
    out = unit_gradient(features)
    assert torch.equal(out, features)
    weights = torch.tensor([1.0, 50.0]).view(2, 1, 1, 1)
    (out.pow(2) * weights).sum().backward()
    grad = features.grad
    assert grad is not None
    torch.testing.assert_close(grad.abs().flatten(1).sum(1), torch.ones(2))
    expected = (
        2 * features.detach() / (2 * features.detach()).abs().flatten(1).sum(1).view(2, 1, 1, 1)
    )
    torch.testing.assert_close(grad, expected)  # direction kept, the weight of 50 gone


def test_nearest_neighbour_entropy_by_hand() -> None:
    # three points on a line at 0, 1, 3: nearest distances 1, 1, 2
    points = torch.tensor([0.0, 1.0, 3.0]).view(3, 1, 1, 1)
    expected = (0 + 0 + torch.log(torch.tensor(2.0))) / 3
    torch.testing.assert_close(nearest_neighbour_entropy(points), expected)
    spread = points.clone().requires_grad_(True)
    nearest_neighbour_entropy(spread).backward()
    assert spread.grad is not None and float(spread.grad[2]) > 0  # pushes the far one further
    with pytest.raises(ValueError, match="2 samples"):
        nearest_neighbour_entropy(points[:1])


# -- the shifted-Gram term (Berger & Memisevic 2016) ------------------------------------------


def test_shifted_gram_at_a_patterns_period_is_its_gram() -> None:
    tile = torch.rand(1, 4, 6, 5, generator=torch.Generator().manual_seed(0))
    periodic = tile.repeat(1, 1, 3, 4)  # period 5 across, 6 down
    assert torch.allclose(shifted_gram(periodic, 5, 3), gram_matrix(periodic[..., :-5]), atol=1e-6)
    assert torch.allclose(
        shifted_gram(periodic, 6, 2), gram_matrix(periodic[..., :-6, :]), atol=1e-6
    )
    with pytest.raises(ValueError, match="longer than"):
        shifted_gram(periodic, 20, 3)


def test_the_shift_term_sees_an_arrangement_the_gram_loss_does_not() -> None:
    """Shuffling pixels keeps every Gram matrix and breaks every shifted one."""
    stripes = torch.arange(24.0).remainder(4).div(3).expand(1, 1, 24, 24)
    features = torch.cat([stripes, 1 - stripes, stripes.transpose(2, 3)], dim=1)
    order = torch.randperm(24 * 24, generator=torch.Generator().manual_seed(1))
    shuffled = features.flatten(2)[..., order].reshape(features.shape)
    loss = TextureLoss({"relu1_1": 1.0}, shift_layers=["relu1_1"], shifts=[1, 2], shift_weight=1.0)
    loss.set_style([{"relu1_1": features}])
    same = loss.per_sample({"relu1_1": features})
    moved = loss.per_sample({"relu1_1": shuffled})
    assert same["style/relu1_1"].item() < 1e-10 and same["shift/relu1_1"].item() < 1e-10
    assert moved["style/relu1_1"].item() < 1e-10  # the Gram is blind to the shuffle
    assert moved["shift/relu1_1"].item() > 0.05
    assert loss({"relu1_1": shuffled}).terms["shift"] > 0.05  # weighted into the total


def test_the_shift_term_is_off_by_default_and_checks_its_layers() -> None:
    plain = TextureLoss({"relu1_1": 1.0}, shift_layers=["relu1_1"], shifts=[1])
    assert plain.shift_layers == []  # shift_weight 0: no targets, no term
    with pytest.raises(ValueError, match="shift layers must be style layers"):
        TextureLoss({"relu1_1": 1.0}, shift_layers=["relu2_1"], shifts=[1], shift_weight=1.0)
