"""The Gradio web demo: stylize a photo or generate a texture with the shipped models
(``demo``), and the demo served by a child process for tests and benchmarks (``child``).

May import: the public API (``texture_nets.api``), ``inference.pretrained``, ``nets.checkpoint``
and the top-level helpers, plus Gradio (loaded only when the demo runs). Never training or the
command lines.
"""
