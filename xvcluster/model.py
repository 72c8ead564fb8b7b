"""The shared machinery of xvcluster's models: fit, predict, results, saving.

A model sees a velocity model as a set of profiles (see :mod:`xvcluster.profiles`),
learns one centre profile per cluster, and labels each profile with its nearest
centre. Subclasses only say how centres are learnt (:meth:`ProfileModel._fit_centres`)
and how far a profile is from a centre (:meth:`ProfileModel._distances`).

Cluster numbers follow one documented rule, whatever the algorithm and its seed:
clusters are numbered by the mean velocity of their centre over the depth window,
slowest first (ties broken by the centre's values from the top down). The same
data therefore gets the same numbers on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any, ClassVar, Self

import numpy as np
import xarray as xr

from .axes import Axes, find_axes
from .errors import InputError, NotFittedError
from .profiles import (
    DEPTH_ATTRS,
    ProfileSpec,
    UncheckedProfiles,
    canonical_order,
    complete_profiles,
    prepare_profiles,
    profile_rows,
    unchecked_profiles,
)
from .values import block_tallies

__all__ = ["MISSING_LABEL", "ProfileModel", "member_means"]

MISSING_LABEL = -1
"""Label of a profile left out of the clustering (missing values in its window)."""

_MODEL_CLASSES: dict[str, type[ProfileModel]] = {}


class ProfileModel:
    """Base class of the clustering models; not used directly.

    Parameters
    ----------
    zrange, dz, spacing, nan
        How profiles are cut from the model; see :class:`~xvcluster.ProfileSpec`.
    random_state : int or None, default 0
        Seed of every random choice the model makes; ``None`` draws a new one.
    """

    method: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _MODEL_CLASSES[cls.__name__] = cls

    def __init__(
        self,
        *,
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        random_state: int | None = 0,
    ) -> None:
        self.spec = ProfileSpec(zrange=zrange, dz=dz, spacing=spacing, nan=nan)
        if random_state is not None and (
            isinstance(random_state, bool)
            or not isinstance(random_state, int | np.integer)
            or not 0 <= random_state < 2**32
        ):
            raise InputError(
                f"random_state={random_state!r} must be a whole number seed from 0 "
                "to 2**32 - 1, or None."
            )
        self.random_state = None if random_state is None else int(random_state)

    # ------------------------------------------------------------------ params

    def get_params(self) -> dict[str, Any]:
        """Return the model's parameters as plain JSON-compatible values.

        Returns
        -------
        dict
            Each constructor argument by name; saved with every result.
        """
        return {
            "zrange": list(self.spec.zrange) if self.spec.zrange is not None else None,
            "dz": self.spec.dz,
            "spacing": self.spec.spacing,
            "nan": self.spec.nan,
            "random_state": self.random_state,
        }

    def __repr__(self) -> str:
        params = ", ".join(
            f"{key}={value!r}" for key, value in self.get_params().items()
        )
        return f"{type(self).__name__}({params})"

    def __getattr__(self, name: str) -> Any:
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(
                f"{type(self).__name__}.{name} exists once the model is fitted; "
                "call .fit(da) first."
            )
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    # ------------------------------------------------- what subclasses provide

    def _fit_centres(
        self, profiles: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Learn centres ``(cluster, depth)`` from profiles ``(profile, depth)``.

        Returns the centres and, when the fit found them on the way, the index
        of each profile's nearest centre (its fit quality then recorded too);
        else None, and they are computed with :meth:`_nearest`.
        """
        raise NotImplementedError

    def _distances(self, profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Distances ``(profile, cluster)`` between profiles and centres."""
        raise NotImplementedError

    def _min_profiles(self) -> int:
        """How many valid profiles a fit needs."""
        return 2

    def _record_fit_quality(self, distances: np.ndarray) -> None:
        """Keep a measure of fit from each valid profile's distance to its centre."""

    def _fits_blockwise(self, profiles: xr.DataArray) -> bool:
        """Whether to fit these profiles block by block rather than in memory.

        Models that can learn their centres from dask chunks without loading
        the whole model opt in by returning True and providing
        :meth:`_fit_blockwise`.
        """
        return False

    def _fit_blockwise(
        self, profiles: xr.DataArray, complete: np.ndarray, canonical_rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Learn centres from dask-backed profiles without loading them whole.

        Parameters
        ----------
        profiles : xarray.DataArray
            Dask-backed profiles ``(..., depth)``.
        complete : numpy.ndarray
            Whether each profile has values at every depth, on the grid.
        canonical_rows : numpy.ndarray
            Row numbers of the flattened grid in canonical order.

        Returns
        -------
        centres : numpy.ndarray
            Centres ``(cluster, depth)`` in any order.
        labels : numpy.ndarray
            int32 index of the nearest of those centres on the grid,
            ``MISSING_LABEL`` where a profile is incomplete. The subclass also
            records its measure of fit; :meth:`_record_members`, which needs the
            profiles in memory, is not called on this path.
        """
        raise NotImplementedError

    def _result_variables(self) -> dict[str, xr.DataArray]:
        """Extra variables a subclass puts in :meth:`result`."""
        return {}

    def _restore(self, dataset: xr.Dataset) -> None:
        """Restore a subclass's extra fitted state from a saved result."""

    def _record_members(self, profiles: np.ndarray, labels: np.ndarray) -> None:
        """Keep what a subclass needs from the valid profiles and their clusters.

        ``profiles`` is ``(profile, depth)``, ``labels`` the final cluster number
        of each (e.g. to compute the mean profile of each cluster's members).
        """

    def _finish_fit(self) -> None:
        """Complete a subclass's fitted state once labels, centres and counts exist."""

    # --------------------------------------------------------------- fitting

    def fit(
        self,
        da: xr.DataArray,
        *,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> Self:
        """Cluster the profiles of ``da``.

        Parameters
        ----------
        da : xarray.DataArray
            The velocity model, numpy- or dask-backed, dims in any order.
        lat, lon, depth : str, optional
            Names of the axes, when they cannot be found from attributes or names.

        Returns
        -------
        Self
            The fitted model, with ``labels_``, ``centres_``, ``counts_`` and
            ``depth_`` set.
        """
        axes = find_axes(da, lat=lat, lon=lon, depth=depth)
        unchecked = unchecked_profiles(da, axes, self.spec)
        profiles = unchecked.masked  # the grid and depths of the result
        if self._fits_blockwise(profiles):
            centres, labels = self._fit_in_blocks(unchecked, axes)
        else:
            centres, labels = self._fit_in_memory(unchecked, axes)

        self.axes_ = axes
        self.depth_ = profiles["depth"].values
        self.variable_ = _variable_description(da)
        self.centres_ = self._centres_dataarray(centres)
        self.labels_ = self._labels_dataarray(
            labels.reshape(profiles.shape[:-1]), profiles, da.dims
        )
        self.counts_ = self._counts_dataarray(labels[labels != MISSING_LABEL])
        self._finish_fit()
        return self

    def _fit_in_memory(
        self, unchecked: UncheckedProfiles, axes: Axes
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ordered centres and flat labels, from profiles loaded as one array."""
        profiles, values = _computed_with_check(
            unchecked, _depth_first_values, "reading the model"
        )
        matrix = profile_rows(np.moveaxis(values, 0, -1))
        valid = complete_profiles(matrix)
        self._check_enough_profiles(profiles, int(valid.sum()))

        # The complete profiles in canonical order: one copy serves the fit and
        # the labelling, whose results are put back on the grid's rows.
        canonical_rows = _canonical_rows(profiles, axes)
        training_rows = canonical_rows[valid[canonical_rows]]
        in_place = training_rows.size == matrix.shape[0] and np.array_equal(
            training_rows, np.arange(matrix.shape[0])
        )
        training = matrix if in_place else _rows_in_layout(matrix, training_rows)
        centres, nearest = self._fit_centres(training)
        order = _centre_order(centres)
        centres = centres[order]

        labels = np.full(matrix.shape[0], MISSING_LABEL, dtype="int32")
        if nearest is None:
            labels[training_rows], distances = self._nearest(training, centres)
            self._record_fit_quality(distances)
        else:
            labels[training_rows] = np.argsort(order)[nearest]
        self._record_members(training, labels[training_rows])
        return centres, labels

    def _fit_in_blocks(
        self, unchecked: UncheckedProfiles, axes: Axes
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ordered centres and flat labels, the profiles staying in dask chunks."""
        profiles, complete = _computed_with_check(
            unchecked, _completeness, "finding complete profiles"
        )
        self._check_enough_profiles(profiles, int(complete.sum()))

        if profiles.chunks is None:
            profiles = profiles.chunk()

        centres, labels = self._fit_blockwise(
            profiles, complete, _canonical_rows(profiles, axes)
        )
        order = _centre_order(centres)
        renumbered = np.argsort(order).astype("int32")
        labels = labels.ravel()
        labels = np.where(labels == MISSING_LABEL, MISSING_LABEL, renumbered[labels])
        return centres[order], labels.astype("int32")

    def fit_predict(
        self,
        da: xr.DataArray,
        *,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> xr.DataArray:
        """Fit on ``da`` and return its labels (``labels_``).

        Parameters
        ----------
        da : xarray.DataArray
            The velocity model, numpy- or dask-backed, dims in any order.
        lat, lon, depth : str, optional
            Names of the axes, when they cannot be found from attributes or names.

        Returns
        -------
        xarray.DataArray
            The cluster number of every profile on the horizontal dims and
            coordinates of ``da``, -1 where a profile was left out.
        """
        return self.fit(da, lat=lat, lon=lon, depth=depth).labels_

    def _check_enough_profiles(self, profiles: xr.DataArray, valid_count: int) -> None:
        needed = self._min_profiles()
        if valid_count >= needed:
            return

        depths = profiles["depth"].values
        horizontal = [dim for dim in profiles.dims if dim != "depth"]
        coverage = profiles.notnull().mean(horizontal).values
        window = f"{depths[0]:g} to {depths[-1]:g} km"
        if not coverage.any():
            raise InputError(
                f"The data are all NaN in the depth window ({window}); choose a "
                "zrange the data cover."
            )
        problem = (
            f"No profile has values at every depth of the window ({window})"
            if valid_count == 0
            else f"Only {valid_count} profile(s) have values at every depth of the "
            f"window ({window}), fewer than the {needed} clusters asked for"
        )
        fixes = [
            _better_window(coverage, depths),
            "nan='fill' to fill gaps inside profiles",
            "fewer clusters" if valid_count else None,
        ]
        raise InputError(f"{problem}; try {', or '.join(filter(None, fixes))}.")

    # ------------------------------------------------------------ predicting

    def predict(
        self,
        da: xr.DataArray,
        *,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> xr.DataArray:
        """Label every profile of ``da`` with its nearest fitted centre.

        ``da`` may be another model or region; it is sampled on the fitted depth
        grid (``depth_``), with the fitted NaN policy. ``spacing`` is not applied:
        every node of ``da`` gets a label. Lazy when ``da`` is dask-backed.

        Parameters
        ----------
        da : xarray.DataArray
            A velocity model covering the fitted depth window.
        lat, lon, depth : str, optional
            Names of the axes, when they cannot be found from attributes or names.

        Returns
        -------
        xarray.DataArray
            int32 labels on the horizontal dims and coordinates of ``da``, with
            ``MISSING_LABEL`` (-1) where a profile has missing values.
        """
        self._check_fitted()
        axes = find_axes(da, lat=lat, lon=lon, depth=depth)
        profiles = prepare_profiles(
            da, axes, replace(self.spec, spacing=1), depths=self.depth_
        )
        labels = xr.apply_ufunc(
            self._label_block,
            profiles,
            input_core_dims=[["depth"]],
            dask="parallelized",
            output_dtypes=[np.int32],
        )
        return self._labels_dataarray(labels.data, profiles, da.dims)

    def _label_block(self, values: np.ndarray) -> np.ndarray:
        """Labels of a block of profiles ``(..., depth)``, -1 where incomplete."""
        rows = values.reshape(-1, values.shape[-1])
        valid = ~np.isnan(rows).any(axis=1)
        labels = np.full(rows.shape[0], MISSING_LABEL, dtype="int32")
        if valid.any():
            labels[valid] = self._nearest_labels(rows[valid], self.centres_.values)
        return labels.reshape(values.shape[:-1])

    def _nearest_labels(self, profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Index of the nearest centre of each profile, when no distance is needed."""
        nearest, _ = self._nearest(profiles, centres)
        return nearest

    def _nearest(
        self, profiles: np.ndarray, centres: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Index of, and distance to, the nearest centre of each profile."""
        distances = self._distances(profiles, centres)
        nearest = np.argmin(distances, axis=1).astype("int32")
        return nearest, distances[np.arange(distances.shape[0]), nearest]

    # --------------------------------------------------------------- results

    def _check_fitted(self) -> None:
        if "centres_" not in self.__dict__:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call .fit(da) first."
            )

    def _labels_dataarray(
        self, labels: Any, profiles: xr.DataArray, input_dims: tuple
    ) -> xr.DataArray:
        template = profiles.isel(depth=0, drop=True)
        horizontal_order = [dim for dim in input_dims if dim in template.dims]
        n_clusters = self.centres_.sizes["cluster"]
        attrs = {
            "long_name": "cluster number",
            "flag_values": np.arange(n_clusters, dtype="int32"),
            "flag_meanings": " ".join(f"cluster_{i}" for i in range(n_clusters)),
            "missing_label": np.int32(MISSING_LABEL),
            "comment": (
                f"{MISSING_LABEL} marks profiles left out (missing values in the "
                "depth window). Clusters are numbered by the mean velocity of "
                "their centre, slowest first."
            ),
            "method": self.method,
            "xvcluster_params": json.dumps(self.get_params()),
        }
        labels_da = xr.DataArray(
            labels,
            dims=template.dims,
            coords=template.coords,
            name="labels",
            attrs=attrs,
        ).transpose(*horizontal_order)
        labels_da.encoding["_FillValue"] = np.int32(MISSING_LABEL)
        return labels_da

    def _centres_dataarray(self, centres: np.ndarray) -> xr.DataArray:
        name = self.variable_["long_name"]
        return xr.DataArray(
            centres,
            dims=("cluster", "depth"),
            coords={
                "cluster": (
                    "cluster",
                    np.arange(centres.shape[0], dtype="int32"),
                    {"long_name": "cluster number"},
                ),
                "depth": ("depth", self.depth_, DEPTH_ATTRS),
            },
            name="centres",
            attrs={
                "long_name": f"{name} at the cluster centre",
                "units": self.variable_["units"],
            },
        )

    def _counts_dataarray(self, valid_labels: np.ndarray) -> xr.DataArray:
        n_clusters = self.centres_.sizes["cluster"]
        return xr.DataArray(
            np.bincount(valid_labels, minlength=n_clusters).astype("int64"),
            dims="cluster",
            coords={"cluster": self.centres_["cluster"]},
            name="counts",
            attrs={"long_name": "number of profiles in the cluster"},
        )

    def result(self) -> xr.Dataset:
        """Return everything the fit found as one Dataset.

        Returns
        -------
        xarray.Dataset
            ``labels`` on the input's horizontal dims, ``centres`` (cluster,
            depth), ``counts`` (cluster) and the model's own diagnostics, with the
            method, its parameters and the clustered variable in ``attrs``.
        """
        self._check_fitted()
        variables = {
            "labels": self.labels_,
            "centres": self.centres_,
            "counts": self.counts_,
            **self._result_variables(),
        }
        dataset = xr.Dataset(variables)
        dataset.attrs = {
            "title": f"xvcluster {self.method} clustering of {self.variable_['name']}",
            "Conventions": "CF-1.8",
            "xvcluster_model": type(self).__name__,
            "xvcluster_params": json.dumps(self.get_params()),
            "xvcluster_axes": json.dumps(asdict(self.axes_)),
            "xvcluster_variable": json.dumps(self.variable_),
            "xvcluster_version": _version(),
        }
        return dataset

    def to_netcdf(self, path: str, *, overwrite: bool = False) -> None:
        """Save the fitted model as netCDF (:meth:`result`), atomically.

        Parameters
        ----------
        path : str or path-like
            Where to write. The file appears whole or not at all.
        overwrite : bool, default False
            Replace ``path`` if it exists; otherwise an existing file is an error.
        """
        from .io import write_netcdf

        write_netcdf(self.result(), path, overwrite=overwrite)

    @classmethod
    def _from_result(cls, dataset: xr.Dataset) -> ProfileModel:
        """Rebuild a fitted model from a Dataset made by :meth:`result`."""
        model = cls(**json.loads(dataset.attrs["xvcluster_params"]))
        axes = json.loads(dataset.attrs["xvcluster_axes"])
        model.axes_ = Axes(
            **{**axes, "horizontal_dims": tuple(axes["horizontal_dims"])}
        )
        model.variable_ = json.loads(dataset.attrs["xvcluster_variable"])
        model.depth_ = dataset["depth"].values
        model.centres_ = dataset["centres"]
        model.labels_ = dataset["labels"]
        model.counts_ = dataset["counts"]
        model._restore(dataset)
        return model


def model_class(name: str) -> type[ProfileModel]:
    """Return the model class saved under ``name`` in a result file."""
    return _MODEL_CLASSES[name]


def member_means(
    profiles: np.ndarray, labels: np.ndarray, n_clusters: int
) -> np.ndarray:
    """Mean profile ``(cluster, depth)`` of the members of clusters ``0 .. k-1``.

    ``profiles`` is ``(profile, depth)`` and ``labels`` the cluster of each;
    profiles labelled ``MISSING_LABEL`` are left out, missing values are
    skipped, and a cluster without members gets NaN.
    """
    members = xr.DataArray(profiles.astype("float64"), dims=("profile", "depth"))
    cluster = xr.DataArray(labels, dims="profile", name="cluster")
    means = members.groupby(cluster).mean().reindex(cluster=np.arange(n_clusters))
    return means.transpose("cluster", "depth").values


def _computed_with_check(
    unchecked: UncheckedProfiles,
    work: Callable[[xr.DataArray], Any],
    what: str,
) -> tuple[xr.DataArray, Any]:
    """Check the model's values and compute ``work`` on the profiles to use.

    A dask-backed model is read once for both, its profiles taken unmasked;
    only if it holds impossible values is ``work`` done again on the masked
    profiles.

    Returns
    -------
    profiles : xarray.DataArray
        The checked profiles.
    result
        ``work(profiles)``, computed.
    """
    first = unchecked.masked if unchecked.unmasked is None else unchecked.unmasked
    if first.chunks is None:
        return unchecked.checked(), work(first)

    import dask

    from .progress import computing_with_progress

    with computing_with_progress(what):
        tallies, result = dask.compute(block_tallies(unchecked.window), work(first))
    profiles = unchecked.checked(tallies)
    if profiles is not first:
        with computing_with_progress(what):
            (result,) = dask.compute(work(profiles))
    return profiles, result


def _depth_first_values(profiles: xr.DataArray) -> Any:
    """Values of profiles ``(..., depth)`` with depth moved first, lazily on dask.

    Model files mostly store depth first: their chunks are then gathered by
    plain copies, and the profile matrix is a view of the result.
    """
    if profiles.chunks is None:
        return np.moveaxis(profiles.values, -1, 0)
    return profiles.data.transpose(profiles.ndim - 1, *range(profiles.ndim - 1))


def _completeness(profiles: xr.DataArray) -> Any:
    """Whether each profile has values at every depth, lazily on dask."""
    if profiles.chunks is None:
        return complete_profiles(profiles.values)
    return profiles.data.map_blocks(
        complete_profiles, drop_axis=profiles.ndim - 1, dtype=bool
    )


def _better_window(coverage: np.ndarray, depths: np.ndarray) -> str:
    """Suggest the longest run of depths at which most profiles have values.

    ``coverage`` is the fraction of profiles with a value at each depth.
    """
    well_covered = np.concatenate([[False], coverage >= 0.9 * coverage.max(), [False]])
    edges = np.flatnonzero(np.diff(well_covered.astype(int)))
    starts, stops = edges[::2], edges[1::2]
    longest = int(np.argmax(stops - starts))
    top, bottom = depths[starts[longest]], depths[stops[longest] - 1]
    if stops[longest] - starts[longest] < 2 or (top, bottom) == (depths[0], depths[-1]):
        return "a zrange the data cover"
    return f"zrange=({top:g}, {bottom:g}), where most profiles have values"


def _rows_in_layout(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``matrix[rows]`` in the matrix's own layout: depth-major stays depth-major.

    The distance product of the k-means is several times faster on profiles
    stored depth-major, the layout a depth-first model file loads in.
    """
    if matrix.flags.f_contiguous and not matrix.flags.c_contiguous:
        return matrix.T[:, rows].T
    return matrix[rows]


def _canonical_rows(profiles: xr.DataArray, axes: Axes) -> np.ndarray:
    """Row numbers of the profile matrix in canonical (coordinate-sorted) order."""
    grid_shape = profiles.shape[:-1]
    rows = np.arange(int(np.prod(grid_shape))).reshape(grid_shape)
    indexers = canonical_order(profiles, axes)
    for axis, dim in enumerate(profiles.dims[:-1]):
        order = indexers.get(dim)
        if order is not None and np.any(order[1:] < order[:-1]):  # not sorted yet
            rows = np.take(rows, order, axis=axis)
    return rows.ravel()


def _centre_order(centres: np.ndarray) -> np.ndarray:
    """Order of the centres: slowest first by mean velocity, ties from the top."""
    keys = [centres[:, column] for column in reversed(range(centres.shape[1]))]
    return np.lexsort([*keys, centres.mean(axis=1)])


def _variable_description(da: xr.DataArray) -> dict[str, str]:
    name = "velocity" if da.name is None else str(da.name)
    return {
        "name": name,
        "long_name": str(da.attrs.get("long_name", name)),
        "units": str(da.attrs.get("units", "")),
    }


def _version() -> str:
    from . import __version__

    return __version__
