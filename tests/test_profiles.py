"""Cutting depth profiles out of a velocity model: window, step, thinning, NaN."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xvcluster
from xvcluster import DepthWindowWarning, InputError, XVClusterError, find_axes
from xvcluster.profiles import (
    DEPTH_ATTRS,
    ProfileSpec,
    complete_profiles,
    prepare_profiles,
    profile_rows,
)


def node_values(profiles: xr.DataArray, **where) -> np.ndarray:
    return np.asarray(profiles.isel(where).values)


# ------------------------------------------------------------------- shape


def test_output_dims_depth_values_and_attrs(pnw_vs):
    profiles = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles.dims == ("latitude", "longitude", "depth")
    assert dict(profiles.sizes) == {"latitude": 109, "longitude": 53, "depth": 31}
    np.testing.assert_allclose(profiles["depth"].values, np.arange(0.0, 61.0, 2.0))
    assert profiles["depth"].attrs == DEPTH_ATTRS
    assert profiles["depth"].attrs["units"] == "km"
    assert profiles["depth"].attrs["positive"] == "down"
    xr.testing.assert_identical(profiles["latitude"], pnw_vs["latitude"])
    xr.testing.assert_identical(profiles["longitude"], pnw_vs["longitude"])


def test_output_keeps_the_data_attributes(make_model):
    da = make_model()
    profiles = da.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles.attrs["units"] == da.attrs["units"]
    assert profiles.attrs["long_name"] == da.attrs["long_name"]


@pytest.mark.parametrize(
    "dims",
    [("depth", "lat", "lon"), ("lon", "depth", "lat"), ("lat", "lon", "depth")],
)
def test_output_dims_whatever_the_storage_order(make_model, dims):
    reference = make_model().vcluster.profiles(zrange=(0, 60), dz=3.0)
    profiles = make_model(dims=dims).vcluster.profiles(zrange=(0, 60), dz=3.0)
    assert profiles.dims == ("lat", "lon", "depth")
    xr.testing.assert_identical(profiles, reference)


def test_no_window_no_step_keeps_the_model_unchanged(make_model):
    da = make_model(dims=("lon", "depth", "lat"))
    profiles = da.vcluster.profiles()
    np.testing.assert_array_equal(
        profiles.values, da.transpose("lat", "lon", "depth").values
    )
    np.testing.assert_array_equal(profiles["depth"].values, da["depth"].values)


def test_zrange_is_inclusive_without_dz(pnw_vs):
    profiles = pnw_vs.vcluster.profiles(zrange=(5, 20))
    np.testing.assert_allclose(
        profiles["depth"].values, [5, 7.5, 10, 12.5, 15, 17.5, 20]
    )
    expected = pnw_vs.sel(depth=slice(5, 20)).transpose("latitude", "longitude", ...)
    np.testing.assert_array_equal(profiles.values, expected.values)


@pytest.mark.parametrize(
    ("zrange", "dz", "expected"),
    [
        ((0, 60), 2.0, np.arange(0.0, 61.0, 2.0)),
        ((0, 10), 3.0, [0.0, 3.0, 6.0, 9.0]),  # bottom not on the grid: stop above
        ((10, 20), 2.5, [10.0, 12.5, 15.0, 17.5, 20.0]),
        ((1, 2), 0.1, np.round(np.arange(1.0, 2.05, 0.1), 9)),
    ],
)
def test_dz_grid(pnw_vs, zrange, dz, expected):
    profiles = pnw_vs.vcluster.profiles(zrange=zrange, dz=dz)
    np.testing.assert_allclose(profiles["depth"].values, expected, atol=1e-9)


def test_dz_grid_of_thirty_one_depths(pnw_vs):
    depth = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2).depth.values
    assert depth.size == 31
    assert depth[0] == 0.0
    assert depth[-1] == 60.0


# ----------------------------------------------------------- interpolation


def test_linear_interpolation_matches_numpy_interp(make_model):
    source_depths = np.array([0.0, 3.0, 7.0, 12.0, 20.0, 33.0, 45.0, 60.0])
    da = make_model(depths=source_depths, nlat=4, nlon=3, noise=0.3, seed=7)
    profiles = da.vcluster.profiles(zrange=(0, 60), dz=1.7)
    target = profiles["depth"].values
    np.testing.assert_allclose(target, np.arange(36) * 1.7)
    for i in range(4):
        for j in range(3):
            expected = np.interp(target, source_depths, da.values[:, i, j])
            np.testing.assert_allclose(
                profiles.values[i, j], expected, rtol=1e-12, atol=1e-12
            )


def test_interpolation_on_a_known_profile():
    depth = np.array([0.0, 10.0, 30.0])
    da = xr.DataArray(
        np.array([2.0, 3.0, 5.0]).reshape(3, 1, 1),
        dims=("depth", "lat", "lon"),
        coords={"depth": depth, "lat": [45.0], "lon": [-120.0]},
    )
    profiles = da.vcluster.profiles(zrange=(0, 30), dz=5.0)
    np.testing.assert_allclose(
        profiles.values[0, 0], [2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
    )


def test_exact_samples_stay_exact_beside_a_nan(make_model):
    da = make_model(depths=[0.0, 10.0, 20.0, 30.0, 40.0], nlat=2, nlon=2)
    da[dict(depth=1, lat=0, lon=0)] = np.nan  # 10 km missing at one node
    profiles = da.vcluster.profiles(zrange=(0, 40), dz=5.0)
    source = da.values[:, 0, 0]
    got = profiles.values[0, 0]
    # Depths 0, 5, ..., 40: the samples at 0, 20, 30, 40 km are the stored values
    # bit for bit, even at 20 km whose upper neighbour (10 km) is missing.
    assert got[0] == source[0]
    assert got[4] == source[2]
    assert got[6] == source[3]
    assert got[8] == source[4]
    # What needs the missing value is missing; the rest is interpolated.
    assert np.isnan(got[1:4]).all()
    np.testing.assert_allclose(got[5], 0.5 * (source[2] + source[3]))
    # Other nodes are untouched by the hole.
    assert np.isfinite(profiles.values[1:, :]).all()
    assert np.isfinite(profiles.values[0, 1]).all()


def test_float32_depths_on_the_grid_are_exact(pnw_vs):
    # The bundled model stores depth as float32; its samples on the dz grid are
    # taken as they are, not interpolated from float32 rounding.
    profiles = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=5.0)
    expected = pnw_vs.sel(depth=np.arange(0.0, 61.0, 5.0)).transpose(
        "latitude", "longitude", "depth"
    )
    np.testing.assert_array_equal(profiles.values, expected.values)


# ---------------------------------------------------------- no extrapolation


def test_window_past_the_data_is_clipped_with_a_warning(pnw_vs):
    with pytest.warns(DepthWindowWarning, match="clipped"):
        profiles = pnw_vs.vcluster.profiles(zrange=(-10, 200), dz=5.0)
    depth = profiles["depth"].values
    assert depth[0] == 0.0
    assert depth[-1] == 100.0
    np.testing.assert_allclose(depth, np.arange(0.0, 101.0, 5.0))
    assert float(profiles.min()) >= float(pnw_vs.min())
    assert float(profiles.max()) <= float(pnw_vs.max())


def test_window_below_the_data_is_clipped(pnw_vs):
    with pytest.warns(DepthWindowWarning):
        profiles = pnw_vs.vcluster.profiles(zrange=(90, 120), dz=5.0)
    np.testing.assert_allclose(profiles["depth"].values, [90.0, 95.0, 100.0])
    np.testing.assert_array_equal(
        profiles.values,
        pnw_vs.sel(depth=[90.0, 95.0, 100.0]).transpose(..., "depth").values,
    )


def test_window_above_the_data_is_clipped_on_a_model_with_elevation(delph_vs):
    with pytest.warns(DepthWindowWarning):
        profiles = delph_vs.vcluster.profiles(zrange=(-10, 10), dz=1.0)
    np.testing.assert_allclose(profiles["depth"].values, np.arange(-3.0, 10.5, 1.0))


def test_a_window_inside_the_data_does_not_warn(pnw_vs, recwarn):
    pnw_vs.vcluster.profiles(zrange=(0, 100), dz=5.0)
    assert not [w for w in recwarn if issubclass(w.category, DepthWindowWarning)]


@pytest.mark.parametrize("zrange", [(150, 200), (-50, -10), (100.5, 300)])
def test_zrange_outside_the_data(pnw_vs, zrange):
    with pytest.raises(InputError, match="outside the data"):
        pnw_vs.vcluster.profiles(zrange=zrange, dz=2.0)


# -------------------------------------------------------------- bad values


def test_dz_larger_than_window(pnw_vs):
    with pytest.raises(InputError, match="dz"):
        pnw_vs.vcluster.profiles(zrange=(0, 10), dz=20.0)


def test_dz_larger_than_the_clipped_window(pnw_vs):
    with pytest.warns(DepthWindowWarning), pytest.raises(InputError, match="dz"):
        pnw_vs.vcluster.profiles(zrange=(95, 200), dz=10.0)


@pytest.mark.parametrize("dz", [0, 0.0, -1.0, -2])
def test_dz_zero_or_negative(pnw_vs, dz):
    with pytest.raises(InputError, match="dz"):
        pnw_vs.vcluster.profiles(zrange=(0, 60), dz=dz)


@pytest.mark.parametrize("dz", [np.nan, np.inf, "2", True])
def test_dz_not_a_finite_number(pnw_vs, dz):
    with pytest.raises(InputError, match="dz"):
        pnw_vs.vcluster.profiles(zrange=(0, 60), dz=dz)


@pytest.mark.parametrize("zrange", [(60, 0), (10, 10)])
def test_zrange_swapped_or_empty(pnw_vs, zrange):
    with pytest.raises(InputError, match="zrange"):
        pnw_vs.vcluster.profiles(zrange=zrange, dz=2.0)


@pytest.mark.parametrize("zrange", [(0, 10, 20), "0-60", 5, (0, np.nan)])
def test_zrange_not_two_finite_depths(pnw_vs, zrange):
    with pytest.raises(InputError, match="zrange"):
        pnw_vs.vcluster.profiles(zrange=zrange)


@pytest.mark.parametrize("spacing", [2.0, 1.5, 0, -1, True])
def test_bad_spacing(pnw_vs, spacing):
    with pytest.raises(InputError, match="spacing"):
        pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0, spacing=spacing)


def test_bad_nan_policy(pnw_vs):
    with pytest.raises(InputError, match="nan"):
        pnw_vs.vcluster.profiles(nan="zero")


@pytest.mark.parametrize(
    "call",
    [
        lambda da: da.vcluster.profiles(zrange=(60, 0)),
        lambda da: da.vcluster.profiles(dz=-1),
        lambda da: da.vcluster.profiles(spacing=0),
        lambda da: da.vcluster.profiles(zrange=(500, 600)),
    ],
)
def test_profile_errors_are_catchable_as_our_family_and_value_error(pnw_vs, call):
    with pytest.raises(XVClusterError):
        call(pnw_vs)
    with pytest.raises(ValueError):
        call(pnw_vs)


# ----------------------------------------------------------------- spacing


def test_spacing_thins_both_horizontal_dims(pnw_vs):
    profiles = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0, spacing=2)
    assert dict(profiles.sizes) == {"latitude": 55, "longitude": 27, "depth": 31}
    np.testing.assert_array_equal(
        profiles["latitude"].values, pnw_vs["latitude"].values[::2]
    )
    np.testing.assert_array_equal(
        profiles["longitude"].values, pnw_vs["longitude"].values[::2]
    )
    full = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0)
    np.testing.assert_array_equal(profiles.values, full.values[::2, ::2])


def test_numpy_integer_spacing(pnw_vs):
    profiles = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0, spacing=np.int64(3))
    assert dict(profiles.sizes) == {"latitude": 37, "longitude": 18, "depth": 31}


def test_spacing_on_a_node_layout(make_model):
    nodes = make_model().stack(node=("lat", "lon"))
    profiles = nodes.vcluster.profiles(zrange=(0, 60), dz=5.0, spacing=3)
    assert profiles.sizes["node"] == 40
    full = nodes.vcluster.profiles(zrange=(0, 60), dz=5.0)
    np.testing.assert_array_equal(profiles.values, full.values[::3])


# --------------------------------------------------------------------- NaN


@pytest.fixture
def gappy(make_model):
    """Depths 0..50 km by 10: node (0, 0) misses 20 km, (0, 1) misses 0 and
    10 km, (0, 2) misses 50 km; the rest is complete."""
    da = make_model(depths=np.arange(0.0, 51.0, 10.0), nlat=3, nlon=4)
    da[dict(lat=0, lon=0, depth=2)] = np.nan
    da[dict(lat=0, lon=1, depth=[0, 1])] = np.nan
    da[dict(lat=0, lon=2, depth=5)] = np.nan
    return da


def test_nan_drop_keeps_gaps_as_nan(gappy):
    profiles = gappy.vcluster.profiles(zrange=(0, 50), dz=5.0)
    depth = profiles["depth"].values
    got = profiles.values[0, 0]
    np.testing.assert_array_equal(np.isnan(got), (depth > 10) & (depth < 30))


def test_nan_fill_fills_interior_gaps(gappy):
    profiles = gappy.vcluster.profiles(zrange=(0, 50), dz=5.0, nan="fill")
    depth = profiles["depth"].values
    source = gappy.values[:, 0, 0]
    known = np.isfinite(source)
    expected = np.interp(depth, gappy["depth"].values[known], source[known])
    np.testing.assert_allclose(profiles.values[0, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(
        profiles.sel(depth=20.0).values[0, 0], 0.5 * (source[1] + source[3])
    )


def test_nan_fill_never_extrapolates_to_the_window_edges(gappy):
    profiles = gappy.vcluster.profiles(zrange=(0, 50), dz=5.0, nan="fill")
    depth = profiles["depth"].values
    top_missing = profiles.values[0, 1]
    np.testing.assert_array_equal(np.isnan(top_missing), depth < 20)
    bottom_missing = profiles.values[0, 2]
    np.testing.assert_array_equal(np.isnan(bottom_missing), depth > 40)
    # The complete nodes are all finite, and unchanged by the policy.
    drop = gappy.vcluster.profiles(zrange=(0, 50), dz=5.0)
    np.testing.assert_array_equal(profiles.values[1:], drop.values[1:])
    assert np.isfinite(profiles.values[1:]).all()


def test_nan_fill_inside_a_window_the_data_reach(gappy):
    # The node missing 0 and 10 km is complete once the window starts at 20 km.
    profiles = gappy.vcluster.profiles(zrange=(20, 50), dz=5.0, nan="fill")
    assert np.isfinite(profiles.values[0, 1]).all()
    assert np.isfinite(profiles.values[0, 0]).all()


def test_all_nan_profiles_stay_nan(make_model):
    da = make_model(missing=5)
    for nan in ("drop", "fill"):
        profiles = da.vcluster.profiles(zrange=(0, 60), dz=2.0, nan=nan)
        all_nan = profiles.isnull().all("depth")
        any_nan = profiles.isnull().any("depth")
        assert int(all_nan.sum()) == 5
        xr.testing.assert_equal(all_nan, any_nan)


# ------------------------------------------------------ depth conventions


@pytest.mark.parametrize(
    ("depth_units", "positive"), [("m", "down"), ("km", "up"), ("m", "up")]
)
@pytest.mark.parametrize("dz", [None, 2.5])
def test_depth_conventions_give_the_same_profiles(
    make_model, depth_units, positive, dz
):
    reference = make_model().vcluster.profiles(zrange=(0, 60), dz=dz)
    profiles = make_model(depth_units=depth_units, positive=positive).vcluster.profiles(
        zrange=(0, 60), dz=dz
    )
    assert profiles.dims == reference.dims
    np.testing.assert_allclose(
        profiles["depth"].values, reference["depth"].values, atol=1e-9
    )
    assert profiles["depth"].attrs == DEPTH_ATTRS
    np.testing.assert_allclose(profiles.values, reference.values, rtol=1e-12)


def test_elevation_window_is_still_km_below_the_surface(make_model):
    # A model stored as elevation in metres (0 to -80000 m): zrange (10, 30) means
    # 10 to 30 km below the surface.
    da = make_model(depth_units="m", positive="up")
    profiles = da.vcluster.profiles(zrange=(10, 30), dz=5.0)
    np.testing.assert_allclose(profiles["depth"].values, [10, 15, 20, 25, 30])
    np.testing.assert_allclose(
        profiles.values,
        da.sel(depth=[-10000.0, -15000.0, -20000.0, -25000.0, -30000.0])
        .transpose("lat", "lon", "depth")
        .values,
    )


@pytest.mark.parametrize("dz", [None, 2.0])
def test_descending_depth_axis_gives_the_same_profiles(make_model, dz):
    reference = make_model().vcluster.profiles(zrange=(0, 60), dz=dz)
    profiles = make_model(descending=("depth",)).vcluster.profiles(
        zrange=(0, 60), dz=dz
    )
    xr.testing.assert_identical(profiles, reference)


def test_descending_horizontal_coordinates_keep_their_order(make_model):
    reference = make_model().vcluster.profiles(zrange=(0, 60), dz=2.0)
    profiles = make_model(descending=True).vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles["lat"].values[0] > profiles["lat"].values[-1]
    xr.testing.assert_identical(profiles.sortby(["lat", "lon"]), reference)


def test_integer_depth_coordinate(delph_vs):
    assert delph_vs["depth"].dtype.kind == "i"
    profiles = delph_vs.vcluster.profiles(zrange=(0, 10))
    assert profiles["depth"].dtype == np.float64
    np.testing.assert_array_equal(profiles["depth"].values, np.arange(0.0, 11.0))


def bad_depths(da: xr.DataArray, depths) -> xr.DataArray:
    return da.assign_coords(depth=("depth", np.asarray(depths), da["depth"].attrs))


@pytest.mark.parametrize(
    "depths",
    [
        [0.0, 10.0, 10.0, 10.0],
        [0.0, 10.0, 10.0000000001, 10.0],
        [20.0, 20.0, 20.0, 0.0],
    ],
)
def test_a_depth_stored_three_times_is_refused(make_model, depths):
    # Two samples at one depth mark a discontinuity (see test_quirks.py); a
    # third has no meaning.
    da = bad_depths(make_model(depths=[0.0, 10.0, 20.0, 30.0]), depths)
    with pytest.raises(InputError, match="three or more times"):
        da.vcluster.profiles()


@pytest.mark.parametrize("depths", [[0.0, 20.0, 10.0, 30.0], [30.0, 0.0, 10.0, 20.0]])
def test_unsorted_depths(make_model, depths):
    da = bad_depths(make_model(depths=[0.0, 10.0, 20.0, 30.0]), depths)
    with pytest.raises(InputError, match="sort"):
        da.vcluster.profiles(zrange=(0, 30), dz=5.0)


def test_non_finite_depth(make_model):
    da = bad_depths(make_model(depths=[0.0, 10.0, 20.0]), [0.0, np.nan, 20.0])
    with pytest.raises(InputError):
        da.vcluster.profiles()


def test_single_depth(make_model):
    da = make_model(depths=[10.0])
    with pytest.raises(InputError, match="two depths"):
        da.vcluster.profiles()


# ------------------------------------------------------------------ dtypes


@pytest.mark.parametrize(
    "values",
    [
        lambda da: np.full(da.shape, "fast"),
        lambda da: da.values > 4,
        lambda da: da.values.astype(object),
        lambda da: da.values + 1j,
    ],
    ids=["str", "bool", "object", "complex"],
)
def test_non_numeric_data(make_model, values):
    da = make_model()
    da = da.copy(data=values(da))
    with pytest.raises(InputError):
        da.vcluster.profiles(zrange=(0, 60), dz=2.0)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("float32", np.float32),
        ("float64", np.float64),
        ("int16", np.float64),
        ("int64", np.float64),
        ("uint8", np.float64),
    ],
)
@pytest.mark.parametrize("chunks", [None, {"lat": 5}])
def test_output_dtype(make_model, dtype, expected, chunks):
    da = make_model()
    # Tenths of km/s, so that integers keep a profile's shape; no units, since
    # "km s-1" would make 25-55 impossible values.
    da = (da * 10).astype(dtype).drop_attrs()
    if chunks:
        da = da.chunk(chunks)
    profiles = da.vcluster.profiles(zrange=(0, 60), dz=2.5, nan="fill")
    assert profiles.dtype == expected
    computed = profiles.compute()
    assert computed.dtype == expected
    if dtype.startswith(("int", "uint")):
        # Values on the model's own depths are the integers themselves.
        np.testing.assert_array_equal(
            computed.sel(depth=[0.0, 5.0, 60.0]).values,
            da.sel(depth=[0.0, 5.0, 60.0]).transpose("lat", "lon", "depth").values,
        )


def test_float32_model_interpolates_in_float32(pnw_vs):
    profiles = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles.dtype == np.float32
    as64 = pnw_vs.astype("float64").vcluster.profiles(zrange=(0, 60), dz=2.0)
    np.testing.assert_allclose(profiles.values, as64.values, rtol=1e-6)


# -------------------------------------------------------------------- dask


def test_raise_on_compute_guard_works(make_model, raise_on_compute):
    da = make_model(chunks={"lat": 4})
    with raise_on_compute, pytest.raises(AssertionError, match="computed"):
        da.sum().compute()
    assert np.isfinite(float(da.sum()))


@pytest.mark.parametrize("nan", ["drop", "fill"])
@pytest.mark.parametrize(
    ("dims", "descending"),
    [
        (("depth", "lat", "lon"), ()),
        (("lon", "lat", "depth"), ()),
        (("depth", "lat", "lon"), ("depth",)),
    ],
)
def test_dask_input_stays_lazy(make_model, raise_on_compute, nan, dims, descending):
    da = make_model(
        missing=3,
        dims=dims,
        descending=descending,
        chunks={"depth": 5, "lat": 4, "lon": 5},
    )
    with raise_on_compute:
        profiles = da.vcluster.profiles(zrange=(0, 60), dz=2.0, nan=nan)
    assert profiles.chunks is not None
    chunks = dict(zip(profiles.dims, profiles.chunks, strict=True))
    assert chunks["depth"] == (31,)  # depth in one chunk
    assert chunks["lat"] == (4, 4, 4)  # horizontal chunks kept
    assert chunks["lon"] == (5, 5)


def test_dask_input_with_spacing_stays_lazy(make_model, raise_on_compute):
    da = make_model(chunks={"lat": 6, "lon": 5})
    with raise_on_compute:
        profiles = da.vcluster.profiles(zrange=(0, 60), dz=2.0, spacing=2)
    chunks = dict(zip(profiles.dims, profiles.chunks, strict=True))
    assert chunks["depth"] == (31,)
    assert sum(chunks["lat"]) == 6
    assert sum(chunks["lon"]) == 5


def test_lazily_opened_example_stays_lazy(raise_on_compute):
    with xvcluster.open_example(chunks={"latitude": 50}) as dataset:
        with raise_on_compute:
            profiles = dataset["vs"].vcluster.profiles(zrange=(0, 60), dz=2.0)
        chunks = dict(zip(profiles.dims, profiles.chunks, strict=True))
        assert chunks["depth"] == (31,)
        assert chunks["latitude"] == (50, 50, 9)
        assert profiles.dtype == np.float32


@pytest.mark.parametrize(
    "options",
    [
        {"zrange": (0, 60), "dz": 2.0},
        {"zrange": (3, 57), "dz": 1.3, "nan": "fill"},
        {"zrange": (10, 40), "spacing": 2},
        {},
    ],
)
@pytest.mark.parametrize("descending", [(), True])
def test_numpy_and_dask_give_identical_values(make_model, options, descending):
    eager = make_model(missing=4, descending=descending).vcluster.profiles(**options)
    lazy = make_model(
        missing=4, descending=descending, chunks={"depth": 3, "lat": 5, "lon": 3}
    )
    lazy = lazy.vcluster.profiles(**options)
    assert lazy.chunks is not None
    xr.testing.assert_identical(lazy.compute(), eager)


# -------------------------------------------------------------- extra dims


@pytest.mark.parametrize("axis", [0, -1])
def test_length_one_extra_dim_is_squeezed(make_model, axis):
    da = make_model()
    with_time = da.expand_dims(time=[np.datetime64("2020-01-01")], axis=axis)
    profiles = with_time.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles.dims == ("lat", "lon", "depth")
    reference = da.vcluster.profiles(zrange=(0, 60), dz=2.0)
    np.testing.assert_array_equal(profiles.values, reference.values)


def test_longer_extra_dim_is_refused_by_name(make_model):
    da = make_model().expand_dims(time=3)
    with pytest.raises(InputError, match="time"):
        da.vcluster.profiles(zrange=(0, 60), dz=2.0)


def test_longer_extra_dim_is_refused_lazily(make_model, raise_on_compute):
    da = make_model(chunks={"lat": 4}).expand_dims(realisation=2)
    with raise_on_compute, pytest.raises(InputError, match="realisation"):
        da.vcluster.profiles()


# ------------------------------------------------------------- node layout


def nodes_from_grid(da: xr.DataArray) -> xr.DataArray:
    stacked = da.transpose("depth", "lat", "lon").stack(node=("lat", "lon"))
    return xr.DataArray(
        stacked.values,
        dims=("depth", "node"),
        coords={
            "depth": da["depth"],
            "lat": ("node", stacked["lat"].values, da["lat"].attrs),
            "lon": ("node", stacked["lon"].values, da["lon"].attrs),
        },
        attrs=da.attrs,
        name=da.name,
    )


def test_node_layout_profiles(make_model):
    da = make_model(missing=2)
    nodes = nodes_from_grid(da)
    profiles = nodes.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles.dims == ("node", "depth")
    assert profiles.sizes["node"] == 120
    np.testing.assert_array_equal(profiles["lat"].values, nodes["lat"].values)
    np.testing.assert_array_equal(profiles["lon"].values, nodes["lon"].values)
    grid_profiles = da.vcluster.profiles(zrange=(0, 60), dz=2.0)
    np.testing.assert_array_equal(
        profiles.values, grid_profiles.values.reshape(120, -1)
    )


def test_node_layout_dask(make_model, raise_on_compute):
    nodes = nodes_from_grid(make_model()).chunk({"node": 50, "depth": 4})
    with raise_on_compute:
        profiles = nodes.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert profiles.chunks == ((50, 50, 20), (31,))


# ------------------------------------------------------ prepare_profiles API


def test_prepare_profiles_on_given_depths(make_model):
    da = make_model()
    depths = np.array([1.0, 2.0, 40.0, 80.0])
    profiles = prepare_profiles(da, find_axes(da), ProfileSpec(), depths=depths)
    np.testing.assert_array_equal(profiles["depth"].values, depths)
    expected = np.interp(depths, da["depth"].values, da.values[:, 3, 4])
    np.testing.assert_allclose(profiles.values[3, 4], expected, rtol=1e-12)


def test_prepare_profiles_refuses_depths_past_the_data(make_model):
    da = make_model(depths=np.arange(0.0, 41.0, 5.0))
    with pytest.raises(InputError, match="covers"):
        prepare_profiles(
            da, find_axes(da), ProfileSpec(), depths=np.array([0.0, 30.0, 60.0])
        )


# ------------------------------------------------------------- real models


def test_delph_profiles_nan_rows_for_uncovered_nodes(delph_vs):
    profiles = delph_vs.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert dict(profiles.sizes) == {"latitude": 46, "longitude": 25, "depth": 31}
    np.testing.assert_allclose(profiles["depth"].values, np.arange(0.0, 61.0, 2.0))
    window = delph_vs.sel(depth=slice(0, 60)).transpose("latitude", "longitude", ...)
    covered = window.notnull().all("depth").values
    uncovered = window.isnull().all("depth").values
    values = profiles.values
    assert uncovered.sum() == 180
    assert covered.sum() == 966
    assert np.isnan(values[uncovered]).all()
    assert np.isfinite(values[covered]).all()
    assert np.nanmin(values) >= float(window.min())
    assert np.nanmax(values) <= float(window.max())


def test_delph_nodes_missing_the_top_sample_are_nan_only_there(delph_vs):
    window = delph_vs.sel(depth=slice(0, 60)).transpose("latitude", "longitude", ...)
    partial = (window.isnull().sum("depth") == 1).values
    assert partial.sum() == 4
    for nan in ("drop", "fill"):
        profiles = delph_vs.vcluster.profiles(zrange=(0, 60), dz=2.0, nan=nan)
        rows = profiles.values[partial]
        assert np.isnan(rows[:, 0]).all()  # 0 km is missing: never extrapolated
        assert np.isfinite(rows[:, 1:]).all()


def test_delph_profiles_lazy(delph_vs, raise_on_compute):
    eager = delph_vs.vcluster.profiles(zrange=(0, 60), dz=2.0)
    lazy_model = delph_vs.chunk({"latitude": 10, "depth": 20})
    with raise_on_compute:
        lazy = lazy_model.vcluster.profiles(zrange=(0, 60), dz=2.0)
    xr.testing.assert_identical(lazy.compute(), eager)


def test_pnw_profiles_are_finite_and_in_range(pnw_vs):
    profiles = pnw_vs.vcluster.profiles(zrange=(0, 60), dz=2.0)
    assert np.isfinite(profiles.values).all()
    window = pnw_vs.sel(depth=slice(0, 60))
    assert float(profiles.min()) >= float(window.min())
    assert float(profiles.max()) <= float(window.max())


# ------------------------------------------------------------ memory layout


@pytest.mark.parametrize("depth_first", [True, False])
def test_profile_rows_is_a_view_of_profiles_stored_either_way(depth_first):
    values = np.arange(4 * 3 * 5, dtype="float32").reshape(4, 3, 5)  # lat, lon, depth
    stored = np.ascontiguousarray(np.moveaxis(values, -1, 0)) if depth_first else values
    profiles = np.moveaxis(stored, 0, -1) if depth_first else stored

    rows = profile_rows(profiles)

    assert np.shares_memory(rows, stored)
    np.testing.assert_array_equal(rows, values.reshape(12, 5))


def test_profile_rows_copies_other_layouts():
    values = np.arange(4 * 3 * 5, dtype="float64").reshape(4, 3, 5)
    strided = values[:, ::-1]
    np.testing.assert_array_equal(profile_rows(strided), strided.reshape(-1, 5))


def test_complete_profiles_marks_any_missing_value():
    values = np.ones((3, 4, 6))
    values[0, 1, 5] = values[2, 3, 0] = np.nan
    expected = np.ones((3, 4), dtype=bool)
    expected[0, 1] = expected[2, 3] = False
    np.testing.assert_array_equal(complete_profiles(values), expected)
    np.testing.assert_array_equal(
        complete_profiles(np.moveaxis(np.moveaxis(values, -1, 0).copy(), 0, -1)),
        expected,
    )


def test_resampling_gives_the_same_profiles_whatever_the_layout(make_model):
    depth_first = make_model(3, dims=("depth", "lat", "lon"), missing=4, seed=1)
    depth_last = depth_first.transpose("lat", "lon", "depth").copy()
    spec = ProfileSpec(zrange=(0, 60), dz=3.0)

    profiles = [
        prepare_profiles(da, find_axes(da), spec) for da in (depth_first, depth_last)
    ]

    xr.testing.assert_identical(profiles[0], profiles[1])
    assert not np.isnan(profiles[0].isel(lat=0, lon=0)).any()
