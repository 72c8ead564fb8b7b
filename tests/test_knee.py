"""The knee search: find_knee, smooth_curve, checked_krange, the elbow Dataset."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import xvcluster
from xvcluster import InputError, KMeans, KneeNotFoundWarning
from xvcluster.knee import checked_krange, find_knee, smooth_curve

KS = list(range(2, 12))


def _piecewise(bend: int) -> list[float]:
    """Steep fall up to ``bend``, then nearly flat: a sharp knee at ``bend``."""
    return [
        20.0 - 3.0 * (k - bend) if k <= bend else 20.0 - 0.2 * (k - bend) for k in KS
    ]


def _farthest_below_chord(ks, curve) -> int:
    """The fallback rule of the knee module docstring, computed independently."""
    x = (np.asarray(ks) - ks[0]) / (ks[-1] - ks[0])
    y = np.asarray(curve, dtype=float)
    y = (y - y.min()) / (y.max() - y.min())
    chord = y[0] + (y[-1] - y[0]) * x
    return int(ks[int(np.argmax(chord - y))])


# ---------------------------------------------------------------- find_knee


@pytest.mark.parametrize("bend", [3, 4, 5, 6, 8])
def test_find_knee_on_a_sharp_bend(bend):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        knee = find_knee(KS, _piecewise(bend))
    assert knee == bend
    assert isinstance(knee, int)


def test_find_knee_on_an_inverse_curve():
    curve = [1.0 / k for k in KS]
    knee = find_knee(KS, curve)
    assert knee in KS
    assert 3 <= knee <= 6  # the bend of 1/k over 2..11, not an end


def test_find_knee_on_an_uneven_krange():
    ks = [2, 3, 4, 6, 8, 12, 16]
    curve = [30.0, 20.0, 10.0, 9.0, 8.0, 6.0, 4.0]  # bend at 4
    assert find_knee(ks, curve) == 4


@pytest.mark.parametrize(
    "curve",
    [
        [10.0 - k for k in KS],  # straight line
        [5.0] * len(KS),  # flat, e.g. identical profiles: inertia 0 for every k
    ],
    ids=["straight", "flat"],
)
def test_no_knee_warns_once_and_falls_back_to_smallest_k(curve):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        knee = find_knee(KS, curve)
    assert knee == KS[0]
    # One clear warning of ours, pointing at the caller's line; no stray numpy
    # RuntimeWarning (which `python -W error` would turn into a crash).
    assert [w.category for w in record] == [KneeNotFoundWarning]
    assert record[0].filename == __file__
    assert "knee" in str(record[0].message)
    assert issubclass(KneeNotFoundWarning, xvcluster.XVClusterWarning)


def test_no_knee_on_a_convex_curve_falls_back_to_farthest_below_chord():
    # A sensitivity far too high for the curve: kneed finds no knee.
    curve = [1.0 / k for k in KS]
    with pytest.warns(KneeNotFoundWarning):
        knee = find_knee(KS, curve, sensitivity=100.0)
    assert knee == _farthest_below_chord(KS, curve)
    assert KS[0] < knee < KS[-1]


# ------------------------------------------------------------- smooth_curve


@pytest.mark.parametrize("window", [3, 5, 7])
def test_smooth_keeps_a_linear_curve_including_its_ends(window):
    line = np.linspace(9.0, 1.0, 10)
    smoothed = smooth_curve(line, window)
    assert smoothed.shape == line.shape
    np.testing.assert_allclose(smoothed, line, atol=1e-12)


@pytest.mark.parametrize("window", [3, 5])
def test_smooth_ends_not_biased_like_a_zero_padded_moving_average(window):
    curve = np.array([1.0 / k for k in KS])
    smoothed = smooth_curve(curve, window)
    padded = np.convolve(curve, np.ones(window) / window, mode="same")
    for end in (0, -1):
        ours = abs(smoothed[end] - curve[end])
        theirs = abs(padded[end] - curve[end])
        assert ours < theirs
        assert ours < 0.15 * curve[end]
    # On a line the moving average is visibly off at the ends; ours is exact.
    line = np.linspace(9.0, 1.0, 10)
    padded_line = np.convolve(line, np.ones(window) / window, mode="same")
    assert abs(padded_line[0] - line[0]) > 1.0
    assert smooth_curve(line, window)[0] == pytest.approx(line[0])


def test_smooth_reduces_noise():
    rng = np.random.default_rng(0)
    line = np.linspace(9.0, 1.0, 30)
    noisy = line + rng.normal(0.0, 0.3, line.size)
    smoothed = smooth_curve(noisy, 7)
    assert np.abs(smoothed - line).mean() < np.abs(noisy - line).mean()


@pytest.mark.parametrize("window", [1, 2, 4, 0, -3, 3.0, 11])
def test_smooth_rejects_bad_windows(window):
    with pytest.raises(InputError, match="smooth"):
        smooth_curve(np.linspace(9.0, 1.0, 10), window)


@pytest.mark.parametrize("smooth", [2, 4, 99])
def test_kmeans_rejects_bad_smooth_up_front(smooth):
    with pytest.raises(InputError, match="smooth"):
        KMeans(None, krange=range(2, 9), smooth=smooth)


# ----------------------------------------------------------- checked_krange


def test_checked_krange_sorts_and_deduplicates():
    assert checked_krange([5, 3, 2, 4, 3]) == [2, 3, 4, 5]
    assert checked_krange(range(2, 15)) == list(range(2, 15))
    assert checked_krange(np.arange(2, 6)) == [2, 3, 4, 5]
    assert all(type(k) is int for k in checked_krange(np.arange(2, 6)))


@pytest.mark.parametrize(
    "krange",
    [
        [2, 3],
        [4, 4, 4, 5],
        [],
        [2, 3, 4.0],
        [2, 3, "4"],
        [2, 3, True],
        range(1, 6),
        [0, 2, 3, 4],
        [-1, 2, 3],
        5,
        None,
    ],
)
def test_checked_krange_rejects(krange):
    with pytest.raises(InputError, match="krange") as excinfo:
        checked_krange(krange)
    assert isinstance(excinfo.value, ValueError)


# ------------------------------------------------------------- elbow Dataset


@pytest.fixture(scope="module")
def pnw_elbow() -> xr.Dataset:
    with xvcluster.open_example() as dataset:
        vs = dataset["vs"].load()
    return vs.vcluster.elbow(krange=range(2, 9), zrange=(0, 60), dz=2.0)


def test_elbow_on_pnw(pnw_elbow):
    assert isinstance(pnw_elbow, xr.Dataset)
    np.testing.assert_array_equal(pnw_elbow["k"], np.arange(2, 9))
    inertia = pnw_elbow["inertia"]
    assert inertia.dims == ("k",)
    assert np.all(np.isfinite(inertia)) and np.all(inertia > 0)
    values = inertia.values
    assert values[-1] < values[0]
    # Decreasing overall: no step up bigger than a sliver of the total drop.
    assert np.all(np.diff(values) < 0.05 * (values[0] - values[-1]))
    knee = int(pnw_elbow["knee"])
    assert pnw_elbow["knee"].dims == ()
    assert 2 <= knee <= 8
    assert knee == find_knee(list(range(2, 9)), values)
    assert "inertia_smoothed" not in pnw_elbow


def test_elbow_smooth_adds_smoothed_curve(make_model):
    da = make_model(4)
    elbow = da.vcluster.elbow(krange=range(2, 9), smooth=3)
    assert "inertia_smoothed" in elbow
    assert elbow["inertia_smoothed"].dims == ("k",)
    np.testing.assert_allclose(
        elbow["inertia_smoothed"], smooth_curve(elbow["inertia"].values, 3)
    )
    # The knee is searched on the smoothed curve.
    assert int(elbow["knee"]) == find_knee(
        list(range(2, 9)), elbow["inertia_smoothed"].values
    )


def test_elbow_matches_kmeans_knee(make_model):
    da = make_model(3)
    elbow = da.vcluster.elbow(krange=range(2, 8))
    model = KMeans(None, krange=range(2, 8)).fit(da)
    xr.testing.assert_identical(elbow, model.elbow_)
    assert model.n_clusters_ == int(elbow["knee"]) == 3


def test_kmeans_without_a_knee_warns_and_uses_the_fallback(make_model):
    # Two provinces: k=2 already explains the data and the curve is flat after
    # it, so Kneedle finds no knee inside krange.
    da = make_model(2)
    with pytest.warns(KneeNotFoundWarning):
        model = KMeans(None, krange=range(2, 8)).fit(da)
    inertia = model.elbow_["inertia"].values
    expected = _farthest_below_chord(list(range(2, 8)), inertia)
    assert model.n_clusters_ == int(model.elbow_["knee"]) == expected
    assert model.centres_.sizes["cluster"] == expected
