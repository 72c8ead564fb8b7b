"""K-means clustering of velocity profiles.

Two engines compute it. Euclidean k-means runs on xvcluster's own exact Lloyd
iterations (:mod:`xvcluster.lloyd`): in memory for small models, block by block
over dask chunks for large ones, so a model larger than memory is fitted
without being loaded. tslearn's ``TimeSeriesKMeans`` computes the dtw and
softdtw metrics, and stays selectable for euclidean as the reference
(``engine="tslearn"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from numbers import Integral
from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import ThreadpoolController

from . import lloyd
from .errors import InputError
from .knee import checked_krange, elbow_dataset, find_knee, smooth_curve
from .model import ProfileModel
from .progress import computing_with_progress, progress_bar

__all__ = ["BLOCKWISE_BYTES", "ENGINES", "METRICS", "KMeans"]

METRICS = ("euclidean", "dtw", "softdtw")

ENGINES = ("auto", "memory", "blockwise", "tslearn")

BLOCKWISE_BYTES = 256 * 2**20
"""Size of the profiles (at their stored dtype) above which a dask-backed model
is fitted block by block when ``engine="auto"``: 256 MiB, about 1.3 million
profiles of 50 float32 depths."""

STARTS_ON_SAMPLE = 2
"""Starts of the seeded initialisation of the euclidean engines by default."""

KNEE_RELATIVE_TOL = 1e-3
"""Relative change of inertia at which the knee search's curve stops iterating;
the k at the knee is then iterated on to ``tol``."""


@cache
def _threadpool_controller() -> ThreadpoolController:
    """The loaded thread pools as threadpoolctl finds them, once per process.

    Finding them takes milliseconds (threadpoolctl scans the loaded libraries);
    limiting them with a kept controller takes microseconds. It is made at the
    first blockwise fit, when numpy's BLAS, the one our products use, is loaded.
    """
    return ThreadpoolController()


@contextmanager
def _blas_single_threaded() -> Iterator[None]:
    """Limit BLAS to one thread inside a blockwise fit, then restore it.

    A blockwise pass already runs one task per core (dask's threads), each
    making small matrix products; threaded BLAS inside each task only
    oversubscribes the cores. Measured on two cores, one BLAS thread made a
    blockwise fit 1.1 to 1.6 times faster from 250,000 to 1,000,000 profiles
    (``python benchmarks/run.py --threads``). An in-memory fit runs in one
    thread of its own, where neither setting was consistently faster (the
    default took 0.8 to 1.3 times the one-thread time, run to run, from 5,777
    to 1,000,000 profiles), so it leaves the user's settings alone. Only our
    calls are affected; the user's settings come back on exit.
    """
    with _threadpool_controller().limit(limits=1, user_api="blas"):
        yield


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


def _seeding_sample(
    profiles: xr.DataArray,
    complete: np.ndarray,
    canonical_rows: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Read the seeding sample of dask-backed profiles ``(..., depth)``.

    It is drawn from the complete profiles in canonical order, exactly as the
    in-memory engine draws it, so that both engines start alike.
    """
    complete_rows = canonical_rows[complete.ravel()[canonical_rows]]
    chosen = complete_rows[lloyd.sample_positions(complete_rows.size, rng)]
    grid_index = np.unravel_index(chosen, complete.shape)
    with computing_with_progress("drawing the seeding sample"):
        return np.asarray(profiles.data.vindex[grid_index].compute())


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
    engine : {"auto", "memory", "blockwise", "tslearn"}, default "auto"
        What computes the k-means. ``"memory"``: exact Lloyd iterations on the
        profiles loaded as one array (euclidean only). ``"blockwise"``: the same
        iterations as sums over dask chunks, reading the model once per
        iteration and never holding it whole (euclidean only; labels are
        computed, not lazy). ``"tslearn"``: tslearn's ``TimeSeriesKMeans``, the
        engine of dtw and softdtw and the reference for euclidean. ``"auto"``
        picks tslearn for dtw and softdtw; for euclidean, blockwise when the
        model is dask-backed and its profiles exceed :data:`BLOCKWISE_BYTES`
        (256 MiB), else memory. The memory and blockwise engines give the same
        partition from the same initial centres.
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
    n_init : int, optional
        Initialisations tried per k; the one with the lowest inertia is kept.
        The euclidean engines try them on a seeded sample of 512 profiles
        (the first cuts a Ward tree of the sample, the others are greedy
        k-means++; each refined by Lloyd), refine the best on a seeded sample
        of 16,384 and then on all profiles; by default 2 starts. tslearn runs
        each on all profiles; by default 1.
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
        engine: str = "auto",
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        random_state: int | None = 0,
        n_init: int | None = None,
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
        if engine not in ENGINES:
            raise InputError(f"engine={engine!r} is not one of {ENGINES!r}.")
        if metric != "euclidean" and engine in ("memory", "blockwise"):
            raise InputError(
                f"engine={engine!r} computes euclidean k-means only; use "
                f"engine='tslearn' (or 'auto') for metric={metric!r}."
            )
        self.n_clusters = n_clusters
        self.krange = checked_krange(krange)
        self.metric = metric
        self.metric_params = dict(metric_params) if metric_params else None
        self.engine = engine
        self.n_init = (
            None if n_init is None else _positive_int(n_init, "n_init", "n_init=3")
        )
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
        """Return the model's parameters as plain JSON-compatible values.

        Returns
        -------
        dict
            Each constructor argument by name; saved with every result.
        """
        return {
            "n_clusters": self.n_clusters,
            "krange": self.krange,
            "metric": self.metric,
            "metric_params": self.metric_params,
            "engine": self.engine,
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

    def _uses_tslearn(self) -> bool:
        return self.engine == "tslearn" or (
            self.engine == "auto" and self.metric != "euclidean"
        )

    def _fits_blockwise(self, profiles: xr.DataArray) -> bool:
        if self.engine == "blockwise":
            return True
        return (
            self.engine == "auto"
            and self.metric == "euclidean"
            and profiles.chunks is not None
            and profiles.nbytes > BLOCKWISE_BYTES
        )

    def _estimator(self, n_clusters: int):
        TimeSeriesKMeans = _time_series_kmeans()
        return TimeSeriesKMeans(
            n_clusters=n_clusters,
            metric=self.metric,
            metric_params=self.metric_params,
            n_init=1 if self.n_init is None else self.n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            max_iter_barycenter=self.max_iter_barycenter,
            random_state=self.random_state,
        )

    def _fit_centres(
        self, profiles: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if self._uses_tslearn():
            return self._tslearn_fit(profiles), None

        rng = self._rng()
        sample = profiles[lloyd.sample_positions(profiles.shape[0], rng)]
        passes = lloyd.StatisticsInMemory(profiles)
        result = self._lloyd_fit(passes, sample, rng, profiles.shape[0])
        labels = passes.labels(result.centres)
        self.inertia_ = result.inertia
        return result.centres, labels

    def _fit_blockwise(
        self, profiles: xr.DataArray, complete: np.ndarray, canonical_rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        rng = self._rng()
        sample = _seeding_sample(profiles, complete, canonical_rows, rng)
        del canonical_rows  # 8 bytes a profile, not needed by the passes

        passes = lloyd.StatisticsOverBlocks(profiles.data)
        with _blas_single_threaded():
            result = self._lloyd_fit(passes, sample, rng, int(complete.sum()))
            labels = passes.labels(result.centres)
        self.inertia_ = result.inertia
        return result.centres, labels

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.random_state)

    def _lloyd_fit(
        self,
        one_pass: lloyd.Pass,
        sample: np.ndarray,
        rng: np.random.Generator,
        n_profiles: int,
    ) -> lloyd.LloydResult:
        """Seed on the sample, then Lloyd on all profiles; the knee search if asked.

        ``rng`` is the generator that drew the sample; both engines draw the
        sample in canonical order from the same seed, so they start alike.
        """
        sample = sample.astype("float64")
        ks = [self.n_clusters] if self.n_clusters is not None else self.krange
        starts = STARTS_ON_SAMPLE if self.n_init is None else self.n_init

        initial = lloyd.seeded_centres(
            sample,
            ks,
            rng,
            n_init=starts,
            max_iter=self.max_iter,
            tol=self.tol,
            refine=sample.shape[0] < n_profiles,
        )
        with progress_bar(self.max_iter, "k-means passes", unit="pass") as bar:
            options = {
                "max_iter": self.max_iter,
                "tol": self.tol,
                "on_pass": lambda: bar.update(1),
            }
            if self.n_clusters is not None:
                self.elbow_ = None
                (chosen,) = lloyd.lloyd(one_pass, initial, sample, **options)
            else:
                # The curve only has to place the knee: every k stops at a
                # relative change of KNEE_RELATIVE_TOL, and the chosen k is
                # then iterated on to ``tol``.
                curve = lloyd.lloyd(
                    one_pass,
                    initial,
                    sample,
                    **options,
                    relative_tol=KNEE_RELATIVE_TOL,
                )
                knee = self._knee([result.inertia for result in curve])
                start = curve[ks.index(knee)].centres
                (chosen,) = lloyd.lloyd(one_pass, [start], sample, **options)
                self.elbow_["inertia"].loc[{"k": knee}] = chosen.inertia

        self.n_clusters_ = int(chosen.centres.shape[0])
        return chosen

    def _knee(self, inertia: list[float]) -> int:
        """Find the knee of the inertia curve over ``krange`` and keep the curve."""
        smoothed = smooth_curve(inertia, self.smooth) if self.smooth else None
        knee = find_knee(
            self.krange,
            smoothed if smoothed is not None else inertia,
            self.sensitivity,
        )
        self.elbow_ = elbow_dataset(self.krange, inertia, smoothed, knee)
        return knee

    def _tslearn_fit(self, profiles: np.ndarray) -> np.ndarray:
        series = profiles.astype("float64")[:, :, np.newaxis]

        if self.n_clusters is not None:
            estimator = self._estimator(self.n_clusters).fit(series)
            self.elbow_ = None
        else:
            estimators = {k: self._estimator(k).fit(series) for k in self.krange}
            knee = self._knee([estimators[k].inertia_ for k in self.krange])
            estimator = estimators[knee]

        self.n_clusters_ = int(estimator.n_clusters)
        return estimator.cluster_centers_[:, :, 0]

    def _nearest_labels(self, profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
        if self.metric != "euclidean":
            return super()._nearest_labels(profiles, centres)
        return lloyd.nearest_centres(profiles, centres)

    def _nearest(
        self, profiles: np.ndarray, centres: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.metric != "euclidean":
            return super()._nearest(profiles, centres)
        nearest = lloyd.nearest_centres(profiles, centres)
        difference = profiles - centres[nearest]
        return nearest, np.sqrt(np.einsum("ij,ij->i", difference, difference))

    def _distances(self, profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
        # Only dtw and softdtw get here: euclidean labels come from _nearest.
        profiles = profiles.astype("float64", copy=False)
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
