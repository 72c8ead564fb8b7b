"""K-means clustering of velocity profiles, with tslearn as the engine."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from numbers import Integral
from typing import Any

import numpy as np
import xarray as xr

from .errors import InputError
from .knee import checked_krange, elbow_dataset, find_knee, smooth_curve
from .model import ProfileModel

__all__ = ["METRICS", "KMeans"]

METRICS = ("euclidean", "dtw", "softdtw")


@contextmanager
def _without_h5py_notice() -> Iterator[None]:
    """Hide tslearn's import-time notice that the optional h5py is missing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="h5py not installed")
        yield


def _time_series_kmeans() -> type:
    """Import tslearn's k-means (lazily: tslearn takes seconds to import)."""
    with _without_h5py_notice():
        from tslearn.clustering import TimeSeriesKMeans
    return TimeSeriesKMeans


def _positive_int(value: object, name: str, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise InputError(
            f"{name}={value!r} must be a positive whole number, e.g. {example}."
        )
    return int(value)


class KMeans(ProfileModel):
    """K-means clustering of the depth profiles of a velocity model.

    Parameters
    ----------
    n_clusters : int or None, default None
        Number of clusters. ``None`` chooses it at the knee of the inertia
        curve over ``krange`` (see :mod:`xvcluster.knee`).
    krange : iterable of int, default range(2, 15)
        Cluster counts tried by the knee search; at least three.
    metric : {"euclidean", "dtw", "softdtw"}, default "euclidean"
        Distance between profiles, as in tslearn's ``TimeSeriesKMeans``.
    metric_params : dict, optional
        Parameters of the metric, e.g. ``{"gamma": 0.1}`` for softdtw.
    zrange : (float, float), optional
        Depth window in km below the surface; ``None`` keeps all depths.
    dz : float, optional
        Resample profiles every ``dz`` km; ``None`` keeps the model's depths.
    spacing : int, default 1
        Fit on every ``spacing``-th node along each horizontal dim.
    nan : {"drop", "fill"}, default "drop"
        Leave out profiles with missing values, or fill interior gaps first.
    random_state : int or None, default 0
        Seed of the k-means++ initialisation; fixed by default so that a run
        is reproducible.
    n_init : int, default 1
        Initialisations tried per k; the one with the lowest inertia is kept.
    max_iter : int, default 50
        Lloyd iterations per initialisation.
    tol : float, default 1e-6
        Stop when the inertia changes less than this between iterations.
    max_iter_barycenter : int, default 100
        Iterations of the barycentre computation for dtw and softdtw.
    smooth : int, optional
        Window (odd, >= 3) of the smoothing applied to the inertia curve before
        the knee search; ``None`` searches the raw curve.
    sensitivity : float, default 1.0
        Kneedle's sensitivity ``S``.

    Attributes
    ----------
    labels_ : xarray.DataArray
        Cluster of every profile, on the input's horizontal dims (-1: left out).
    centres_ : xarray.DataArray
        Centre profile of every cluster, ``(cluster, depth)``, depth in km.
    counts_ : xarray.DataArray
        Number of profiles in every cluster.
    inertia_ : float
        Mean squared distance from each profile to its centre.
    n_clusters_ : int
        Number of clusters fitted (the knee when ``n_clusters`` is None).
    elbow_ : xarray.Dataset or None
        The inertia curve and its knee, when the knee search ran.
    depth_ : numpy.ndarray
        Depths (km below the surface) the profiles were sampled at.

    Examples
    --------
    >>> import xvcluster
    >>> vs = xvcluster.open_example()["vs"]
    >>> model = xvcluster.KMeans(5, zrange=(0, 60), dz=2.0).fit(vs)
    >>> model.centres_.sizes
    Frozen({'cluster': 5, 'depth': 31})
    """

    method = "kmeans"

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        krange: Iterable[int] = range(2, 15),
        metric: str = "euclidean",
        metric_params: dict[str, Any] | None = None,
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        random_state: int | None = 0,
        n_init: int = 1,
        max_iter: int = 50,
        tol: float = 1e-6,
        max_iter_barycenter: int = 100,
        smooth: int | None = None,
        sensitivity: float = 1.0,
    ) -> None:
        super().__init__(
            zrange=zrange, dz=dz, spacing=spacing, nan=nan, random_state=random_state
        )
        if n_clusters is not None:
            n_clusters = _positive_int(n_clusters, "n_clusters", "n_clusters=5")
            if n_clusters < 2:
                raise InputError(
                    f"n_clusters={n_clusters!r} must be 2 or more, or None to choose "
                    "it by the knee search."
                )
        if metric not in METRICS:
            raise InputError(f"metric={metric!r} is not one of {METRICS!r}.")
        self.n_clusters = n_clusters
        self.krange = checked_krange(krange)
        self.metric = metric
        self.metric_params = dict(metric_params) if metric_params else None
        self.n_init = _positive_int(n_init, "n_init", "n_init=3")
        self.max_iter = _positive_int(max_iter, "max_iter", "max_iter=50")
        self.tol = float(tol)
        self.max_iter_barycenter = _positive_int(
            max_iter_barycenter, "max_iter_barycenter", "max_iter_barycenter=100"
        )
        if smooth is not None:
            smooth_curve(np.zeros(len(self.krange)), smooth)
        self.smooth = smooth
        self.sensitivity = float(sensitivity)

    def get_params(self) -> dict[str, Any]:
        """Return the model's parameters as plain JSON-compatible values."""
        return {
            "n_clusters": self.n_clusters,
            "krange": self.krange,
            "metric": self.metric,
            "metric_params": self.metric_params,
            **super().get_params(),
            "n_init": self.n_init,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "max_iter_barycenter": self.max_iter_barycenter,
            "smooth": self.smooth,
            "sensitivity": self.sensitivity,
        }

    # ------------------------------------------------------------- the fit

    def _min_profiles(self) -> int:
        return self.n_clusters if self.n_clusters is not None else max(self.krange)

    def _estimator(self, n_clusters: int):
        TimeSeriesKMeans = _time_series_kmeans()
        return TimeSeriesKMeans(
            n_clusters=n_clusters,
            metric=self.metric,
            metric_params=self.metric_params,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            max_iter_barycenter=self.max_iter_barycenter,
            random_state=self.random_state,
        )

    def _fit_centres(self, profiles: np.ndarray) -> np.ndarray:
        series = profiles.astype("float64")[:, :, np.newaxis]

        if self.n_clusters is not None:
            estimator = self._estimator(self.n_clusters).fit(series)
            self.elbow_ = None
        else:
            estimators = {k: self._estimator(k).fit(series) for k in self.krange}
            inertia = [estimators[k].inertia_ for k in self.krange]
            smoothed = smooth_curve(inertia, self.smooth) if self.smooth else None
            knee = find_knee(
                self.krange,
                smoothed if smoothed is not None else inertia,
                self.sensitivity,
            )
            self.elbow_ = elbow_dataset(self.krange, inertia, smoothed, knee)
            estimator = estimators[knee]

        self.n_clusters_ = int(estimator.n_clusters)
        return estimator.cluster_centers_[:, :, 0]

    def _distances(self, profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
        profiles = profiles.astype("float64", copy=False)
        if self.metric == "euclidean":
            from scipy.spatial.distance import cdist

            return cdist(profiles, centres, metric="euclidean")

        with _without_h5py_notice():
            from tslearn.metrics import cdist_dtw, cdist_soft_dtw

        if self.metric == "dtw":
            options = self.metric_params or {}
            return cdist_dtw(profiles[:, :, None], centres[:, :, None], **options)
        gamma = (self.metric_params or {}).get("gamma", 1.0)
        return cdist_soft_dtw(profiles[:, :, None], centres[:, :, None], gamma=gamma)

    def _record_fit_quality(self, distances: np.ndarray) -> None:
        self.inertia_ = float(np.mean(distances**2))

    # ------------------------------------------------------------- results

    def _result_variables(self) -> dict[str, xr.DataArray]:
        variables = {
            "inertia": xr.DataArray(
                self.inertia_,
                attrs={"long_name": "mean squared distance from profile to centre"},
            )
        }
        if self.elbow_ is not None:
            variables["elbow_inertia"] = self.elbow_["inertia"]
            variables["knee"] = self.elbow_["knee"]
            if "inertia_smoothed" in self.elbow_:
                variables["elbow_inertia_smoothed"] = self.elbow_["inertia_smoothed"]
        return variables

    def _restore(self, dataset: xr.Dataset) -> None:
        self.inertia_ = float(dataset["inertia"])
        self.n_clusters_ = int(dataset.sizes["cluster"])
        if "elbow_inertia" in dataset:
            smoothed = dataset.get("elbow_inertia_smoothed")
            self.elbow_ = elbow_dataset(
                dataset["k"].values,
                dataset["elbow_inertia"].values,
                None if smoothed is None else smoothed.values,
                int(dataset["knee"]),
            )
        else:
            self.elbow_ = None
