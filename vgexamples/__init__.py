"""vgexamples: the small library behind the site's experiments on vanishing and exploding
gradients.

Foundations: :mod:`~vgexamples.runtime` (seeding, threads, device), :mod:`~vgexamples.data`,
:mod:`~vgexamples.models`, :mod:`~vgexamples.train`, :mod:`~vgexamples.diagnostics`,
:mod:`~vgexamples.health`, :mod:`~vgexamples.plotting`, :mod:`~vgexamples.theory`.
Chapters: :mod:`~vgexamples.monitors`, :mod:`~vgexamples.propagation`, :mod:`~vgexamples.runs`,
:mod:`~vgexamples.exploding`, :mod:`~vgexamples.clipping`, :mod:`~vgexamples.cliff`,
:mod:`~vgexamples.sequences`, :mod:`~vgexamples.precision`, :mod:`~vgexamples.compression`,
:mod:`~vgexamples.cnn`, :mod:`~vgexamples.textures`.
The claims page: :mod:`~vgexamples.results`, :mod:`~vgexamples.claims`.
"""

__version__ = "0.1.0"
