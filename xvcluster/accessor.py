"""The ``.vcluster`` accessor on :class:`xarray.DataArray`.

It keeps no state (xarray makes a new accessor for every new array): each method
checks its arguments and hands over to the plain functions and model classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import xarray as xr

from .axes import Axes, find_axes
from .kmeans import KMeans
from .maps import interactive_map
from .model import ProfileModel
from .plot import MEMBERS_DRAWN, plot_map, plot_profiles
from .profiles import ProfileSpec, prepare_profiles
from .som import SOM

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["VClusterAccessor"]


@xr.register_dataarray_accessor("vcluster")
class VClusterAccessor:
    """Cluster the depth profiles of a velocity model: ``da.vcluster.kmeans(5)``.

    Every method takes ``lat=``, ``lon=`` and ``depth=`` to name an axis that
    cannot be found from its attributes or name. ``zrange`` and ``dz`` are km
    below the surface, positive down, whatever the model stores.

    On the velocity model: ``axes``, ``profiles``, ``kmeans``, ``elbow`` and
    ``plot_profiles``. On cluster labels (no depth dim): ``map`` (interactive)
    and ``plot_map`` (static).
    """

    def __init__(self, da: xr.DataArray) -> None:
        self._da = da

    def axes(
        self,
        *,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> Axes:
        """Return the latitude, longitude and depth axes found on this array.

        Parameters
        ----------
        lat, lon, depth : str, optional
            Axis names, when they cannot be found from attributes or names.

        Returns
        -------
        Axes
            See :func:`xvcluster.find_axes`.
        """
        return find_axes(self._da, lat=lat, lon=lon, depth=depth)

    def profiles(
        self,
        *,
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> xr.DataArray:
        """Return the profiles that would be clustered, lazily, depth last in km.

        Missing values are left in place here; ``nan`` only decides whether
        interior gaps are filled.

        Parameters
        ----------
        zrange, dz, spacing, nan
            See :class:`xvcluster.ProfileSpec`.
        lat, lon, depth : str, optional
            Axis names, when they cannot be found from attributes or names.

        Returns
        -------
        xarray.DataArray
            Dims ``(*horizontal, "depth")``, depth in km below the surface.

        Examples
        --------
        >>> import xvcluster
        >>> vs = xvcluster.open_example()["vs"]
        >>> vs.vcluster.profiles(zrange=(0, 60), dz=2.0).sizes
        Frozen({'latitude': 109, 'longitude': 53, 'depth': 31})
        """
        spec = ProfileSpec(zrange=zrange, dz=dz, spacing=spacing, nan=nan)
        axes = find_axes(self._da, lat=lat, lon=lon, depth=depth)
        return prepare_profiles(self._da, axes, spec)

    def kmeans(
        self,
        n_clusters: int | None = None,
        *,
        krange: Iterable[int] = range(2, 15),
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        metric: str = "euclidean",
        random_state: int | None = 0,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
        **options: Any,
    ) -> xr.DataArray:
        """Cluster the profiles with k-means and return their labels.

        Parameters
        ----------
        n_clusters : int or None, default None
            Number of clusters; ``None`` takes the knee of the inertia curve
            over ``krange``.
        krange, zrange, dz, spacing, nan, metric, random_state
            See :class:`xvcluster.KMeans`.
        lat, lon, depth : str, optional
            Axis names, when they cannot be found from attributes or names.
        **options
            Further :class:`xvcluster.KMeans` parameters (``n_init``, ``smooth``,
            ...).

        Returns
        -------
        xarray.DataArray
            int32 cluster numbers on this array's horizontal dims and
            coordinates, -1 where a profile was left out.

        Examples
        --------
        >>> import xvcluster
        >>> vs = xvcluster.open_example()["vs"]
        >>> labels = vs.vcluster.kmeans(5, zrange=(0, 60), dz=2.0)
        >>> labels.dims, int(labels.max())
        (('latitude', 'longitude'), 4)
        """
        model = KMeans(
            n_clusters,
            krange=krange,
            zrange=zrange,
            dz=dz,
            spacing=spacing,
            nan=nan,
            metric=metric,
            random_state=random_state,
            **options,
        )
        return model.fit(self._da, lat=lat, lon=lon, depth=depth).labels_

    def som(
        self,
        grid: Sequence[int] | None = None,
        *,
        iterations: int = 50_000,
        sigma: float = 0.3,
        learning_rate: float = 0.1,
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        random_state: int | None = 0,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> xr.DataArray:
        """Cluster the profiles with a self-organising map and return their labels.

        The clusters are the map's populated nodes; fit :class:`xvcluster.SOM`
        directly to keep the node weights, the U-matrix and the errors too.

        Parameters
        ----------
        grid : (int, int) or None, default None
            Nodes ``(nx, ny)``; ``None`` for ``ceil(N ** 0.25)`` a side.
        iterations, sigma, learning_rate, zrange, dz, spacing, nan, random_state
            See :class:`xvcluster.SOM`.
        lat, lon, depth : str, optional
            Axis names, when they cannot be found from attributes or names.

        Returns
        -------
        xarray.DataArray
            int32 cluster numbers on this array's horizontal dims and
            coordinates, -1 where a profile was left out.

        Examples
        --------
        >>> import xvcluster
        >>> vs = xvcluster.open_example()["vs"]
        >>> labels = vs.vcluster.som((2, 2), iterations=1000, zrange=(0, 60))
        >>> labels.dims, labels.attrs["method"]
        (('latitude', 'longitude'), 'som')
        """
        model = SOM(
            grid,
            iterations=iterations,
            sigma=sigma,
            learning_rate=learning_rate,
            zrange=zrange,
            dz=dz,
            spacing=spacing,
            nan=nan,
            random_state=random_state,
        )
        return model.fit(self._da, lat=lat, lon=lon, depth=depth).labels_

    def elbow(
        self,
        krange: Iterable[int] = range(2, 15),
        *,
        zrange: tuple[float, float] | None = None,
        dz: float | None = None,
        spacing: int = 1,
        nan: str = "drop",
        smooth: int | None = None,
        random_state: int | None = 0,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
        **options: Any,
    ) -> xr.Dataset:
        """Return the k-means inertia curve over ``krange`` and the k at its knee.

        Parameters
        ----------
        krange : iterable of int, default range(2, 15)
            Cluster counts to try; at least three.
        zrange, dz, spacing, nan, smooth, random_state
            See :class:`xvcluster.KMeans`.
        lat, lon, depth : str, optional
            Axis names, when they cannot be found from attributes or names.
        **options
            Further :class:`xvcluster.KMeans` parameters.

        Returns
        -------
        xarray.Dataset
            ``inertia(k)``, ``inertia_smoothed(k)`` when ``smooth`` is given, and
            the scalar ``knee``.
        """
        model = KMeans(
            None,
            krange=krange,
            zrange=zrange,
            dz=dz,
            spacing=spacing,
            nan=nan,
            smooth=smooth,
            random_state=random_state,
            **options,
        )
        return model.fit(self._da, lat=lat, lon=lon, depth=depth).elbow_

    # ------------------------------------------------------------- pictures

    def plot_profiles(
        self,
        clusters: xr.DataArray | xr.Dataset | ProfileModel,
        *,
        max_members: int = MEMBERS_DRAWN,
        random_state: int = 0,
        lat: str | None = None,
        lon: str | None = None,
        depth: str | None = None,
    ) -> Figure:
        """Draw this model's profiles, one panel per cluster (matplotlib).

        Parameters
        ----------
        clusters : xarray.DataArray, xarray.Dataset or ProfileModel
            Labels fitted on this model, a fitted model or its ``result()``.
        max_members, random_state, lat, lon, depth
            See :func:`xvcluster.plot.plot_profiles`.

        Returns
        -------
        matplotlib.figure.Figure
            Members faint in the cluster's map colour, centre and member mean
            bold, depth increasing downward, panels titled with the cluster
            number and member count.
        """
        return plot_profiles(
            self._da,
            clusters,
            max_members=max_members,
            random_state=random_state,
            lat=lat,
            lon=lon,
            depth=depth,
        )

    def map(
        self,
        *,
        tiles: str | Any | None = None,
        coastlines: bool = True,
        size: int = 600,
        alpha: float = 0.85,
        title: str | None = None,
        lat: str | None = None,
        lon: str | None = None,
    ) -> Any:
        """Draw these cluster labels on an interactive map (geoviews).

        Parameters
        ----------
        tiles : str, optional
            Basemap by name, e.g. ``"EsriImagery"`` (satellite) or ``"OSM"``.
        coastlines, size, alpha, title, lat, lon
            See :func:`xvcluster.maps.interactive_map`.

        Returns
        -------
        holoviews.Overlay
            Shown in Jupyter; save with :func:`xvcluster.save_html`.
        """
        return interactive_map(
            self._da,
            tiles=tiles,
            coastlines=coastlines,
            size=size,
            alpha=alpha,
            title=title,
            lat=lat,
            lon=lon,
        )

    def plot_map(
        self,
        *,
        coastlines: bool = True,
        title: str | None = None,
        lat: str | None = None,
        lon: str | None = None,
    ) -> Figure:
        """Draw these cluster labels on a static map (matplotlib, cartopy if any).

        Parameters
        ----------
        coastlines, title, lat, lon
            See :func:`xvcluster.plot.plot_map`.

        Returns
        -------
        matplotlib.figure.Figure
            Save it with ``figure.savefig("map.png")``.
        """
        return plot_map(self._da, coastlines=coastlines, title=title, lat=lat, lon=lon)
