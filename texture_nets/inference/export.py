"""ONNX export of a trained network: one self-contained graph with dynamic batch, height and
width, metadata that says how to feed it, and an onnxruntime runner.

Everything that depends on the image size is inside the graph, so a user of any language feeds
arrays and gets the image:

* Ulyanov's generator: ``noise`` (B, K*D, H, W), uniform in [0, 1) (K scales of D noise
  channels; scale k reads its D channels at every 2^k-th pixel, i.e. iid uniform noise at
  ceil(H/2^k) x ceil(W/2^k)), and for a stylizer ``content`` (B, 3, H, W) in [0, 1], which the
  graph area-downsamples to every scale as ``make_inputs`` does;
* Johnson's network: ``content`` (B, 3, H, W); the graph reflect-pads it to a multiple of the
  stride and crops the result back.

The runner packs PyTorch's seeded noise pyramid into ``noise`` (``pack_noise``), so an exported
model reproduces ``generate.py``'s pixels for a seed.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import cast

import torch
from torch import Tensor, nn

from texture_nets.errors import UserError
from texture_nets.nets.johnson import JohnsonNet, pad_to_multiple
from texture_nets.nets.networks import Network, as_multiscale, render, split_inputs
from texture_nets.nets.ulyanov import Generator, GeneratorConfig, pyramid_sizes

log = logging.getLogger("texture_nets")

OPSET = 17  # InstanceNormalization, reflect Pad and Resize are all stable by 17
METADATA_PREFIX = "texture_nets."


def area_weights(size: int, out: int) -> Tensor:
    """(out, size): the averaging matrix of area resizing from ``size`` to ``out`` samples
    (``F.interpolate(mode="area")``, i.e. adaptive average pooling), built from the sizes so
    that the graph stays dynamic (ONNX has no adaptive pooling to a size given at run time)."""
    rows = torch.arange(out).unsqueeze(1)
    columns = torch.arange(size).unsqueeze(0)
    start = torch.div(rows * size, out, rounding_mode="floor")
    stop = torch.div((rows + 1) * size + out - 1, out, rounding_mode="floor")
    inside = ((columns >= start) & (columns < stop)).float()
    return inside / inside.sum(1, keepdim=True)


def area_resize(images: Tensor, height: int, width: int) -> Tensor:
    """``F.interpolate(images, (height, width), mode="area")`` as two matrix products."""
    rows = area_weights(images.shape[-2], height)
    columns = area_weights(images.shape[-1], width)
    return rows @ images @ columns.t()


def pack_noise(noise: list[Tensor], height: int, width: int) -> Tensor:
    """A noise pyramid (finest first, ``pyramid_sizes``) as the graph's one ``noise`` input:
    scale k at every 2^k-th pixel of channels kD..(k+1)D-1, zeros elsewhere."""
    batch, depth = noise[0].shape[:2]
    packed = noise[0].new_zeros(batch, depth * len(noise), height, width)
    for k, scale in enumerate(noise):
        packed[:, k * depth : (k + 1) * depth, :: 2**k, :: 2**k] = scale
    return packed


class _GeneratorGraph(nn.Module):
    """Ulyanov's generator fed from ``content`` and/or ``noise``: the pyramid is built inside."""

    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, *inputs: Tensor) -> Tensor:
        config = self.generator.config
        content = inputs[0] if config.content_channels else None
        noise = inputs[-1] if config.noise_depth else None
        height, width = inputs[0].shape[-2:]
        depth, pyramid = config.noise_depth, []
        for k in range(config.num_scales):
            step = 2**k
            parts = []
            if content is not None:
                size = ((height + step - 1) // step, (width + step - 1) // step)
                parts.append(content if k == 0 else area_resize(content, *size))
            if noise is not None:
                parts.append(noise[:, k * depth : (k + 1) * depth, ::step, ::step])
            pyramid.append(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])
        return self.generator(pyramid)


class _PaddedGraph(nn.Module):
    """Johnson's network on photos of any size: padded to its stride and cropped inside."""

    def __init__(self, network: JohnsonNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, content: Tensor) -> Tensor:
        height, width = content.shape[-2:]
        padded = pad_to_multiple(content, self.network.config.stride)
        return self.network.transform(padded)[..., :height, :width]


def input_names(network: Network) -> list[str]:
    """The graph's inputs: ``content`` (a photo) and/or ``noise``."""
    if (generator := as_multiscale(network)) is not None:
        config = generator.config
        return [
            *(["content"] if config.content_channels else []),
            *(["noise"] if config.noise_depth else []),
        ]
    return ["content"]


def graph_inputs(
    config: GeneratorConfig, content: Tensor | None, noise: list[Tensor] | None
) -> list[Tensor]:
    """The graph's inputs for what ``run_network`` takes (the seeded noise pyramid, packed)."""
    inputs = [content] if config.content_channels and content is not None else []
    if config.noise_depth:
        if noise is None:
            raise ValueError("this generator needs a noise pyramid")
        height, width = (content if content is not None else noise[0]).shape[-2:]
        inputs.append(pack_noise(noise, height, width))
    return inputs


def example_inputs(network: Network, height: int = 61, width: int = 93) -> list[Tensor]:
    """Inputs of the graph for one image of ``height`` x ``width`` (what tracing runs; odd
    sides, so that the padding is traced too)."""
    if (generator := as_multiscale(network)) is not None:
        config = generator.config
        noise = [torch.rand(1, config.noise_depth, h, w) for h, w in pyramid_sizes(
            height, width, config.num_scales
        )]  # fmt: skip
        content = torch.rand(1, 3, height, width)
        return graph_inputs(config, content, noise)
    return [torch.rand(1, 3, height, width)]


def describe_inputs(network: Network) -> str:
    """What a user of the graph feeds it (stored in the metadata)."""
    if (generator := as_multiscale(network)) is not None:
        config = generator.config
        parts = ["content: (B, 3, H, W) float in [0, 1]"] if config.content_channels else []
        if config.noise_depth:
            parts.append(
                f"noise: (B, {config.num_scales * config.noise_depth}, H, W) float, uniform "
                f"in [0, 1) ({config.num_scales} scales x {config.noise_depth} channels; "
                "scale k reads every 2^k-th pixel of its channels)"
            )
        return "; ".join(parts) + "; output image: (B, 3, H, W) in [0, 1]"
    return "content: (B, 3, H, W) float in [0, 1], any size; output image: (B, 3, H, W) in [0, 1]"


def export_onnx(
    network: Network, path: str | Path, metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``network`` (fp32, CPU, eval) as one ONNX graph with dynamic batch, height and
    width (``network`` itself is left as it was); ``metadata`` (e.g.
    ``ModelInfo.export_metadata``) is stored in the file with the inputs'
    description and the network's config, under keys ``texture_nets.*``."""
    path = Path(path).expanduser()
    network = copy.deepcopy(network).float().cpu().eval()
    generator = as_multiscale(network)
    graph: nn.Module = (
        _GeneratorGraph(generator)
        if generator is not None
        else _PaddedGraph(cast(JohnsonNet, network))
    ).eval()  # a new wrapper is in training mode: the exporter would then trace batch norm
    # with batch statistics, and restoring the wrapper's mode would leave ``network`` training
    names = input_names(network)
    axes = {name: {0: "batch", 2: "height", 3: "width"} for name in [*names, "image"]}
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
        _write_metadata(path, {
            "inputs": describe_inputs(network),
            "architecture": network.config.architecture,
            "network": json.dumps(network.config.to_dict()),
            **(metadata or {}),
        })  # fmt: skip
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from error
    return path


def _write_metadata(path: Path, values: Mapping[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, str(value)
    onnx.save(model, str(path))


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``texture_nets.*`` metadata of an exported file, without the prefix."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {
        entry.key.removeprefix(METADATA_PREFIX): entry.value
        for entry in model.metadata_props
        if entry.key.startswith(METADATA_PREFIX)
    }


def one_pass_bytes(network: Network, batch: int, height: int, width: int) -> float:
    """About the peak memory of a one-pass forward (what onnxruntime runs): the graph's inputs
    and four maps of the size of the largest map any layer makes (found on a 64 px probe,
    scaled to the size). For tn_red_peppers at 1024 px: 0.8 GB; onnxruntime's pass measured
    0.69 GB (peak RSS of ``generate --backend onnxruntime`` over that of its imports)."""
    largest = 0

    def record(module: nn.Module, inputs: object, output: Tensor) -> None:
        nonlocal largest
        largest = max(largest, output[0].numel())

    leaves = [m for m in network.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    config = network.config
    side = max(64, config.min_side)
    device = next(network.parameters()).device
    try:
        with torch.no_grad():
            content = torch.rand(1, 3, side, side, device=device) if config.takes_photo else None
            config.run(network, content, config.noise(1, side, side, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    inputs = sum(x.shape[1] for x in example_inputs(network, side, side))
    return 4 * batch * height * width * (4 * largest / side**2 + inputs)


class OnnxNetwork(nn.Module):
    """An exported network run by onnxruntime, called like the PyTorch network it came from
    (Ulyanov: the input pyramid; Johnson: photos of any size), with the same ``config``.

    onnxruntime runs a whole image in one pass; an image whose pass would need more than
    ``max_memory`` bytes (``one_pass_bytes``) is made by PyTorch's banded executor instead
    (``networks.render``: the same pixels, memory bounded), with a warning."""

    def __init__(
        self,
        path: str | Path,
        network: Network,
        threads: int | None = None,
        max_memory: float = math.inf,
    ) -> None:
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
        self.network = network
        self.max_memory = max_memory
        self.bytes_per_pixel = one_pass_bytes(network, 1, 1, 1)

    @classmethod
    def from_network(
        cls, network: Network, folder: str | Path, max_memory: float = math.inf
    ) -> OnnxNetwork:
        """Export ``network`` into ``folder`` and open it."""
        path = export_onnx(network, Path(folder) / "model.onnx")
        return cls(path, network, max_memory=max_memory)

    def _too_large(self, shape: torch.Size) -> bool:
        need = self.bytes_per_pixel * shape[0] * shape[-2] * shape[-1]
        if need <= self.max_memory:
            return False
        log.warning(
            "onnxruntime would need about %.1f GB for %dx%d in one pass (over %.1f GB): made by "
            "the banded PyTorch executor instead (same pixels, bounded memory)",
            need / 2**30, shape[-1], shape[-2], self.max_memory / 2**30,
        )  # fmt: skip
        return True

    def forward(self, inputs: list[Tensor] | Tensor) -> Tensor:
        """Called as the PyTorch network is: the input pyramid (Ulyanov), whose photo and
        noise are fed to the graph as its ``content`` and packed ``noise``; the photo
        (Johnson)."""
        content, noise = split_inputs(self.config, inputs)
        first = inputs[0] if isinstance(inputs, list) else inputs
        if self._too_large(first.shape):
            return render(self.network, content, noise, max_memory=self.max_memory)
        if isinstance(self.config, GeneratorConfig):
            arrays = graph_inputs(self.config, content, noise)
        else:
            arrays = [first]
        feeds = {name: x.float().cpu().numpy() for name, x in zip(self.names, arrays, strict=True)}
        return torch.from_numpy(self.session.run(None, feeds)[0])
