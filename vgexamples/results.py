"""Key numbers that gallery examples hand to the site's "Popular claims, tested" page.

During a docs build, ``docs/conf.py`` sets the environment variable :data:`ENV_VAR` to a
folder; :func:`record` then saves an example's headline numbers there as JSON, and the claims
page reads them back with :func:`load` to compute each verdict from the very experiment the
example shows. Run on its own (a downloaded script, say), :func:`record` does nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ENV_VAR", "load", "record"]

#: The environment variable that names the results folder.
ENV_VAR = "VGEXAMPLES_RESULTS_DIR"
_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def _plain(name: str, value: object) -> float | int | bool | str:
    if isinstance(value, (bool, str, int)):
        return value
    try:
        return float(value)  # floats, NumPy and 0-d torch scalars
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number, bool or string; got {type(value).__name__}"
        ) from None


def record(name: str, **values: object) -> None:
    """Save ``values`` under ``name`` if a docs build asked for results; else do nothing.

    Parameters
    ----------
    name
        Dotted lower-case key, e.g. ``"activations.gradients_at_init"``.
    **values
        Numbers (Python, NumPy or 0-d torch scalars), booleans or strings.

    The file is ``<folder>/<name>.json``. Nothing is returned, so that a ``record(...)`` call
    at the end of an example cell prints nothing on the page.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a dotted lower-case key like 'chapter.topic'; got {name!r}")
    if not values:
        raise ValueError("record needs at least one value")
    plain = {key: _plain(key, value) for key, value in values.items()}
    folder = os.environ.get(ENV_VAR)
    if not folder:
        return
    path = Path(folder) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(plain, indent=1, sort_keys=True, allow_nan=True)
    path.write_text(text + "\n")


def load(name: str, folder: str | Path | None = None) -> Mapping[str, object]:
    """Read the values an example recorded under ``name``.

    Raises
    ------
    FileNotFoundError
        If no example recorded ``name`` (the example did not run in this build).
    """
    folder = Path(folder or os.environ.get(ENV_VAR, ""))
    path = folder / f"{name}.json"
    if not folder.name or not path.is_file():
        raise FileNotFoundError(
            f"no results recorded under {name!r} in {folder or '(unset)'}: the example that "
            f"records them must run in the same docs build (set {ENV_VAR})"
        )
    data = json.loads(path.read_text())
    return {k: (math.nan if v is None else v) for k, v in data.items()}
