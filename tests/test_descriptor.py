"""Tests for texture_nets.objective.descriptor (random VGG weights, tiny images)."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import Tensor, nn

from texture_nets.objective.descriptor import (
    CAFFE_NORMALIZATION,
    TORCHVISION_NORMALIZATION,
    VGGDescriptor,
    check_layers,
    layer_names,
)

# torchvision's vgg16().features: indices of the conv layers (architecture "D").
VGG16_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
BLOCK_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


def meta_features(arch: str) -> nn.Sequential:
    """The real torchvision conv stack, on the meta device (structure only, instant)."""
    with torch.device("meta"):
        features: nn.Sequential = getattr(torchvision.models, arch)(weights=None).features
    return features


# --- layer names ------------------------------------------------------------------------------


@pytest.mark.parametrize(("arch", "convs"), [("vgg16", 13), ("vgg19", 16)])
def test_layer_names_counts(arch: str, convs: int) -> None:
    names = layer_names(arch)
    assert sum(n.startswith("conv") for n in names) == convs
    assert sum(n.startswith("relu") for n in names) == convs
    assert sum(n.startswith("pool") for n in names) == 5
    assert len(names) == len(set(names)) == 2 * convs + 5
    assert names[0] == "conv1_1"
    assert names[1] == "relu1_1"
    assert names[-1] == "pool5"
    assert names[-2] == ("relu5_3" if arch == "vgg16" else "relu5_4")


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_layer_names_match_torchvision_modules(arch: str) -> None:
    names = layer_names(arch)
    modules = list(meta_features(arch))
    assert len(names) == len(modules)
    kinds = {"conv": nn.Conv2d, "relu": nn.ReLU, "pool": nn.MaxPool2d}
    for name, module in zip(names, modules, strict=True):
        assert isinstance(module, kinds[name[:4]]), name
        if name.startswith("conv"):
            block = int(name[4])
            assert module.out_channels == BLOCK_CHANNELS[block], name


def test_relu5_4_only_in_vgg19() -> None:
    assert "relu5_4" in layer_names("vgg19")
    assert "relu5_4" not in layer_names("vgg16")
    assert "relu3_4" in layer_names("vgg19")
    assert "relu3_4" not in layer_names("vgg16")


def test_layer_names_unknown_arch() -> None:
    with pytest.raises(ValueError, match="vgg11"):
        layer_names("vgg11")


@pytest.mark.parametrize(("arch", "convs"), [("vgg16", 13), ("vgg19", 16)])
def test_check_layers_accepts_every_layer_of_the_arch(arch: str, convs: int) -> None:
    names = layer_names(arch)
    assert len(names) == 2 * convs + 5  # conv + relu per convolution, 5 poolings
    assert check_layers(arch, names) is None  # every name is accepted, none raises
    with pytest.raises(ValueError, match="relu6_1"):
        check_layers(arch, [*names, "relu6_1"])


def test_check_layers_error_lists_valid_layers() -> None:
    with pytest.raises(ValueError, match="relu5_4") as info:
        check_layers("vgg16", ["relu1_1", "relu5_4"])
    message = str(info.value)
    for name in ("relu1_1", "relu2_2", "relu3_3", "relu4_3", "relu5_3"):
        assert name in message
    assert "valid layers" in message
    # "relu5_4" is the unknown one; it must not appear among the valid vgg16 names
    assert message.count("relu5_4") == 1


# --- forward ----------------------------------------------------------------------------------


def test_forward_returns_requested_layers(descriptor: VGGDescriptor) -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 37, 45, generator=gen)
    wanted = ["relu3_1", "relu1_2", "conv2_1", "pool2"]
    with torch.no_grad():
        out = descriptor(images, wanted)
    assert set(out) == set(wanted)
    expected = {
        "relu1_2": (64, 37, 45),
        "conv2_1": (128, 37 // 2, 45 // 2),
        "pool2": (128, 37 // 4, 45 // 4),
        "relu3_1": (256, 37 // 4, 45 // 4),
    }
    for name, (channels, height, width) in expected.items():
        assert out[name].shape == (2, channels, height, width), name


def test_forward_full_depth_shapes(vgg16_state: dict[str, Tensor], fast_vgg: None) -> None:
    full = VGGDescriptor("vgg16", vgg16_state, last_layer="pool5")
    relus = [n for n in layer_names("vgg16") if n.startswith("relu")]
    with torch.no_grad():
        out = full(torch.rand(1, 3, 32, 32), [*relus, "pool5"])
    assert set(out) == {*relus, "pool5"}
    for name in relus:
        block = int(name[4])
        side = 32 // 2 ** (block - 1)
        assert out[name].shape == (1, BLOCK_CHANNELS[block], side, side), name
    assert out["pool5"].shape == (1, 512, 1, 1)


def test_forward_matches_torchvision_features(
    vgg16_state: dict[str, Tensor], fast_vgg: None
) -> None:
    """Max-pooling descriptor == torchvision's features on the normalised input."""
    descriptor = VGGDescriptor("vgg16", vgg16_state, pooling="max", last_layer="relu3_1")
    features = torchvision.models.vgg16(weights=None).features
    features.load_state_dict(vgg16_state)
    images = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(3))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = features[:12]((images - mean) / std)  # index 11 is relu3_1
        out = descriptor(images, ["relu3_1"])["relu3_1"]
    torch.testing.assert_close(out, expected)


def test_weights_are_loaded_into_named_convs(
    descriptor: VGGDescriptor, vgg16_state: dict[str, Tensor]
) -> None:
    names = [n for n in layer_names("vgg16") if n.startswith("conv")]
    for name, index in zip(names, VGG16_CONV_INDICES, strict=True):
        if name not in descriptor.layers:
            continue
        conv = descriptor.layers[name]
        assert isinstance(conv, nn.Conv2d) and conv.bias is not None
        assert torch.equal(conv.weight, vgg16_state[f"{index}.weight"]), name
        assert torch.equal(conv.bias, vgg16_state[f"{index}.bias"]), name


def test_returned_activations_are_not_overwritten(descriptor: VGGDescriptor) -> None:
    """conv1_1 is returned alongside relu1_1: the ReLU must not run in place on it."""
    images = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = descriptor(images, ["conv1_1", "relu1_1"])
    assert float(out["conv1_1"].min()) < 0
    torch.testing.assert_close(out["relu1_1"], out["conv1_1"].clamp_min(0))


def test_forward_accepts_any_iterable(descriptor: VGGDescriptor) -> None:
    images = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        out = descriptor(images, (n for n in ["relu2_1", "relu1_1", "relu2_1"]))
    assert sorted(out) == ["relu1_1", "relu2_1"]


# --- truncation -------------------------------------------------------------------------------


def test_truncated_after_last_layer(descriptor: VGGDescriptor) -> None:
    names = layer_names("vgg16")
    expected = names[: names.index("relu3_1") + 1]
    assert descriptor.available_layers == expected
    assert list(descriptor.layers.keys())[-1] == "relu3_1"
    assert "conv3_2" not in descriptor.layers
    convs = [m for m in descriptor.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5  # conv1_1, conv1_2, conv2_1, conv2_2, conv3_1


def test_requesting_deeper_layer_raises(descriptor: VGGDescriptor) -> None:
    with pytest.raises(ValueError, match="relu4_1") as info:
        descriptor(torch.rand(1, 3, 16, 16), ["relu1_1", "relu4_1"])
    message = str(info.value)
    for name in ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1"):
        assert name in message
    assert "relu3_2" not in message


def test_unknown_last_layer_raises(vgg16_state: dict[str, Tensor]) -> None:
    with pytest.raises(ValueError, match="relu5_4"):
        VGGDescriptor("vgg16", vgg16_state, last_layer="relu5_4")


def test_unknown_pooling_raises(vgg16_state: dict[str, Tensor]) -> None:
    with pytest.raises(ValueError, match="avg"):
        VGGDescriptor("vgg16", vgg16_state, pooling="min")


# --- frozen, eval mode ------------------------------------------------------------------------


def test_frozen_parameters(descriptor: VGGDescriptor) -> None:
    params = list(descriptor.parameters())
    assert params, "descriptor has no parameters?"
    assert all(not p.requires_grad for p in params)


def test_backward_reaches_input_not_weights(vgg16_state: dict[str, Tensor], fast_vgg: None) -> None:
    descriptor = VGGDescriptor("vgg16", vgg16_state, last_layer="relu2_1")
    images = torch.rand(1, 3, 16, 16).requires_grad_(True)
    out = descriptor(images, ["relu1_2", "relu2_1"])
    (out["relu1_2"].pow(2).mean() + out["relu2_1"].mean()).backward()
    assert images.grad is not None
    assert float(images.grad.abs().sum()) > 0
    for name, param in descriptor.named_parameters():
        assert param.grad is None, name


def test_stays_in_eval_mode(vgg16_state: dict[str, Tensor], fast_vgg: None) -> None:
    descriptor = VGGDescriptor("vgg16", vgg16_state, last_layer="relu1_2")
    assert not descriptor.training
    descriptor.train()
    assert not descriptor.training
    assert not any(m.training for m in descriptor.modules())
    parent = nn.ModuleDict({"d": descriptor, "head": nn.Linear(2, 2)})
    parent.train()
    assert parent["head"].training
    assert not any(m.training for m in descriptor.modules())


# --- pooling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pooling", "kind"), [("avg", nn.AvgPool2d), ("max", nn.MaxPool2d)])
def test_pooling_modules(
    vgg16_state: dict[str, Tensor], fast_vgg: None, pooling: str, kind: type
) -> None:
    descriptor = VGGDescriptor("vgg16", vgg16_state, pooling=pooling, last_layer="relu3_1")
    assert descriptor.pooling == pooling
    pools = [descriptor.layers["pool1"], descriptor.layers["pool2"]]
    for pool in pools:
        assert type(pool) is kind
    # and they compute what they claim, on the real relu1_2 activations
    images = torch.rand(1, 3, 12, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = descriptor(images, ["relu1_2", "pool1"])
    x = out["relu1_2"]
    blocks = x.reshape(1, 64, 6, 2, 8, 2)
    expected = blocks.mean(dim=(3, 5)) if pooling == "avg" else blocks.amax(dim=(3, 5))
    torch.testing.assert_close(out["pool1"], expected)


# --- input normalisation ----------------------------------------------------------------------


def test_torchvision_normalization(descriptor: VGGDescriptor) -> None:
    images = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(4))
    mean = (0.485, 0.456, 0.406)
    std = (0.229, 0.224, 0.225)
    expected = torch.empty_like(images)
    for c in range(3):
        expected[:, c] = (images[:, c] - mean[c]) / std[c]
    assert descriptor.normalization == TORCHVISION_NORMALIZATION
    torch.testing.assert_close(descriptor.normalize(images), expected)


def test_caffe_normalization(vgg16_state: dict[str, Tensor], fast_vgg: None) -> None:
    descriptor = VGGDescriptor("vgg16", vgg16_state, CAFFE_NORMALIZATION, last_layer="relu1_1")
    images = torch.rand(1, 3, 3, 4, generator=torch.Generator().manual_seed(5))
    # Caffe VGG: BGR channel order, 0-255 values, BGR mean subtracted, no std division.
    bgr_mean = (103.939, 116.779, 123.68)
    expected = torch.empty_like(images)
    for out_c, in_c in enumerate((2, 1, 0)):
        for y in range(3):
            for x in range(4):
                expected[0, out_c, y, x] = images[0, in_c, y, x] * 255.0 - bgr_mean[out_c]
    torch.testing.assert_close(descriptor.normalize(images), expected, rtol=1e-5, atol=1e-4)
    # a pure red pixel lands in the last (R) channel
    red = torch.zeros(1, 3, 1, 1)
    red[0, 0] = 1.0
    normed = descriptor.normalize(red).flatten()
    torch.testing.assert_close(normed, torch.tensor([-103.939, -116.779, 255.0 - 123.68]))


def test_normalization_moves_with_module(descriptor: VGGDescriptor) -> None:
    buffers = dict(descriptor.named_buffers())
    assert {"channel_order", "mean", "std"} <= set(buffers)
