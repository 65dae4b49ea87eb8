"""What a picture is scored by: the frozen VGG descriptor, where its weights come from (torchvision,
a file, the ONNX import), the Gram / content / TV losses, and the objective that binds them to
style and content targets. Training, Gatys, compare and the benchmarks all use this one objective.

May import: torch, ``texture_nets.errors``, ``texture_nets.image``, ``texture_nets.precision``
and ``nets.checkpoint`` (the descriptor a checkpoint records). Never the networks' code,
Lightning or the command lines.
"""
