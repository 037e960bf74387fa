"""Numbers that gallery examples hand to the pages built after them.

During a docs build, ``docs/conf.py`` sets the environment variable :data:`ENV_VAR` to a
folder; :func:`record` then saves an experiment's numbers there as JSON, and the chapter pages
and the claims page read them back with :func:`load`, so that a page quotes the very
experiment its example shows instead of running it again. Run on its own (a downloaded
script, say), :func:`record` does nothing.

Values are plain: numbers (Python, NumPy or 0-d torch scalars, ``nan`` and ``inf`` allowed),
booleans, strings, and lists or string-keyed dicts of those (per-layer curves, tables).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ENV_VAR", "load", "record"]

#: The environment variable that names the results folder.
ENV_VAR = "VGEXAMPLES_RESULTS_DIR"
_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")

Plain = float | int | bool | str | list["Plain"] | dict[str, "Plain"]


def _plain(name: str, value: object) -> Plain:
    if isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name} must have string keys; got {key!r}")
            out[key] = _plain(f"{name}[{key!r}]", item)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(f"{name}[{i}]", item) for i, item in enumerate(value)]
    if hasattr(value, "tolist"):  # NumPy and torch arrays and scalars
        return _plain(name, value.tolist())
    try:
        return float(value)  # floats, NumPy and 0-d torch scalars
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number, bool, string, or a list or dict of those; "
            f"got {type(value).__name__}"
        ) from None


def record(name: str, **values: object) -> None:
    """Save ``values`` under ``name`` if a docs build asked for results; else do nothing.

    Parameters
    ----------
    name
        Dotted lower-case key, e.g. ``"vanishing.gradients_at_init"``.
    **values
        Plain values (see the module's description).

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
    if not path.is_file() or path.read_text() != text + "\n":  # unchanged results keep mtime
        path.write_text(text + "\n")


def load(name: str, folder: str | Path | None = None) -> dict[str, Plain]:
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
    return json.loads(path.read_text())
