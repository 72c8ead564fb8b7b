"""Scale: the euclidean engines, blockwise fits over dask, distributed, seeding."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_info

import xvcluster
from xvcluster import InputError, KMeans, lloyd
from xvcluster.kmeans import BLOCKWISE_BYTES

WINDOW = {"zrange": (0, 60), "dz": 2.0}


def _tslearn_kmeans():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="h5py not installed")
        from tslearn.clustering import TimeSeriesKMeans
    return TimeSeriesKMeans


def _without_params(labels: xr.DataArray) -> xr.DataArray:
    """Labels without the attribute that names the engine."""
    return labels.drop_attrs()


@pytest.fixture(scope="module")
def small_synthetic() -> xr.Dataset:
    return xvcluster.synthetic_model(5, nlat=48, nlon=40, seed=3)


# -------------------------------------------- the engine against tslearn


def test_lloyd_same_partition_as_tslearn_from_the_same_initial_centres(pnw):
    profiles = pnw.vcluster.profiles(**WINDOW)
    series = profiles.values.reshape(-1, profiles.sizes["depth"]).astype("float64")
    start = lloyd.kmeans_plusplus(series, 5, np.random.default_rng(7))

    reference = _tslearn_kmeans()(
        n_clusters=5, metric="euclidean", init=start[:, :, np.newaxis]
    ).fit(series[:, :, np.newaxis])
    (ours,) = lloyd.lloyd(
        lloyd.StatisticsInMemory(series), [start], series, max_iter=50, tol=1e-6
    )
    labels = lloyd.nearest_labels(series, ours.centres)

    assert adjusted_rand_score(reference.labels_, labels) >= 0.99
    assert ours.inertia == pytest.approx(reference.inertia_, rel=1e-3)


# --------------------------------------------------- memory vs blockwise


@pytest.mark.parametrize("model_name", ["pnw", "delph"])
def test_memory_and_blockwise_engines_give_the_same_labels(request, model_name):
    da = request.getfixturevalue(model_name)
    chunked = da.chunk({"latitude": 20, "longitude": 16})

    in_memory = KMeans(4, engine="memory", **WINDOW).fit(chunked)
    blockwise = KMeans(4, engine="blockwise", **WINDOW).fit(chunked)

    assert isinstance(blockwise.labels_.data, np.ndarray)  # computed, not lazy
    xr.testing.assert_identical(
        _without_params(blockwise.labels_), _without_params(in_memory.labels_)
    )
    xr.testing.assert_identical(blockwise.counts_, in_memory.counts_)
    xr.testing.assert_allclose(blockwise.centres_, in_memory.centres_, rtol=1e-9)
    assert blockwise.inertia_ == pytest.approx(in_memory.inertia_, rel=1e-9)


def test_blockwise_knee_search_matches_the_in_memory_one(small_synthetic):
    vs = small_synthetic["vs"].chunk({"latitude": 12})
    in_memory = KMeans(None, krange=range(2, 9), engine="memory").fit(vs)
    blockwise = KMeans(None, krange=range(2, 9), engine="blockwise").fit(vs)

    assert blockwise.n_clusters_ == in_memory.n_clusters_
    for model in (in_memory, blockwise):
        at_knee = model.elbow_["inertia"].sel(k=model.n_clusters_)
        assert float(at_knee) == pytest.approx(model.inertia_, rel=1e-9)
    xr.testing.assert_allclose(blockwise.elbow_, in_memory.elbow_, rtol=1e-9)
    xr.testing.assert_identical(
        _without_params(blockwise.labels_), _without_params(in_memory.labels_)
    )


def test_blockwise_fit_with_transposed_dims_and_missing_profiles(make_model):
    da, truth = make_model(
        3, dims=("lon", "depth", "lat"), missing=9, seed=2, return_provinces=True
    )
    labels = KMeans(3, engine="blockwise").fit(da.chunk({"lat": 5})).labels_
    assert labels.dims == ("lon", "lat")
    np.testing.assert_array_equal(labels.transpose("lat", "lon").values, truth.values)


def test_nothing_computed_until_fit(small_synthetic, raise_on_compute, tmp_path):
    path = tmp_path / "model.nc"
    small_synthetic.to_netcdf(path)
    with xr.open_dataset(path, chunks={"latitude": 16}) as dataset:
        with raise_on_compute:
            vs = dataset["vs"]
            vs.vcluster.profiles(**WINDOW)
            model = KMeans(5, engine="blockwise")
        model.fit(vs)
        truth = dataset["province"].values
    np.testing.assert_array_equal(model.labels_.values, truth)


def test_auto_engine_goes_blockwise_only_for_large_dask_models(pnw, monkeypatch):
    profiles = pnw.vcluster.profiles(**WINDOW)
    assert profiles.nbytes < BLOCKWISE_BYTES
    assert not KMeans(5)._fits_blockwise(profiles.chunk())

    monkeypatch.setattr("xvcluster.kmeans.BLOCKWISE_BYTES", profiles.nbytes - 1)
    assert KMeans(5)._fits_blockwise(profiles.chunk())
    assert not KMeans(5)._fits_blockwise(profiles)  # numpy stays in memory
    assert not KMeans(5, engine="memory")._fits_blockwise(profiles.chunk())
    assert not KMeans(5, metric="dtw")._fits_blockwise(profiles.chunk())


# ---------------------------------------------------- dask.distributed


def test_labels_on_a_distributed_cluster_equal_the_local_ones(small_synthetic):
    distributed = pytest.importorskip("distributed")
    vs = small_synthetic["vs"].chunk({"latitude": 16})
    local = KMeans(5, engine="blockwise").fit(vs)

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        on_cluster = KMeans(5, engine="blockwise").fit(vs)

    xr.testing.assert_identical(on_cluster.labels_, local.labels_)
    xr.testing.assert_allclose(on_cluster.centres_, local.centres_, rtol=1e-9)


# ----------------------------------------------- seeding and the provinces


@pytest.mark.parametrize("model_seed", [0, 4])
def test_planted_provinces_recovered_whatever_the_seed(model_seed):
    model = xvcluster.synthetic_model(8, nlat=50, nlon=60, seed=model_seed)
    truth = model["province"].values.ravel()
    for random_state in range(3):
        labels = KMeans(8, random_state=random_state).fit(model["vs"]).labels_
        assert adjusted_rand_score(truth, labels.values.ravel()) >= 0.95


def _blas_threads() -> list[int]:
    return [
        pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"
    ]


@pytest.mark.parametrize("engine", ["memory", "blockwise"])
def test_blas_one_thread_inside_blockwise_fits_only_and_restored(
    small_synthetic, monkeypatch, engine
):
    before = _blas_threads()
    during = []
    iterate = lloyd.lloyd

    def recording_threads(*args, **kwargs):
        during.append(_blas_threads())
        return iterate(*args, **kwargs)

    monkeypatch.setattr(lloyd, "lloyd", recording_threads)
    KMeans(5, engine=engine).fit(small_synthetic["vs"].chunk({"latitude": 16}))

    expected = [1] * len(before) if engine == "blockwise" else before
    assert during and all(threads == expected for threads in during)
    assert _blas_threads() == before


def test_blockwise_fit_shows_progress_when_asked(small_synthetic, capsys):
    vs = small_synthetic["vs"].chunk({"latitude": 16})
    with xvcluster.set_options(progress=True):
        KMeans(5, engine="blockwise").fit(vs)
    assert "k-means passes" in capsys.readouterr().err


# ------------------------------------------------------ synthetic models


def test_synthetic_model_is_the_same_lazy_or_in_memory():
    in_memory = xvcluster.synthetic_model(4, nlat=30, nlon=20, seed=5)
    lazy = xvcluster.synthetic_model(4, nlat=30, nlon=20, seed=5, chunks=7)
    assert lazy["vs"].chunks is not None
    xr.testing.assert_identical(lazy.compute(), in_memory)
    assert in_memory["vs"].dtype == np.float32
    assert set(np.unique(in_memory["province"])) == {0, 1, 2, 3}


def test_synthetic_provinces_are_numbered_slowest_first(small_synthetic):
    mean_velocity = (
        small_synthetic["vs"]
        .mean("depth")
        .groupby(small_synthetic["province"])
        .mean()
        .values
    )
    assert np.all(np.diff(mean_velocity) > 0)


# ------------------------------------------------------------ bad input


def test_unknown_engine():
    with pytest.raises(InputError, match="engine='fast'"):
        KMeans(3, engine="fast")


@pytest.mark.parametrize("engine", ["memory", "blockwise"])
def test_euclidean_engines_refuse_dtw(engine):
    with pytest.raises(InputError, match="tslearn"):
        KMeans(3, metric="dtw", engine=engine)


def test_blockwise_fit_with_too_few_profiles(make_model):
    da = make_model(2, nlat=4, nlon=4, missing=14, chunks={"lat": 2})
    with pytest.raises(InputError, match=r"\b2\b"):
        KMeans(3, engine="blockwise").fit(da)


# ------------------------------------------ the float32 screen is exact


def _float64_nearest(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    difference = rows.astype("float64")[:, None, :] - centres[None, :, :]
    return np.square(difference).sum(axis=2).argmin(axis=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1.0, 1000.0])  # km/s, and m/s
def test_nearest_centres_equal_float64_even_at_near_ties(dtype, scale):
    rng = np.random.default_rng(5)
    centres = scale * (4.0 + rng.normal(size=(6, 81)))
    # Profiles half-way between two centres, nudged by less than float32 can
    # resolve, and ordinary profiles around every centre.
    halfway = (centres[0] + centres[1]) / 2
    nudges = scale * 1e-7 * rng.normal(size=(500, 81))
    around = centres[rng.integers(6, size=3000)] + scale * rng.normal(size=(3000, 81))
    rows = np.concatenate([halfway + nudges, around]).astype(dtype)

    found = lloyd.nearest_centres(rows, centres)

    np.testing.assert_array_equal(found, _float64_nearest(rows, centres))


def test_nearest_centres_do_not_depend_on_the_batch(pnw, monkeypatch):
    profiles = pnw.vcluster.profiles(**WINDOW)
    rows = profiles.values.reshape(-1, profiles.sizes["depth"])
    centres = KMeans(6, **WINDOW).fit(pnw).centres_.values

    whole = lloyd.nearest_centres(rows, centres)
    monkeypatch.setattr(lloyd, "BATCH_ROWS", 997)
    np.testing.assert_array_equal(lloyd.nearest_centres(rows, centres), whole)
    np.testing.assert_array_equal(
        lloyd.nearest_centres(rows[::-1], centres), whole[::-1]
    )


def test_identical_centres_share_their_profiles_exactly():
    rng = np.random.default_rng(1)
    rows = 4.0 + rng.normal(size=(2000, 30))
    centres = np.stack([rows[0], rows[0], rows[1]])

    found = lloyd.nearest_centres(rows, centres)

    assert set(np.unique(found)) <= {0, 2}  # a tie goes to the first centre
    np.testing.assert_array_equal(found, _float64_nearest(rows, centres))


def test_in_memory_passes_update_sums_as_a_fresh_pass_computes_them(pnw):
    profiles = pnw.vcluster.profiles(**WINDOW)
    rows = profiles.values.reshape(-1, profiles.sizes["depth"])
    passes = lloyd.StatisticsInMemory(rows)
    centres = lloyd.kmeans_plusplus(rows.astype("float64"), 5, np.random.default_rng(2))

    for _ in range(6):
        ((sums, counts, squared),) = passes({"problem": centres}).values()
        ((fresh_sums, fresh_counts, fresh_squared),) = lloyd.block_statistics(
            rows, [centres]
        )
        np.testing.assert_array_equal(counts, fresh_counts)
        np.testing.assert_allclose(sums, fresh_sums, rtol=1e-12)
        assert squared == pytest.approx(fresh_squared, rel=1e-9)
        centres = sums / counts[:, None]


def test_nearest_unless_close_matches_argmin_and_partition():
    rng = np.random.default_rng(3)
    distances = rng.normal(size=(7, 500))
    distances[2, :10] = distances[4, :10] = -10.0  # ties are always unsure
    bound = rng.uniform(0.0, 0.2, size=500)

    nearest, unsure = lloyd._nearest_unless_close(distances, bound)

    two_smallest = np.partition(distances, 1, axis=0)
    expected_unsure = np.flatnonzero(two_smallest[1] - two_smallest[0] <= bound)
    np.testing.assert_array_equal(unsure, expected_unsure)
    assert set(range(10)) <= set(unsure)
    sure = np.setdiff1d(np.arange(500), unsure)
    np.testing.assert_array_equal(nearest[sure], distances.argmin(axis=0)[sure])
    assert nearest.dtype == np.int32


def test_nearest_unless_close_with_one_centre_or_hundreds():
    rng = np.random.default_rng(4)
    (nearest, unsure) = lloyd._nearest_unless_close(
        rng.normal(size=(1, 50)), np.zeros(50)
    )
    assert (nearest == 0).all() and unsure.size == 0

    distances = rng.normal(size=(300, 400))  # more rows than a uint8 counts
    nearest, unsure = lloyd._nearest_unless_close(distances, np.zeros(400))
    assert unsure.size == 0
    np.testing.assert_array_equal(nearest, distances.argmin(axis=0))


# -------------------------------------- how often a dask model is read


class _CountingSource:
    """An array that counts the reads dask makes of it (one per chunk read)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return self.values[key]


def _counted_model(da: xr.DataArray, lat_chunk: int):
    """``da`` backed by a dask array over a read-counting source."""
    import dask.array

    source = _CountingSource(da.values)
    chunks = tuple(lat_chunk if dim == "lat" else -1 for dim in da.dims)
    lazy = da.copy(data=dask.array.from_array(source, chunks=chunks))
    source.reads = 0  # from_array peeks at an empty slice for the dtype
    return lazy, source


def test_memory_fit_reads_a_clean_dask_model_once(make_model):
    da = make_model(3, nlat=12, nlon=10, seed=6)
    lazy, source = _counted_model(da, lat_chunk=4)

    model = KMeans(3, engine="memory").fit(lazy)

    assert source.reads == 3  # each chunk once: the value check shares the load
    xr.testing.assert_identical(
        _without_params(model.labels_), _without_params(KMeans(3).fit(da).labels_)
    )


def test_blockwise_fit_checks_values_in_its_first_read(make_model, monkeypatch):
    da = make_model(3, nlat=12, nlon=10, seed=6)
    lazy, source = _counted_model(da, lat_chunk=4)
    passes = []
    original = lloyd.StatisticsOverBlocks.__call__

    def counted_pass(self, centre_sets):
        passes.append(len(centre_sets))
        return original(self, centre_sets)

    monkeypatch.setattr(lloyd.StatisticsOverBlocks, "__call__", counted_pass)
    model = KMeans(3, engine="blockwise").fit(lazy)

    # One read checks the values and finds the complete profiles, one draws
    # the seeding sample, then one per Lloyd pass.
    assert source.reads == 3 * (2 + len(passes))
    xr.testing.assert_identical(
        _without_params(model.labels_), _without_params(KMeans(3).fit(da).labels_)
    )


@pytest.mark.parametrize("engine", ["memory", "blockwise"])
def test_sentinels_in_a_dask_model_are_masked_by_either_engine(make_model, engine):
    da = make_model(3, nlat=12, nlon=10, seed=6)
    bad = da.copy(data=da.values)
    bad[dict(lat=5, lon=2, depth=3)] = -99999.0
    lazy = bad.chunk({"lat": 4})

    with pytest.warns(xvcluster.ImpossibleValueWarning, match="-99999"):
        model = KMeans(3, engine=engine).fit(lazy)

    assert int(model.labels_.isel(lat=5, lon=2)) == -1
    with pytest.warns(xvcluster.ImpossibleValueWarning):
        reference = KMeans(3).fit(bad)
    xr.testing.assert_identical(
        _without_params(model.labels_), _without_params(reference.labels_)
    )
