"""KMeans: the partition, the labels DataArray, numbering, laziness, bad input."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import adjusted_rand_score

import xvcluster
from xvcluster import InputError, KMeans, NotFittedError

DELPH_PATH = Path(__file__).parent / "data" / "Cascadia-ANT+RF-Delph2018.r0.1.nc"

PNW_WINDOW = {"zrange": (0, 60), "dz": 2.0}


def _tslearn_kmeans():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="h5py not installed")
        from tslearn.clustering import TimeSeriesKMeans
    return TimeSeriesKMeans


def _horizontal_coords(da: xr.DataArray, depth: str = "depth") -> xr.Dataset:
    """The coordinates a labels DataArray of ``da`` must carry."""
    return da.isel({depth: 0}, drop=True).coords.to_dataset()


# ------------------------------------------------------ the partition itself


def test_tslearn_engine_equals_tslearn_on_canonically_ordered_profiles(pnw):
    tslearn_model = KMeans(5, engine="tslearn", **PNW_WINDOW).fit(pnw)
    profiles = pnw.vcluster.profiles(**PNW_WINDOW)
    assert profiles.dims == ("latitude", "longitude", "depth")
    # PNW10-S stores longitude descending; the fit sees profiles coordinate-sorted.
    assert pnw["longitude"].values[0] > pnw["longitude"].values[-1]
    ordered = profiles.sortby(["latitude", "longitude"])
    series = ordered.values.reshape(-1, ordered.sizes["depth"]).astype("float64")

    direct = _tslearn_kmeans()(
        n_clusters=5, metric="euclidean", n_init=1, random_state=0
    ).fit(series[:, :, np.newaxis])

    ours = tslearn_model.labels_.sortby(["latitude", "longitude"]).values.ravel()
    assert adjusted_rand_score(direct.labels_, ours) == 1.0

    # The centres are tslearn's centres, renumbered slowest first.
    centres = direct.cluster_centers_[:, :, 0]
    by_mean = np.argsort(centres.mean(axis=1))
    np.testing.assert_allclose(
        tslearn_model.centres_.values, centres[by_mean], rtol=1e-10
    )
    np.testing.assert_array_equal(tslearn_model.depth_, np.arange(0.0, 61.0, 2.0))


def test_labels_dataarray_on_the_input_grid(pnw, pnw_model):
    labels = pnw_model.labels_
    assert labels.dims == ("latitude", "longitude")
    assert labels.dtype == np.int32
    xr.testing.assert_equal(labels.coords.to_dataset(), _horizontal_coords(pnw))
    assert not (labels == xvcluster.MISSING_LABEL).any()
    assert set(np.unique(labels.values)) == set(range(5))

    np.testing.assert_array_equal(labels.attrs["flag_values"], np.arange(5))
    assert labels.attrs["flag_values"].dtype == np.int32
    assert len(labels.attrs["flag_meanings"].split()) == 5
    assert labels.attrs["method"] == "kmeans"
    params = json.loads(labels.attrs["xvcluster_params"])
    assert params["n_clusters"] == 5
    assert params["zrange"] == [0, 60]
    assert params["dz"] == 2.0

    assert pnw_model.n_clusters_ == 5
    assert pnw_model.centres_.dims == ("cluster", "depth")
    assert pnw_model.centres_.sizes == {"cluster": 5, "depth": 31}
    np.testing.assert_array_equal(pnw_model.centres_["cluster"], np.arange(5))
    np.testing.assert_array_equal(
        pnw_model.counts_.values, np.bincount(labels.values.ravel(), minlength=5)
    )
    assert (
        int(pnw_model.counts_.sum()) == pnw.sizes["latitude"] * pnw.sizes["longitude"]
    )
    assert pnw_model.inertia_ > 0


def test_fit_predict_returns_labels(pnw, pnw_model):
    labels = KMeans(5, **PNW_WINDOW).fit_predict(pnw)
    xr.testing.assert_identical(labels, pnw_model.labels_)


# ----------------------------------------------------------- the numbering


def test_clusters_numbered_by_mean_velocity_of_centre(pnw_model):
    means = pnw_model.centres_.mean("depth").values
    assert np.all(np.diff(means) > 0)


def test_numbering_independent_of_seed(make_model):
    da, truth = make_model(4, return_provinces=True)

    # Guard: tslearn alone numbers the clusters differently for these seeds.
    series = da.vcluster.profiles().values.reshape(-1, da.sizes["depth"])
    raw_orders = set()
    for seed in range(4):
        estimator = _tslearn_kmeans()(n_clusters=4, random_state=seed)
        centres = estimator.fit(series[:, :, np.newaxis]).cluster_centers_
        raw_orders.add(tuple(np.argsort(centres[:, :, 0].mean(axis=1))))
    assert len(raw_orders) > 1

    first = None
    for seed in range(4):
        model = KMeans(4, random_state=seed).fit(da)
        # Planted province p is faster than p - 1 at every depth: it is cluster p.
        np.testing.assert_array_equal(model.labels_.values, truth.values)
        if first is None:
            first = model
        else:
            xr.testing.assert_identical(
                model.labels_.drop_attrs(), first.labels_.drop_attrs()
            )
            np.testing.assert_allclose(model.centres_, first.centres_)


def test_second_identical_run_gives_identical_results(pnw, pnw_model):
    again = KMeans(5, **PNW_WINDOW).fit(pnw)
    xr.testing.assert_identical(again.labels_, pnw_model.labels_)
    xr.testing.assert_identical(again.centres_, pnw_model.centres_)
    xr.testing.assert_identical(again.counts_, pnw_model.counts_)


def test_accessor_kmeans_equals_model(pnw, pnw_model):
    labels = pnw.vcluster.kmeans(5, **PNW_WINDOW)
    xr.testing.assert_identical(labels, pnw_model.labels_)


# ---------------------------------------------------- dask, order, laziness


def test_dask_input_gives_identical_results(pnw, pnw_model):
    chunked = pnw.chunk({"latitude": 30, "longitude": 20})
    model = KMeans(5, **PNW_WINDOW).fit(chunked)
    xr.testing.assert_identical(model.labels_, pnw_model.labels_)
    xr.testing.assert_identical(model.centres_, pnw_model.centres_)
    xr.testing.assert_identical(model.counts_, pnw_model.counts_)


def test_predict_is_lazy_and_matches_fit(pnw, pnw_model, raise_on_compute):
    chunked = pnw.chunk({"latitude": 30, "longitude": 20})
    with raise_on_compute:
        lazy = pnw_model.predict(chunked)
        assert lazy.chunks is not None
        assert lazy.dtype == np.int32
        assert lazy.dims == ("latitude", "longitude")
    xr.testing.assert_identical(lazy.compute(), pnw_model.labels_)


def test_predict_numpy_matches_fit(pnw, pnw_model):
    xr.testing.assert_identical(pnw_model.predict(pnw), pnw_model.labels_)


def test_transposed_input_gives_same_labels_in_input_order(pnw, pnw_model):
    transposed = pnw.transpose("longitude", "depth", "latitude")
    model = KMeans(5, **PNW_WINDOW).fit(transposed)
    assert model.labels_.dims == ("longitude", "latitude")
    xr.testing.assert_identical(
        model.labels_.transpose("latitude", "longitude"), pnw_model.labels_
    )
    np.testing.assert_array_equal(model.centres_, pnw_model.centres_)

    predicted = pnw_model.predict(transposed)
    assert predicted.dims == ("longitude", "latitude")
    xr.testing.assert_identical(
        predicted.transpose("latitude", "longitude"), pnw_model.labels_
    )


def test_descending_latitude_gives_same_labels(pnw, pnw_model):
    flipped = pnw.isel(latitude=slice(None, None, -1))
    model = KMeans(5, **PNW_WINDOW).fit(flipped)
    # Labels follow the input's coordinate order ...
    np.testing.assert_array_equal(
        model.labels_["latitude"].values, flipped["latitude"].values
    )
    # ... and the partition and numbering do not depend on it.
    xr.testing.assert_identical(model.labels_.sortby("latitude"), pnw_model.labels_)
    np.testing.assert_array_equal(model.centres_, pnw_model.centres_)


def test_synthetic_model_any_storage_same_labels(make_model):
    da, truth = make_model(3, return_provinces=True)
    reference = KMeans(3).fit(da).labels_
    np.testing.assert_array_equal(reference.values, truth.values)

    odd = make_model(3, dims=("lon", "depth", "lat"), descending=True, depth_units="m")
    labels = KMeans(3).fit(odd).labels_
    assert labels.dims == ("lon", "lat")
    xr.testing.assert_equal(
        labels.sortby(["lat", "lon"]).transpose("lat", "lon").drop_attrs(),
        reference.drop_attrs(),
    )


# ---------------------------------------------------------- missing values


def test_delph_missing_profiles_get_minus_one(delph, delph_model):
    profiles = delph.vcluster.profiles(**PNW_WINDOW)
    complete = ~profiles.isnull().any("depth")
    n_complete = int(complete.sum())
    assert 0 < n_complete < complete.size  # the test needs both kinds

    labels = delph_model.labels_
    assert labels.dtype == np.int32
    assert labels.dims == ("latitude", "longitude")
    np.testing.assert_array_equal(
        (labels == xvcluster.MISSING_LABEL).values, ~complete.values
    )
    assert labels.where(complete).min() >= 0
    assert int(delph_model.counts_.sum()) == n_complete
    np.testing.assert_array_equal(
        delph_model.counts_.values,
        np.bincount(labels.values[complete.values], minlength=4),
    )
    # The 2-D projected coordinates come along.
    for name in ("easting", "northing"):
        assert name in labels.coords
        assert labels[name].dims == ("latitude", "longitude")
    xr.testing.assert_equal(labels.coords.to_dataset(), _horizontal_coords(delph))


def test_nan_fill_keeps_profiles_with_interior_gaps(make_model):
    da, truth = make_model(3, return_provinces=True)
    da = da.copy(deep=True)
    gaps = [(0, 0), (3, 4), (7, 9), (11, 2)]  # (lat, lon) with a gap inside
    tops = [(5, 5), (9, 1)]  # (lat, lon) with no data at the surface
    for i, j in gaps:
        da[3:6, i, j] = np.nan
    for i, j in tops:
        da[0, i, j] = np.nan

    dropped = KMeans(3, nan="drop").fit(da)
    filled = KMeans(3, nan="fill").fit(da)

    n_nodes = da.sizes["lat"] * da.sizes["lon"]
    assert int(dropped.counts_.sum()) == n_nodes - len(gaps) - len(tops)
    assert int(filled.counts_.sum()) == n_nodes - len(tops)
    for i, j in gaps:
        assert dropped.labels_.values[i, j] == -1
        assert filled.labels_.values[i, j] == truth.values[i, j]
    for i, j in tops:  # never extrapolated
        assert filled.labels_.values[i, j] == -1


# -------------------------------------------------------- other regions


def test_predict_on_another_region(pnw):
    north = pnw.sel(latitude=slice(43.65, None))
    south = pnw.sel(latitude=slice(None, 43.6))
    assert north.sizes["latitude"] + south.sizes["latitude"] == pnw.sizes["latitude"]
    model = KMeans(5, **PNW_WINDOW).fit(north)

    on_south = model.predict(south)
    assert on_south.dims == ("latitude", "longitude")
    assert on_south.dtype == np.int32
    xr.testing.assert_equal(on_south.coords.to_dataset(), _horizontal_coords(south))
    assert on_south.min() >= 0 and on_south.max() <= 4
    np.testing.assert_array_equal(on_south.attrs["flag_values"], np.arange(5))

    on_whole = model.predict(pnw)
    xr.testing.assert_equal(on_whole.coords.to_dataset(), _horizontal_coords(pnw))
    xr.testing.assert_identical(on_whole.sel(latitude=north["latitude"]), model.labels_)
    xr.testing.assert_identical(on_whole.sel(latitude=south["latitude"]), on_south)


def test_predict_on_model_missing_the_depth_window(pnw_model, pnw):
    shallow = pnw.sel(depth=slice(0, 40))
    with pytest.raises(InputError, match="depth") as excinfo:
        pnw_model.predict(shallow)
    assert isinstance(excinfo.value, ValueError)


def test_spacing_labels_on_thinned_grid(pnw):
    model = KMeans(5, spacing=2, **PNW_WINDOW).fit(pnw)
    thinned = pnw.isel(latitude=slice(None, None, 2), longitude=slice(None, None, 2))
    assert model.labels_.sizes == {"latitude": 55, "longitude": 27}
    xr.testing.assert_equal(
        model.labels_.coords.to_dataset(), _horizontal_coords(thinned)
    )
    assert int(model.counts_.sum()) == 55 * 27
    # predict labels every node, whatever the fitted spacing.
    assert model.predict(pnw).sizes == {"latitude": 109, "longitude": 53}


# -------------------------------------------------------------- the knee


@pytest.mark.parametrize("n_provinces", [3, 4])
def test_n_clusters_none_picks_the_knee(make_model, n_provinces):
    da, truth = make_model(n_provinces, return_provinces=True)
    model = KMeans(None, krange=range(2, 8)).fit(da)
    assert model.n_clusters_ == n_provinces
    assert model.centres_.sizes["cluster"] == n_provinces
    assert isinstance(model.elbow_, xr.Dataset)
    np.testing.assert_array_equal(model.elbow_["k"], np.arange(2, 8))
    assert int(model.elbow_["knee"]) == n_provinces
    assert model.elbow_["inertia"].dims == ("k",)
    np.testing.assert_array_equal(model.labels_.values, truth.values)
    np.testing.assert_array_equal(
        model.labels_.attrs["flag_values"], np.arange(n_provinces)
    )


def test_fixed_n_clusters_has_no_elbow(pnw_model):
    assert pnw_model.elbow_ is None


# ------------------------------------------------------ dtw and softdtw


@pytest.mark.parametrize("metric", ["dtw", "softdtw"])
def test_dtw_metrics_run_on_a_tiny_model(make_model, metric):
    da, truth = make_model(
        3, nlat=4, nlon=3, depths=np.arange(0.0, 41.0, 10.0), return_provinces=True
    )
    model = KMeans(3, metric=metric, max_iter=5, max_iter_barycenter=5).fit(da)
    np.testing.assert_array_equal(model.labels_.values, truth.values)
    assert model.centres_.sizes == {"cluster": 3, "depth": 5}
    assert np.all(np.diff(model.centres_.mean("depth").values) > 0)
    xr.testing.assert_identical(model.predict(da), model.labels_)
    assert json.loads(model.labels_.attrs["xvcluster_params"])["metric"] == metric


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize("n_clusters", [0, 1, -3, 2.0, 5.5, "5", True])
def test_bad_n_clusters(n_clusters):
    with pytest.raises(InputError, match="n_clusters") as excinfo:
        KMeans(n_clusters)
    assert isinstance(excinfo.value, ValueError)


def test_unknown_metric():
    with pytest.raises(InputError, match="cosine") as excinfo:
        KMeans(3, metric="cosine")
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("krange", [[2, 3], [2, 2, 3], range(1, 6), [2, 3, 4.5]])
def test_bad_krange(krange):
    with pytest.raises(InputError, match="krange"):
        KMeans(None, krange=krange)


def test_fewer_valid_profiles_than_clusters(make_model):
    da = make_model(2, nlat=4, nlon=4, missing=14)  # 2 complete profiles
    with pytest.raises(InputError) as excinfo:
        KMeans(3).fit(da)
    assert isinstance(excinfo.value, ValueError)
    message = str(excinfo.value)
    assert re.search(r"\b2\b", message) and re.search(r"\b3\b", message)


def test_too_few_profiles_for_the_krange(make_model):
    da = make_model(2, nlat=2, nlon=3)  # 6 profiles, krange up to 8
    with pytest.raises(InputError):
        KMeans(None, krange=range(2, 9)).fit(da)


@pytest.mark.parametrize("chunks", [None, {"lat": 6}])
def test_all_nan_data(make_model, chunks):
    da = xr.full_like(make_model(3), np.nan)
    if chunks:
        da = da.chunk(chunks)
    with pytest.raises(InputError) as excinfo:
        KMeans(3).fit(da)
    assert isinstance(excinfo.value, ValueError)


# ---------------------------------------------------------- before fit


@pytest.mark.parametrize("name", ["labels_", "centres_", "counts_", "inertia_"])
def test_results_before_fit(name):
    model = KMeans(3)
    with pytest.raises(NotFittedError):
        getattr(model, name)
    assert not hasattr(model, name)  # NotFittedError is an AttributeError


def test_predict_and_result_before_fit(make_model, tmp_path):
    model = KMeans(3)
    with pytest.raises(NotFittedError):
        model.predict(make_model(3))
    with pytest.raises(NotFittedError):
        model.result()
    with pytest.raises(NotFittedError):
        model.to_netcdf(tmp_path / "never.nc")
    assert not (tmp_path / "never.nc").exists()
