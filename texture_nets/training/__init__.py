"""Training a texture network or a stylizer: the typed config (and the flags generated from it),
the data (noise pyramids, example images, photo crops), the Lightning module, its callbacks.

May import: everything in ``nets`` and ``objective``, ``evaluation.metrics`` (validation),
Lightning and the top-level helpers. Never ``cli`` or ``app``: the command lines call into here
(the train flags are generated from the config in ``cli.config_flags``).
"""
