"""A catalogue of the quirks of real velocity models, each shown on a small model.

Every test builds the quirk into a small synthetic model (or a slice of a real
one), clusters it, and checks the result against the same model stored the
plain way: the quirk changes nothing, or changes exactly what is documented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import DELPH_PATH

import xvcluster
from xvcluster import (
    ImpossibleValueWarning,
    InputError,
    KMeans,
    ModelFileError,
    open_velocity_model,
)
from xvcluster.io import select_variable


def fit_labels(da: xr.DataArray, k: int = 3, **options) -> xr.DataArray:
    return KMeans(k, **options).fit(da).labels_


def same_nodes(labels: xr.DataArray, reference: xr.DataArray) -> None:
    """Labels equal node by node once put in the reference's order."""
    xr.testing.assert_equal(
        labels.sortby(list(labels.dims)).transpose(*reference.dims),
        reference.sortby(list(reference.dims)),
    )


def assert_on_input_grid(labels: xr.DataArray, da: xr.DataArray) -> None:
    """Labels sit on the input's horizontal coordinates, in the input's order."""
    for dim in labels.dims:
        np.testing.assert_array_equal(labels[dim].values, da[dim].values)
        assert labels[dim].attrs == da[dim].attrs


# ---------------------------------------------------------------- longitudes


def with_longitudes(da: xr.DataArray, lon: np.ndarray) -> xr.DataArray:
    return da.assign_coords(lon=("lon", lon, da["lon"].attrs))


@pytest.mark.parametrize(
    "lon_0_360",
    [np.linspace(170.0, 190.0, 10), np.linspace(350.0, 370.0, 10) % 360],
    ids=["antimeridian", "greenwich"],
)
def test_longitudes_0_360_and_180_180_give_the_same_labels(make_model, lon_0_360):
    da = make_model(3)
    east = with_longitudes(da, lon_0_360)
    # The same nodes in the other convention, sorted as a file would store them.
    west = with_longitudes(da, (lon_0_360 + 180.0) % 360.0 - 180.0).sortby("lon")

    # And west to east, as a regional file in -180-180 stores it: 170 ... -170.
    west_to_east = with_longitudes(da, (lon_0_360 + 180.0) % 360.0 - 180.0)

    # Five clusters for three provinces: how provinces split depends on the
    # order the seeded start meets the profiles, which must not change.
    east_labels = fit_labels(east, 5)
    assert_on_input_grid(east_labels, east)
    for variant in (west, west_to_east):
        labels = fit_labels(variant, 5)
        assert_on_input_grid(labels, variant)
        back_east = labels.assign_coords(lon=labels["lon"] % 360.0)
        np.testing.assert_array_equal(
            back_east.sortby("lon").values, east_labels.sortby("lon").values
        )


def test_grid_across_the_antimeridian_predicts_in_either_convention(make_model):
    da = with_longitudes(make_model(3), np.linspace(170.0, 190.0, 10))
    model = KMeans(3).fit(da)
    wrapped = da.assign_coords(lon=(da["lon"] + 180.0) % 360.0 - 180.0)
    np.testing.assert_array_equal(model.predict(wrapped).values, model.labels_.values)


# ------------------------------------------------------- storage directions


def test_latitude_north_to_south(make_model):
    south_up = make_model(3)
    north_down = make_model(3, descending=["lat"])
    assert north_down["lat"].values[0] > north_down["lat"].values[-1]
    # Five clusters for three provinces, so that the split depends on order.
    labels = fit_labels(north_down, 5)
    assert_on_input_grid(labels, north_down)
    same_nodes(labels, fit_labels(south_up, 5))


def test_depth_decreasing_along_its_axis(make_model):
    labels = fit_labels(make_model(3, descending=["depth"]), zrange=(0, 60), dz=5.0)
    reference = fit_labels(make_model(3), zrange=(0, 60), dz=5.0)
    xr.testing.assert_identical(labels, reference)


@pytest.mark.parametrize(("units", "positive"), [("m", "down"), ("km", "up")])
def test_depth_in_metres_or_as_elevation(make_model, units, positive):
    # Elevation stores -80 km as the deepest sample; metres store 80000.
    model = KMeans(3, zrange=(0, 60), dz=5.0).fit(
        make_model(3, depth_units=units, positive=positive)
    )
    reference = KMeans(3, zrange=(0, 60), dz=5.0).fit(make_model(3))
    xr.testing.assert_identical(model.labels_, reference.labels_)
    xr.testing.assert_identical(model.centres_, reference.centres_)
    assert model.centres_["depth"].attrs["positive"] == "down"


def test_elevation_in_metres_on_the_real_delph_model(delph_vs):
    # Delph2018 stores km positive down with 3 km of topography above zero;
    # the same model as an elevation in metres gives the same labels.
    elevation = delph_vs.assign_coords(
        depth=("depth", -1000.0 * delph_vs["depth"].values, {"units": "m"})
    ).rename(depth="elevation")
    labels = fit_labels(elevation, 4, zrange=(0, 60), dz=4.0)
    reference = fit_labels(delph_vs, 4, zrange=(0, 60), dz=4.0)
    xr.testing.assert_identical(labels, reference)


# ------------------------------------------------------------ discontinuities


def layered_model(depths: list[float], values: list[float], nodes: int = 4):
    """Node-layout model with the same profile at every node, plus a small shift."""
    shift = np.linspace(0.0, 0.3, nodes)[:, None]
    return xr.DataArray(
        np.asarray(values)[None, :] + shift,
        dims=("node", "depth"),
        coords={
            "depth": ("depth", depths, {"units": "km", "positive": "down"}),
            "lat": ("node", np.linspace(40, 41, nodes), {"units": "degrees_north"}),
            "lon": ("node", np.linspace(-120, -119, nodes), {"units": "degrees_east"}),
        },
        name="vs",
        attrs={"units": "km/s"},
    )


# A crust of 3.0-3.4 km/s over a mantle from 4.5 km/s, with the Moho at 20 km
# stored as two samples: 3.4 just above it, 4.5 just below it.
MOHO_DEPTHS = [0.0, 10.0, 20.0, 20.0, 40.0]
MOHO_VALUES = [3.0, 3.2, 3.4, 4.5, 4.7]


def test_discontinuity_is_resampled_within_each_layer():
    profiles = layered_model(MOHO_DEPTHS, MOHO_VALUES).vcluster.profiles(dz=5.0)
    np.testing.assert_allclose(
        profiles.isel(node=0).values,
        [3.0, 3.1, 3.2, 3.3, 4.5, 4.55, 4.6, 4.65, 4.7],
    )
    # Just above the step: crust; at the step: the top of the mantle.
    fine = layered_model(MOHO_DEPTHS, MOHO_VALUES).vcluster.profiles(
        zrange=(19.0, 21.0), dz=1.0
    )
    np.testing.assert_allclose(fine.isel(node=0).values, [3.38, 4.5, 4.51])


def test_discontinuity_without_dz_keeps_one_sample_per_depth():
    profiles = layered_model(MOHO_DEPTHS, MOHO_VALUES).vcluster.profiles()
    np.testing.assert_array_equal(profiles["depth"].values, [0.0, 10.0, 20.0, 40.0])
    np.testing.assert_allclose(profiles.isel(node=0).values, [3.0, 3.2, 4.5, 4.7])


def test_discontinuity_stored_bottom_up_or_as_elevation_is_the_same_step():
    reference = layered_model(MOHO_DEPTHS, MOHO_VALUES).vcluster.profiles(dz=5.0)
    bottom_up = layered_model(MOHO_DEPTHS[::-1], MOHO_VALUES[::-1])
    elevation = layered_model([-z for z in MOHO_DEPTHS[::-1]], MOHO_VALUES[::-1])
    elevation["depth"].attrs["positive"] = "up"
    for model in (bottom_up, elevation):
        xr.testing.assert_identical(model.vcluster.profiles(dz=5.0), reference)


def test_discontinuity_fill_stays_in_the_layer_with_data():
    values = np.array(MOHO_VALUES)
    values[1] = np.nan  # a gap in the crust
    profiles = layered_model(MOHO_DEPTHS, list(values)).vcluster.profiles(
        dz=5.0, nan="fill"
    )
    np.testing.assert_allclose(
        profiles.isel(node=0).values[:5], [3.0, 3.1, 3.2, 3.3, 4.5], rtol=1e-6
    )


def test_model_with_discontinuities_clusters_and_predicts(make_model):
    depths = [0.0, 10.0, 20.0, 20.0, 35.0, 35.0, 60.0]
    da = make_model(3, depths=depths)
    model = KMeans(3, dz=5.0).fit(da)
    assert int(model.counts_.sum()) == 12 * 10
    np.testing.assert_array_equal(model.predict(da).values, model.labels_.values)


# ------------------------------------------------------ missing and sentinels


@pytest.mark.filterwarnings("ignore:variable 'vs' has multiple fill values")
def test_declared_fill_values_are_missing_after_opening(make_model, tmp_path):
    da = make_model(3).transpose("depth", "lat", "lon")
    holed = da.copy(data=da.values)
    holed[:, 0, 0] = -99999.0
    holed[:, 1, 1] = 99999.0
    holed.attrs["missing_value"] = 99999.0
    holed.encoding["_FillValue"] = -99999.0
    path = tmp_path / "model.nc"
    holed.to_dataset(name="vs").to_netcdf(path)

    with open_velocity_model(path) as dataset:
        labels = fit_labels(dataset["vs"])
    assert labels.isel(lat=0, lon=0) == -1 and labels.isel(lat=1, lon=1) == -1
    assert int((labels == -1).sum()) == 2

    # Undecoded, the declared values are still missing, and not warned about.
    with open_velocity_model(path, mask_and_scale=False) as dataset:
        xr.testing.assert_equal(fit_labels(dataset["vs"]), labels)


@pytest.mark.parametrize("sentinel", [-99999.0, 99999.0, -999.0, 9.96921e36])
def test_undeclared_sentinels_are_left_out_with_a_warning(make_model, sentinel):
    da = make_model(3)
    reference = fit_labels(da)
    bad = da.copy(data=da.values)
    bad[dict(lat=2, lon=3, depth=4)] = sentinel
    bad[dict(lat=5, lon=6)] = sentinel

    with pytest.warns(ImpossibleValueWarning) as caught:
        labels = fit_labels(bad)

    message = str(caught[0].message)
    assert f"{sentinel:g} (18 times)" in message
    assert "'km s-1'" in message
    assert labels.isel(lat=2, lon=3) == -1 and labels.isel(lat=5, lon=6) == -1
    kept = labels != -1
    xr.testing.assert_equal(labels.where(kept), reference.where(kept))


def test_sentinels_are_found_without_units_too(make_model):
    da = make_model(3).drop_attrs(deep=False)
    bad = da.copy(data=da.values)
    bad[dict(lat=0, lon=0)] = -9999.0
    with pytest.warns(ImpossibleValueWarning, match="conventional fill values"):
        labels = fit_labels(bad)
    assert labels.isel(lat=0, lon=0) == -1


def test_sentinels_in_a_lazy_model_are_reported_by_the_fit(make_model):
    da = make_model(3)
    bad = da.copy(data=da.values)
    bad[dict(lat=0, lon=0)] = -99999.0
    lazy = bad.chunk({"lat": 4})
    # Profiles stay lazy (no count, no warning); the fit reads and reports.
    profiles = lazy.vcluster.profiles()
    assert profiles.chunks is not None
    assert np.isnan(profiles.isel(lat=0, lon=0).values).all()
    with pytest.warns(ImpossibleValueWarning, match="-99999"):
        labels = fit_labels(lazy)
    assert labels.isel(lat=0, lon=0) == -1


def test_metres_per_second_allow_values_that_are_nines(make_model):
    # 9999 m/s is a possible lower-mantle Vp; -9999 m/s is not.
    da = (make_model(3) * 2500.0).assign_attrs(units="m/s")
    odd = da.copy(data=da.values)
    odd[dict(lat=0, lon=0, depth=0)] = 9999.0
    odd[dict(lat=1, lon=0)] = -9999.0
    with pytest.warns(ImpossibleValueWarning) as caught:
        labels = fit_labels(odd)
    assert len(caught) == 1 and "-9999 (17 times)" in str(caught[0].message)
    assert labels.isel(lat=0, lon=0) != -1
    assert labels.isel(lat=1, lon=0) == -1


def test_wrong_units_are_an_error_not_a_mask(make_model):
    in_metres = (make_model(3) * 1000.0).assign_attrs(units="km/s")
    with pytest.raises(InputError, match="units"):
        fit_labels(in_metres)


# ---------------------------------------------------------------- perturbations


def perturbation(da: xr.DataArray) -> xr.DataArray:
    """Percent perturbation from the mean profile, as tomographers publish it."""
    reference = da.mean(["lat", "lon"])
    dv = 100.0 * (da - reference) / reference
    return dv.assign_attrs(long_name="shear-wave velocity perturbation", units="%")


def test_percent_perturbation_beside_the_absolute_model(make_model):
    vs = make_model(3)
    dataset = xr.Dataset({"vs": vs, "dvs": perturbation(vs)})
    model = KMeans(3).fit(select_variable(dataset, "dvs"))
    assert float(dataset["dvs"].min()) < 0  # negative percent is not missing
    assert int(model.counts_.sum()) == vs.size // vs.sizes["depth"]
    assert model.centres_.attrs["units"] == "%"
    # Slower means a more negative perturbation: the numbering agrees.
    xr.testing.assert_equal(model.labels_, fit_labels(vs))


def test_percent_below_minus_one_hundred_is_impossible(make_model):
    dv = perturbation(make_model(3))
    dv[dict(lat=0, lon=0, depth=0)] = -999.0
    with pytest.warns(ImpossibleValueWarning, match="outside -100 to 100"):
        labels = fit_labels(dv)
    assert labels.isel(lat=0, lon=0) == -1


# --------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("float32", "float32"), ("float64", "float64"), ("int16", "float64")],
)
def test_float32_float64_and_integer_models(make_model, dtype, expected):
    # Integers are m/s, as some models store them; float32 stays float32.
    da = make_model(3)
    if dtype.startswith("int"):
        da = (da * 1000.0).round().astype(dtype).assign_attrs(units="m s-1")
    else:
        da = da.astype(dtype)
    model = KMeans(3).fit(da)
    assert da.vcluster.profiles().dtype == expected
    assert model.labels_.dtype == "int32"
    xr.testing.assert_equal(model.labels_, fit_labels(make_model(3)))


# ------------------------------------------------------------ several variables


@pytest.fixture
def vp_vs_rho(make_model) -> xr.Dataset:
    vs = make_model(3)
    return xr.Dataset(
        {
            "vp": (vs * 1.75).assign_attrs(units="km/s"),
            "vs": vs,
            "rho": (vs * 0.5 + 1.0).assign_attrs(units="g/cm3"),
        }
    )


def test_a_dataset_where_one_variable_is_needed(vp_vs_rho):
    for call in (
        lambda: KMeans(3).fit(vp_vs_rho),
        lambda: xvcluster.find_axes(vp_vs_rho),
        lambda: select_variable(vp_vs_rho),
    ):
        with pytest.raises(InputError) as info:
            call()
        assert all(repr(name) in str(info.value) for name in ("rho", "vp", "vs"))


def test_the_user_picks_one_variable(vp_vs_rho):
    labels = {name: fit_labels(select_variable(vp_vs_rho, name)) for name in vp_vs_rho}
    # Every variable is a scaled copy of vs here, so the provinces agree.
    xr.testing.assert_equal(labels["vp"], labels["vs"])
    xr.testing.assert_equal(labels["rho"], labels["vs"])


def test_a_file_with_one_model_beside_maps_and_bounds(make_model):
    vs = make_model(3)
    dataset = xr.Dataset(
        {
            "vs": vs,
            "moho": vs.isel(depth=0, drop=True) * 10,
            "lat_bnds": (("lat", "bnds"), np.zeros((vs.sizes["lat"], 2))),
        }
    )
    assert select_variable(dataset).name == "vs"


def test_a_numpy_array_is_not_a_model():
    with pytest.raises(InputError, match="DataArray"):
        KMeans(3).fit(np.ones((3, 4, 5)))


# ------------------------------------------------------------------ metadata


def test_coordinates_without_attributes(make_model):
    da = make_model(3)
    bare = da.drop_attrs()
    assert all(not bare[name].attrs for name in bare.coords)
    xr.testing.assert_equal(fit_labels(bare).drop_attrs(), fit_labels(da).drop_attrs())


@pytest.mark.parametrize("where", [0, 3])
def test_length_one_extra_dim(make_model, where):
    da = make_model(3)
    with_time = da.expand_dims(time=[np.datetime64("2011-01-01")], axis=where)
    labels = fit_labels(with_time)
    assert labels.dims == ("lat", "lon")
    xr.testing.assert_equal(labels.drop_vars("time"), fit_labels(da))


def projected(da: xr.DataArray, attributes: bool) -> xr.DataArray:
    """The model on a (y, x) grid in metres with 2-D lat/lon coordinates."""
    lat2d, lon2d = xr.broadcast(da["lat"], da["lon"])
    grid = da.rename(lat="y", lon="x").assign_coords(
        y=("y", 1000.0 * np.arange(da.sizes["lat"])),
        x=("x", 1000.0 * np.arange(da.sizes["lon"])),
    )
    grid = grid.assign_coords(
        lat=(("y", "x"), lat2d.values + 0.01 * lon2d.values),
        lon=(("y", "x"), lon2d.values),
    )
    if attributes:
        grid["lat"].attrs = {"standard_name": "latitude", "units": "degrees_north"}
        grid["lon"].attrs = {"standard_name": "longitude", "units": "degrees_east"}
        return grid
    return grid.drop_attrs()


@pytest.mark.parametrize("attributes", [True, False])
def test_projected_grid_with_2d_latitude_and_longitude(
    make_model, tmp_path, attributes
):
    da = make_model(3)
    grid = projected(da, attributes)
    model = KMeans(3).fit(grid)
    assert model.labels_.dims == ("y", "x")
    xr.testing.assert_identical(model.labels_["lat"], grid["lat"])
    np.testing.assert_array_equal(model.labels_.values, fit_labels(da).values)

    model.to_netcdf(tmp_path / "projected.nc")
    loaded = xvcluster.load_model(tmp_path / "projected.nc")
    xr.testing.assert_identical(loaded.result(), model.result())
    xr.testing.assert_equal(loaded.predict(grid), model.labels_)


# -------------------------------------------------------------- damaged files


def truncated_copy(source, directory, fraction: float):
    data = source.read_bytes()
    damaged = directory / f"truncated-{fraction}.nc"
    damaged.write_bytes(data[: int(len(data) * fraction)])
    return damaged


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.99])
def test_truncated_netcdf3_file_is_refused_not_read_as_zeros(tmp_path, fraction):
    damaged = truncated_copy(Path(xvcluster.example_path()), tmp_path, fraction)
    with pytest.raises(ModelFileError, match="truncated") as info:
        open_velocity_model(damaged)
    assert str(damaged) in str(info.value)


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9])
def test_truncated_netcdf4_file_is_refused(tmp_path, fraction):
    damaged = truncated_copy(DELPH_PATH, tmp_path, fraction)
    with pytest.raises(ModelFileError) as info:
        open_velocity_model(damaged)
    assert str(damaged) in str(info.value)


def test_damaged_bundled_example_says_reinstall(monkeypatch, tmp_path):
    broken = tmp_path / "PNW10-S_kmps.nc"
    broken.write_bytes(b"CDF\x01\x00\x00")
    monkeypatch.setattr(xvcluster.datasets, "example_path", lambda name: str(broken))
    with pytest.raises(ModelFileError, match="reinstall"):
        xvcluster.open_example()
