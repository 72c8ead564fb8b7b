"""Progress bars on long work, and the switch that turns them on or off.

Long steps (SOM training, a knee search, computing a large dask model) report
progress through :func:`progress_bar` and :func:`computing_with_progress`. Whether
bars are drawn is one setting, :func:`set_options` ``progress``:

- ``"auto"`` (the default): drawn when someone is watching, that is when stderr is
  a terminal or the code runs in a Jupyter kernel; never under a test runner or in
  a batch job whose stderr goes to a file.
- ``True`` / ``False``: always / never.

Bars are tqdm's, which draws a widget in Jupyter and text in a terminal.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from .errors import InputError

__all__ = ["computing_with_progress", "get_options", "progress_bar", "set_options"]

_OPTIONS: dict[str, Any] = {"progress": "auto"}


class set_options:
    """Set xvcluster's options, for good or inside a ``with`` block.

    Parameters
    ----------
    progress : {"auto", True, False}, optional
        Draw progress bars on long work: ``"auto"`` when stderr is a terminal or
        in a Jupyter kernel, ``True`` always, ``False`` never.

    Examples
    --------
    >>> import xvcluster
    >>> with xvcluster.set_options(progress=False):
    ...     xvcluster.get_options()["progress"]
    False
    >>> xvcluster.get_options()["progress"]
    'auto'
    """

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise InputError(
                f"Unknown xvcluster option(s) {unknown}; the options are "
                f"{sorted(_OPTIONS)}."
            )
        progress = options.get("progress", "auto")
        if not (isinstance(progress, bool) or progress == "auto"):
            raise InputError(
                f"progress={progress!r} is not an option; use 'auto', True or False."
            )
        self._previous = dict(_OPTIONS)
        _OPTIONS.update(options)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc_info: object) -> None:
        _OPTIONS.clear()
        _OPTIONS.update(self._previous)


def get_options() -> dict[str, Any]:
    """Return a copy of xvcluster's current options.

    Returns
    -------
    dict
        Each option's name and value, e.g. ``{"progress": "auto"}``.
    """
    return dict(_OPTIONS)


def progress_enabled() -> bool:
    """Whether progress bars are drawn now, by the ``progress`` option."""
    setting = _OPTIONS["progress"]
    if setting != "auto":
        return bool(setting)
    return _stderr_is_terminal() or "ipykernel" in sys.modules


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def progress_bar(total: int, description: str, unit: str = "it") -> Any:
    """Return a tqdm bar of ``total`` steps, or a silent stand-in when progress is off.

    Use it as a context manager and call ``.update(n)`` as the work advances.
    With progress off nothing is imported (tqdm takes a while to import, and
    ``tqdm.auto`` warns in a Jupyter kernel without ipywidgets).
    """
    if not progress_enabled():
        return _SilentBar()

    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=description, unit=unit, leave=False, dynamic_ncols=True
    )


class _SilentBar:
    """The part of a tqdm bar that xvcluster uses, doing nothing."""

    def __enter__(self) -> _SilentBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        """Advance by ``n`` steps: nothing to draw."""


@contextlib.contextmanager
def computing_with_progress(description: str) -> Iterator[None]:
    """Show a bar for the dask computations made inside the block.

    Works with dask's local schedulers; on a ``dask.distributed`` cluster the
    dashboard shows progress instead.
    """
    if not progress_enabled():
        yield
        return

    from tqdm.dask import TqdmCallback

    with TqdmCallback(desc=description, leave=False, dynamic_ncols=True):
        yield
