"""Find the latitude, longitude and depth axes of a DataArray.

The rules live in one table, :data:`AXIS_RULES`: for each role, a list of tiers
tried in order (CF ``standard_name``, then ``units``, then the ``axis`` and
``positive`` attributes, then common names). The first tier that matches exactly
one coordinate decides; a tier that matches several is an ambiguity the user must
settle with a keyword (``lat=``, ``lon=``, ``depth=``).

Depth is reported in kilometres, positive down, whatever the model stores: the
:class:`Axes` found here carries the factor that turns the stored values into
kilometres below the surface (``-0.001`` for an elevation in metres, say).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .errors import AxisError, InputError

__all__ = ["AXIS_RULES", "Axes", "find_axes", "find_horizontal_axes"]


# Each tier is (attribute, accepted values); "name" means the variable's name.
# Values are compared in lower case with surrounding blanks removed.
AXIS_RULES: dict[str, list[tuple[str, frozenset[str]]]] = {
    "latitude": [
        ("standard_name", frozenset({"latitude", "grid_latitude"})),
        (
            "units",
            frozenset(
                {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen"}
            ),
        ),
        ("_coordinateaxistype", frozenset({"lat"})),
        ("name", frozenset({"lat", "latitude", "lats", "nav_lat"})),
        # A bare "y" is latitude only when nothing is named as one: on a
        # projected grid, y is northing and lat(y, x) the latitude.
        ("name", frozenset({"y"})),
    ],
    "longitude": [
        ("standard_name", frozenset({"longitude", "grid_longitude"})),
        (
            "units",
            frozenset(
                {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee"}
            ),
        ),
        ("_coordinateaxistype", frozenset({"lon"})),
        ("name", frozenset({"lon", "long", "longitude", "lons", "nav_lon"})),
        ("name", frozenset({"x"})),
    ],
    "depth": [
        (
            "standard_name",
            frozenset(
                {"depth", "depth_below_geoid", "altitude", "height", "elevation"}
            ),
        ),
        ("positive", frozenset({"down", "up"})),
        ("axis", frozenset({"z"})),
        (
            "name",
            frozenset(
                {"depth", "depths", "dep", "z", "depth_km", "elevation", "altitude"}
            ),
        ),
    ],
}

# Names and standard names that measure height above the surface, not depth.
_UPWARD_NAMES = frozenset({"altitude", "height", "elevation"})

_KILOMETRE_UNITS = frozenset(
    {"km", "kilometer", "kilometers", "kilometre", "kilometres"}
)
_METRE_UNITS = frozenset({"m", "meter", "meters", "metre", "metres"})


@dataclass(frozen=True)
class Axes:
    """The axes of a velocity model, as found by :func:`find_axes`.

    Attributes
    ----------
    latitude, longitude : str
        Names of the latitude and longitude coordinates. On a regular grid they
        are dimensions; on a node layout they are coordinates along the node dim.
    depth : str
        Name of the depth dimension.
    horizontal_dims : tuple of str
        The dims that index profiles (``(lat, lon)`` on a grid, ``(node,)`` on a
        node layout), in the order used to stack profiles.
    depth_to_km : float
        Factor that turns stored depth values into kilometres below the surface:
        ``1.0`` for km positive down, ``-0.001`` for metres positive up, and so on.
    """

    latitude: str
    longitude: str
    depth: str
    horizontal_dims: tuple[str, ...]
    depth_to_km: float

    def depth_km(self, da: xr.DataArray) -> np.ndarray:
        """Return the depth coordinate of ``da`` in km below the surface (float64).

        Parameters
        ----------
        da : xarray.DataArray
            The array these axes were found on.

        Returns
        -------
        numpy.ndarray
            The stored depths times :attr:`depth_to_km`.
        """
        return np.asarray(da[self.depth].values, dtype="float64") * self.depth_to_km


def _normalise(value: object) -> str:
    return str(value).strip().lower()


def _matches(name: Hashable, variable: xr.DataArray, attribute: str, values) -> bool:
    if attribute == "name":
        return _normalise(name) in values
    attrs = {_normalise(key): val for key, val in variable.attrs.items()}
    return attribute in attrs and _normalise(attrs[attribute]) in values


def _search(
    role: str, candidates: dict[Hashable, xr.DataArray], dims: tuple[Hashable, ...]
) -> str:
    """Apply the tiers of ``role`` to ``candidates`` and return the one found."""
    for attribute, values in AXIS_RULES[role]:
        found = [
            name
            for name, variable in candidates.items()
            if _matches(name, variable, attribute, values)
        ]
        if len(found) == 1:
            return str(found[0])
        if len(found) > 1:
            keyword = {"latitude": "lat", "longitude": "lon", "depth": "depth"}[role]
            raise AxisError(
                f"Found {len(found)} candidate {role} axes {tuple(found)!r} "
                f"(each has {attribute}={sorted(values)[0]!r} or similar); "
                f"pass {keyword}='name' to choose one."
            )
    keyword = {"latitude": "lat", "longitude": "lon", "depth": "depth"}[role]
    hint = (
        "or set attrs positive='down' (or 'up' for elevation) on it"
        if role == "depth"
        else f"or set attrs standard_name={role!r} on it"
    )
    raise AxisError(
        f"Found no {role} axis among dims {dims!r} and coordinates "
        f"{tuple(str(name) for name in candidates)!r}; pass {keyword}='name' {hint}."
    )


def _checked_override(da: xr.DataArray, name: str, role: str) -> str:
    if name not in da.coords and name not in da.dims:
        raise AxisError(
            f"{role.capitalize()} {name!r} is not a coordinate or dim of this "
            f"DataArray; choose one of {tuple(str(c) for c in da.coords)!r}."
        )
    return name


def _depth_scale_km(da: xr.DataArray, depth: str) -> float:
    """Return the factor from stored depth values to km, positive down."""
    attrs = {_normalise(key): val for key, val in da[depth].attrs.items()}

    units = _normalise(attrs.get("units", "km"))
    if units in _KILOMETRE_UNITS:
        scale = 1.0
    elif units in _METRE_UNITS:
        scale = 0.001
    else:
        raise AxisError(
            f"Depth axis {depth!r} has units {attrs['units']!r}, which are not a "
            "length; set its attrs units='km' or units='m'."
        )

    if "positive" in attrs:
        upward = _normalise(attrs["positive"]) == "up"
    else:
        name = _normalise(attrs.get("standard_name", depth))
        upward = name in _UPWARD_NAMES
    return -scale if upward else scale


def _depth_candidates(da: xr.DataArray) -> dict[Hashable, xr.DataArray]:
    """Dims and 1-D coordinates: where a depth axis may be."""
    candidates: dict[Hashable, xr.DataArray] = {
        dim: da.coords[dim] if dim in da.coords else xr.DataArray(dims=())
        for dim in da.dims
    }
    for name, coord in da.coords.items():
        if coord.ndim == 1 and name not in candidates:
            candidates[name] = coord
    return candidates


def _horizontal_candidates(
    da: xr.DataArray, depth: str
) -> dict[Hashable, xr.DataArray]:
    """Coordinates (and bare dims) that do not run along depth."""
    candidates: dict[Hashable, xr.DataArray] = {
        name: coord for name, coord in da.coords.items() if depth not in coord.dims
    }
    for dim in da.dims:
        if dim != depth and dim not in candidates:
            candidates[dim] = xr.DataArray(np.arange(da.sizes[dim]), dims=dim)
    return candidates


def _ordered_union(*groups: Iterable[Hashable]) -> tuple[str, ...]:
    ordered: list[str] = []
    for group in groups:
        for dim in group:
            if str(dim) not in ordered:
                ordered.append(str(dim))
    return tuple(ordered)


def _check_is_dataarray(da: object) -> None:
    """Refuse a Dataset (or anything else) where one variable is needed."""
    if isinstance(da, xr.Dataset):
        names = sorted(str(name) for name in da.data_vars)
        first = names[0] if names else "vs"
        raise InputError(
            f"Got a Dataset with the variables {names!r}, but one velocity model "
            f"(a DataArray) is needed; pick one, e.g. ds[{first!r}]."
        )
    if not isinstance(da, xr.DataArray):
        raise InputError(
            f"Got a {type(da).__name__}, but a velocity model is an "
            "xarray.DataArray; wrap numpy arrays with xr.DataArray(values, "
            "dims=..., coords=...)."
        )


def _find_lat_lon(
    da: xr.DataArray,
    candidates: dict[Hashable, xr.DataArray],
    lat: str | None,
    lon: str | None,
) -> tuple[str, str, tuple[str, ...]]:
    """Latitude, longitude and the dims they run along, among ``candidates``."""
    lat_name = (
        _checked_override(da, lat, "latitude")
        if lat is not None
        else _search("latitude", candidates, da.dims)
    )
    lon_name = (
        _checked_override(da, lon, "longitude")
        if lon is not None
        else _search("longitude", candidates, da.dims)
    )
    if lat_name == lon_name:
        raise AxisError(
            f"Latitude and longitude are both {lat_name!r}; pass lat= and lon= "
            "with two different coordinates."
        )

    lat_dims = da[lat_name].dims if lat_name in da.coords else (lat_name,)
    lon_dims = da[lon_name].dims if lon_name in da.coords else (lon_name,)
    return lat_name, lon_name, _ordered_union(lat_dims, lon_dims)


def find_horizontal_axes(
    da: xr.DataArray, *, lat: str | None = None, lon: str | None = None
) -> tuple[str, str, tuple[str, ...]]:
    """Find the latitude and longitude of a map-like array, with no depth needed.

    Labels, member counts on a grid, any 2-D field: the same rules as
    :func:`find_axes` apply to every coordinate and dim of ``da``.

    Parameters
    ----------
    da : xarray.DataArray
        A grid ``(lat, lon)`` in any order, or a node layout ``(node,)`` with
        ``lat(node)`` and ``lon(node)`` coordinates.
    lat, lon : str, optional
        Names that override the detection of each axis.

    Returns
    -------
    tuple of (str, str, tuple of str)
        The latitude and longitude names and the dims they run along.

    Raises
    ------
    AxisError
        If an axis is missing or two coordinates qualify for one role.
    """
    candidates: dict[Hashable, xr.DataArray] = dict(da.coords.items())
    for dim in da.dims:
        candidates.setdefault(dim, xr.DataArray(np.arange(da.sizes[dim]), dims=dim))
    return _find_lat_lon(da, candidates, lat, lon)


def find_axes(
    da: xr.DataArray,
    *,
    lat: str | None = None,
    lon: str | None = None,
    depth: str | None = None,
) -> Axes:
    """Find the latitude, longitude and depth axes of ``da``.

    Parameters
    ----------
    da : xarray.DataArray
        A velocity model: a grid ``(depth, lat, lon)`` in any order, or a node
        layout ``(depth, node)`` with ``lat(node)`` and ``lon(node)`` coordinates.
    lat, lon, depth : str, optional
        Names that override the detection of each axis.

    Returns
    -------
    Axes
        The names of the three axes, the dims that index profiles, and the
        factor that turns stored depth into kilometres below the surface.

    Raises
    ------
    AxisError
        If an axis is missing or two coordinates qualify for one role.

    Examples
    --------
    >>> import xvcluster
    >>> vs = xvcluster.open_example()["vs"]
    >>> xvcluster.find_axes(vs)
    Axes(latitude='latitude', longitude='longitude', depth='depth', horizontal_dims=('latitude', 'longitude'), depth_to_km=1.0)
    """  # noqa: E501
    _check_is_dataarray(da)
    depth_name = (
        _checked_override(da, depth, "depth")
        if depth is not None
        else _search("depth", _depth_candidates(da), da.dims)
    )
    if depth_name not in da.dims:
        dim = da[depth_name].dims[0] if da[depth_name].ndim == 1 else None
        fix = f".swap_dims({{{dim!r}: {depth_name!r}}})" if dim else ".swap_dims()"
        raise AxisError(
            f"Depth axis {depth_name!r} is a coordinate but not a dim of this "
            f"DataArray (dims {da.dims!r}); make it one with {fix}."
        )
    if depth_name not in da.coords:
        raise AxisError(
            f"Depth dim {depth_name!r} has no coordinate values, so its depths are "
            f"unknown; assign them, e.g. da.assign_coords({depth_name}=depths_km)."
        )

    latitude, longitude, horizontal_dims = _find_lat_lon(
        da, _horizontal_candidates(da, depth_name), lat, lon
    )
    return Axes(
        latitude=latitude,
        longitude=longitude,
        depth=depth_name,
        horizontal_dims=horizontal_dims,
        depth_to_km=_depth_scale_km(da, depth_name),
    )
