"""What every picture of a clustering shares: cluster colours, map layout, coastlines.

The colour of cluster ``c`` is ``cluster_colours(n)[c]`` in the profile panels,
the static map and the interactive map alike. Maps read the layout of a labels
array (a latitude-longitude grid, a curvilinear grid with 2-D coordinates, or a
list of nodes) and the convention of its longitudes (-180 to 180, or 0 to 360)
from :func:`map_layout`, and draw the coastlines bundled with the package (Natural
Earth 1:50m, see ``xvcluster/data/README.md``), so no map needs the network.

Nothing here imports a plotting library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import xarray as xr

from .axes import find_horizontal_axes
from .errors import AxisError, InputError, MissingDependencyError

__all__ = [
    "MapLayout",
    "cluster_colours",
    "cluster_numbers",
    "coastline",
    "coastline_lines",
    "drawable_labels",
    "map_layout",
    "member_counts",
    "require",
]

COASTLINE_FILE = "coastline_50m.npz"

# Map extents are widened by this many degrees before coastlines are clipped to
# them, so that clipped lines end outside the visible map.
_COASTLINE_MARGIN_DEGREES = 2.0


def require(module: str, purpose: str) -> Any:
    """Import an optional plotting library, or say how to install it.

    Raises
    ------
    MissingDependencyError
        If ``module`` is not installed.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{purpose} needs {module!r}, which is not installed; install the "
            "plotting extra with pip install 'xvcluster[plot]'."
        ) from None


def cluster_colours(n_clusters: int) -> list[str]:
    """Return the colour of each cluster, as hex strings.

    colorcet's ``glasbey_category10``: the ten category10 colours (matplotlib's
    ``tab10``) first, then colours chosen to stay distinct from all before them;
    readable for 2 to 25 clusters and defined up to 256.

    Parameters
    ----------
    n_clusters : int
        How many clusters.

    Returns
    -------
    list of str
        ``n_clusters`` colours, cluster 0 first.
    """
    colorcet = require("colorcet", "Cluster colours")
    palette = colorcet.palette["glasbey_category10"]
    if not 1 <= n_clusters <= len(palette):
        raise InputError(
            f"Cannot colour {n_clusters!r} clusters; maps and panels draw 1 to "
            f"{len(palette)} clusters."
        )
    return list(palette[:n_clusters])


def drawable_labels(labels: xr.DataArray) -> xr.DataArray:
    """Labels ready to draw: in memory, int32, -1 where a profile was left out.

    Lazy labels (``predict`` on dask) are computed once here, since every
    picture reads all of them, several times. A result read back with
    :func:`xarray.open_dataset` has float labels: the ``_FillValue`` (-1) is
    decoded to NaN. They are turned back into integers.
    """
    labels = labels.compute()
    if labels.dtype.kind in "iu":
        return labels
    if labels.dtype.kind != "f":
        raise InputError(
            f"Labels must be cluster numbers, not {labels.dtype} values; give the "
            "labels of a clustering (e.g. vs.vcluster.kmeans(5))."
        )
    return labels.fillna(-1).astype("int32", keep_attrs=True)


def member_counts(labels: xr.DataArray | np.ndarray, n_clusters: int) -> np.ndarray:
    """How many profiles each of the ``n_clusters`` clusters holds (-1 not counted)."""
    values = np.asarray(labels).ravel()
    return np.bincount(values[values >= 0], minlength=n_clusters)


def cluster_numbers(labels: xr.DataArray) -> np.ndarray:
    """The cluster numbers a labels array can hold, ``0 .. k-1``.

    Taken from the CF ``flag_values`` that xvcluster writes, so that a region
    where some cluster is absent keeps the same colours; otherwise from the
    largest label present.
    """
    flags = labels.attrs.get("flag_values")
    if flags is not None and np.size(flags) > 0:
        return np.arange(int(np.max(flags)) + 1)
    largest = int(labels.max())
    if largest < 0:
        raise InputError(
            "The labels hold no cluster at all (every value is -1); nothing to draw."
        )
    return np.arange(largest + 1)


def fitted_params(labels: xr.DataArray) -> dict[str, Any]:
    """The model parameters saved in the labels' attrs, or an empty dict."""
    text = labels.attrs.get("xvcluster_params")
    return json.loads(text) if isinstance(text, str) else {}


@dataclass(frozen=True)
class MapLayout:
    """How a labels array lies on the Earth, as found by :func:`map_layout`.

    Attributes
    ----------
    latitude, longitude : str
        Names of the coordinates.
    kind : {"grid", "curvilinear", "nodes"}
        ``"grid"``: 1-D latitude and longitude dims; ``"curvilinear"``: 2-D
        latitude and longitude on the same two dims; ``"nodes"``: both along one
        node dim.
    longitude_360 : bool
        Whether longitudes run 0 to 360 (some value above 180) rather than -180
        to 180.
    bounds : tuple of float
        ``(west, east, south, north)`` in degrees, in the data's convention.
    """

    latitude: str
    longitude: str
    kind: Literal["grid", "curvilinear", "nodes"]
    longitude_360: bool
    bounds: tuple[float, float, float, float]


def _layout_kind(lat: xr.DataArray, lon: xr.DataArray) -> str:
    if lat.ndim == 1 and lon.ndim == 1 and lat.dims != lon.dims:
        return "grid"
    if lat.ndim == 1 and lat.dims == lon.dims:
        return "nodes"
    if lat.ndim == 2 and set(lat.dims) == set(lon.dims):
        return "curvilinear"
    raise AxisError(
        f"Cannot map latitude on dims {lat.dims!r} with longitude on dims "
        f"{lon.dims!r}; give a grid (1-D latitude and longitude), 2-D latitude "
        "and longitude on the same dims, or both along one node dim."
    )


def map_layout(
    labels: xr.DataArray, *, lat: str | None = None, lon: str | None = None
) -> MapLayout:
    """Find how ``labels`` lies on the Earth: coordinates, layout, longitudes.

    Parameters
    ----------
    labels : xarray.DataArray
        Cluster labels (or any field) on a grid or node layout, no depth dim.
    lat, lon : str, optional
        Names of the coordinates, when they cannot be found from attributes or
        names.

    Returns
    -------
    MapLayout

    Raises
    ------
    AxisError
        If latitude or longitude cannot be found, has no values, or the two do
        not make a grid or a node layout.
    """
    lat_name, lon_name, _ = find_horizontal_axes(labels, lat=lat, lon=lon)
    for name in (lat_name, lon_name):
        if name not in labels.coords:
            raise AxisError(
                f"{name!r} is a dim without coordinate values, so its positions "
                f"are unknown; assign them, e.g. labels.assign_coords({name}=...)."
            )
    latitude = np.asarray(labels[lat_name].values, dtype="float64")
    longitude = np.asarray(labels[lon_name].values, dtype="float64")
    kind = _layout_kind(labels[lat_name], labels[lon_name])

    return MapLayout(
        latitude=lat_name,
        longitude=lon_name,
        kind=kind,  # type: ignore[arg-type]
        longitude_360=bool(np.nanmax(longitude) > 180.0),
        bounds=(
            float(np.nanmin(longitude)),
            float(np.nanmax(longitude)),
            float(np.nanmin(latitude)),
            float(np.nanmax(latitude)),
        ),
    )


@cache
def _coastline_degrees() -> tuple[np.ndarray, np.ndarray]:
    """The bundled coastline: lon (-180 to 180) and lat, NaN between lines."""
    path = resources.files("xvcluster") / "data" / COASTLINE_FILE
    with resources.as_file(path) as file, np.load(file) as arrays:
        return arrays["lon"].astype("float64"), arrays["lat"].astype("float64")


def _break_at_jumps(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, ...]:
    """Insert NaN where a line jumps more than 180 degrees of longitude."""
    jumps = np.flatnonzero(np.abs(np.diff(lon)) > 180.0) + 1
    return np.insert(lon, jumps, np.nan), np.insert(lat, jumps, np.nan)


def coastline(layout: MapLayout | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return the world's coastlines as longitude and latitude arrays.

    Parameters
    ----------
    layout : MapLayout, optional
        The map they are drawn on: longitudes come in its convention (0 to 360
        when ``layout.longitude_360``), and lines are clipped to its bounds
        widened by two degrees. ``None``: the whole world, -180 to 180.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Longitude and latitude in degrees, NaN between lines (the form
        ``matplotlib`` and ``bokeh`` draw as separate lines).
    """
    lon, lat = _coastline_degrees()
    if layout is not None and layout.longitude_360:
        lon = np.mod(lon, 360.0)
    # A line that jumps across the map's seam would streak across the map.
    lon, lat = _break_at_jumps(lon, lat)
    if layout is None:
        return lon, lat

    west, east, south, north = layout.bounds
    margin = _COASTLINE_MARGIN_DEGREES
    outside = (
        (lon < west - margin)
        | (lon > east + margin)
        | (lat < south - margin)
        | (lat > north + margin)
    )
    return np.where(outside, np.nan, lon), np.where(outside, np.nan, lat)


def coastline_lines(layout: MapLayout | None = None) -> list[np.ndarray]:
    """Return the coastlines as separate lines, each an ``(n, 2)`` lon/lat array.

    Same lines as :func:`coastline`, split at the NaN, keeping lines of two or
    more points: the form of shapely, cartopy and geoviews paths.
    """
    lon, lat = coastline(layout)
    points = np.column_stack([lon, lat])
    pieces = np.split(points, np.flatnonzero(np.isnan(lon)))
    pieces = [piece[~np.isnan(piece[:, 0])] for piece in pieces]
    return [piece for piece in pieces if len(piece) >= 2]
