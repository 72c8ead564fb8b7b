"""Interactive maps of cluster labels with geoviews (bokeh), and saving them as HTML.

The map is drawn in Web Mercator, the projection of web basemap tiles. The labels
are put into Web Mercator here, before geoviews sees them, and handed to it as
already projected: geoviews then has no reprojection to do (which also sidesteps
geoviews 1.15's failure on cartopy 0.26's PlateCarree, fixed in geoviews 1.16).
Hover still reads in degrees, because geoviews formats the cursor position of a
Web Mercator plot as longitude and latitude.

Longitudes in 0-360 are moved to -180-180 first, the domain of Web Mercator
(a region that straddles the antimeridian is therefore cut at the map's edges).

Grids are rasterised with datashader to the size of the plot, so a grid of a
million nodes is one image, not a million glyphs; node layouts are drawn as dots
up to :data:`DOTS_UP_TO` nodes and rasterised beyond. The raster is made once,
at the size of the map (a dynamic one, redrawn on zoom, lost the legend's colours
once other maps had been saved in the same session).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import InputError
from .geography import (
    MapLayout,
    cluster_colours,
    cluster_numbers,
    coastline,
    drawable_labels,
    map_layout,
    member_counts,
    require,
)

__all__ = ["DOTS_UP_TO", "interactive_map", "save_html"]

# The map's x and y are Web Mercator metres; geoviews shows them as degrees.
_MAP_DIMS = (("x", "longitude"), ("y", "latitude"))

DOTS_UP_TO = 50_000
"""Node layouts with more nodes than this are rasterised instead of drawn as dots."""

# Web Mercator stops short of the poles; latitudes beyond are drawn at the edge.
_MERCATOR_LATITUDE_LIMIT = 85.0


def _web_mercator(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Easting and northing (m) of longitudes and latitudes in degrees."""
    from holoviews.util.transform import lon_lat_to_easting_northing

    lat = np.clip(
        np.asarray(lat, dtype="float64"),
        -_MERCATOR_LATITUDE_LIMIT,
        _MERCATOR_LATITUDE_LIMIT,
    )
    return lon_lat_to_easting_northing(np.asarray(lon, dtype="float64"), lat)


def _with_longitudes_from_180(
    labels: xr.DataArray, layout: MapLayout
) -> tuple[xr.DataArray, MapLayout]:
    """Labels with longitudes in -180 to 180, the domain of Web Mercator.

    geoviews clips whatever lies outside that domain, so longitudes in 0-360
    are moved into it; grids are put back in order when drawn.
    """
    if not layout.longitude_360:
        return labels, layout
    longitude = labels[layout.longitude]
    wrapped = labels.assign_coords(
        {layout.longitude: (longitude + 180.0) % 360.0 - 180.0}
    )
    return wrapped, map_layout(wrapped, lat=layout.latitude, lon=layout.longitude)


def _map_kdims() -> list:
    """The map's x and y dims, labelled as what hover and axes show."""
    import holoviews as hv

    return [hv.Dimension(name, label=label) for name, label in _MAP_DIMS]


def _projected_grid(labels: xr.DataArray, layout: MapLayout) -> xr.DataArray:
    """Labels as float (NaN where missing) on Web Mercator ``x`` and ``y``."""
    clusters = labels.where(labels >= 0).astype("float32").rename("cluster")
    if layout.kind == "grid":
        clusters = clusters.sortby([layout.latitude, layout.longitude]).transpose(
            layout.latitude, layout.longitude
        )
        x, _ = _web_mercator(clusters[layout.longitude].values, 0.0)
        _, y = _web_mercator(0.0, clusters[layout.latitude].values)
        return xr.DataArray(
            clusters.values, dims=("y", "x"), coords={"y": y, "x": x}, name="cluster"
        )
    x, y = _web_mercator(
        clusters[layout.longitude].values, clusters[layout.latitude].values
    )
    dims = clusters[layout.latitude].dims
    return xr.DataArray(
        clusters.transpose(*dims).values,
        dims=dims,
        coords={"x": (dims, x), "y": (dims, y)},
        name="cluster",
    )


def _cluster_layer(labels: xr.DataArray, layout: MapLayout, size: tuple[int, int]):
    """The labels as a rasterised image (grids, many nodes) or as dots (nodes)."""
    import cartopy.crs as ccrs
    import datashader
    import geoviews as gv
    from holoviews.operation.datashader import dynspread, rasterize

    width, height = size
    if layout.kind == "nodes":
        valid = np.asarray(labels.values) >= 0
        lat = labels[layout.latitude].values[valid]
        lon = labels[layout.longitude].values[valid]
        x, y = _web_mercator(lon, lat)
        dots = gv.Points(
            {"x": x, "y": y, "cluster": np.asarray(labels.values)[valid]},
            kdims=_map_kdims(),
            vdims=["cluster"],
            crs=ccrs.GOOGLE_MERCATOR,
        )
        if valid.sum() <= DOTS_UP_TO:
            return dots.opts(size=6, line_width=0)
        aggregated = rasterize(
            dots,
            aggregator=datashader.max("cluster"),
            width=width,
            height=height,
            dynamic=False,
        )
        return dynspread(aggregated, max_px=4, threshold=0.8)

    mesh = gv.QuadMesh(
        _projected_grid(labels, layout),
        kdims=_map_kdims(),
        vdims=["cluster"],
        crs=ccrs.GOOGLE_MERCATOR,
    )
    return rasterize(
        mesh,
        aggregator=datashader.max("cluster"),
        width=width,
        height=height,
        dynamic=False,
    )


def _legend(labels: xr.DataArray, layout: MapLayout, clusters, colours) -> Any:
    """One legend entry per cluster: an invisible dot at a member of each."""
    import holoviews as hv

    values = np.asarray(labels.values).ravel()
    lat = labels[layout.latitude].broadcast_like(labels).transpose(*labels.dims)
    lon = labels[layout.longitude].broadcast_like(labels).transpose(*labels.dims)
    lat, lon = lat.values.ravel(), lon.values.ravel()
    counts = member_counts(labels, clusters.size)

    entries = []
    for cluster in clusters:
        members = np.flatnonzero(values == cluster)
        anchor = members[0] if members.size else int(np.argmax(values >= 0))
        x, y = _web_mercator(lon[anchor], lat[anchor])
        entries.append(
            hv.Points(
                [(float(x), float(y))],
                kdims=_map_kdims(),
                label=f"cluster {cluster} ({counts[cluster]:,})",
            ).opts(color=colours[cluster], size=0.001, line_width=0, tools=[])
        )
    return hv.Overlay(entries)


def _coastline_layer(layout: MapLayout) -> Any:
    """The bundled coastlines clipped to the map, in Web Mercator.

    A holoviews (not geoviews) path: its coordinates are those of the plot
    already, and geoviews would reproject every line for nothing.
    """
    import holoviews as hv

    # One NaN-separated line: bokeh breaks it at the NaN, and holoviews makes one
    # element instead of one per line (thousands on a global map).
    x, y = _web_mercator(*coastline(layout))
    return hv.Path([np.column_stack([x, y])], kdims=_map_kdims()).opts(
        color="black", line_width=1.0
    )


def _tile_layer(tiles: Any) -> Any:
    """Basemap tiles by name (``"EsriImagery"``, ``"OSM"``, ...) or as given."""
    import geoviews as gv

    if not isinstance(tiles, str):
        return tiles
    sources = gv.tile_sources.tile_sources
    if tiles not in sources:
        raise InputError(
            f"tiles={tiles!r} is not a basemap name; choose one of "
            f"{sorted(sources)!r} (satellite imagery: 'EsriImagery')."
        )
    return sources[tiles]()


def interactive_map(
    labels: xr.DataArray,
    *,
    tiles: str | Any | None = None,
    coastlines: bool = True,
    size: int = 600,
    alpha: float = 0.85,
    title: str | None = None,
    lat: str | None = None,
    lon: str | None = None,
) -> Any:
    """Draw the clusters on an interactive map (geoviews, bokeh backend).

    Parameters
    ----------
    labels : xarray.DataArray
        Cluster labels on a grid (1-D or 2-D latitude and longitude) or on
        nodes, longitudes -180 to 180 or 0 to 360; -1 is left transparent.
    tiles : str or geoviews WMTS, optional
        Basemap under the clusters, by name: ``"EsriImagery"`` (satellite),
        ``"OSM"``, ``"CartoLight"``, ... (any of ``geoviews.tile_sources``).
        Tiles are fetched by the browser when the map is viewed.
    coastlines : bool, default True
        Draw the coastlines bundled with xvcluster (no network needed).
    size : int, default 600
        Length in pixels of the map frame's longer side; the other follows the
        map's aspect.
    alpha : float, default 0.85
        Opacity of the clusters over the tiles.
    title : str, optional
        Title; by default the method and number of clusters.
    lat, lon : str, optional
        Names of the coordinates, when they cannot be found.

    Returns
    -------
    holoviews.Overlay
        Displayed in Jupyter; save with :func:`xvcluster.save_html`. Hover shows
        longitude, latitude and cluster; the legend has one entry per cluster.
    """
    require("geoviews", "The interactive map")
    require("datashader", "The interactive map")
    import cartopy.crs as ccrs
    import holoviews as hv

    if "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)
    labels = drawable_labels(labels)
    labels, layout = _with_longitudes_from_180(
        labels, map_layout(labels, lat=lat, lon=lon)
    )
    clusters = cluster_numbers(labels)
    colours = cluster_colours(clusters.size)

    west, east, south, north = layout.bounds
    (x0, x1), (y0, y1) = _web_mercator([west, east], [south, north])
    aspect = (y1 - y0) / max(x1 - x0, 1.0)
    width, height = (
        (size, int(max(size * aspect, 150)))
        if aspect <= 1
        else (int(max(size / aspect, 150)), size)
    )

    layers = [] if tiles is None else [_tile_layer(tiles)]
    layers.append(
        _cluster_layer(labels, layout, (width, height)).opts(
            cmap=colours,
            clim=(-0.5, clusters.size - 0.5),
            alpha=alpha,
            tools=["hover"],
        )
    )
    if coastlines:
        layers.append(_coastline_layer(layout))
    layers.append(_legend(labels, layout, clusters, colours))

    method = labels.attrs.get("method", "")
    return hv.Overlay(layers).opts(
        projection=ccrs.GOOGLE_MERCATOR,
        frame_width=width,
        frame_height=height,
        xlim=(x0, x1),
        ylim=(y0, y1),
        legend_position="right",
        title=title or f"{method} clusters (k = {clusters.size})".strip(),
        active_tools=["wheel_zoom"],
    )


def save_html(figure: Any, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save an interactive map as one standalone HTML file, atomically.

    BokehJS is written into the file, so it opens with no network (basemap
    tiles, if any, still load from their server).

    Parameters
    ----------
    figure : holoviews object
        E.g. ``labels.vcluster.map()``.
    path : str or path-like
        The ``.html`` file to create.
    overwrite : bool, default False
        Replace an existing file; otherwise an existing file is an error.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    import holoviews as hv
    from bokeh.resources import INLINE

    from .io import write_atomically

    return write_atomically(
        path,
        lambda temporary: hv.save(figure, temporary, fmt="html", resources=INLINE),
        overwrite=overwrite,
    )
