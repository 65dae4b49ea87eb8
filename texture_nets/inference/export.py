"""ONNX export of a trained network, with dynamic height and width, and an onnxruntime runner.

The graph holds the network proper. What depends on the image size or the seed stays outside
it, exactly as in PyTorch: for Ulyanov's generator the input pyramid (the noise drawn from the
seed, the photo downsampled to every scale), for Johnson's network the reflect padding to a
multiple of its stride. So an exported model reproduces ``generate.py``'s pixels for a seed.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import cast

import torch
from torch import Tensor, nn

from texture_nets.errors import UserError
from texture_nets.nets.johnson import JohnsonConfig, JohnsonNet, pad_to_multiple
from texture_nets.nets.networks import Network, as_multiscale
from texture_nets.nets.ulyanov import Generator, make_inputs, pyramid_sizes

OPSET = 17  # InstanceNormalization, reflect Pad and Resize are all stable by 17


class _PyramidGraph(nn.Module):
    """Ulyanov's generator with one graph input per scale (ONNX has no list inputs)."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, *pyramid: Tensor) -> Tensor:
        return self.generator(list(pyramid))


class _PaddedGraph(nn.Module):
    """Johnson's network on sides that are multiples of its stride."""

    def __init__(self, network: JohnsonNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, content: Tensor) -> Tensor:
        return self.network.transform(content)


def input_names(network: Network) -> list[str]:
    if (generator := as_multiscale(network)) is not None:
        return [f"scale{k}" for k in range(generator.config.num_scales)]
    return ["content"]


def example_inputs(network: Network, height: int = 64, width: int = 96) -> list[Tensor]:
    """Inputs of the graph for one image of ``height`` x ``width`` (what tracing runs)."""
    if (generator := as_multiscale(network)) is not None:
        config = generator.config
        sizes = pyramid_sizes(height, width, config.num_scales)
        noise = [torch.rand(1, config.noise_depth, h, w) for h, w in sizes]
        content = torch.rand(1, 3, height, width) if config.content_channels else None
        return make_inputs(config, noise, content)
    assert isinstance(network.config, JohnsonConfig)
    return [pad_to_multiple(torch.rand(1, 3, height, width), network.config.stride)]


def export_onnx(network: Network, path: str | Path) -> Path:
    """Write ``network`` (fp32, CPU, eval) as ONNX with dynamic batch, height and width."""
    path = Path(path).expanduser()
    network = network.float().cpu().eval()
    generator = as_multiscale(network)
    graph: nn.Module = (
        _PyramidGraph(generator)
        if generator is not None
        else _PaddedGraph(cast(JohnsonNet, network))
    ).eval()  # a new wrapper is in training mode: the exporter would then trace batch norm
    # with batch statistics, and restoring the wrapper's mode would leave ``network`` training
    names = input_names(network)
    axes = {name: {0: "batch", 2: f"height_{name}", 3: f"width_{name}"} for name in names}
    axes["image"] = {0: "batch", 2: "height", 3: "width"}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes about shapes; the tests check parity
            torch.onnx.export(
                graph,
                tuple(example_inputs(network)),
                str(path),
                input_names=names,
                output_names=["image"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter handles the pyramid's joins
            )
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from error
    return path


class OnnxNetwork(nn.Module):
    """An exported network run by onnxruntime, called like the PyTorch network it came from
    (Ulyanov: the input pyramid; Johnson: photos of any size), with the same ``config``."""

    def __init__(self, path: str | Path, network: Network, threads: int | None = None) -> None:
        super().__init__()
        try:
            import onnxruntime
        except ImportError as error:
            raise UserError(
                "onnxruntime is not installed: pip install 'texture-nets[export]'"
            ) from error
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.config = network.config
        self.names = input_names(network)
        self.is_pyramid = as_multiscale(network) is not None

    @classmethod
    def from_network(cls, network: Network, folder: str | Path) -> OnnxNetwork:
        """Export ``network`` into ``folder`` and open it."""
        return cls(export_onnx(network, Path(folder) / "model.onnx"), network)

    def forward(self, inputs: list[Tensor] | Tensor) -> Tensor:
        if self.is_pyramid:
            assert isinstance(inputs, list)
            feeds = {
                name: x.float().cpu().numpy() for name, x in zip(self.names, inputs, strict=True)
            }
            return torch.from_numpy(self.session.run(None, feeds)[0])
        assert isinstance(inputs, Tensor)
        height, width = inputs.shape[-2:]
        assert isinstance(self.config, JohnsonConfig)
        padded = pad_to_multiple(inputs.float().cpu(), self.config.stride)
        result = self.session.run(None, {self.names[0]: padded.numpy()})[0]
        return torch.from_numpy(result)[..., :height, :width]
