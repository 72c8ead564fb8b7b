"""Shared fixtures: real models, a synthetic model factory, a laziness guard.

Fixtures
--------
pnw_vs
    The bundled PNW10-S model, ``xvcluster.open_example()["vs"]``, in memory
    (float32, dims ``(depth, latitude, longitude)`` = 41 x 109 x 53, no NaN).
pnw, delph
    The same two models loaded once per run and shared: never change them.
pnw_model, delph_model
    k-means fits (k=5 and k=4, 0-60 km every 2 km) shared by the whole run.
delph_vs
    ``tests/data/Cascadia-ANT+RF-Delph2018.r0.1.nc`` variable ``Vs`` in memory
    (float64, 84 depths from -3 to 80 km x 46 x 25, about 18 % NaN, 2-D
    ``easting``/``northing`` coordinates).
make_model
    Factory of seeded synthetic models with planted provinces; see
    :func:`_make_model`.
raise_on_compute
    Context manager (use ``with raise_on_compute:`` or ``with
    raise_on_compute():``) under which any dask computation raises
    ``AssertionError("computed")``.

Hypothesis settings profiles "ci" (default) and "dev" are registered here; pick
one with the HYPOTHESIS_PROFILE environment variable.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path

import dask
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, settings

import xvcluster

# Hypothesis profiles: "ci" (the default) runs a fixed, reproducible set of
# examples per property; "dev" searches longer with fresh randomness. Choose
# with HYPOTHESIS_PROFILE=dev pytest tests/test_properties.py.
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"
DELPH_PATH = DATA / "Cascadia-ANT+RF-Delph2018.r0.1.nc"

WINDOW = {"zrange": (0, 60), "dz": 2.0}

DEFAULT_DEPTHS_KM = np.arange(0.0, 81.0, 5.0)  # 0, 5, ..., 80 km: 17 depths


# ---------------------------------------------------------------- real models


@pytest.fixture(scope="session")
def pnw() -> xr.DataArray:
    """PNW10-S loaded once for the whole run: read it, never change it."""
    with xvcluster.open_example() as dataset:
        return dataset["vs"].load()


@pytest.fixture(scope="session")
def delph() -> xr.DataArray:
    """Delph2018 loaded once for the whole run: read it, never change it."""
    with xr.open_dataset(DELPH_PATH) as dataset:
        return dataset["Vs"].load()


@pytest.fixture
def pnw_vs(pnw) -> xr.DataArray:
    """The bundled PNW10-S shear-velocity model (a fresh copy per test)."""
    return pnw.copy(deep=True)


@pytest.fixture
def delph_vs(delph) -> xr.DataArray:
    """The NaN-rich Delph et al. (2018) Cascadia model (a fresh copy per test)."""
    return delph.copy(deep=True)


@pytest.fixture(scope="session")
def pnw_model(pnw) -> xvcluster.KMeans:
    """k-means with k=5 on PNW10-S, 0-60 km every 2 km, fitted once per run."""
    return xvcluster.KMeans(5, **WINDOW).fit(pnw)


@pytest.fixture(scope="session")
def delph_model(delph) -> xvcluster.KMeans:
    """k-means with k=4 on Delph2018, 0-60 km every 2 km, fitted once per run."""
    return xvcluster.KMeans(4, **WINDOW).fit(delph)


# ------------------------------------------------------------ synthetic model


def province_profile(province: int, depths_km: np.ndarray) -> np.ndarray:
    """The noise-free velocity profile (km/s) of a planted province.

    Province ``p`` is ``2.5 + 0.6 p`` km/s at the surface with a gradient of
    ``0.01 + 0.01 p`` (km/s)/km, plus a low-velocity bump centred at 30 km in odd
    provinces; so a higher province is faster at every depth and its mean
    velocity is larger (cluster numbering by mean velocity, slowest first,
    therefore equals the province number).
    """
    z = np.asarray(depths_km, dtype="float64")
    profile = 2.5 + 0.6 * province + (0.01 + 0.01 * province) * z
    if province % 2:
        profile = profile - 0.2 * np.exp(-(((z - 30.0) / 10.0) ** 2))
    return profile


def province_map(n_provinces: int, nlat: int, nlon: int) -> np.ndarray:
    """Return the planted province number of each (lat, lon) node.

    Two provinces split the grid into west/east halves, three into three
    longitude bands, four into quadrants (south-west 0, south-east 1,
    north-west 2, north-east 3).
    """
    if n_provinces not in (2, 3, 4):
        raise ValueError("make_model plants 2, 3 or 4 provinces")
    jj = np.broadcast_to(np.arange(nlon), (nlat, nlon))
    ii = np.broadcast_to(np.arange(nlat)[:, None], (nlat, nlon))
    if n_provinces == 4:
        return (2 * (ii >= nlat // 2) + (jj >= nlon // 2)).astype("int64")
    return (jj * n_provinces // nlon).astype("int64")


def _make_model(
    n_provinces: int = 3,
    *,
    nlat: int = 12,
    nlon: int = 10,
    depths: Iterable[float] | None = None,
    dims: tuple[str, str, str] = ("depth", "lat", "lon"),
    depth_units: str = "km",
    positive: str = "down",
    descending: bool | Iterable[str] = (),
    chunks: dict | None = None,
    dtype: str = "float64",
    noise: float = 0.02,
    missing: int = 0,
    seed: int = 0,
    return_provinces: bool = False,
):
    """Build a seeded synthetic velocity model with planted provinces.

    Parameters
    ----------
    n_provinces : {2, 3, 4}
        Number of planted provinces (see :func:`province_map` for the layout and
        :func:`province_profile` for their profiles).
    nlat, nlon : int
        Grid size; latitudes span 40..45 degrees north, longitudes -125..-120.
    depths : sequence of float, optional
        Depths in km below the surface (default 0, 5, ..., 80 km).
    dims : permutation of ("depth", "lat", "lon")
        Order of the dims of the returned array.
    depth_units : {"km", "m"}
        Units the depth coordinate is stored in.
    positive : {"down", "up"}
        ``"up"`` stores an elevation (negative values below the surface,
        ``standard_name="altitude"``) instead of a depth.
    descending : bool or iterable of dim names
        Dims whose coordinate is stored in descending order (``True``: all).
    chunks : dict, optional
        Dask chunks, e.g. ``{"lat": 4, "lon": 5}``; ``None`` keeps numpy.
    dtype : str
        dtype of the values.
    noise : float
        Standard deviation (km/s) of the Gaussian noise added to every value.
    missing : int
        Number of nodes (chosen with the seed) whose whole profile is NaN.
    seed : int
        Seed of the noise and of the missing nodes.
    return_provinces : bool
        Also return the planted province of each node as an int DataArray
        ``(lat, lon)`` (``-1`` for missing nodes).

    Returns
    -------
    xarray.DataArray, or (xarray.DataArray, xarray.DataArray)
        The model ``vs`` with CF attributes on every coordinate.
    """
    if sorted(dims) != ["depth", "lat", "lon"]:
        raise ValueError(f"dims must be a permutation of depth, lat, lon: {dims!r}")
    if depth_units not in ("km", "m") or positive not in ("down", "up"):
        raise ValueError("depth_units must be 'km' or 'm', positive 'down' or 'up'")

    rng = np.random.default_rng(seed)
    depth_km = np.asarray(
        DEFAULT_DEPTHS_KM if depths is None else list(depths), dtype="float64"
    )
    lat = np.linspace(40.0, 45.0, nlat)
    lon = np.linspace(-125.0, -120.0, nlon)

    provinces = province_map(n_provinces, nlat, nlon)
    centres = np.stack([province_profile(p, depth_km) for p in range(n_provinces)])
    values = centres[provinces]  # (lat, lon, depth)
    values = values + rng.normal(0.0, noise, values.shape)
    if missing:
        flat = rng.choice(nlat * nlon, size=missing, replace=False)
        ii, jj = np.unravel_index(flat, (nlat, nlon))
        values[ii, jj, :] = np.nan
        provinces = provinces.copy()
        provinces[ii, jj] = -1

    depth_values = depth_km * (1000.0 if depth_units == "m" else 1.0)
    if positive == "up":
        depth_values = -depth_values
    depth_attrs = {
        "standard_name": "depth" if positive == "down" else "altitude",
        "long_name": "depth below the surface"
        if positive == "down"
        else "elevation above the surface",
        "units": depth_units,
        "positive": positive,
    }
    da = xr.DataArray(
        values.astype(dtype),
        dims=("lat", "lon", "depth"),
        coords={
            "lat": (
                "lat",
                lat,
                {
                    "standard_name": "latitude",
                    "long_name": "latitude",
                    "units": "degrees_north",
                },
            ),
            "lon": (
                "lon",
                lon,
                {
                    "standard_name": "longitude",
                    "long_name": "longitude",
                    "units": "degrees_east",
                },
            ),
            "depth": ("depth", depth_values, depth_attrs),
        },
        name="vs",
        attrs={"long_name": "shear-wave velocity", "units": "km s-1"},
    )
    truth = xr.DataArray(
        provinces,
        dims=("lat", "lon"),
        coords={"lat": da["lat"], "lon": da["lon"]},
        name="province",
    )

    if descending is True:
        descending = ("depth", "lat", "lon")
    elif descending is False:
        descending = ()
    for dim in descending:
        coord = da[dim].values
        if coord.size > 1 and coord[0] < coord[-1]:
            da = da.isel({dim: slice(None, None, -1)})
            if dim in truth.dims:
                truth = truth.isel({dim: slice(None, None, -1)})
    da = da.transpose(*dims)
    if chunks is not None:
        da = da.chunk(chunks)
    return (da, truth) if return_provinces else da


@pytest.fixture
def make_model():
    """Factory of synthetic models: ``make_model(3, dims=..., chunks=...)``.

    See :func:`_make_model` for the options. Same arguments, same model.
    """
    return _make_model


# ------------------------------------------------------------ laziness guard


def _refuse_to_compute(*args, **kwargs):
    raise AssertionError("computed")


class _RaiseOnCompute:
    """Re-usable context manager: dask's scheduler raises while it is active."""

    def __init__(self) -> None:
        self._stack: list = []

    def __call__(self) -> _RaiseOnCompute:
        return self

    def __enter__(self) -> _RaiseOnCompute:
        config = dask.config.set(scheduler=_refuse_to_compute)
        config.__enter__()
        self._stack.append(config)
        return self

    def __exit__(self, *exc_info) -> None:
        self._stack.pop().__exit__(*exc_info)


@pytest.fixture
def raise_on_compute() -> _RaiseOnCompute:
    """``with raise_on_compute: ...`` fails with AssertionError on any dask compute."""
    return _RaiseOnCompute()


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
