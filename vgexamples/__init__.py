"""vgexamples: the small library behind the site's experiments on vanishing and exploding
gradients.

Foundations: :mod:`~vgexamples.runtime` (seeding, threads, device, timing),
:mod:`~vgexamples.data`, :mod:`~vgexamples.activations`, :mod:`~vgexamples.models`,
:mod:`~vgexamples.train` (the one training loop, budgets, precision), :mod:`~vgexamples.state`,
:mod:`~vgexamples.diagnostics`, :mod:`~vgexamples.monitors`, :mod:`~vgexamples.watch` (any
training loop), :mod:`~vgexamples.health`, :mod:`~vgexamples.plotting`.
Chapters: :mod:`~vgexamples.propagation`, :mod:`~vgexamples.clipping`, :mod:`~vgexamples.cliff`,
:mod:`~vgexamples.sequences`, :mod:`~vgexamples.precision`, :mod:`~vgexamples.compression`,
:mod:`~vgexamples.cnn`, :mod:`~vgexamples.textures`.
The experiments, one home each: :mod:`~vgexamples.experiments`.
The claims page: :mod:`~vgexamples.results`, :mod:`~vgexamples.claims`.
"""

__version__ = "0.1.0"
