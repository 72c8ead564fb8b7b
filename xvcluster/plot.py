"""Matplotlib figures of a clustering: profiles per cluster, the knee curve, a map.

Every function returns a :class:`matplotlib.figure.Figure` and draws cluster ``c``
in the colour ``cluster_colours(k)[c]`` that the interactive map uses too.
Matplotlib (and cartopy, for the static map, when installed) is imported only
when a figure is asked for.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .axes import find_axes
from .errors import InputError
from .geography import (
    MapLayout,
    cluster_colours,
    cluster_numbers,
    coastline_lines,
    drawable_labels,
    fitted_params,
    map_layout,
    member_counts,
    require,
)
from .model import ProfileModel, member_means
from .profiles import ProfileSpec, prepare_profiles

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_elbow", "plot_map", "plot_profiles"]

MEMBERS_DRAWN = 200
"""At most this many member profiles are drawn per panel (a seeded random pick)."""

_PANEL_WIDTH_IN, _PANEL_HEIGHT_IN = 2.4, 3.2
_LEGEND_ROWS = 16


# ------------------------------------------------------------------ profiles


@dataclass
class _Clustering:
    """What a profile figure needs, whatever form the clustering came in."""

    labels: xr.DataArray
    params: dict[str, Any]
    depths: np.ndarray | None = None
    centres: xr.DataArray | None = None
    member_means: xr.DataArray | None = None
    method: str = ""


def _as_clustering(clusters: Any) -> _Clustering:
    """Read labels, parameters and drawn profiles from labels, a model or a result."""
    if isinstance(clusters, ProfileModel):
        clusters = clusters.result()
    if isinstance(clusters, xr.Dataset):
        if "labels" not in clusters or "centres" not in clusters:
            raise InputError(
                "This Dataset has no 'labels' and 'centres'; give labels, a fitted "
                "model or its result() Dataset."
            )
        labels = drawable_labels(clusters["labels"])
        return _Clustering(
            labels=labels,
            params=fitted_params(clusters),
            depths=clusters["depth"].values,
            centres=clusters["centres"],
            member_means=clusters.get("member_means"),
            method=str(labels.attrs.get("method", "")),
        )
    if isinstance(clusters, xr.DataArray):
        return _Clustering(
            labels=drawable_labels(clusters),
            params=fitted_params(clusters),
            method=str(clusters.attrs.get("method", "")),
        )
    raise InputError(
        f"Cannot draw the profiles of a {type(clusters).__name__}; give labels (a "
        "DataArray), a fitted model or its result() Dataset."
    )


def _profiles_as_fitted(
    da: xr.DataArray, clustering: _Clustering, lat, lon, depth
) -> xr.DataArray:
    """The profiles of ``da`` cut the way the clustering was fitted (all nodes)."""
    params = clustering.params
    spec = ProfileSpec(
        zrange=params.get("zrange"),
        dz=params.get("dz"),
        nan=params.get("nan", "drop"),
    )
    axes = find_axes(da, lat=lat, lon=lon, depth=depth)
    return prepare_profiles(da, axes, spec, depths=clustering.depths)


def _aligned(
    profiles: xr.DataArray, labels: xr.DataArray
) -> tuple[xr.DataArray, np.ndarray]:
    """Profiles ``(profile, depth)`` and labels ``(profile,)`` on common nodes."""
    horizontal = [dim for dim in profiles.dims if dim != "depth"]
    if sorted(map(str, labels.dims)) != sorted(map(str, horizontal)):
        raise InputError(
            f"The labels are on dims {labels.dims!r} but the profiles on "
            f"{tuple(horizontal)!r}; give labels fitted on this model."
        )
    profiles, labels = xr.align(profiles, labels, join="inner")
    labels = labels.transpose(*horizontal)
    stacked = profiles.stack(profile=horizontal).transpose("profile", "depth")
    return stacked, np.asarray(labels.values).ravel()


def _members_drawn(
    label_values: np.ndarray, clusters: np.ndarray, limit: int, seed: int
) -> dict[int, np.ndarray]:
    """Indices of the member profiles drawn for each cluster: all, or a sample."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for cluster in clusters:
        members = np.flatnonzero(label_values == cluster)
        if members.size > limit:
            members = np.sort(rng.choice(members, size=limit, replace=False))
        chosen[int(cluster)] = members
    return chosen


def _panel_grid(n_panels: int) -> tuple[int, int]:
    """Rows and columns of the panel grid: one row up to 4, then near square."""
    if n_panels <= 4:
        return 1, n_panels
    columns = math.ceil(math.sqrt(n_panels))
    return math.ceil(n_panels / columns), columns


def _axis_label(attrs: dict, fallback: str) -> str:
    name = attrs.get("long_name", fallback)
    units = attrs.get("units")
    return f"{name} ({units})" if units else str(name)


def plot_profiles(
    da: xr.DataArray,
    clusters: xr.DataArray | xr.Dataset | ProfileModel,
    *,
    max_members: int = MEMBERS_DRAWN,
    random_state: int = 0,
    lat: str | None = None,
    lon: str | None = None,
    depth: str | None = None,
) -> Figure:
    """Draw each cluster's profiles in its own panel.

    Members are drawn faint in the cluster's colour; bold on top, the centre of
    a fitted model (k-means centre, SOM node weight), and the mean of the
    members, computed from ``da`` (for SOM results, the saved member mean).
    Profiles are cut from ``da`` as the clustering was fitted (depth window and
    step from the labels' ``xvcluster_params``). Depth increases downward and
    all panels share their axes.

    Parameters
    ----------
    da : xarray.DataArray
        The velocity model the clustering was fitted on (or another one on the
        same grid). Its ``long_name`` and ``units`` label the velocity axis.
    clusters : xarray.DataArray, xarray.Dataset or ProfileModel
        Labels (e.g. from ``da.vcluster.kmeans(5)``), a fitted model, or its
        ``result()`` Dataset.
    max_members : int, default 200
        At most this many member profiles drawn per panel, picked at random
        with ``random_state``; means and counts use every member.
    random_state : int, default 0
        Seed of that pick.
    lat, lon, depth : str, optional
        Axis names of ``da``, when they cannot be found from attributes or names.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per cluster, titled with its number and member count.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import xvcluster
    >>> vs = xvcluster.open_example()["vs"]
    >>> labels = vs.vcluster.kmeans(3, zrange=(0, 60), dz=5.0)
    >>> figure = vs.vcluster.plot_profiles(labels)
    >>> [axes.get_title() for axes in figure.axes[:3]]
    ['cluster 0: 1,555 profiles', 'cluster 1: 3,156 profiles', 'cluster 2: 1,066 profiles']
    """  # noqa: E501
    plt = require("matplotlib.pyplot", "plot_profiles")
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    clustering = _as_clustering(clusters)
    profiles = _profiles_as_fitted(da, clustering, lat, lon, depth)
    stacked, label_values = _aligned(profiles, clustering.labels)
    clusters_drawn = cluster_numbers(clustering.labels)
    colours = cluster_colours(clusters_drawn.size)

    # Compute what is drawn: sampled members, each cluster's mean.
    drawn = _members_drawn(label_values, clusters_drawn, max_members, random_state)
    drawn_rows = np.concatenate(list(drawn.values()))
    profile_values = np.asarray(stacked.values)  # read once, dask or not
    member_values = profile_values[drawn_rows]
    means = (
        clustering.member_means.values
        if clustering.member_means is not None
        else member_means(profile_values, label_values, clusters_drawn.size)
    )
    depths = stacked["depth"].values
    counts = member_counts(label_values, clusters_drawn.size)

    # One panel per cluster, sharing axes; depth increases downward.
    rows, columns = _panel_grid(clusters_drawn.size)
    figure, panels = plt.subplots(
        rows,
        columns,
        sharex=True,
        sharey=True,
        squeeze=False,
        figsize=(_PANEL_WIDTH_IN * columns + 1.0, _PANEL_HEIGHT_IN * rows + 1.0),
        layout="constrained",
    )
    panels_flat = panels.ravel()
    centre_name = "node weight" if clustering.method == "som" else "centre"
    start = 0
    for cluster, panel in zip(clusters_drawn, panels_flat, strict=False):
        members = member_values[start : start + drawn[int(cluster)].size]
        start += members.shape[0]
        segments = np.stack([members, np.broadcast_to(depths, members.shape)], axis=-1)
        panel.add_collection(
            LineCollection(
                segments, colors=colours[cluster], linewidths=0.6, alpha=0.25
            )
        )
        if clustering.centres is not None:
            panel.plot(
                clustering.centres.sel(cluster=cluster).values,
                depths,
                color="black",
                linewidth=2.4,
            )
        if clustering.centres is None or clustering.member_means is not None:
            panel.plot(
                means[cluster], depths, color="black", linewidth=2.0, linestyle="--"
            )
        panel.set_title(f"cluster {cluster}: {counts[cluster]:,} profiles")
        for spine in panel.spines.values():
            spine.set_edgecolor(colours[cluster])
            spine.set_linewidth(2.0)
        panel.grid(True, linewidth=0.4, alpha=0.5)
    for panel in panels_flat[clusters_drawn.size :]:
        panel.set_visible(False)

    panels_flat[0].autoscale_view()
    panels_flat[0].set_ylim(depths.max(), depths.min())
    velocity_label = _axis_label(da.attrs, str(da.name or "velocity"))
    depth_label = _axis_label(stacked["depth"].attrs, "depth")
    for index, panel in enumerate(panels_flat[: clusters_drawn.size]):
        if index + columns >= clusters_drawn.size:  # nothing drawn below it
            panel.xaxis.set_tick_params(labelbottom=True)
            panel.set_xlabel(velocity_label)
        if index % columns == 0:
            panel.set_ylabel(depth_label)

    # The key: which line is what.
    handles = [Line2D([], [], color="grey", linewidth=0.8, alpha=0.6)]
    names = ["members"]
    if clustering.centres is not None:
        handles.append(Line2D([], [], color="black", linewidth=2.4))
        names.append(centre_name)
    if clustering.centres is None or clustering.member_means is not None:
        handles.append(Line2D([], [], color="black", linewidth=2.0, linestyle="--"))
        names.append("member mean")
    figure.legend(handles, names, loc="outside lower center", ncols=len(names))
    return figure


# --------------------------------------------------------------------- knee


def _knee_curve(curve: Any) -> xr.Dataset:
    """The knee curve as ``inertia(k)``, ``knee`` and maybe ``inertia_smoothed``."""
    if isinstance(curve, ProfileModel):
        curve = getattr(curve, "elbow_", None)
        if curve is None:
            raise InputError(
                "This model was fitted with a given n_clusters, so it has no knee "
                "curve; fit with n_clusters=None to search for the knee."
            )
    if not isinstance(curve, xr.Dataset):
        raise InputError(
            f"Cannot draw a knee curve from a {type(curve).__name__}; give the "
            "Dataset from da.vcluster.elbow(), model.elbow_ or model.result()."
        )
    if "elbow_inertia" in curve:
        renamed = {"elbow_inertia": "inertia"}
        if "elbow_inertia_smoothed" in curve:
            renamed["elbow_inertia_smoothed"] = "inertia_smoothed"
        curve = curve[[*renamed, "knee"]].rename(renamed)
    if "inertia" not in curve or "knee" not in curve:
        raise InputError(
            "This Dataset has no knee curve ('inertia' along 'k' and 'knee'); give "
            "the Dataset from da.vcluster.elbow() or the result of a knee search."
        )
    return curve


def plot_elbow(curve: xr.Dataset | ProfileModel) -> Figure:
    """Draw the inertia against k, smoothed when it was, with the chosen k marked.

    Parameters
    ----------
    curve : xarray.Dataset or ProfileModel
        ``da.vcluster.elbow()``, ``model.elbow_``, a ``model.result()`` Dataset
        of a knee search, or the fitted model itself.

    Returns
    -------
    matplotlib.figure.Figure
        One panel: raw inertia (dots and line), the smoothed curve (dashed)
        when present, and a vertical line at the knee.
    """
    plt = require("matplotlib.pyplot", "plot_elbow")
    curve = _knee_curve(curve)
    ks = curve["k"].values
    knee = int(curve["knee"])

    figure, panel = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    panel.plot(ks, curve["inertia"].values, "o-", color="tab:blue", label="inertia")
    if "inertia_smoothed" in curve:
        panel.plot(
            ks,
            curve["inertia_smoothed"].values,
            "--",
            color="tab:orange",
            label="smoothed",
        )
    knee_curve = curve["inertia_smoothed" if "inertia_smoothed" in curve else "inertia"]
    panel.axvline(knee, color="black", linewidth=1.0, linestyle=":")
    panel.plot(
        [knee],
        [float(knee_curve.sel(k=knee))],
        "s",
        color="black",
        markersize=9,
        label=f"knee: k = {knee}",
    )
    panel.set_xticks(ks)
    panel.set_xlabel(_axis_label(curve["k"].attrs, "k"))
    long_name = str(curve["inertia"].attrs.get("long_name", "inertia"))
    panel.set_ylabel("\n".join(textwrap.wrap(long_name, 32)))
    panel.set_title(f"Knee of the inertia curve: k = {knee}")
    panel.legend()
    return figure


# ---------------------------------------------------------------------- map


def _cartopy_axes(figure: Any, layout: MapLayout) -> tuple[Any, Any]:
    """A cartopy GeoAxes centred on the data, or (None, None) without cartopy."""
    try:
        import cartopy.crs as ccrs
    except ImportError:
        return None, None
    centre = 180.0 if layout.longitude_360 else 0.0
    axes = figure.add_subplot(projection=ccrs.PlateCarree(central_longitude=centre))
    return axes, ccrs.PlateCarree()


def _draw_labels(axes: Any, labels: xr.DataArray, layout: MapLayout, **style) -> None:
    """Draw the labels as cells (grids) or dots (nodes); -1 stays blank."""
    values = np.ma.masked_less(np.asarray(labels.values), 0)
    lat = labels[layout.latitude]
    lon = labels[layout.longitude]
    if layout.kind == "nodes":
        axes.scatter(lon.values, lat.values, c=values, s=12, linewidths=0, **style)
        return
    if layout.kind == "grid":
        values = np.ma.masked_less(
            np.asarray(labels.transpose(layout.latitude, layout.longitude).values), 0
        )
    axes.pcolormesh(
        lon.values, lat.values, values, shading="nearest", rasterized=True, **style
    )


def _draw_coastlines(axes: Any, layout: MapLayout, data_crs: Any) -> None:
    """Draw the bundled coastlines, one line per piece, clipped to the map."""
    from matplotlib.collections import LineCollection

    lines = coastline_lines(layout)
    if data_crs is None:
        axes.add_collection(LineCollection(lines, colors="black", linewidths=0.7))
        return

    import shapely

    axes.add_geometries(
        [shapely.LineString(line) for line in lines],
        crs=data_crs,
        facecolor="none",
        edgecolor="black",
        linewidth=0.7,
    )


def plot_map(
    labels: xr.DataArray,
    *,
    coastlines: bool = True,
    title: str | None = None,
    lat: str | None = None,
    lon: str | None = None,
) -> Figure:
    """Draw the clusters on a static map (a matplotlib Figure, e.g. for a PNG).

    Uses a cartopy map in equirectangular projection when cartopy is installed,
    plain longitude-latitude axes otherwise; the coastlines are xvcluster's own
    copy of Natural Earth's, so no download is needed.

    Parameters
    ----------
    labels : xarray.DataArray
        Cluster labels on a grid (1-D or 2-D latitude and longitude) or on
        nodes; -1 is left blank.
    coastlines : bool, default True
        Draw the coastlines.
    title : str, optional
        Title of the map; by default the method and number of clusters.
    lat, lon : str, optional
        Names of the coordinates, when they cannot be found.

    Returns
    -------
    matplotlib.figure.Figure
        The map with a legend, one entry per cluster with its member count.
    """
    plt = require("matplotlib.pyplot", "plot_map")
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    labels = drawable_labels(labels)
    layout = map_layout(labels, lat=lat, lon=lon)
    clusters = cluster_numbers(labels)
    colours = cluster_colours(clusters.size)
    colour_map = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(clusters.size + 1) - 0.5, clusters.size)

    # The legend gets a column per 16 clusters, and the figure room for them.
    legend_columns = math.ceil(clusters.size / _LEGEND_ROWS)
    figure = plt.figure(figsize=(6.5 + 1.6 * legend_columns, 6.0), layout="constrained")
    axes, data_crs = _cartopy_axes(figure, layout)
    if axes is None:
        axes = figure.add_subplot()
        middle_latitude = np.deg2rad(np.mean(layout.bounds[2:]))
        axes.set_aspect(1.0 / max(np.cos(middle_latitude), 0.1))
        transform = {}
    else:
        transform = {"transform": data_crs}
    _draw_labels(axes, labels, layout, cmap=colour_map, norm=norm, **transform)

    if coastlines:
        _draw_coastlines(axes, layout, data_crs)
    west, east, south, north = layout.bounds
    if data_crs is not None:
        axes.set_extent([west, east, south, north], crs=data_crs)
        from cartopy.mpl.ticker import LongitudeLocator

        # Few longitude labels: on a tall, narrow region they would overlap.
        axes.gridlines(
            draw_labels={"bottom": "x", "left": "y"},
            xlocs=LongitudeLocator(nbins=4),
            linewidth=0.3,
            alpha=0.5,
        )
    else:
        axes.set_xlim(west, east)
        axes.set_ylim(south, north)
        axes.set_xlabel(_axis_label(labels[layout.longitude].attrs, "longitude"))
        axes.set_ylabel(_axis_label(labels[layout.latitude].attrs, "latitude"))

    counts = member_counts(labels, clusters.size)
    handles = [
        Patch(color=colours[cluster], label=f"cluster {cluster} ({counts[cluster]:,})")
        for cluster in clusters
    ]
    axes.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        ncols=legend_columns,
        fontsize="medium" if clusters.size <= _LEGEND_ROWS else "x-small",
        frameon=False,
    )
    method = labels.attrs.get("method", "")
    axes.set_title(title or f"{method} clusters (k = {clusters.size})".strip())
    return figure
