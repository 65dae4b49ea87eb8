"""Texture Networks (Ulyanov et al. 2016) with Gatys et al.'s optimisation as the baseline."""

from typing import Any

from texture_nets.api import ModelNotFoundError, Stylizer, TextureModel, list_models, load
from texture_nets.nets.johnson import JohnsonConfig, JohnsonNet
from texture_nets.nets.ulyanov import Generator, GeneratorConfig, make_inputs, make_noise
from texture_nets.objective.descriptor import VGGDescriptor, layer_names
from texture_nets.objective.losses import TextureLoss, content_loss, gram_matrix, tv_loss
from texture_nets.objective.weights import build_descriptor, resolve_weights

__all__ = [
    "Generator",
    "GeneratorConfig",
    "JohnsonConfig",
    "JohnsonNet",
    "ModelNotFoundError",
    "Stylizer",
    "TextureLoss",
    "TextureModel",
    "VGGDescriptor",
    "build_descriptor",
    "content_loss",
    "gram_matrix",
    "layer_names",
    "list_models",
    "load",
    "make_inputs",
    "make_noise",
    "resolve_weights",
    "train",
    "tv_loss",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``texture_nets.train`` (``training.fit.train``) is imported on first use: Lightning
    loads only for training, not for ``import texture_nets`` or the demo."""
    if name == "train":
        from texture_nets.training.fit import train

        return train
    raise AttributeError(f"module 'texture_nets' has no attribute {name!r}")
