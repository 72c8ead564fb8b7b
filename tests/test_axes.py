"""Finding the latitude, longitude and depth axes of a velocity model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

import xvcluster
from xvcluster import AxisError, InputError, XVClusterError, find_axes

DEPTHS = np.array([0.0, 10.0, 20.0, 30.0])
LATS = np.array([40.0, 41.0, 42.0])
LONS = np.array([-125.0, -124.0])


def grid(
    names=("depth", "lat", "lon"),
    attrs=({}, {}, {}),
    values=(DEPTHS, LATS, LONS),
) -> xr.DataArray:
    """A small (depth, lat, lon) model with the given coordinate names and attrs."""
    shape = tuple(len(v) for v in values)
    return xr.DataArray(
        np.ones(shape),
        dims=names,
        coords={
            name: (name, val, dict(att))
            for name, val, att in zip(names, values, attrs, strict=True)
        },
        name="vs",
    )


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("error", [AxisError, InputError])
def test_errors_are_xvcluster_errors_and_value_errors(error):
    assert issubclass(error, XVClusterError)
    assert issubclass(error, ValueError)


@pytest.mark.parametrize("catch", [AxisError, XVClusterError, ValueError])
def test_axis_error_is_catchable_as_each_family(catch):
    da = grid(names=("a", "b", "c"))
    with pytest.raises(catch):
        find_axes(da)


# --------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "standard_names",
    [("depth", "latitude", "longitude"), (" Depth ", "LATITUDE", "Longitude")],
    ids=["as-written", "case-and-blank-insensitive"],
)
def test_detects_from_cf_standard_name(standard_names):
    da = grid(
        names=("k", "p", "q"),
        attrs=tuple({"standard_name": name} for name in standard_names),
    )
    axes = find_axes(da)
    assert (axes.latitude, axes.longitude, axes.depth) == ("p", "q", "k")
    assert axes.horizontal_dims == ("p", "q")
    assert axes.depth_to_km == 1.0


def test_detects_latitude_and_longitude_from_units():
    da = grid(
        names=("k", "north", "east"),
        attrs=(
            {"positive": "down"},
            {"units": "degrees_north"},
            {"units": "degrees_east"},
        ),
    )
    axes = find_axes(da)
    assert (axes.latitude, axes.longitude, axes.depth) == ("north", "east", "k")


@pytest.mark.parametrize("positive", ["down", "DOWN"])
def test_detects_depth_from_positive_attribute(positive):
    da = grid(
        names=("level", "lat", "lon"),
        attrs=({"positive": positive, "units": "km"}, {}, {}),
    )
    axes = find_axes(da)
    assert axes.depth == "level"
    assert axes.depth_to_km == 1.0


def test_detects_depth_from_axis_z():
    da = grid(names=("level", "lat", "lon"), attrs=({"axis": "Z"}, {}, {}))
    assert find_axes(da).depth == "level"


@pytest.mark.parametrize(
    ("depth", "lat", "lon"),
    [
        ("depth", "lat", "lon"),
        ("depth", "latitude", "longitude"),
        ("z", "y", "x"),
        ("dep", "lat", "lon"),
        ("depths", "lats", "lons"),
        ("Depth", "Latitude", "Longitude"),
    ],
)
def test_detects_common_names_without_attributes(depth, lat, lon):
    axes = find_axes(grid(names=(depth, lat, lon)))
    assert (axes.depth, axes.latitude, axes.longitude) == (depth, lat, lon)
    assert axes.horizontal_dims == (lat, lon)
    assert axes.depth_to_km == 1.0


@pytest.mark.parametrize("dims", list(itertools.permutations(("depth", "lat", "lon"))))
def test_any_dim_order(make_model, dims):
    axes = find_axes(make_model(dims=dims))
    assert (axes.latitude, axes.longitude, axes.depth) == ("lat", "lon", "depth")
    # Profiles are always indexed (lat, lon), whatever the storage order.
    assert axes.horizontal_dims == ("lat", "lon")


def test_accessor_axes_matches_find_axes(make_model):
    da = make_model(dims=("lon", "depth", "lat"))
    assert da.vcluster.axes() == find_axes(da)


# --------------------------------------------------------------- overrides


def test_overrides_name_the_axes():
    da = grid(names=("a", "b", "c"))
    with pytest.raises(AxisError):
        find_axes(da)
    axes = find_axes(da, depth="a", lat="b", lon="c")
    assert (axes.depth, axes.latitude, axes.longitude) == ("a", "b", "c")
    assert axes.horizontal_dims == ("b", "c")
    assert da.vcluster.axes(depth="a", lat="b", lon="c") == axes


def test_overrides_win_over_detection():
    # Swapping lat and lon by keyword is obeyed, even against the attributes.
    da = grid(
        attrs=(
            {"positive": "down"},
            {"standard_name": "latitude"},
            {"standard_name": "longitude"},
        )
    )
    axes = find_axes(da, lat="lon", lon="lat")
    assert (axes.latitude, axes.longitude) == ("lon", "lat")


def test_depth_override_settles_two_candidates():
    da = grid(names=("depth", "lat", "lon")).expand_dims(z=[0.0, 1.0])
    with pytest.raises(AxisError):
        find_axes(da)
    assert find_axes(da, depth="depth").depth == "depth"


@pytest.mark.parametrize("keyword", ["lat", "lon", "depth"])
def test_override_naming_a_missing_coordinate(keyword):
    da = grid()
    with pytest.raises(AxisError, match="nope"):
        find_axes(da, **{keyword: "nope"})


def test_override_through_accessor_profiles():
    da = grid(names=("a", "b", "c"))
    profiles = da.vcluster.profiles(depth="a", lat="b", lon="c")
    assert profiles.dims == ("b", "c", "depth")


# ------------------------------------------------------------------ failures


def test_no_depth_axis_names_the_dims_and_suggests_depth_keyword():
    da = grid(names=("level", "lat", "lon"))
    with pytest.raises(AxisError) as info:
        find_axes(da)
    message = str(info.value)
    for dim in ("level", "lat", "lon"):
        assert repr(dim) in message
    assert "depth=" in message


def test_no_depth_axis_on_a_2d_map():
    da = xr.DataArray(
        np.ones((3, 2)), dims=("lat", "lon"), coords={"lat": LATS, "lon": LONS}
    )
    with pytest.raises(AxisError, match="depth="):
        find_axes(da)


def test_no_latitude_axis_suggests_lat_keyword():
    da = grid(names=("depth", "row", "lon"))
    with pytest.raises(AxisError, match="lat="):
        find_axes(da)


def test_two_candidate_depth_axes_by_name():
    da = grid(names=("depth", "lat", "lon")).expand_dims(z=[0.0, 1.0])
    with pytest.raises(AxisError) as info:
        find_axes(da)
    message = str(info.value)
    assert "'depth'" in message
    assert "'z'" in message
    assert "depth=" in message


def test_two_candidate_depth_axes_by_attribute():
    da = grid(attrs=({"positive": "down"}, {}, {})).expand_dims(level=[1.0, 2.0])
    da["level"].attrs["positive"] = "down"
    assert find_axes(da, depth="level").depth == "level"
    with pytest.raises(AxisError) as info:
        find_axes(da)
    assert "'depth'" in str(info.value)
    assert "'level'" in str(info.value)


def test_two_candidate_latitudes():
    da = grid(
        attrs=({}, {"standard_name": "latitude"}, {}),
    ).assign_coords(
        lat2=("lat", LATS + 0.5, {"standard_name": "latitude"}),
    )
    with pytest.raises(AxisError) as info:
        find_axes(da)
    assert "'lat'" in str(info.value)
    assert "'lat2'" in str(info.value)
    assert find_axes(da, lat="lat").latitude == "lat"


def test_same_coordinate_for_latitude_and_longitude():
    da = grid()
    with pytest.raises(AxisError):
        find_axes(da, lat="lat", lon="lat")


def test_depth_coordinate_that_is_not_a_dim_by_override():
    base = grid()
    da = base.rename(depth="level").assign_coords(depth=("level", DEPTHS))
    da = da.drop_vars("level")
    with pytest.raises(AxisError, match="not a dim"):
        find_axes(da, depth="depth")


def test_depth_coordinate_that_is_not_a_dim_is_not_ignored():
    # dims (z, lat, lon) with the real depths on a coordinate depth(z): the bare
    # dim z has no depths of its own (0, 1, 2, ... are positions, not km), so it
    # must not be taken as the depth axis; the user is told to swap dims.
    base = grid()
    da = base.rename(depth="z").drop_vars("z")
    da = da.assign_coords(
        depth=("z", DEPTHS, {"standard_name": "depth", "units": "km"})
    )
    with pytest.raises(AxisError):
        find_axes(da)


def test_depth_dim_without_coordinate_values():
    # A depth dim without a coordinate has no depths: positions 0, 1, 2, ...
    # must not be taken for kilometres.
    da = grid().drop_vars("depth")
    with pytest.raises(InputError, match="depth"):
        da.vcluster.profiles()


# --------------------------------------------------------------- depth scale


@pytest.mark.parametrize(
    ("attrs", "factor"),
    [
        ({"units": "km", "positive": "down"}, 1.0),
        ({"units": "kilometers", "positive": "down"}, 1.0),
        ({"units": "m", "positive": "down"}, 0.001),
        ({"units": "metres", "positive": "down"}, 0.001),
        ({"units": "km", "positive": "up"}, -1.0),
        ({"units": "m", "positive": "up"}, -0.001),
        ({"units": "m", "standard_name": "altitude"}, -0.001),
        ({"units": "km", "standard_name": "height"}, -1.0),
        ({"units": "km", "standard_name": "depth"}, 1.0),
        ({}, 1.0),
    ],
)
def test_depth_scale_to_km_positive_down(attrs, factor):
    da = grid(names=("level", "lat", "lon"), attrs=(attrs, {}, {}))
    axes = find_axes(da, depth="level")
    assert axes.depth_to_km == pytest.approx(factor)
    np.testing.assert_allclose(axes.depth_km(da), DEPTHS * factor)


def test_altitude_is_detected_and_reads_upward():
    da = grid(
        names=("alt", "lat", "lon"),
        attrs=({"standard_name": "altitude", "units": "m"}, {}, {}),
        values=(-DEPTHS * 1000, LATS, LONS),
    )
    axes = find_axes(da)
    assert axes.depth == "alt"
    assert axes.depth_to_km == pytest.approx(-0.001)
    np.testing.assert_allclose(axes.depth_km(da), DEPTHS)


def test_elevation_by_name_reads_upward():
    da = grid(names=("elevation", "lat", "lon"), values=(-DEPTHS, LATS, LONS))
    axes = find_axes(da)
    assert axes.depth == "elevation"
    assert axes.depth_to_km == -1.0
    np.testing.assert_allclose(axes.depth_km(da), DEPTHS)


def test_positive_attribute_wins_over_upward_name():
    da = grid(
        names=("elevation", "lat", "lon"),
        attrs=({"positive": "down", "units": "km"}, {}, {}),
    )
    assert find_axes(da).depth_to_km == 1.0


@pytest.mark.parametrize("units", ["furlongs", "s", "degrees", "km/s"])
def test_unknown_depth_units(units):
    da = grid(attrs=({"units": units, "positive": "down"}, {}, {}))
    with pytest.raises(AxisError) as info:
        find_axes(da)
    assert units in str(info.value)
    assert "units='km'" in str(info.value)


@pytest.mark.parametrize(
    ("depth_units", "positive", "factor"),
    [
        ("km", "down", 1.0),
        ("m", "down", 0.001),
        ("km", "up", -1.0),
        ("m", "up", -0.001),
    ],
)
def test_synthetic_model_conventions(make_model, depth_units, positive, factor):
    da = make_model(depth_units=depth_units, positive=positive)
    axes = find_axes(da)
    assert axes.depth == "depth"
    assert axes.depth_to_km == pytest.approx(factor)
    np.testing.assert_allclose(axes.depth_km(da), np.arange(0.0, 81.0, 5.0))


# --------------------------------------------------------------- node layout


def test_node_layout(make_model):
    grid_model = make_model()
    nodes = xr.DataArray(
        grid_model.stack(node=("lat", "lon")).values,
        dims=("depth", "node"),
        coords={
            "depth": grid_model["depth"],
            "lat": ("node", np.repeat(grid_model["lat"].values, grid_model.lon.size)),
            "lon": ("node", np.tile(grid_model["lon"].values, grid_model.lat.size)),
        },
    )
    axes = find_axes(nodes)
    assert axes.horizontal_dims == ("node",)
    assert (axes.latitude, axes.longitude, axes.depth) == ("lat", "lon", "depth")


def test_node_layout_with_cf_attributes_and_node_first():
    nodes = xr.DataArray(
        np.ones((5, 4)),
        dims=("station", "level"),
        coords={
            "level": ("level", DEPTHS, {"positive": "down", "units": "m"}),
            "la": ("station", np.arange(5.0), {"units": "degrees_north"}),
            "lo": ("station", np.arange(5.0), {"units": "degrees_east"}),
        },
    )
    axes = find_axes(nodes)
    assert axes.horizontal_dims == ("station",)
    assert (axes.latitude, axes.longitude, axes.depth) == ("la", "lo", "level")
    assert axes.depth_to_km == 0.001


def test_stacked_multiindex_node_layout(make_model):
    axes = find_axes(make_model().stack(node=("lat", "lon")))
    assert axes.horizontal_dims == ("node",)
    assert axes.depth == "depth"


# --------------------------------------------------------------- real models


def test_bundled_pnw_model(pnw_vs):
    axes = find_axes(pnw_vs)
    assert axes == xvcluster.Axes(
        latitude="latitude",
        longitude="longitude",
        depth="depth",
        horizontal_dims=("latitude", "longitude"),
        depth_to_km=1.0,
    )


def test_delph_model_ignores_2d_easting_northing(delph_vs):
    assert delph_vs["easting"].ndim == 2
    axes = find_axes(delph_vs)
    assert (axes.latitude, axes.longitude, axes.depth) == (
        "latitude",
        "longitude",
        "depth",
    )
    assert axes.horizontal_dims == ("latitude", "longitude")
    assert axes.depth_to_km == 1.0
    assert axes.depth_km(delph_vs)[0] == -3.0


def test_delph_model_with_projected_coords_named_x_and_y(delph_vs):
    # Projected 2-D coordinates called x/y must not compete with the CF-tagged
    # latitude and longitude.
    da = delph_vs.rename(easting="x", northing="y")
    axes = find_axes(da)
    assert (axes.latitude, axes.longitude) == ("latitude", "longitude")
    assert axes.horizontal_dims == ("latitude", "longitude")


def test_delph_model_in_other_dim_order(delph_vs):
    da = delph_vs.transpose("longitude", "depth", "latitude")
    axes = find_axes(da)
    assert axes.depth == "depth"
    assert axes.horizontal_dims == ("latitude", "longitude")


def test_curvilinear_grid_with_2d_latitude_and_longitude():
    # dims (depth, y, x) with CF-tagged lat(y, x), lon(y, x): the bare y and x
    # dims index the profiles; the 2-D coordinates are the latitude/longitude.
    yy, xx = np.meshgrid(np.arange(3.0), np.arange(2.0), indexing="ij")
    da = xr.DataArray(
        np.ones((4, 3, 2)),
        dims=("depth", "y", "x"),
        coords={
            "depth": ("depth", DEPTHS, {"units": "km", "positive": "down"}),
            "lat": (("y", "x"), 40 + yy, {"standard_name": "latitude"}),
            "lon": (("y", "x"), -125 + xx, {"standard_name": "longitude"}),
        },
    )
    axes = find_axes(da)
    assert (axes.latitude, axes.longitude, axes.depth) == ("lat", "lon", "depth")
    assert axes.horizontal_dims == ("y", "x")
    assert da.vcluster.profiles().dims == ("y", "x", "depth")
