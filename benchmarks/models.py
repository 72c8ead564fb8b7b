"""Real models the benchmarks and scripts read from ``../shared/data`` when present.

CRUST1.0 (Laske, Masters, Ma & Pasyanos 2013, CRUST1.0, EGU abstract EGU2013-2658)
is distributed as plain text: per 1-degree cell, the top elevation (km, positive
up) of nine layers (water, ice, three sediment layers, three crustal layers, the
mantle) and each layer's velocity. :func:`crust1_model` samples those layers on a
regular depth grid, which gives a global model of 64,800 profiles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""Where the shared real models live beside the repository, if anywhere."""

CRUST1_DIR = SHARED_DATA / "crust1.0"
PNW_PATH = SHARED_DATA / "emc" / "PNW10-S_kmps.nc"

CRUST1_CITATION = (
    "Laske, G., Masters, G., Ma, Z. & Pasyanos, M. (2013). Update on CRUST1.0 - "
    "a 1-degree global model of Earth's crust. EGU General Assembly, EGU2013-2658."
)


def crust1_model(
    folder: Path = CRUST1_DIR,
    variable: str = "vs",
    depths: np.ndarray | None = None,
) -> xr.DataArray:
    """Read CRUST1.0 as a (latitude, longitude, depth) DataArray.

    Parameters
    ----------
    folder : Path
        The folder holding ``crust1.bnds`` and ``crust1.<variable>``.
    variable : {"vs", "vp", "rho"}
        Which layer property to sample.
    depths : numpy.ndarray, optional
        Depths below sea level in km; default 0 to 80 km every 1 km.

    Returns
    -------
    xarray.DataArray
        float32 values, NaN above the solid or liquid surface (land below sea level).
    """
    depths = np.arange(0.0, 81.0, 1.0) if depths is None else np.asarray(depths)
    tops = np.loadtxt(folder / "crust1.bnds", dtype="float64")
    layer_values = np.loadtxt(folder / f"crust1.{variable}", dtype="float32")

    # The layer at a depth is the deepest one whose top lies at or above it;
    # layers of zero thickness share their top with the next and are skipped.
    layer = (tops[:, None, :] >= -depths[None, :, None]).sum(axis=-1) - 1
    values = np.take_along_axis(layer_values, np.clip(layer, 0, 8), axis=1)
    values[layer < 0] = np.nan

    latitudes = np.arange(89.5, -90.0, -1.0)
    longitudes = np.arange(-179.5, 180.0, 1.0)
    grid = values.reshape(latitudes.size, longitudes.size, depths.size)
    units = {"vs": "km s-1", "vp": "km s-1", "rho": "g cm-3"}[variable]
    return xr.DataArray(
        grid,
        dims=("latitude", "longitude", "depth"),
        coords={
            "latitude": ("latitude", latitudes, {"units": "degrees_north"}),
            "longitude": ("longitude", longitudes, {"units": "degrees_east"}),
            "depth": ("depth", depths, {"units": "km", "positive": "down"}),
        },
        name=variable,
        attrs={
            "long_name": f"CRUST1.0 {variable}",
            "units": units,
            "citation": CRUST1_CITATION,
        },
    )
