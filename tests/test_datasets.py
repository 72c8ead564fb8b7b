"""The bundled example models: names, files, citations, and clustering each one."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest

import xvcluster
from xvcluster.datasets import EXAMPLES

# The files are shipped unchanged: these are the hashes of the distributed files.
SHA256 = {
    "PNW10-S": "8916eb27e89c688cb21473753d7d8a2f00d033377b861115be35f31d58e6f808",
    "S362ANI+M": "f88c66932fdab6046b500f2235bfd5a340794f5b3d3567f7a81c216f5696c152",
}


@pytest.fixture(scope="module")
def mantle():
    """S362ANI+M's shear velocity, in memory (25 depths x 91 x 181)."""
    with xvcluster.open_example("S362ANI+M") as dataset:
        return dataset["v"].load()


def test_the_default_example_is_still_pnw10s():
    with xvcluster.open_example() as dataset:
        assert "vs" in dataset.data_vars
        assert "Porritt" in dataset.attrs["citation"]
    assert Path(xvcluster.example_path()).name == "PNW10-S_kmps.nc"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_the_distributed_file_with_its_citation(name):
    path = Path(xvcluster.example_path(name))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[name]

    with xvcluster.open_example(name) as dataset:
        variable = EXAMPLES[name]["variable"]
        assert list(dataset.data_vars) == [variable]
        assert dataset.attrs["citation"] == EXAMPLES[name]["citation"]
        assert "doi:" in dataset.attrs["citation"]


def test_s362anim_is_the_global_mantle_model_as_stored(mantle):
    assert mantle.dims == ("depth", "latitude", "longitude")
    assert dict(mantle.sizes) == {"depth": 25, "latitude": 91, "longitude": 181}
    assert mantle.attrs["units"] == "kmps"
    assert mantle.dtype == np.float32
    depth = mantle["depth"].values
    assert (depth[0], depth[-1]) == (25.0, 2890.0)
    assert np.unique(np.diff(depth)).size > 1  # uneven steps
    assert not mantle.isnull().any()

    with xvcluster.open_example("S362ANI+M") as dataset:
        citation = dataset.attrs["citation"]
    assert "doi:10.1093/gji/ggu356" in citation
    assert "doi:10.17611/DP/EMC.1" in citation


def test_s362anim_clusters_with_kmeans_and_som_without_warnings(mantle):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = mantle.vcluster.kmeans(5, zrange=(25, 400), dz=25.0)
        nodes = mantle.vcluster.som(
            grid=(3, 3), iterations=2_000, zrange=(25, 400), dz=25.0
        )

    assert labels.dims == ("latitude", "longitude")
    assert labels.attrs["method"] == "kmeans"
    counts = np.bincount(labels.values.ravel())
    assert counts.size == 5 and counts.min() > 0 and counts.sum() == labels.size
    assert nodes.dims == ("latitude", "longitude")
    assert nodes.attrs["method"] == "som"
    assert 2 <= np.unique(nodes.values).size <= 9
    assert (nodes.values >= 0).all()

    # Clusters are numbered slowest first: the slowest tenth of the mantle at
    # 100 km (ridges, back-arcs) is cluster 0, the fastest tenth (cratons) 4.
    at_100 = mantle.sel(depth=100.0)
    slow, fast = at_100 < at_100.quantile(0.1), at_100 > at_100.quantile(0.9)
    assert float((labels == 0).where(slow).mean()) > 0.9
    assert float((labels == 4).where(fast).mean()) > 0.9


def test_s362anim_opened_lazily_clusters_the_same(mantle, raise_on_compute):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with raise_on_compute:
            dataset = xvcluster.open_example("S362ANI+M", chunks={})
            lazy = dataset["v"]
        assert lazy.chunks is not None
        with dataset:
            model = xvcluster.KMeans(4, zrange=(25, 400), dz=25.0).fit(lazy)
            lazy_labels = model.labels_

    eager_labels = mantle.vcluster.kmeans(4, zrange=(25, 400), dz=25.0)
    np.testing.assert_array_equal(lazy_labels.values, eager_labels.values)


@pytest.mark.parametrize("opener", [xvcluster.open_example, xvcluster.example_path])
def test_an_unknown_example_is_refused_with_the_names(opener):
    with pytest.raises(xvcluster.InputError, match=r"S362ANI\+M.*") as caught:
        opener("S362ANI")
    assert "'PNW10-S'" in str(caught.value)
    assert "'S362ANI'" in str(caught.value)
