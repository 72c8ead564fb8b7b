"""SOM: one numbering everywhere, reproducible, lazy predict, save/load, bad input."""

from __future__ import annotations

import io
import json
import math
import sys
import warnings

import numpy as np
import pytest
import xarray as xr

import xvcluster
from xvcluster import SOM, InputError, NotFittedError, SOMNeighbourhoodWarning
from xvcluster.cli import RESULT_FILE, main
from xvcluster.som import auto_grid_side

WINDOW = {"zrange": (0, 60), "dz": 2.0}
QUICK = {"iterations": 2000, **WINDOW}


@pytest.fixture(scope="module")
def pnw_som(pnw) -> SOM:
    """A SOM on PNW10-S with the automatic grid, fitted once for this module."""
    return SOM(**QUICK).fit(pnw)


@pytest.fixture(scope="module")
def delph_som(delph) -> SOM:
    """A 4 x 3 SOM on the NaN-rich Delph2018 model."""
    return SOM((4, 3), iterations=1000, **WINDOW).fit(delph)


def _profile_matrix(da: xr.DataArray, model: SOM) -> np.ndarray:
    """The model's profiles of ``da`` as (profile, depth), in labels order."""
    profiles = da.vcluster.profiles(zrange=model.spec.zrange, dz=model.spec.dz)
    profiles = profiles.transpose(*model.labels_.dims, "depth")
    return profiles.values.reshape(-1, profiles.sizes["depth"]).astype("float64")


def _node_distances(profiles: np.ndarray, model: SOM) -> np.ndarray:
    """Distance (profile, node) to every node of the grid, node index x * ny + y."""
    nodes = model.node_weights_.values.reshape(-1, model.node_weights_.sizes["depth"])
    return np.linalg.norm(profiles[:, None, :] - nodes[None, :, :], axis=-1)


def _node_of_label(model: SOM, labels: np.ndarray) -> np.ndarray:
    node_x = model.centres_["node_x"].values[labels]
    node_y = model.centres_["node_y"].values[labels]
    return node_x * model.grid_[1] + node_y


# -------------------------------------------------------------- the grid


@pytest.mark.parametrize("n_profiles", [2, 15, 16, 17, 80, 81, 82, 2401, 5777, 64_800])
def test_auto_grid_side_is_ceil_of_the_fourth_root(n_profiles):
    side = auto_grid_side(n_profiles)
    assert side**4 >= n_profiles > (side - 1) ** 4
    if round(n_profiles**0.25) ** 4 != n_profiles:  # float is exact off the powers
        assert side == math.ceil(n_profiles**0.25)


def test_auto_grid_on_the_example_model(pnw, pnw_som):
    n_profiles = pnw.sizes["latitude"] * pnw.sizes["longitude"]
    assert pnw_som.grid_ == (math.ceil(n_profiles**0.25),) * 2 == (9, 9)
    assert pnw_som.node_weights_.sizes == {"grid_x": 9, "grid_y": 9, "depth": 31}
    assert json.loads(pnw_som.labels_.attrs["xvcluster_params"])["grid"] is None


def test_given_grid_is_used(delph_som):
    assert delph_som.grid_ == (4, 3)
    assert delph_som.umatrix_.sizes == {"grid_x": 4, "grid_y": 3}
    assert delph_som.n_clusters_ <= 12


# -------------------------------------------- one numbering, everywhere


def test_every_profile_is_labelled_with_its_winning_node(pnw, pnw_som):
    profiles = _profile_matrix(pnw, pnw_som)
    winners = _node_distances(profiles, pnw_som).argmin(axis=1)
    labels = pnw_som.labels_.values.ravel()
    np.testing.assert_array_equal(_node_of_label(pnw_som, labels), winners)


def test_centres_are_the_populated_nodes_in_numbering_order(pnw_som):
    centres = pnw_som.centres_
    n_clusters = pnw_som.n_clusters_
    assert centres.dims == ("cluster", "depth")
    np.testing.assert_array_equal(centres["cluster"], np.arange(n_clusters))
    assert centres["node_x"].dtype == centres["node_y"].dtype == np.int32

    node_weights = pnw_som.node_weights_.isel(
        grid_x=centres["node_x"], grid_y=centres["node_y"]
    )
    np.testing.assert_array_equal(node_weights.values, centres.values)
    # Slowest first, by the mean velocity of the node's weights, as for k-means.
    assert np.all(np.diff(centres.mean("depth").values) > 0)
    # Each populated node appears once; the labels use every cluster number.
    positions = set(
        zip(centres["node_x"].values, centres["node_y"].values, strict=True)
    )
    assert len(positions) == n_clusters
    assert set(np.unique(pnw_som.labels_)) == set(range(n_clusters))


def test_counts_and_member_means_follow_the_labels(pnw, pnw_som):
    profiles = _profile_matrix(pnw, pnw_som)
    labels = pnw_som.labels_.values.ravel()
    n_clusters = pnw_som.n_clusters_

    np.testing.assert_array_equal(
        pnw_som.counts_.values, np.bincount(labels, minlength=n_clusters)
    )
    assert int(pnw_som.counts_.sum()) == labels.size
    expected = np.stack([profiles[labels == c].mean(axis=0) for c in range(n_clusters)])
    np.testing.assert_allclose(pnw_som.member_means_.values, expected, rtol=1e-12)

    for variable in (pnw_som.counts_, pnw_som.member_means_):
        for position in ("node_x", "node_y"):
            xr.testing.assert_identical(variable[position], pnw_som.centres_[position])


def test_result_carries_one_numbering_and_the_diagnostics(pnw, pnw_som):
    result = pnw_som.result()
    n_clusters = pnw_som.n_clusters_
    for name in ("centres", "member_means", "counts", "node_x", "node_y"):
        assert result[name].sizes["cluster"] == n_clusters
    xr.testing.assert_identical(result["centres"], pnw_som.centres_)
    xr.testing.assert_identical(result["member_means"], pnw_som.member_means_)
    np.testing.assert_array_equal(
        result["labels"].attrs["flag_values"], np.arange(n_clusters)
    )
    assert result["labels"].attrs["method"] == result.attrs["xvcluster_model"].lower()

    profiles = _profile_matrix(pnw, pnw_som)
    distances = np.sort(_node_distances(profiles, pnw_som), axis=1)
    assert float(result["quantisation_error"]) == pytest.approx(
        distances[:, 0].mean(), rel=1e-9
    )

    # Topographic error: the two best nodes are not neighbours (diagonals are).
    best_two = np.argsort(_node_distances(profiles, pnw_som), axis=1)[:, :2]
    x, y = np.divmod(best_two, pnw_som.grid_[1])
    apart = np.maximum(abs(x[:, 0] - x[:, 1]), abs(y[:, 0] - y[:, 1])) > 1
    assert float(result["topographic_error"]) == pytest.approx(apart.mean())


def test_umatrix_measures_distance_between_neighbouring_nodes(pnw_som):
    umatrix = pnw_som.umatrix_
    assert umatrix.dims == ("grid_x", "grid_y")
    np.testing.assert_array_equal(umatrix["grid_x"], np.arange(9))
    assert float(umatrix.max()) == 1.0 and float(umatrix.min()) > 0

    weights = pnw_som.node_weights_.values
    corner_neighbours = [weights[1, 0], weights[0, 1], weights[1, 1]]
    corner = np.mean([np.linalg.norm(weights[0, 0] - w) for w in corner_neighbours])
    middle = np.mean(
        [
            np.linalg.norm(weights[4, 4] - weights[4 + i, 4 + j])
            for i in (-1, 0, 1)
            for j in (-1, 0, 1)
            if (i, j) != (0, 0)
        ]
    )
    assert umatrix.values[0, 0] / umatrix.values[4, 4] == pytest.approx(corner / middle)


def test_members_of_a_cluster_share_a_planted_province(make_model):
    da, truth = make_model(4, return_provinces=True)
    model = SOM((3, 3), iterations=500).fit(da)
    for cluster in range(model.n_clusters_):
        provinces = np.unique(truth.values[model.labels_.values == cluster])
        assert provinces.size == 1
    # Numbered by mean velocity: a faster province never gets a lower number.
    first_cluster = [model.labels_.values[truth.values == p].min() for p in range(4)]
    assert first_cluster == sorted(first_cluster)


# ----------------------------------------------------- reproducibility


def test_same_seed_gives_identical_results(pnw, pnw_som):
    again = SOM(**QUICK).fit(pnw)
    xr.testing.assert_identical(again.result(), pnw_som.result())


def test_the_seed_drives_the_map(pnw, pnw_som):
    other = SOM(**QUICK, random_state=1).fit(pnw)
    assert not np.array_equal(other.node_weights_, pnw_som.node_weights_)


def test_accessor_som_equals_the_model(pnw, pnw_som):
    labels = pnw.vcluster.som(**QUICK)
    xr.testing.assert_identical(labels, pnw_som.labels_)


def test_training_shows_progress_when_enabled(make_model, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with xvcluster.set_options(progress=True):
        SOM((2, 2), iterations=3000).fit(make_model(2))
    assert "training SOM" in stream.getvalue()
    assert "/3000" in stream.getvalue()  # the bar counts training iterations


# ------------------------------------------- dask, storage order, laziness


def test_dask_input_gives_identical_results(pnw, pnw_som):
    chunked = pnw.chunk({"latitude": 30, "longitude": 20})
    model = SOM(**QUICK).fit(chunked)
    xr.testing.assert_identical(model.result(), pnw_som.result())


def test_transposed_and_flipped_input_give_the_same_clusters(pnw, pnw_som):
    odd = pnw.transpose("longitude", "depth", "latitude").isel(
        latitude=slice(None, None, -1)
    )
    model = SOM(**QUICK).fit(odd)
    assert model.labels_.dims == ("longitude", "latitude")
    xr.testing.assert_identical(
        model.labels_.transpose("latitude", "longitude").sortby("latitude"),
        pnw_som.labels_,
    )
    xr.testing.assert_identical(model.centres_, pnw_som.centres_)


def test_predict_is_lazy_and_matches_fit(pnw, pnw_som, raise_on_compute):
    chunked = pnw.chunk({"latitude": 30, "longitude": 20})
    with raise_on_compute:
        lazy = pnw_som.predict(chunked)
        assert lazy.chunks is not None
        assert lazy.dtype == np.int32
    xr.testing.assert_identical(lazy.compute(), pnw_som.labels_)
    xr.testing.assert_identical(pnw_som.predict(pnw), pnw_som.labels_)


def test_predict_on_another_model_gives_the_nearest_populated_node(delph, pnw_som):
    labels = pnw_som.predict(delph)
    assert labels.dims == ("latitude", "longitude")

    profiles = _profile_matrix(delph, pnw_som)
    complete = ~np.isnan(profiles).any(axis=1)
    assert 0 < complete.sum() < complete.size
    flat = labels.values.ravel()
    np.testing.assert_array_equal(flat == xvcluster.MISSING_LABEL, ~complete)

    centres = pnw_som.centres_.values
    distances = np.linalg.norm(
        profiles[complete][:, None, :] - centres[None, :, :], axis=-1
    )
    np.testing.assert_array_equal(flat[complete], distances.argmin(axis=1))


def test_missing_profiles_are_left_out(delph, delph_som):
    profiles = _profile_matrix(delph, delph_som)
    complete = ~np.isnan(profiles).any(axis=1)
    labels = delph_som.labels_.values.ravel()
    np.testing.assert_array_equal(labels == xvcluster.MISSING_LABEL, ~complete)
    assert int(delph_som.counts_.sum()) == complete.sum()
    assert not delph_som.member_means_.isnull().any()


# ---------------------------------------------------------- save, load


@pytest.mark.parametrize("name", ["pnw_som", "delph_som"])
def test_save_and_load_round_trip(request, name, pnw, tmp_path):
    model = request.getfixturevalue(name)
    path = tmp_path / "som.nc"
    model.to_netcdf(path)
    loaded = xvcluster.load_model(path)

    assert type(loaded) is SOM
    assert loaded.get_params() == model.get_params()
    xr.testing.assert_identical(loaded.result(), model.result())
    assert loaded.grid_ == model.grid_
    assert loaded.n_clusters_ == model.n_clusters_
    assert loaded.quantisation_error_ == model.quantisation_error_
    assert loaded.topographic_error_ == model.topographic_error_
    xr.testing.assert_identical(loaded.umatrix_, model.umatrix_)
    xr.testing.assert_identical(loaded.predict(pnw), model.predict(pnw))


# ------------------------------------------------------------------ CLI


def test_cli_method_som(capsys, tmp_path):
    argv = ["run", "--method", "som", "--grid", "3", "2", "--iterations", "500"]
    status = main([*argv, "--zrange", "0", "60", "--dz", "5", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0
    assert "populated nodes of a 3 x 2 map" in out

    model = xvcluster.load_model(tmp_path / RESULT_FILE)
    assert type(model) is SOM
    assert model.grid_ == (3, 2)
    assert model.get_params()["iterations"] == 500
    counts = [
        int(line.split()[1]) for line in out.splitlines() if line[:7].strip().isdigit()
    ]
    assert counts == list(model.counts_.values)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--method", "som", "--k", "4"], "--grid"),
        (["--grid", "3", "3"], "--method som"),
        (["--sigma", "1.5", "--iterations", "10"], "--iterations --sigma only apply"),
        (["--learning-rate", "0.5"], "--learning-rate only applies to --method som"),
        (["--method", "som", "--krange", "2", "6"], "--krange only applies"),
        (["--method", "som", "--metric", "dtw", "--smooth", "3"], "--metric --smooth"),
        (["--method", "som", "--sigma", "0"], "sigma"),
        (["--method", "som", "--iterations", "0"], "iterations"),
    ],
)
def test_cli_refuses_options_of_the_other_method(capsys, tmp_path, argv, message):
    status = main(["run", *argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert not (tmp_path / RESULT_FILE).exists()


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "grid", [(0, 3), (3,), (3, 3, 3), (2.0, 3), (True, 3), (-2, 2), (1, 1), "3x3", 4]
)
def test_bad_grid(grid):
    with pytest.raises(InputError, match="grid") as excinfo:
        SOM(grid)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("iterations", [0, -5, 2.5, "100", True])
def test_bad_iterations(iterations):
    with pytest.raises(InputError, match="iterations"):
        SOM(iterations=iterations)


@pytest.mark.parametrize("name", ["sigma", "learning_rate"])
@pytest.mark.parametrize("value", [0, -0.1, float("nan"), float("inf"), "0.3", None])
def test_bad_sigma_and_learning_rate(name, value):
    with pytest.raises(InputError, match=name):
        SOM(**{name: value})


def test_sigma_wider_than_the_grid_warns_once_in_our_words(make_model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SOM((2, 2), sigma=3.0, iterations=200).fit(make_model(2))
    assert [warning.category for warning in caught] == [SOMNeighbourhoodWarning]
    assert "sigma=3" in str(caught[0].message)
    assert caught[0].filename == __file__


def test_too_few_profiles(make_model):
    da = make_model(2, nlat=3, nlon=3, missing=8)  # one complete profile
    with pytest.raises(InputError, match="Only 1 profile"):
        SOM().fit(da)


@pytest.mark.parametrize("name", ["member_means_", "umatrix_", "topographic_error_"])
def test_results_before_fit(name):
    with pytest.raises(NotFittedError):
        getattr(SOM(), name)
