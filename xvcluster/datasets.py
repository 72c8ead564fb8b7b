"""Velocity models for examples, tests and benchmarks: real ones and a synthetic one.

:func:`open_example` opens the real models bundled with the package: PNW10-S
(regional, the default) and S362ANI+M (global mantle).
:func:`synthetic_model` builds a seeded model of any size with planted
provinces, lazily when asked, so that a model far larger than memory can be
written to netCDF chunk by chunk.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import xarray as xr

from .errors import InputError, ModelFileError
from .io import open_velocity_model

__all__ = ["EXAMPLES", "example_path", "open_example", "synthetic_model"]

EXAMPLES: dict[str, dict[str, str]] = {
    "PNW10-S": {
        "file": "PNW10-S_kmps.nc",
        "variable": "vs",
        "citation": (
            "Porritt, R. W., Allen, R. M., Boyarko, D. C., & Brudzinski, M. R. "
            "(2011). Investigation of Cascadia segmentation with ambient noise "
            "tomography. Earth and Planetary Science Letters, 309(1-2), 67-76. "
            "doi:10.1016/j.epsl.2011.06.026. Distributed by the IRIS Earth Model "
            "Collaboration, doi:10.17611/DP/9991680."
        ),
    },
    "S362ANI+M": {
        "file": "S362ANI+M_vs.nc",
        "variable": "v",
        "citation": (
            "Moulik, P., & Ekström, G. (2014). An anisotropic shear velocity "
            "model of the Earth's mantle using normal modes, body waves, surface "
            "waves and long-period waveforms. Geophysical Journal International, "
            "199(3), 1713-1738. doi:10.1093/gji/ggu356. Distributed by the IRIS "
            "Earth Model Collaboration, doi:10.17611/DP/EMC.1."
        ),
    },
}
"""The bundled models: file name, velocity variable and citation of each."""


def example_path(name: str = "PNW10-S") -> str:
    """Return the path of a bundled example model file.

    Parameters
    ----------
    name : str, default "PNW10-S"
        One of :data:`EXAMPLES`.

    Returns
    -------
    str
        Path of the netCDF file inside the installed package.

    Raises
    ------
    InputError
        If ``name`` is not a bundled model; the message lists them.
    """
    if name not in EXAMPLES:
        raise InputError(
            f"No example model {name!r}; choose one of {sorted(EXAMPLES)!r}."
        )
    return str(resources.files("xvcluster") / "data" / EXAMPLES[name]["file"])


def open_example(name: str = "PNW10-S", **kwargs) -> xr.Dataset:
    """Open a real velocity model bundled with xvcluster.

    Parameters
    ----------
    name : {"PNW10-S", "S362ANI+M"}, default "PNW10-S"
        The model, stored as distributed (nothing renamed or converted):

        ``"PNW10-S"``
            The crustal shear-velocity model of the Pacific Northwest by
            Porritt et al. (2011): variable ``vs`` in km/s, 41 depths (0-100
            km every 2.5 km) x 109 latitudes x 53 longitudes at 0.1 degree.
        ``"S362ANI+M"``
            The global mantle model of Moulik & Ekström (2014): variable
            ``v``, the isotropic (Voigt) shear velocity in km/s (units
            ``"kmps"``), 25 depths from 25 to 2890 km in uneven steps (25 km
            at the top, 250 km in the lower mantle) x 91 latitudes x 181
            longitudes at 2 degrees, -180 to 180 (the meridian 180 appears at
            both edges).

        The variable of each is also in ``EXAMPLES[name]["variable"]``.
    **kwargs
        Passed to :func:`xarray.open_dataset`, e.g. ``chunks={}`` to open lazily.

    Returns
    -------
    xarray.Dataset
        The model, with its citation in ``attrs["citation"]``.

    Raises
    ------
    InputError
        If ``name`` is not a bundled model; the message lists them.
    ModelFileError
        If the installed file is missing or damaged.

    Examples
    --------
    >>> import xvcluster
    >>> vs = xvcluster.open_example()["vs"]
    >>> vs.dims
    ('depth', 'latitude', 'longitude')
    >>> mantle = xvcluster.open_example("S362ANI+M")["v"]
    >>> dict(mantle.sizes)
    {'depth': 25, 'latitude': 91, 'longitude': 181}
    """
    try:
        dataset = open_velocity_model(example_path(name), **kwargs)
    except (FileNotFoundError, ModelFileError) as error:
        raise ModelFileError(
            f"The bundled example {name!r} cannot be read ({error}); reinstall "
            "xvcluster, e.g. pip install --force-reinstall xvcluster."
        ) from None
    dataset.attrs["citation"] = EXAMPLES[name]["citation"]
    return dataset


_LATITUDE_SPAN = (30.0, 50.0)
_LONGITUDE_SPAN = (-130.0, -110.0)
"""The region of :func:`synthetic_model`, degrees."""


def _province_profiles(n_provinces: int, depths: np.ndarray, seed: int) -> np.ndarray:
    """Noise-free shear-velocity profiles (km/s) of the provinces, slowest first.

    Each province has sediments over a two-layer crust over a mantle whose
    velocity rises with depth; the layer boundaries are smooth steps 1-2 km
    wide. Moho depths are spread evenly between 20 and 50 km and shuffled, so
    that every province differs from every other one.
    """
    rng = np.random.default_rng([seed, n_provinces])
    moho = rng.permutation(np.linspace(20.0, 50.0, n_provinces))
    sediment = rng.uniform(0.0, 4.0, n_provinces)
    mid_crust = sediment + rng.uniform(0.35, 0.55, n_provinces) * (moho - sediment)
    upper_crust = rng.uniform(3.2, 3.6, n_provinces)
    lower_crust = rng.uniform(3.7, 4.0, n_provinces)
    mantle = rng.uniform(4.3, 4.6, n_provinces)

    z = depths[None, :]

    def step(top: np.ndarray, width: float) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh((z - top[:, None]) / width))

    profiles = (
        1.8
        + (upper_crust[:, None] - 1.8) * step(sediment, 1.0)
        + (lower_crust - upper_crust)[:, None] * step(mid_crust, 2.0)
        + (mantle - lower_crust)[:, None] * step(moho, 2.0)
        + 0.004 * np.clip(z - moho[:, None], 0.0, None)
    )
    return profiles[np.argsort(profiles.mean(axis=1), kind="stable")]


def _province_of_nodes(
    latitude: np.ndarray, longitude: np.ndarray, n_provinces: int, seed: int
) -> np.ndarray:
    """Province of each (latitude, longitude) node: the nearest of seeded centres.

    The provinces are the Voronoi cells of ``n_provinces`` seeded points of
    the region, so they are compact regions of very different sizes.
    """
    rng = np.random.default_rng([seed, n_provinces, 1])
    centre_lat = rng.uniform(*_LATITUDE_SPAN, n_provinces)
    centre_lon = rng.uniform(*_LONGITUDE_SPAN, n_provinces)
    squared = (latitude[..., None] - centre_lat) ** 2 + (
        longitude[..., None] - centre_lon
    ) ** 2
    return squared.argmin(axis=-1).astype("int32")


def _velocity_block(
    latitude: np.ndarray,
    longitude: np.ndarray,
    rows: np.ndarray,
    depths: np.ndarray,
    n_provinces: int,
    noise: float,
    seed: int,
) -> np.ndarray:
    """Velocities ``(depth, latitude, longitude)`` of a band of latitude rows.

    The noise of each row comes from its own seeded generator, so a node's
    value does not depend on how the grid is chunked.
    """
    profiles = _province_profiles(n_provinces, depths, seed).astype("float32")
    grid_lat, grid_lon = np.meshgrid(latitude, longitude, indexing="ij")
    provinces = _province_of_nodes(grid_lat, grid_lon, n_provinces, seed)
    values = profiles[provinces]  # (latitude, longitude, depth)
    for band_row, row in enumerate(rows):
        rng = np.random.default_rng([seed, int(row)])
        values[band_row] += rng.normal(0.0, noise, values.shape[1:]).astype("float32")
    return np.moveaxis(values, -1, 0)


def synthetic_model(
    n_provinces: int = 8,
    *,
    nlat: int = 200,
    nlon: int = 200,
    depths: np.ndarray | None = None,
    noise: float = 0.05,
    seed: int = 0,
    chunks: int | None = None,
) -> xr.Dataset:
    """Build a seeded synthetic velocity model with planted provinces.

    Each province has its own crust-and-mantle shear-velocity profile
    (sediments, upper and lower crust, a Moho between 20 and 50 km, a mantle
    whose velocity rises with depth); every node takes its province's profile
    plus Gaussian noise. Provinces are numbered slowest first by mean velocity,
    the rule xvcluster numbers clusters by, so that a perfect clustering gives
    ``labels == province``.

    Parameters
    ----------
    n_provinces : int, default 8
        Number of planted provinces, 2 or more.
    nlat, nlon : int, default 200
        Grid size; latitudes span 30 to 50 degrees north, longitudes -130 to
        -110 degrees east.
    depths : numpy.ndarray, optional
        Depths in km below the surface; default 0 to 98 km every 2 km (50).
    noise : float, default 0.05
        Standard deviation of the noise, km/s.
    seed : int, default 0
        Seed of the profiles, the province map and the noise.
    chunks : int, optional
        Build the velocities lazily with dask, in bands of ``chunks``
        latitude rows, so that ``to_netcdf`` writes the model band by band
        without holding it in memory. ``None`` builds it in memory.

    Returns
    -------
    xarray.Dataset
        ``vs`` (depth, latitude, longitude), float32 km/s, and ``province``
        (latitude, longitude), int32, the planted province of every node.

    Examples
    --------
    >>> import xvcluster
    >>> model = xvcluster.synthetic_model(4, nlat=20, nlon=30)
    >>> model["vs"].sizes
    Frozen({'depth': 50, 'latitude': 20, 'longitude': 30})
    >>> sorted(set(model["province"].values.ravel().tolist()))
    [0, 1, 2, 3]
    """
    if n_provinces < 2:
        raise InputError(f"n_provinces={n_provinces!r} must be 2 or more.")
    depths = np.arange(0.0, 100.0, 2.0) if depths is None else np.asarray(depths)
    latitude = np.linspace(*_LATITUDE_SPAN, nlat)
    longitude = np.linspace(*_LONGITUDE_SPAN, nlon)
    options = {
        "depths": depths,
        "n_provinces": n_provinces,
        "noise": noise,
        "seed": seed,
    }

    if chunks is None:
        velocity = _velocity_block(latitude, longitude, np.arange(nlat), **options)
    else:
        import dask.array as dsa

        bands = dsa.from_array(np.arange(nlat), chunks=chunks)
        velocity = dsa.map_blocks(
            lambda rows: _velocity_block(
                latitude[rows[0] : rows[-1] + 1], longitude, rows, **options
            ),
            bands,
            new_axis=[0, 2],
            chunks=((depths.size,), bands.chunks[0], (nlon,)),
            dtype="float32",
            meta=np.empty((0, 0, 0), dtype="float32"),
        )
    grid_lat, grid_lon = np.meshgrid(latitude, longitude, indexing="ij")
    province = _province_of_nodes(grid_lat, grid_lon, n_provinces, seed)

    return xr.Dataset(
        {
            "vs": (
                ("depth", "latitude", "longitude"),
                velocity,
                {"long_name": "shear-wave velocity", "units": "km s-1"},
            ),
            "province": (
                ("latitude", "longitude"),
                province,
                {"long_name": "planted province (slowest first)"},
            ),
        },
        coords={
            "depth": ("depth", depths, {"units": "km", "positive": "down"}),
            "latitude": ("latitude", latitude, {"units": "degrees_north"}),
            "longitude": ("longitude", longitude, {"units": "degrees_east"}),
        },
        attrs={
            "title": f"xvcluster synthetic model, {n_provinces} provinces",
            "seed": seed,
            "noise_km_s": noise,
        },
    )
