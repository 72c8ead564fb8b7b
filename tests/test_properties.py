"""Property-based tests: hypothesis searches generated models for a failure.

The models are small (2-5 x 3-5 nodes, 3-7 depths) and the fits cheap (k-means
with k = 2 to 4, or a k x 1 self-organising map trained 200 steps), so each
property runs its examples in seconds. The number of examples is set
by the hypothesis profile chosen in conftest.py ("ci" by default; set
HYPOTHESIS_PROFILE=dev for a longer search).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import _make_model
from hypothesis import assume, given, note
from hypothesis import strategies as st

import xvcluster
from xvcluster import SOM, ImpossibleValueWarning, KMeans

# ---------------------------------------------------------------- strategies


@st.composite
def depth_grids(draw, discontinuities: bool = False) -> list[float]:
    """Increasing depths in km from 0, steps of 1-20 km; maybe some stored twice."""
    steps = draw(st.lists(st.integers(1, 20), min_size=2, max_size=6))
    depths = np.concatenate([[0.0], np.cumsum(steps)]).tolist()
    if discontinuities:
        inner = list(range(1, len(depths) - 1))
        doubled = draw(st.lists(st.sampled_from(inner), unique=True)) if inner else []
        for index in sorted(doubled, reverse=True):
            depths.insert(index, depths[index])
    return depths


@st.composite
def models(draw) -> xr.DataArray:
    """A seeded synthetic model with planted provinces, noise and missing nodes."""
    # At least 6 nodes, of which at most 3 are missing and 2 have a hole: three
    # or more complete profiles are left for k <= 3.
    nlat, nlon = draw(st.integers(2, 5)), draw(st.integers(3, 5))
    model = _make_model(
        draw(st.sampled_from([2, 3])),
        nlat=nlat,
        nlon=nlon,
        depths=draw(depth_grids()),
        noise=draw(st.sampled_from([0.02, 0.3])),
        missing=draw(st.integers(0, min(3, nlat * nlon - 5))),
        seed=draw(st.integers(0, 2**16)),
    )
    holes = draw(st.integers(0, 2))
    if holes:
        # A few single missing samples: those profiles are incomplete.
        values = model.values.copy()
        flat = np.random.default_rng(holes).choice(values.size, holes, replace=False)
        values.flat[flat] = np.nan
        model = model.copy(data=values)
    return model


@st.composite
def storages(draw) -> dict:
    """How a model may be stored: dim order, flipped axes, dask chunks."""
    return {
        "dims": tuple(draw(st.permutations(["depth", "lat", "lon"]))),
        "flip": draw(st.lists(st.sampled_from(["depth", "lat", "lon"]), unique=True)),
        "chunks": draw(st.sampled_from([None, {"lat": 1}, {"lat": 2, "lon": 3}])),
    }


def stored(da: xr.DataArray, storage: dict) -> xr.DataArray:
    for dim in storage["flip"]:
        da = da.isel({dim: slice(None, None, -1)})
    da = da.transpose(*storage["dims"])
    return da.chunk(storage["chunks"]) if storage["chunks"] else da


def complete_in_window(da: xr.DataArray, depths: np.ndarray) -> xr.DataArray:
    """Whether each node has values at every depth the fit samples."""
    needed = da.sel(depth=slice(depths[0], depths[-1]))
    return needed.notnull().all("depth")


def make_fitter(method: str, k: int, **options):
    """A cheap model of either family: k-means with k clusters, or a k x 1 SOM."""
    if method == "som":
        return SOM((k, 1), iterations=200, sigma=0.5, **options)
    return KMeans(k, **options)


methods = st.sampled_from(["kmeans", "som"])


# ---------------------------------------------------------------- properties


@given(model=models(), storage=storages(), k=st.sampled_from([2, 3, 4]), method=methods)
def test_labels_do_not_depend_on_how_the_model_is_stored(model, storage, k, method):
    # k = 4 splits a planted province in a way that depends on the order the
    # seeded start meets the profiles: only the canonical order makes it stable.
    assume(int(model.notnull().all("depth").sum()) >= k)
    note(f"storage: {storage}")
    reference = make_fitter(method, k).fit(model).labels_
    variant = stored(model, storage)

    labels = make_fitter(method, k).fit(variant).labels_

    horizontal = [dim for dim in variant.dims if dim != "depth"]
    assert labels.dims == tuple(horizontal)
    for dim in horizontal:
        xr.testing.assert_identical(labels[dim], variant[dim])
    xr.testing.assert_equal(
        labels.sortby(["lat", "lon"]).transpose("lat", "lon"), reference
    )


@given(
    model=models(),
    k=st.sampled_from([2, 3]),
    nan=st.sampled_from(["drop", "fill"]),
    method=methods,
)
def test_every_valid_profile_is_labelled_once(model, k, nan, method):
    fitted = make_fitter(method, k, nan=nan).fit(model)
    labels = fitted.labels_

    xr.testing.assert_identical(labels["lat"], model["lat"])
    xr.testing.assert_identical(labels["lon"], model["lon"])
    labelled = labels != xvcluster.MISSING_LABEL
    if nan == "drop":
        xr.testing.assert_equal(labelled, complete_in_window(model, fitted.depth_))
    assert int(fitted.counts_.sum()) == int(labelled.sum())
    np.testing.assert_array_equal(
        fitted.counts_.values,
        np.bincount(labels.values[labelled.values], minlength=fitted.n_clusters_),
    )


@given(model=models(), storage=storages(), k=st.sampled_from([2, 3]), method=methods)
def test_saved_model_loads_equal_and_predicts_equal(model, storage, k, method):
    fitted = make_fitter(method, k).fit(model)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.nc"
        fitted.to_netcdf(path)
        loaded = xvcluster.load_model(path)

    xr.testing.assert_identical(loaded.result(), fitted.result())
    variant = stored(model, storage)
    xr.testing.assert_identical(
        loaded.predict(variant).compute(), fitted.predict(variant).compute()
    )
    xr.testing.assert_equal(
        loaded.predict(variant)
        .compute()
        .sortby(["lat", "lon"])
        .transpose("lat", "lon"),
        fitted.labels_,
    )


@given(
    depths=depth_grids(discontinuities=True),
    dz=st.sampled_from([0.5, 1.0, 2.5, 3.0, 7.0]),
    seed=st.integers(0, 2**16),
    flip=st.booleans(),
)
def test_resampling_follows_each_layer(depths, dz, seed, flip):
    # A random profile per node; where a depth is stored twice the profile
    # steps there, and the resampled profile must follow numpy.interp on each
    # side of the step, with the depth of the step itself taking the value below.
    depths = np.asarray(depths)
    assume(dz <= depths[-1] - depths[0])
    values = np.random.default_rng(seed).uniform(2.0, 5.0, (3, depths.size))
    da = xr.DataArray(
        values,
        dims=("node", "depth"),
        coords={
            "depth": ("depth", depths, {"units": "km", "positive": "down"}),
            "lat": ("node", [40.0, 41.0, 42.0]),
            "lon": ("node", [-120.0, -121.0, -122.0]),
        },
        attrs={"units": "km/s"},
    )
    if flip:
        da = da.isel(depth=slice(None, None, -1))

    profiles = da.vcluster.profiles(dz=dz)

    target = profiles["depth"].values
    layer_of_sample = np.concatenate([[0], np.cumsum(np.diff(depths) == 0)])
    layer_of_target = np.searchsorted(depths[1:][np.diff(depths) == 0], target, "right")
    for layer in np.unique(layer_of_target):
        in_layer = layer_of_sample == layer
        at = layer_of_target == layer
        for node in range(3):
            expected = np.interp(target[at], depths[in_layer], values[node, in_layer])
            np.testing.assert_allclose(profiles.values[node, at], expected, rtol=1e-12)


@given(
    model=models(),
    sentinel=st.sampled_from([-99999.0, 99999.0, -9999.0, -999.0, -1.0, 1e20]),
    picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=3),
    method=methods,
)
def test_impossible_values_are_never_clustered(model, sentinel, picks, method):
    # Plant a sentinel at one depth of a few nodes: those nodes, and only they
    # beside the ones already incomplete, are left out, with a warning.
    model = model.transpose("lat", "lon", "depth")
    values = model.values.copy()
    nodes = sorted({pick % (values.shape[0] * values.shape[1]) for pick in picks})
    rows, columns = np.unravel_index(nodes, values.shape[:2])
    values[rows, columns, 1] = sentinel
    planted = model.copy(data=values)
    complete = complete_in_window(model, np.asarray(model["depth"].values))
    assume(int(complete.sum()) - len(nodes) >= 2)

    with pytest.warns(ImpossibleValueWarning, match=re.escape(f"{sentinel:g} (")):
        fitted = make_fitter(method, 2).fit(planted)

    labelled = fitted.labels_ != xvcluster.MISSING_LABEL
    expected = complete.copy(data=complete.values.copy())
    expected.values[rows, columns] = False
    xr.testing.assert_equal(labelled, expected)
    assert int(fitted.counts_.sum()) == int(expected.sum())
