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

import numpy as np
import xarray as xr

from .errors import ImpossibleValueWarning, InputError, warn

__all__ = ["POSSIBLE_RANGES", "impossible_mask", "report_impossible"]

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


def report_impossible(da: xr.DataArray, impossible: xr.DataArray) -> None:
    """Warn about the impossible values in ``da``, naming each and its count.

    This reads the values (one pass, shared with the mask): call it on what is
    about to be computed anyway. Undecoded fill values declared in the attrs
    are expected, so not reported.

    Parameters
    ----------
    da : xarray.DataArray
        The model values that enter the profiles (window and thinning applied).
    impossible : xarray.DataArray
        Its :func:`impossible_mask`.

    Raises
    ------
    InputError
        If most of the values are impossible for the units the array declares:
        the units are then wrong, not the values.
    """
    distinct, counts, finite_count = _tally_impossible(da, impossible)
    declared = _declared_missing(da)
    if declared:
        expected = np.isin(distinct, declared)
        distinct, counts = distinct[~expected], counts[~expected]
    found_count = int(counts.sum())
    if found_count == 0:
        return

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


def _tally_impossible(
    da: xr.DataArray, impossible: xr.DataArray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct impossible values, how often each occurs, and the finite count.

    One read of the values serves all three. On dask each chunk is tallied
    where it is read, so memory stays bounded by the chunks.
    """
    if da.chunks is None:
        parts = [_tally_block(da.values, impossible.values)]
    else:
        import dask

        blocks = zip(
            da.data.to_delayed().ravel(),
            impossible.data.to_delayed().ravel(),
            strict=True,
        )
        parts = dask.compute(
            *[dask.delayed(_tally_block)(values, mask) for values, mask in blocks]
        )

    distinct, position = np.unique(
        np.concatenate([part[0] for part in parts]), return_inverse=True
    )
    counts = np.bincount(
        position,
        weights=np.concatenate([part[1] for part in parts]),
        minlength=distinct.size,
    ).astype("int64")
    return distinct, counts, sum(part[2] for part in parts)


def _tally_block(
    values: np.ndarray, impossible: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_tally_impossible` of one block."""
    distinct, counts = np.unique(values[impossible], return_counts=True)
    return distinct, counts, int(np.isfinite(values).sum())
