"""Saving models to netCDF and loading them back: equal, atomic, no pickle."""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

import xvcluster
from xvcluster import KMeans, ModelFileError, OutputExistsError
from xvcluster.io import check_writable

DELPH_PATH = Path(__file__).parent / "data" / "Cascadia-ANT+RF-Delph2018.r0.1.nc"


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def knee_model(make_model) -> KMeans:
    """k from the knee of a smoothed curve: elbow variables in the result."""
    return KMeans(None, krange=range(2, 8), smooth=3).fit(make_model(3))


@pytest.fixture(params=["pnw", "delph", "knee"])
def any_model(request) -> KMeans:
    return request.getfixturevalue(f"{request.param}_model")


def _round_trip(model: KMeans, directory: Path) -> KMeans:
    path = directory / "model.nc"
    model.to_netcdf(path)
    return xvcluster.load_model(path)


# ----------------------------------------------------------------- round trip


def test_result_round_trips_identical(any_model, tmp_path):
    loaded = _round_trip(any_model, tmp_path)
    assert type(loaded) is KMeans
    xr.testing.assert_identical(loaded.result(), any_model.result())
    assert loaded.get_params() == any_model.get_params()
    assert loaded.n_clusters_ == any_model.n_clusters_
    assert loaded.inertia_ == any_model.inertia_
    np.testing.assert_array_equal(loaded.depth_, any_model.depth_)
    xr.testing.assert_identical(loaded.labels_, any_model.labels_)
    xr.testing.assert_identical(loaded.centres_, any_model.centres_)
    xr.testing.assert_identical(loaded.counts_, any_model.counts_)
    if any_model.elbow_ is None:
        assert loaded.elbow_ is None
    else:
        xr.testing.assert_identical(loaded.elbow_, any_model.elbow_)


def test_a_loaded_model_saves_and_loads_again(delph_model, tmp_path):
    loaded = _round_trip(delph_model, tmp_path)
    again_path = tmp_path / "again.nc"
    loaded.to_netcdf(again_path)
    again = xvcluster.load_model(again_path)
    xr.testing.assert_identical(again.result(), delph_model.result())


def test_loaded_model_predicts_as_the_original(pnw_model, pnw, delph, tmp_path):
    loaded = _round_trip(pnw_model, tmp_path)
    xr.testing.assert_identical(loaded.predict(pnw), pnw_model.labels_)
    xr.testing.assert_identical(loaded.predict(pnw), pnw_model.predict(pnw))
    # Other data: another region of the same model, and another model with gaps.
    south = pnw.sel(latitude=slice(None, 41.0))
    xr.testing.assert_identical(loaded.predict(south), pnw_model.predict(south))
    on_delph = loaded.predict(delph)
    assert (on_delph == -1).any()
    xr.testing.assert_identical(on_delph, pnw_model.predict(delph))


def test_loaded_model_predicts_lazily(pnw_model, pnw, tmp_path, raise_on_compute):
    loaded = _round_trip(pnw_model, tmp_path)
    chunked = pnw.chunk({"latitude": 40})
    with raise_on_compute:
        lazy = loaded.predict(chunked)
    xr.testing.assert_identical(lazy.compute(), pnw_model.labels_)


def test_missing_labels_survive_as_int32_minus_one(delph_model, tmp_path):
    original = delph_model.labels_
    n_missing = int((original == -1).sum())
    assert n_missing > 0
    loaded = _round_trip(delph_model, tmp_path).labels_
    assert loaded.dtype == np.int32
    assert int((loaded == -1).sum()) == n_missing
    np.testing.assert_array_equal(loaded.values, original.values)


# --------------------------------------------------------- the file itself


def test_plain_xarray_sees_cf_flags(delph_model, tmp_path):
    path = tmp_path / "model.nc"
    delph_model.to_netcdf(path)
    original = delph_model.labels_

    with xr.open_dataset(path) as decoded:
        labels = decoded["labels"]
        np.testing.assert_array_equal(labels.attrs["flag_values"], np.arange(4))
        assert labels.attrs["flag_meanings"].split() == [
            f"cluster_{i}" for i in range(4)
        ]
        # CF decoding masks the dropped profiles.
        np.testing.assert_array_equal(labels.isnull().values, (original == -1).values)
        assert "easting" in labels.coords and "northing" in labels.coords

    with netCDF4.Dataset(path) as raw:
        variable = raw["labels"]
        assert variable.dtype == np.int32
        assert variable.getncattr("_FillValue") == -1
        np.testing.assert_array_equal(variable.getncattr("flag_values"), np.arange(4))
        assert variable.getncattr("flag_values").dtype == np.int32
        variable.set_auto_mask(False)
        np.testing.assert_array_equal(variable[:], original.values)


def test_the_file_holds_no_pickle(knee_model, tmp_path):
    path = tmp_path / "model.nc"
    knee_model.to_netcdf(path)
    with netCDF4.Dataset(path) as raw:
        assert raw.data_model == "NETCDF4"
        for name, variable in raw.variables.items():
            assert np.dtype(variable.dtype).kind in "iuf", name
        attrs = {name: raw.getncattr(name) for name in raw.ncattrs()}
        for variable in raw.variables.values():
            attrs.update(
                {name: variable.getncattr(name) for name in variable.ncattrs()}
            )
    for name, value in attrs.items():
        assert isinstance(value, str | np.ndarray | np.number | int | float), name
        if isinstance(value, np.ndarray):
            assert value.dtype.kind in "iuf", name
    params = json.loads(attrs["xvcluster_params"])
    assert params == json.loads(json.dumps(knee_model.get_params()))
    assert json.loads(attrs["xvcluster_axes"])["depth"] == "depth"
    assert json.loads(attrs["xvcluster_variable"])["name"] == "vs"


def test_loading_runs_no_unpickling(knee_model, tmp_path, monkeypatch):
    path = tmp_path / "model.nc"
    knee_model.to_netcdf(path)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = xvcluster.load_model(path)
    xr.testing.assert_identical(loaded.result(), knee_model.result())


# ---------------------------------------------------------- atomic writing


def test_existing_file_is_not_overwritten(pnw_model, knee_model, tmp_path):
    path = tmp_path / "model.nc"
    knee_model.to_netcdf(path)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite") as excinfo:
        pnw_model.to_netcdf(path)
    assert isinstance(excinfo.value, FileExistsError)
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]
    xr.testing.assert_identical(
        xvcluster.load_model(path).result(), knee_model.result()
    )


def test_overwrite_replaces_the_file(pnw_model, knee_model, tmp_path):
    path = tmp_path / "model.nc"
    knee_model.to_netcdf(path)
    pnw_model.to_netcdf(str(path), overwrite=True)
    assert sorted(tmp_path.iterdir()) == [path]
    xr.testing.assert_identical(xvcluster.load_model(path).result(), pnw_model.result())


def _failing_to_netcdf(error: type[BaseException]):
    def to_netcdf(self, path=None, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n half a file")
        raise error("disk full")

    return to_netcdf


@pytest.mark.parametrize("error", [OSError, KeyboardInterrupt])
def test_failed_write_leaves_no_file(knee_model, tmp_path, monkeypatch, error):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _failing_to_netcdf(error))
    with pytest.raises(error, match="disk full"):
        knee_model.to_netcdf(tmp_path / "model.nc")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_file(
    pnw_model, knee_model, tmp_path, monkeypatch
):
    path = tmp_path / "model.nc"
    knee_model.to_netcdf(path)
    before = path.read_bytes()
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _failing_to_netcdf(OSError))
    with pytest.raises(OSError, match="disk full"):
        pnw_model.to_netcdf(path, overwrite=True)
    assert sorted(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == before


def test_write_creates_missing_directories(knee_model, tmp_path):
    path = tmp_path / "out" / "run" / "model.nc"
    knee_model.to_netcdf(path)
    assert path.is_file()
    assert sorted(path.parent.iterdir()) == [path]


# -------------------------------------------------------------- bad files


def test_load_a_velocity_model_instead_of_a_result():
    with pytest.raises(ModelFileError) as excinfo:
        xvcluster.load_model(DELPH_PATH)
    assert isinstance(excinfo.value, ValueError)
    assert "xvcluster" in str(excinfo.value)


@pytest.mark.parametrize(
    "dataset",
    [
        xr.Dataset({"a": ("x", [1, 2])}),
        xr.Dataset({"a": ("x", [1, 2])}, attrs={"xvcluster_model": "Nonexistent"}),
        xr.Dataset({"a": ("x", [1, 2])}, attrs={"xvcluster_model": "ProfileModel"}),
    ],
    ids=["no-attrs", "unknown-model", "base-class"],
)
def test_load_a_foreign_netcdf(dataset, tmp_path):
    path = tmp_path / "foreign.nc"
    dataset.to_netcdf(path)
    with pytest.raises(ModelFileError):
        xvcluster.load_model(path)


def test_load_an_incomplete_xvcluster_file(tmp_path):
    """A file that names an xvcluster model but lacks its parts."""
    path = tmp_path / "incomplete.nc"
    xr.Dataset({"a": ("x", [1, 2])}, attrs={"xvcluster_model": "KMeans"}).to_netcdf(
        path
    )
    with pytest.raises(ModelFileError):
        xvcluster.load_model(path)


def test_load_a_file_with_broken_params(knee_model, tmp_path):
    good = tmp_path / "good.nc"
    knee_model.to_netcdf(good)
    with xr.open_dataset(good) as dataset:
        broken = dataset.load()
    broken.attrs["xvcluster_params"] = "{not json"
    path = tmp_path / "broken.nc"
    broken.to_netcdf(path)
    with pytest.raises(ModelFileError):
        xvcluster.load_model(path)


@pytest.mark.parametrize("keep", [0.5, 0.1, 0.0])
def test_load_a_truncated_file(knee_model, tmp_path, keep):
    path = tmp_path / "model.nc"
    knee_model.to_netcdf(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError):
        xvcluster.load_model(path)


def test_load_a_garbage_file(tmp_path):
    path = tmp_path / "model.nc"
    path.write_bytes(b"this is not netCDF\n" * 100)
    with pytest.raises(ModelFileError):
        xvcluster.load_model(path)


def test_load_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        xvcluster.load_model(tmp_path / "nowhere.nc")
    with pytest.raises(FileNotFoundError):
        xvcluster.load_model(str(tmp_path / "nowhere.nc"))


# ------------------------------------------------------------ hostile files


@pytest.mark.parametrize(
    "attribute", ["xvcluster_params", "xvcluster_axes", "xvcluster_variable"]
)
@pytest.mark.parametrize(
    "payload",
    [
        "__import__('pathlib').Path({marker!r}).touch()",
        '{{"zrange": "__import__(\'pathlib\').Path({marker!r}).touch()"}}',
        "cos\nsystem\n(S'touch {marker}'\ntR.",
    ],
    ids=["python-expression", "expression-in-json", "pickle-protocol-0"],
)
def test_hostile_attrs_never_run(knee_model, tmp_path, monkeypatch, attribute, payload):
    marker = tmp_path / "ran"
    good = tmp_path / "good.nc"
    knee_model.to_netcdf(good)
    with xr.open_dataset(good, mask_and_scale=False) as dataset:
        hostile = dataset.load()
    hostile.attrs[attribute] = payload.format(marker=str(marker))
    path = tmp_path / "hostile.nc"
    hostile.to_netcdf(path)

    def refuse(*args, **kwargs):
        raise AssertionError("code from the file was run")

    for module, name in [
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("pickle", "loads"),
        ("pickle", "load"),
    ]:
        monkeypatch.setattr(f"{module}.{name}", refuse)
    try:
        xvcluster.load_model(path)
    except ModelFileError as error:
        assert str(path) in str(error)
    assert not marker.exists()


def test_result_file_gets_the_users_permissions(knee_model, tmp_path):
    umask = os.umask(0o022)
    try:
        knee_model.to_netcdf(tmp_path / "model.nc")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "model.nc").stat().st_mode) == 0o644


def test_result_is_flushed_to_disk_before_it_appears(knee_model, tmp_path, monkeypatch):
    path = tmp_path / "model.nc"
    flushed_before_rename = []
    real_fsync = os.fsync

    def fsync(descriptor):
        flushed_before_rename.append(not path.exists())
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    knee_model.to_netcdf(path)
    assert flushed_before_rename == [True]
    assert path.is_file()


def test_output_under_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        check_writable(tmp_path / "taken" / "model.nc")
    with pytest.raises(IsADirectoryError):
        check_writable(tmp_path, overwrite=True)
