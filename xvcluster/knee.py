"""Choose the number of clusters at the knee of the inertia curve.

The inertia of k-means falls as k grows; past the "right" k it falls slowly. The
knee is found with kneed's Kneedle algorithm on the (optionally smoothed) curve.

Smoothing uses a Savitzky-Golay filter of order 1 whose ends are fitted, not
padded, so the first and last points are not pulled towards zero or towards a
repeated edge value as a plain moving average would pull them.

When Kneedle finds no knee, :func:`find_knee` warns with
:class:`~xvcluster.errors.KneeNotFoundWarning` and falls back to the k whose point
lies farthest below the straight line joining the first and last points of the
curve (both axes scaled to 0-1); if no point lies below that line (a straight or
concave curve), it falls back to the smallest k tried.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral

import numpy as np
import xarray as xr

from .errors import InputError, KneeNotFoundWarning, warn

__all__ = ["checked_krange", "elbow_dataset", "find_knee", "smooth_curve"]


def checked_krange(krange: Iterable[int]) -> list[int]:
    """Validate the values of k to try and return them sorted."""
    try:
        values = list(krange)
    except TypeError:
        raise InputError(
            f"krange={krange!r} is not a sequence of cluster counts; give e.g. "
            "krange=range(2, 15)."
        ) from None
    if not all(isinstance(k, Integral) and not isinstance(k, bool) for k in values):
        raise InputError(f"krange={krange!r} must hold whole numbers of clusters.")
    ks = sorted({int(k) for k in values})
    if len(ks) < 3:
        raise InputError(
            f"krange={krange!r} has {len(ks)} distinct value(s); a knee needs at least "
            "3, e.g. krange=range(2, 15)."
        )
    if ks[0] < 2:
        raise InputError(f"krange={krange!r} starts below 2; start it at 2 or more.")
    return ks


def smooth_curve(values: Sequence[float], window: int) -> np.ndarray:
    """Smooth a curve with a first-order Savitzky-Golay filter, ends fitted.

    Parameters
    ----------
    values : sequence of float
        The curve, e.g. inertia against k.
    window : int
        Points in the smoothing window; odd, 3 or more, at most the curve length.

    Returns
    -------
    numpy.ndarray
        The smoothed curve, same length.

    Notes
    -----
    Smoothing steadies a noisy curve (k-means runs that land in poorer minima
    at some k), but it also rounds a sharp bend: on a clean curve whose inertia
    collapses at one k, the knee of the smoothed curve can come one step later.
    That is why the knee search does not smooth unless asked.
    """
    from scipy.signal import savgol_filter

    values = np.asarray(values, dtype="float64")
    if not isinstance(window, Integral) or window < 3 or window % 2 == 0:
        raise InputError(
            f"smooth={window!r} must be an odd window of 3 or more points."
        )
    if window > values.size:
        raise InputError(
            f"smooth={window!r} is longer than the curve ({values.size} values of k); "
            "use a smaller window or a longer krange."
        )
    return savgol_filter(values, window_length=window, polyorder=1, mode="interp")


def _farthest_below_chord(ks: np.ndarray, curve: np.ndarray) -> int | None:
    """The k farthest below the chord of the normalised curve, or None."""
    span = curve.max() - curve.min()
    if not np.isfinite(span) or span <= 0:
        return None
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (curve - curve.min()) / span
    chord = y[0] + (y[-1] - y[0]) * x
    below = chord - y
    best = int(np.argmax(below))
    return int(ks[best]) if below[best] > 1e-12 else None


def find_knee(
    ks: Sequence[int], curve: Sequence[float], sensitivity: float = 1.0
) -> int:
    """Return the k at the knee of a decreasing, convex inertia curve.

    Parameters
    ----------
    ks : sequence of int
        The cluster counts, ascending.
    curve : sequence of float
        Inertia (raw or smoothed) at each k.
    sensitivity : float, default 1.0
        Kneedle's ``S``: larger values ask for a more pronounced knee.

    Returns
    -------
    int
        The chosen k. When no knee is found, the fallback described in this
        module's documentation, with a :class:`KneeNotFoundWarning`.
    """
    from kneed import KneeLocator

    ks_array = np.asarray(ks, dtype="float64")
    curve_array = np.asarray(curve, dtype="float64")
    has_shape = np.all(np.isfinite(curve_array)) and np.ptp(curve_array) > 0
    if has_shape:
        locator = KneeLocator(
            ks_array, curve_array, S=sensitivity, curve="convex", direction="decreasing"
        )
        if locator.knee is not None:
            return round(locator.knee)

    fallback = _farthest_below_chord(ks_array, curve_array)
    if fallback is None:
        fallback = int(ks_array[0])
        reason = "the curve has no convex bend"
    else:
        reason = "took the k farthest below the chord of the curve"
    warn(
        f"Found no knee in the inertia curve over k={list(map(int, ks))}; {reason}: "
        f"k={fallback}. Look at the curve (model.elbow_) and pass n_clusters "
        "to choose.",
        KneeNotFoundWarning,
    )
    return fallback


def elbow_dataset(
    ks: Sequence[int],
    inertia: Sequence[float],
    smoothed: np.ndarray | None,
    knee: int,
) -> xr.Dataset:
    """Package an inertia curve and its knee as a Dataset along ``k``."""
    dataset = xr.Dataset(
        {
            "inertia": (
                "k",
                np.asarray(inertia, dtype="float64"),
                {"long_name": "k-means inertia (mean squared distance to the centre)"},
            ),
            "knee": (
                (),
                np.int32(knee),
                {"long_name": "number of clusters at the knee"},
            ),
        },
        coords={
            "k": (
                "k",
                np.asarray(ks, dtype="int32"),
                {"long_name": "number of clusters"},
            )
        },
    )
    if smoothed is not None:
        dataset["inertia_smoothed"] = (
            "k",
            smoothed,
            {"long_name": "inertia smoothed with a first-order Savitzky-Golay filter"},
        )
    return dataset
