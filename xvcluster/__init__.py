"""Cluster the depth-velocity profiles of 3-D seismic velocity models with xarray.

Importing xvcluster registers the ``.vcluster`` accessor on DataArrays::

    import xvcluster

    vs = xvcluster.open_example()["vs"]
    labels = vs.vcluster.kmeans(5, zrange=(0, 60), dz=2.0)
    vs.vcluster.plot_profiles(labels)   # matplotlib, one panel per cluster
    labels.vcluster.map()               # interactive map (geoviews)
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
    FiguresSkippedWarning,
    ImpossibleValueWarning,
    InputError,
    KneeNotFoundWarning,
    MissingDependencyError,
    ModelFileError,
    NotFittedError,
    OutputExistsError,
    SOMNeighbourhoodWarning,
    XVClusterError,
    XVClusterWarning,
)
from .geography import cluster_colours
from .io import load_model, open_velocity_model
from .kmeans import KMeans
from .maps import save_html
from .model import MISSING_LABEL, ProfileModel
from .plot import plot_elbow
from .profiles import ProfileSpec
from .progress import get_options, set_options
from .som import SOM

__all__ = [
    "MISSING_LABEL",
    "SOM",
    "Axes",
    "AxisError",
    "DepthWindowWarning",
    "FiguresSkippedWarning",
    "ImpossibleValueWarning",
    "InputError",
    "KMeans",
    "KneeNotFoundWarning",
    "MissingDependencyError",
    "ModelFileError",
    "NotFittedError",
    "OutputExistsError",
    "ProfileModel",
    "ProfileSpec",
    "SOMNeighbourhoodWarning",
    "XVClusterError",
    "XVClusterWarning",
    "__version__",
    "cluster_colours",
    "example_path",
    "find_axes",
    "get_options",
    "load_model",
    "open_example",
    "open_velocity_model",
    "plot_elbow",
    "save_html",
    "set_options",
    "synthetic_model",
]
