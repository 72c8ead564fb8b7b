"""Cluster the depth-velocity profiles of 3-D seismic velocity models with xarray.

Importing xvcluster registers the ``.vcluster`` accessor on DataArrays::

    import xvcluster

    vs = xvcluster.open_example()["vs"]
    labels = vs.vcluster.kmeans(5, zrange=(0, 60), dz=2.0)
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xvcluster")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from . import accessor as _accessor  # noqa: F401  (registers .vcluster)
from .axes import Axes, find_axes
from .datasets import example_path, open_example, synthetic_model
from .errors import (
    AxisError,
    DepthWindowWarning,
    ImpossibleValueWarning,
    InputError,
    KneeNotFoundWarning,
    ModelFileError,
    NotFittedError,
    OutputExistsError,
    SOMNeighbourhoodWarning,
    XVClusterError,
    XVClusterWarning,
)
from .io import load_model, open_velocity_model
from .kmeans import KMeans
from .model import MISSING_LABEL, ProfileModel
from .profiles import ProfileSpec
from .progress import get_options, set_options
from .som import SOM

__all__ = [
    "MISSING_LABEL",
    "SOM",
    "Axes",
    "AxisError",
    "DepthWindowWarning",
    "ImpossibleValueWarning",
    "InputError",
    "KMeans",
    "KneeNotFoundWarning",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "ProfileModel",
    "ProfileSpec",
    "SOMNeighbourhoodWarning",
    "XVClusterError",
    "XVClusterWarning",
    "__version__",
    "example_path",
    "find_axes",
    "get_options",
    "load_model",
    "open_example",
    "open_velocity_model",
    "set_options",
    "synthetic_model",
]
