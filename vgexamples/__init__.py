"""vgexamples: the small library behind the site's experiments on vanishing and exploding
gradients.

Modules: :mod:`~vgexamples.runtime` (seeding, device), :mod:`~vgexamples.data`,
:mod:`~vgexamples.models`, :mod:`~vgexamples.train`, :mod:`~vgexamples.diagnostics`,
:mod:`~vgexamples.plotting`, :mod:`~vgexamples.theory`.
"""

__version__ = "0.1.0"
