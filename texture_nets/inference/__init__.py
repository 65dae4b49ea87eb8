"""Using a trained network: stylize photos and sample textures in bounded memory (``bands``), keep
the photo's colours, load the shipped models, export to ONNX.

May import: ``nets``, torch and the top-level helpers. Never Lightning, the descriptor or the
training code: a saved model runs without them.
"""
