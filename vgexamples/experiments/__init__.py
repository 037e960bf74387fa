"""The site's experiments, one home each.

Every experiment whose numbers the site reports is one function here, ``run``, in a module
named for the experiment. Its defaults *are* the budget the site shows: the gallery example
calls it and draws the result; the chapter page glues the numbers the example recorded in the
same build (:mod:`vgexamples.results`); the claim test in ``tests/claims/`` calls the same
function at the same budget (or a smaller one it names); and the claims page's judges read the
recorded numbers. Each module holds:

* ``KEY`` -- the name its numbers are recorded under during a docs build;
* budget constants (:class:`vgexamples.train.Budget`) for its training runs;
* a small result dataclass with a ``summary()`` of what is recorded;
* ``run(...)`` -- runs the experiment, records the summary, returns the result.

The package's ``__init__`` imports none of its modules, so that an edit to one experiment
re-runs only the example and the pages that use it.

Chapters and their experiments:

* vanishing gradients -- :mod:`~vgexamples.experiments.gradients_at_init`,
  :mod:`~vgexamples.experiments.activation_training`;
* trainable nets -- :mod:`~vgexamples.experiments.learning_speed`,
  :mod:`~vgexamples.experiments.initialization`, :mod:`~vgexamples.experiments.batch_norm`,
  :mod:`~vgexamples.experiments.residual`, :mod:`~vgexamples.experiments.optimizers`;
* exploding gradients -- :mod:`~vgexamples.experiments.exploding`,
  :mod:`~vgexamples.experiments.clipping`, :mod:`~vgexamples.experiments.cliff`;
* recurrent nets -- :mod:`~vgexamples.experiments.adding`,
  :mod:`~vgexamples.experiments.through_time`;
* smaller nets -- :mod:`~vgexamples.experiments.half_precision`,
  :mod:`~vgexamples.experiments.pruning`, :mod:`~vgexamples.experiments.distillation`,
  :mod:`~vgexamples.experiments.low_rank`, :mod:`~vgexamples.experiments.compact_filters`,
  :mod:`~vgexamples.experiments.bilinear`;
* diagnose your own model -- :mod:`~vgexamples.experiments.watching`.
"""
