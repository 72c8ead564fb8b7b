"""Turn a velocity model into the 1-D depth profiles that get clustered.

Everything here is lazy under dask: the steps are xarray operations and one
numpy kernel applied along depth with :func:`xarray.apply_ufunc`, so nothing is
read or computed until a model is fitted or labels are asked for. Depth is kept
in a single chunk; the horizontal chunks of the input are kept as they are.

The profiles come out on a depth axis called ``depth``, in kilometres below the
surface, positive down, whatever convention and unit the model stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Literal

import numpy as np
import xarray as xr

from .axes import Axes
from .errors import DepthWindowWarning, InputError, warn
from .values import impossible_mask, report_impossible

__all__ = [
    "DEPTH_ATTRS",
    "ProfileSpec",
    "UncheckedProfiles",
    "canonical_order",
    "complete_profiles",
    "prepare_profiles",
    "profile_rows",
    "target_depths",
    "unchecked_profiles",
]

NanPolicy = Literal["drop", "fill"]

DEPTH_ATTRS = {
    "standard_name": "depth",
    "long_name": "depth below the surface",
    "units": "km",
    "positive": "down",
}

# Two depths closer than this (km) are the same depth: 1 mm, far below any
# model's resolution, far above float32 rounding of a coordinate in km.
_SAME_DEPTH_KM = 1e-6


@dataclass(frozen=True)
class ProfileSpec:
    """How profiles are cut from a model: depth window, step, thinning, NaN policy.

    Parameters
    ----------
    zrange : (float, float), optional
        Top and bottom of the depth window in km below the surface, inclusive.
        ``None`` keeps the whole depth range of the data.
    dz : float, optional
        Depth step in km of the uniform grid the profiles are resampled to, by
        linear interpolation along depth only. ``None`` keeps the model's own
        depth samples inside the window.
    spacing : int, default 1
        Keep every ``spacing``-th node along each horizontal dim.
    nan : {"drop", "fill"}, default "drop"
        What happens to a profile with missing values in the window. ``"drop"``
        leaves it out (its label is the fill value). ``"fill"`` first fills gaps
        *inside* the profile by linear interpolation in depth; a profile whose
        data does not reach the top or bottom of the window is still dropped,
        since nothing is ever extrapolated.
    """

    zrange: tuple[float, float] | None = None
    dz: float | None = None
    spacing: int = 1
    nan: NanPolicy = "drop"

    def __post_init__(self) -> None:
        if self.zrange is not None:
            object.__setattr__(self, "zrange", _checked_zrange(self.zrange))
        if self.dz is not None:
            object.__setattr__(self, "dz", _checked_dz(self.dz))
        _check_spacing(self.spacing)
        if self.nan not in ("drop", "fill"):
            raise InputError(
                f"nan={self.nan!r} is not a NaN policy; use 'drop' or 'fill'."
            )


def _checked_zrange(zrange: object) -> tuple[float, float]:
    try:
        top, bottom = (float(value) for value in zrange)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(
            f"zrange={zrange!r} is not two depths; give (top, bottom) in km, "
            "for example zrange=(0, 60)."
        ) from None
    if not (math.isfinite(top) and math.isfinite(bottom)):
        raise InputError(f"zrange={zrange!r} has a non-finite end; give finite km.")
    if top >= bottom:
        raise InputError(
            f"zrange={zrange!r} has its top at or below its bottom; give "
            f"(top, bottom) with top < bottom in km positive down, e.g. "
            f"({min(top, bottom):g}, {max(top, bottom):g})."
        )
    return (top, bottom)


def _checked_dz(dz: object) -> float:
    if isinstance(dz, bool) or not isinstance(dz, Real) or not math.isfinite(dz):
        raise InputError(f"dz={dz!r} is not a number of km; give e.g. dz=2.0.")
    if dz <= 0:
        raise InputError(f"dz={dz!r} must be a positive step in km, e.g. dz=2.0.")
    return float(dz)


def _check_spacing(spacing: object) -> None:
    if isinstance(spacing, bool) or not isinstance(spacing, Integral):
        raise InputError(
            f"spacing={spacing!r} must be a whole number of nodes (1 keeps every "
            "node, 2 every other one)."
        )
    if spacing < 1:
        raise InputError(f"spacing={spacing!r} must be 1 or more (1 keeps every node).")


def _checked_source_depths(depth_km: np.ndarray, name: str) -> np.ndarray:
    """Validate the model's depths (km, positive down) and return them ascending.

    A depth may appear twice in a row: the pair marks a discontinuity, a step in
    velocity at that depth (the first sample, in order of increasing depth, is
    the bottom of the layer above, the second the top of the layer below). A
    depth repeated three times, or depths out of order, are refused.
    """
    if depth_km.size < 2:
        raise InputError(
            f"Depth axis {name!r} has {depth_km.size} value(s); a profile needs at "
            "least two depths."
        )
    if not np.all(np.isfinite(depth_km)):
        raise InputError(
            f"Depth axis {name!r} has non-finite values "
            f"{depth_km[~np.isfinite(depth_km)]!r}; "
            "drop them with .dropna() or .isel() first."
        )
    steps = np.diff(depth_km)
    repeats = np.abs(steps) < _SAME_DEPTH_KM
    moving = steps[~repeats]
    if moving.size == 0 or not (np.all(moving > 0) or np.all(moving < 0)):
        raise InputError(
            f"Depth axis {name!r} is not sorted (values {depth_km!r} km); sort it "
            f"with .sortby({name!r})."
        )
    if np.any(repeats[1:] & repeats[:-1]):
        tripled = depth_km[1:-1][repeats[1:] & repeats[:-1]]
        raise InputError(
            f"Depth axis {name!r} holds the depth(s) {np.unique(tripled)!r} km three "
            "or more times; a discontinuity has two samples at its depth (above "
            "and below the step), so keep two, e.g. with .drop_duplicates(dim, "
            "keep='first') or .isel()."
        )
    return np.sort(depth_km)


def target_depths(spec: ProfileSpec, source_km: np.ndarray) -> np.ndarray:
    """Return the depths (km, ascending) the profiles are sampled at.

    Parameters
    ----------
    spec : ProfileSpec
        The window and step.
    source_km : numpy.ndarray
        The model's depths in km below the surface, ascending.

    Returns
    -------
    numpy.ndarray
        The window's depths: the model's own samples when ``spec.dz`` is None,
        else ``top, top + dz, ...`` down to the bottom of the window.

    Raises
    ------
    InputError
        If the window misses the data or ``dz`` is larger than the window.
    """
    shallowest, deepest = float(source_km[0]), float(source_km[-1])
    top, bottom = spec.zrange if spec.zrange is not None else (shallowest, deepest)

    if bottom < shallowest - _SAME_DEPTH_KM or top > deepest + _SAME_DEPTH_KM:
        raise InputError(
            f"zrange={spec.zrange!r} km lies outside the data, which spans "
            f"{shallowest:g} to {deepest:g} km; choose a window inside that range."
        )
    if top < shallowest - _SAME_DEPTH_KM or bottom > deepest + _SAME_DEPTH_KM:
        warn(
            f"zrange={spec.zrange!r} km reaches past the data ({shallowest:g} to "
            f"{deepest:g} km); clipped to ({max(top, shallowest):g}, "
            f"{min(bottom, deepest):g}) km, since profiles are never extrapolated.",
            DepthWindowWarning,
        )
    top, bottom = max(top, shallowest), min(bottom, deepest)

    if spec.dz is None:
        inside = (source_km >= top - _SAME_DEPTH_KM) & (
            source_km <= bottom + _SAME_DEPTH_KM
        )
        depths = _one_per_depth(source_km[inside])
    else:
        if spec.dz > bottom - top + _SAME_DEPTH_KM:
            raise InputError(
                f"dz={spec.dz!r} km is larger than the depth window ({top:g} to "
                f"{bottom:g} km, {bottom - top:g} km thick); choose dz below "
                f"{bottom - top:g} or widen zrange."
            )
        count = math.floor((bottom - top) / spec.dz + 1e-9) + 1
        depths = np.round(top + spec.dz * np.arange(count), 9)

    if depths.size < 2:
        raise InputError(
            f"The depth window {(top, bottom)!r} km holds {depths.size} depth "
            "sample(s); widen zrange or give a dz so that profiles have at least "
            "two depths."
        )
    return depths


def _one_per_depth(depths_km: np.ndarray) -> np.ndarray:
    """Ascending depths with each discontinuity's pair of samples counted once."""
    apart = np.concatenate([[True], np.diff(depths_km) >= _SAME_DEPTH_KM])
    return depths_km[apart]


def _fill_interior_gaps(
    da: xr.DataArray, depth: str, source_km: np.ndarray
) -> xr.DataArray:
    """Fill NaN between valid samples by linear interpolation in depth.

    The upper sample of a discontinuity is placed a hair above the lower one
    for the fill only, since interpolation needs distinct depths.
    """
    upper_of_pair = np.concatenate([np.diff(source_km) < _SAME_DEPTH_KM, [False]])
    distinct_km = np.where(upper_of_pair, source_km - _SAME_DEPTH_KM / 2, source_km)
    filled = da.assign_coords({depth: distinct_km}).interpolate_na(
        dim=depth, method="linear", use_coordinate=True
    )
    return filled.assign_coords({depth: source_km})


def _interpolation_indices(
    source: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the samples around each target depth, and the upper one's weight.

    A target that falls on a sample uses that sample alone (both indices point
    at it, weight 0), so a missing value beside it cannot spoil it. A target at
    a discontinuity (a depth stored twice) takes the deeper sample, the top of
    the layer below; a target between samples interpolates within one layer.
    """
    last = source.size - 1
    # The first sample deeper than the target, and the deepest one not deeper.
    upper = np.clip(
        np.searchsorted(source, target + _SAME_DEPTH_KM, side="right"), 1, last
    )
    lower = upper - 1

    on_upper = np.abs(target - source[upper]) < _SAME_DEPTH_KM
    on_lower = ~on_upper & (np.abs(target - source[lower]) < _SAME_DEPTH_KM)
    span = np.where(on_upper | on_lower, 1.0, source[upper] - source[lower])
    weight = np.where(on_upper | on_lower, 0.0, (target - source[lower]) / span)
    lower = np.where(on_upper, upper, lower)
    upper = np.where(on_lower, lower, upper)
    return lower, upper, weight


def _resample_last_axis(
    values: np.ndarray, lower: np.ndarray, upper: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """Linear interpolation along the last axis, NaN wherever a neighbour is NaN.

    A block stored depth first (as most model files are) is resampled depth
    first, so that whole layers are copied and the result keeps that layout.
    """
    weight = weight.astype(values.dtype)
    depth_first = np.moveaxis(values, -1, 0)
    if not depth_first.flags.c_contiguous:
        return values[..., lower] * (1 - weight) + values[..., upper] * weight

    weight = weight.reshape((-1,) + (1,) * (values.ndim - 1))
    resampled = depth_first[lower] * (1 - weight) + depth_first[upper] * weight
    return np.moveaxis(resampled, 0, -1)


def complete_profiles(values: np.ndarray) -> np.ndarray:
    """Whether each profile ``(..., depth)`` has a value at every depth.

    Parameters
    ----------
    values : numpy.ndarray
        Profiles with depth on the last axis, in any memory layout.

    Returns
    -------
    numpy.ndarray
        Boolean, the shape of ``values`` without its last axis.
    """
    return ~np.isnan(values.sum(axis=-1))  # a NaN anywhere makes the sum NaN


def profile_rows(values: np.ndarray) -> np.ndarray:
    """Profiles ``(..., depth)`` as a ``(profile, depth)`` matrix, copied if need be.

    Values stored depth first give a column-major view; values stored depth
    last a row-major one; others are copied.

    Parameters
    ----------
    values : numpy.ndarray
        Profiles with depth on the last axis.

    Returns
    -------
    numpy.ndarray
        ``(profile, depth)``, profiles in the C order of the leading axes.
    """
    depth_first = np.moveaxis(values, -1, 0)
    if depth_first.flags.c_contiguous and not values.flags.c_contiguous:
        return depth_first.reshape(values.shape[-1], -1).T
    return values.reshape(-1, values.shape[-1])


def _float_dtype(da: xr.DataArray) -> np.dtype:
    if da.dtype.kind == "b" or not np.issubdtype(da.dtype, np.number):
        raise InputError(
            f"The model {da.name!r} holds {da.dtype} values, not numbers; pick the "
            "velocity variable, e.g. ds['vs']."
        )
    if np.issubdtype(da.dtype, np.complexfloating):
        raise InputError(
            f"The model {da.name!r} holds complex values; give real velocities."
        )
    if da.dtype == np.float32:
        return np.dtype("float32")
    return np.dtype("float64")


def _squeeze_extra_dims(da: xr.DataArray, axes: Axes) -> xr.DataArray:
    """Drop length-1 dims that are neither depth nor horizontal; refuse longer ones."""
    extra = [
        dim for dim in da.dims if dim != axes.depth and dim not in axes.horizontal_dims
    ]
    longer = {str(dim): da.sizes[dim] for dim in extra if da.sizes[dim] > 1}
    if longer:
        first = next(iter(longer))
        raise InputError(
            f"The model has dims {longer!r} besides depth and the horizontal "
            f"{axes.horizontal_dims!r}; select one, e.g. da.isel({first}=0)."
        )
    return da.squeeze(extra, drop=False) if extra else da


def prepare_profiles(
    da: xr.DataArray,
    axes: Axes,
    spec: ProfileSpec,
    depths: np.ndarray | None = None,
    *,
    check_values: bool | None = None,
) -> xr.DataArray:
    """Return the model's profiles on a common depth grid, lazily.

    Parameters
    ----------
    da : xarray.DataArray
        The velocity model, numpy- or dask-backed, dims in any order.
    axes : Axes
        Its axes, from :func:`xvcluster.find_axes`.
    spec : ProfileSpec
        Window, step, thinning and NaN policy.
    depths : numpy.ndarray, optional
        Depths (km below the surface) to sample instead of those ``spec`` gives;
        a fitted model passes its own so that new data lands on the same grid.
    check_values : bool, optional
        Whether to warn about impossible values (sentinels such as -99999; see
        :mod:`xvcluster.values`), naming each and its count. ``None`` checks a
        model held in memory only; ``True`` also reads a dask-backed model once
        for it; ``False`` never checks. Impossible values are treated as
        missing in every case. (A fit checks in its own first read of the
        model: see :func:`unchecked_profiles`.)

    Returns
    -------
    xarray.DataArray
        Dims ``(*axes.horizontal_dims, "depth")``, depth in km positive down and
        in one chunk, float32 if the model is float32 else float64 (integer
        models become float64). Profiles with missing or impossible values are
        kept (as NaN) so that the grid stays whole.

    Raises
    ------
    InputError
        If the depths are not sorted or a depth is stored three times or more,
        if the window misses the data, or if most values are impossible for the
        units the model declares.

    Notes
    -----
    A depth stored twice in a row marks a discontinuity: the first sample (in
    order of increasing depth) is the bottom of the layer above, the second the
    top of the layer below. Depths between samples are interpolated within their
    own layer, never across the step, and a depth exactly at the step takes the
    value below it, as the top of a layer belongs to that layer.
    """
    unchecked = unchecked_profiles(da, axes, spec, depths)
    if check_values or (check_values is None and da.chunks is None):
        return unchecked.checked()
    return unchecked.masked


@dataclass(frozen=True)
class UncheckedProfiles:
    """A model's profiles, lazily, before its values are checked.

    Checking the values (:func:`~xvcluster.values.report_impossible`) reads
    the model. A fit computes the check with its own first read of the
    profiles (:func:`~xvcluster.values.block_tallies` and ``unmasked`` in one
    ``dask.compute``), and when nothing needs masking it goes on without the
    masking, which would copy every chunk at every read.

    Attributes
    ----------
    masked : xarray.DataArray
        The profiles, impossible values as NaN.
    unmasked : xarray.DataArray or None
        The same profiles built without masking: equal to ``masked`` when the
        window holds no impossible value. None for a model in memory (masked
        only if need be already) and with ``nan="fill"``, which may borrow
        values from outside the window.
    window : xarray.DataArray
        The model values the profiles are made from: their check.
    """

    masked: xr.DataArray
    unmasked: xr.DataArray | None
    window: xr.DataArray

    def checked(self, tallies: np.ndarray | None = None) -> xr.DataArray:
        """Report the impossible values and return the profiles to use.

        Parameters
        ----------
        tallies : numpy.ndarray, optional
            ``block_tallies(window)``, computed; read here if not given.

        Returns
        -------
        xarray.DataArray
            ``unmasked`` when there is nothing to mask, else ``masked``.
        """
        marked_count = report_impossible(self.window, tallies)
        if marked_count == 0 and self.unmasked is not None:
            return self.unmasked
        return self.masked


def unchecked_profiles(
    da: xr.DataArray,
    axes: Axes,
    spec: ProfileSpec,
    depths: np.ndarray | None = None,
) -> UncheckedProfiles:
    """Return the model's profiles, masked and unmasked, and what checks them.

    The steps of :func:`prepare_profiles`, lazily, without the check.

    Parameters
    ----------
    da : xarray.DataArray
        The velocity model, numpy- or dask-backed, dims in any order.
    axes : Axes
        Its axes, from :func:`xvcluster.find_axes`.
    spec : ProfileSpec
        Window, step, thinning and NaN policy.
    depths : numpy.ndarray, optional
        Depths (km below the surface) to sample instead of those ``spec`` gives.

    Returns
    -------
    UncheckedProfiles
        See :func:`prepare_profiles` for the profiles and what is refused.
    """
    dtype = _float_dtype(da)
    da = _squeeze_extra_dims(da, axes)

    # Depth as km below the surface, ascending.
    source_km = axes.depth_km(da)
    source_sorted = _checked_source_depths(source_km, axes.depth)
    if source_km[0] > source_km[-1]:
        da = da.isel({axes.depth: slice(None, None, -1)})
    da = da.drop_vars(
        [name for name, coord in da.coords.items() if axes.depth in coord.dims]
    )
    da = da.assign_coords({axes.depth: source_sorted})

    # Thin the grid.
    if spec.spacing > 1:
        da = da.isel(
            {dim: slice(None, None, spec.spacing) for dim in axes.horizontal_dims}
        )

    # A lazily opened file is read here, in its stored order: read after the
    # transpose, it would go through a slower indexed copy.
    da = da.astype(dtype, copy=False).transpose(*axes.horizontal_dims, axes.depth)
    if da.chunks is not None:
        da = da.chunk({axes.depth: -1})

    # The window's depths, and the samples each one is interpolated from.
    if depths is None:
        depths = target_depths(spec, source_sorted)
    elif (
        depths[0] < source_sorted[0] - _SAME_DEPTH_KM
        or depths[-1] > source_sorted[-1] + _SAME_DEPTH_KM
    ):
        raise InputError(
            f"This model spans {source_sorted[0]:g} to {source_sorted[-1]:g} km, but "
            f"the fitted model needs {depths[0]:g} to {depths[-1]:g} km; give a "
            "model that covers the fitted depth window."
        )
    lower, upper, weight = _interpolation_indices(source_sorted, depths)

    # Impossible values (sentinels) become missing, in ``masked``.
    impossible = impossible_mask(da)
    used = {axes.depth: slice(int(lower.min()), int(upper.max()) + 1)}
    needs_mask = da.chunks is not None or bool(impossible.values.any())
    masked = da.where(~impossible) if needs_mask else da
    # Dropped profiles are made from the window alone; filled ones may borrow
    # values from outside it, where nothing is checked.
    maybe_clean = da.chunks is not None and spec.nan == "drop"

    def cut(values: xr.DataArray) -> xr.DataArray:
        if spec.nan == "fill":
            values = _fill_interior_gaps(values, axes.depth, source_sorted)
        if np.array_equal(lower, upper):
            profiles = _samples_at(values, axes.depth, lower)
        else:
            profiles = _interpolated(values, axes.depth, lower, upper, weight)
        return profiles.assign_coords(depth=("depth", depths, DEPTH_ATTRS))

    return UncheckedProfiles(
        masked=cut(masked),
        unmasked=cut(da) if maybe_clean else None,
        window=da.isel(used),
    )


def _samples_at(da: xr.DataArray, depth_dim: str, rows: np.ndarray) -> xr.DataArray:
    """The samples at ``rows`` along depth, when every target falls on a sample.

    A run of consecutive rows is a slice, which copies nothing.
    """
    consecutive = rows.size > 0 and np.array_equal(
        rows, np.arange(rows[0], rows[0] + rows.size)
    )
    picked = slice(int(rows[0]), int(rows[0]) + rows.size) if consecutive else rows
    samples = da.isel({depth_dim: picked}).drop_vars(depth_dim, errors="ignore")
    return samples.rename({depth_dim: "depth"})


def _interpolated(
    da: xr.DataArray,
    depth_dim: str,
    lower: np.ndarray,
    upper: np.ndarray,
    weight: np.ndarray,
) -> xr.DataArray:
    """Profiles interpolated along depth from the samples ``lower`` and ``upper``."""
    profiles = xr.apply_ufunc(
        _resample_last_axis,
        da,
        input_core_dims=[[depth_dim]],
        output_core_dims=[["__depth_km"]],
        exclude_dims={depth_dim},
        kwargs={"lower": lower, "upper": upper, "weight": weight},
        dask="parallelized",
        output_dtypes=[da.dtype],
        dask_gufunc_kwargs={"output_sizes": {"__depth_km": lower.size}},
        keep_attrs=True,
    )
    return profiles.rename({"__depth_km": "depth"})


def _sort_key(profiles: xr.DataArray, name: str, axes: Axes) -> np.ndarray:
    """Values of coordinate ``name`` to sort by; longitudes taken modulo 360."""
    values = np.asarray(profiles[name].values)
    if name == axes.longitude and np.issubdtype(values.dtype, np.number):
        return np.mod(values, 360.0)
    return values


def canonical_order(profiles: xr.DataArray, axes: Axes) -> dict[str, np.ndarray]:
    """Positional indexers that put the horizontal dims in ascending coordinate order.

    Fitting on profiles in this order makes the result independent of how the
    model happens to be stored (latitude north to south, longitude descending,
    longitudes as 0-360 or -180-180, nodes shuffled): the same data always meets
    the seeded initialisation in the same order. Longitudes are compared modulo
    360, so a grid crossing the antimeridian or the Greenwich meridian is
    ordered the same way in either convention.
    """
    indexers: dict[str, np.ndarray] = {}
    for dim in axes.horizontal_dims:
        if dim in profiles.indexes:
            names = [dim]
        else:
            names = [
                name
                for name in (axes.longitude, axes.latitude)
                if name in profiles.coords and profiles[name].dims == (dim,)
            ]
        keys = [_sort_key(profiles, name, axes) for name in names]
        if keys and all(np.issubdtype(key.dtype, np.number) for key in keys):
            indexers[dim] = np.lexsort(keys)
    return indexers
