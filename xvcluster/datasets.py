"""The velocity model bundled with xvcluster, for examples and tests."""

from __future__ import annotations

from importlib import resources

import xarray as xr

from .errors import ModelFileError
from .io import open_velocity_model

__all__ = ["EXAMPLES", "example_path", "open_example"]

EXAMPLES: dict[str, dict[str, str]] = {
    "PNW10-S": {
        "file": "PNW10-S_kmps.nc",
        "citation": (
            "Porritt, R. W., Allen, R. M., Boyarko, D. C., & Brudzinski, M. R. "
            "(2011). Investigation of Cascadia segmentation with ambient noise "
            "tomography. Earth and Planetary Science Letters, 309(1-2), 67-76. "
            "doi:10.1016/j.epsl.2011.06.026. Distributed by the IRIS Earth Model "
            "Collaboration, doi:10.17611/DP/9991680."
        ),
    },
}


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
    """
    if name not in EXAMPLES:
        raise KeyError(
            f"No example model {name!r}; choose one of {sorted(EXAMPLES)!r}."
        )
    return str(resources.files("xvcluster") / "data" / EXAMPLES[name]["file"])


def open_example(name: str = "PNW10-S", **kwargs) -> xr.Dataset:
    """Open a real velocity model bundled with xvcluster.

    Parameters
    ----------
    name : str, default "PNW10-S"
        The model: ``"PNW10-S"``, the shear-velocity model of the Pacific
        Northwest by Porritt et al. (2011), 41 depths x 109 x 53 nodes.
    **kwargs
        Passed to :func:`xarray.open_dataset`, e.g. ``chunks={}`` to open lazily.

    Returns
    -------
    xarray.Dataset
        The model, with its citation in ``attrs["citation"]``.

    Raises
    ------
    ModelFileError
        If the installed file is missing or damaged.

    Examples
    --------
    >>> import xvcluster
    >>> vs = xvcluster.open_example()["vs"]
    >>> vs.dims
    ('depth', 'latitude', 'longitude')
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
