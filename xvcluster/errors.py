"""The exceptions and warnings xvcluster raises, under one base class each.

Catch :class:`XVClusterError` to handle every error of ours; the subclasses also
derive from the matching built-in (``ValueError``, ``FileExistsError``, ...) so
code written against the built-ins keeps working.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "AxisError",
    "DepthWindowWarning",
    "FiguresSkippedWarning",
    "ImpossibleValueWarning",
    "InputError",
    "KneeNotFoundWarning",
    "MissingDependencyError",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "SOMNeighbourhoodWarning",
    "XVClusterError",
    "XVClusterWarning",
]


class XVClusterError(Exception):
    """Base class of every exception raised by xvcluster."""


class InputError(XVClusterError, ValueError):
    """A value given to xvcluster is wrong: the message names it and the fix."""


class AxisError(InputError):
    """The latitude, longitude or depth axis is missing or ambiguous."""


class NotFittedError(XVClusterError, AttributeError):
    """A model was asked for results before :meth:`fit` was called."""


class OutputExistsError(XVClusterError, FileExistsError):
    """An output file exists already and overwriting was not asked for."""


class ModelFileError(XVClusterError, ValueError):
    """A file cannot be read: truncated, corrupt, or not the model expected.

    Raised for velocity model files that cannot be opened whole and for files
    that are not a saved xvcluster model.
    """


class MissingDependencyError(XVClusterError, ImportError):
    """An optional library (e.g. for plotting) is needed but not installed."""


class XVClusterWarning(UserWarning):
    """Base class of every warning issued by xvcluster."""


class KneeNotFoundWarning(XVClusterWarning):
    """The knee search found no knee and fell back to the documented rule."""


class DepthWindowWarning(XVClusterWarning):
    """The depth window reaches past the data and was clipped to it."""


class ImpossibleValueWarning(XVClusterWarning):
    """The model holds values it cannot physically take (e.g. -99999 km/s).

    They are treated as missing, so the profiles holding them are left out.
    """


class FiguresSkippedWarning(XVClusterWarning):
    """The command line wrote the results but not the figures (no plotting extra)."""


class SOMNeighbourhoodWarning(XVClusterWarning):
    """A SOM's neighbourhood (sigma) spans its whole grid."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _stack_level_outside_package() -> int:
    """Return the stack level of the first frame that is not xvcluster's own code."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = XVClusterWarning) -> None:
    """Issue ``message`` pointing at the user's line that called into xvcluster."""
    warnings.warn(message, category, stacklevel=_stack_level_outside_package())
