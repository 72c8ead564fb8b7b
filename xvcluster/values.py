"""What the values of a velocity model can be, and which ones mark missing data.

Model files mark missing values in several ways. Declared ones (``_FillValue``,
``missing_value``) are turned into NaN by xarray when the file is opened; an
array opened without decoding keeps them in its attrs, and they are masked here
all the same. Undeclared sentinels are caught by what is physically possible:

* with units that say what the values are (velocity in km/s or m/s, density in
  g/cm3 or kg/m3, a perturbation in percent), anything outside
  :data:`POSSIBLE_RANGES` is impossible: a negative velocity, -99999 km/s, a
  perturbation below -100 %. CF ``valid_min``/``valid_max``/``valid_range``
  attrs, when present, give the range instead.
* without such units, the conventional sentinels are impossible: +-999, +-9999,
  +-99999, ... (all nines) and magnitudes of 1e15 or more (netCDF's default fill
  value is about 9.97e36).

Impossible values are masked (the profile holding one is left out, like one with
NaN), never clustered; and the values and their counts are reported with an
:class:`~xvcluster.errors.ImpossibleValueWarning`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .errors import ImpossibleValueWarning, InputError, warn

if TYPE_CHECKING:
    import dask.array

__all__ = ["POSSIBLE_RANGES", "block_tallies", "impossible_mask", "report_impossible"]

_KM_PER_S = {
    "km/s",
    "km s-1",
    "km.s-1",
    "km s^-1",
    "km s**-1",
    "kms-1",
    "km/sec",
    "kmps",
    "kms",
    "kilometers per second",
    "kilometres per second",
}
_M_PER_S = {
    "m/s",
    "m s-1",
    "m.s-1",
    "m s^-1",
    "m s**-1",
    "ms-1",
    "m/sec",
    "mps",
    "meters per second",
    "metres per second",
}
_G_PER_CM3 = {"g/cm3", "g/cm^3", "g cm-3", "g.cm-3", "g cm^-3", "g/cc", "gcc"}
_KG_PER_M3 = {"kg/m3", "kg/m^3", "kg m-3", "kg.m-3", "kg m^-3"}
_PERCENT = {"%", "percent", "pct"}

POSSIBLE_RANGES: dict[frozenset[str], tuple[float, float]] = {
    frozenset(_KM_PER_S): (0.0, 20.0),
    frozenset(_M_PER_S): (0.0, 20_000.0),
    frozenset(_G_PER_CM3): (0.0, 20.0),
    frozenset(_KG_PER_M3): (0.0, 20_000.0),
    frozenset(_PERCENT): (-100.0, 100.0),
}
"""Inclusive range of possible values for each family of unit strings.

Velocities and densities are never negative nor above 20 km/s or 20 g/cm3 (the
fastest and densest parts of the Earth reach about 14 km/s and 13 g/cm3); a
perturbation in percent never goes below -100 % (zero velocity), and +-100 %
is far beyond any tomographic model.
"""

# Without units: values of this magnitude or more are fill values.
_HUGE = 1e15
_NINES = np.array([999.0, 9999.0, 99999.0, 999999.0, 9999999.0])

# When more than this share of the values is impossible, the units are wrong.
_MOSTLY = 0.5


def _possible_range(da: xr.DataArray) -> tuple[float, float] | None:
    """The range the values can take, from CF valid_* attrs or the units."""
    attrs = da.attrs
    try:
        if "valid_range" in attrs:
            low, high = np.asarray(attrs["valid_range"], dtype="float64")
            return float(low), float(high)
        if "valid_min" in attrs or "valid_max" in attrs:
            return (
                float(attrs.get("valid_min", -np.inf)),
                float(attrs.get("valid_max", np.inf)),
            )
    except (TypeError, ValueError):
        pass  # not numbers: fall back on the units
    units = str(attrs.get("units", "")).strip().lower()
    for family, possible in POSSIBLE_RANGES.items():
        if units in family:
            return possible
    return None


def _declared_missing(da: xr.DataArray) -> list[float]:
    """Fill values declared in the attrs of an array that was not decoded."""
    declared = []
    for name in ("_FillValue", "missing_value"):
        values = np.atleast_1d(da.attrs.get(name, []))
        if np.issubdtype(values.dtype, np.number):
            declared.extend(values.astype("float64").tolist())
    return declared


def impossible_mask(da: xr.DataArray) -> xr.DataArray:
    """Mark the values that cannot be real data, lazily.

    Parameters
    ----------
    da : xarray.DataArray
        Floating-point model values, with their attrs (``units``, ...).

    Returns
    -------
    xarray.DataArray
        True where a value is impossible for the units (or a conventional
        sentinel, without units) or equals an undecoded declared fill value.
    """
    possible = _possible_range(da)
    if possible is not None:
        low, high = possible
        impossible = (da < low) | (da > high)
    else:
        magnitude = abs(da)
        impossible = (magnitude >= _HUGE) | magnitude.isin(_NINES)
    declared = _declared_missing(da)
    if declared:
        impossible = impossible | da.isin(declared)
    return impossible


def report_impossible(da: xr.DataArray, tallies: np.ndarray | None = None) -> int:
    """Warn about the impossible values in ``da``, naming each and its count.

    Undecoded fill values declared in the attrs are expected, so not reported.

    Parameters
    ----------
    da : xarray.DataArray
        The model values that enter the profiles (window and thinning applied).
    tallies : numpy.ndarray, optional
        ``block_tallies(da)``, computed; if not given, they are computed here,
        which reads a dask-backed ``da`` once.

    Returns
    -------
    int
        How many values :func:`impossible_mask` marks, expected fill values
        included: 0 means ``da`` needs no masking.

    Raises
    ------
    InputError
        If most of the values are impossible for the units the array declares:
        the units are then wrong, not the values.
    """
    if tallies is None:
        tallies = np.asarray(block_tallies(da))
    distinct, counts, finite_count = _combined(tallies.ravel())
    marked_count = int(counts.sum())
    declared = _declared_missing(da)
    if declared:
        expected = np.isin(distinct, declared)
        distinct, counts = distinct[~expected], counts[~expected]
    found_count = int(counts.sum())
    if found_count == 0:
        return marked_count

    units = da.attrs.get("units")
    possible = _possible_range(da)
    if possible is not None and found_count > _MOSTLY * finite_count:
        raise InputError(
            f"{found_count} of the {finite_count} values of {da.name!r} lie outside "
            f"{possible[0]:g} to {possible[1]:g}, the possible range for units "
            f"{units!r} (they span {distinct.min():g} to {distinct.max():g}); "
            "set the right units, e.g. da.attrs['units'] = 'm/s'."
        )

    most_common = np.argsort(counts, kind="stable")[::-1][:5]
    listed = ", ".join(f"{distinct[i]:g} ({counts[i]} times)" for i in most_common)
    rule = (
        f"outside {possible[0]:g} to {possible[1]:g} for units {units!r}"
        if possible is not None
        else "conventional fill values (the data declare no units)"
    )
    warn(
        f"{found_count} values of {da.name!r} are {rule}: {listed}; they are "
        "treated as missing (their profiles are left out, or gaps filled with "
        "nan='fill'). Mask them yourself with da.where(da != value) or declare "
        "them with attrs['missing_value'] to silence this.",
        ImpossibleValueWarning,
    )
    return marked_count


def block_tallies(da: xr.DataArray) -> np.ndarray | dask.array.Array:
    """Tally the impossible values of each block of ``da``.

    Each tally holds the distinct impossible values, how often each occurs,
    and how many values are finite; one read of a block serves all three.

    Parameters
    ----------
    da : xarray.DataArray
        The model values that enter the profiles.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        An object array with one tally per block: computed for a model in
        memory; lazy for a dask-backed one, so that it can be computed in the
        same ``dask.compute`` as other work on ``da`` and share its reads.
    """
    if da.chunks is None:
        return _tally_block_array(da.values, da.attrs)
    return da.data.map_blocks(
        _tally_block_array,
        attrs=da.attrs,
        chunks=tuple((1,) * len(sizes) for sizes in da.data.chunks),
        dtype=object,
        meta=np.empty((0,) * da.ndim, dtype=object),
    )


def _tally_block(values: np.ndarray, attrs: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """Impossible values of one block, how often each occurs, and the finite count."""
    impossible = impossible_mask(xr.DataArray(values, attrs=attrs)).values
    distinct, counts = np.unique(values[impossible], return_counts=True)
    return distinct, counts, int(np.isfinite(values).sum())


def _tally_block_array(values: np.ndarray, attrs: dict) -> np.ndarray:
    """:func:`_tally_block` in a one-element object array (one dask block)."""
    tally = np.empty((1,) * values.ndim, dtype=object)
    tally.ravel()[0] = _tally_block(values, attrs)
    return tally


def _combined(
    tallies: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Add up block tallies: distinct values, their counts, the finite count."""
    distinct, position = np.unique(
        np.concatenate([tally[0] for tally in tallies]), return_inverse=True
    )
    counts = np.bincount(
        position,
        weights=np.concatenate([tally[1] for tally in tallies]),
        minlength=distinct.size,
    ).astype("int64")
    return distinct, counts, sum(tally[2] for tally in tallies)
