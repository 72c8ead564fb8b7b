"""Self-organising maps of velocity profiles, with MiniSom as the engine.

A self-organising map (SOM) is a grid of nodes, each holding a weight profile.
Training shows the map one profile at a time: the node whose weights are nearest
(the profile's winner) moves towards the profile, and so, less, do the nodes near
it on the grid, so that neighbouring nodes end up holding similar profiles.

The clusters are the populated nodes, those that win at least one profile. They
are numbered like every xvcluster model, by the mean velocity of their weights,
slowest first, and that one numbering is used by the labels, the centres, the
member means, the counts and the node positions (``node_x``, ``node_y``) alike.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .errors import InputError, SOMNeighbourhoodWarning, warn
from .lloyd import squared_distances
from .model import ProfileModel, _centre_order, member_means
from .profiles import DEPTH_ATTRS
from .progress import progress_bar

if TYPE_CHECKING:
    from minisom import MiniSom

__all__ = ["SOM", "auto_grid_side"]

BLOCK_SIZE = 4096
"""Profiles whose winners are found at once (8 MB of distances to 256 nodes)."""

PROGRESS_STEP = 1000
"""Training iterations between two updates of the progress bar."""


def auto_grid_side(n_profiles: int) -> int:
    """Return ``ceil(n_profiles ** 0.25)``, the side of the automatic SOM grid.

    Computed with integers, so that a perfect fourth power (e.g. 2401) is not
    rounded up by floating point.

    Parameters
    ----------
    n_profiles : int
        Number of profiles the map is trained on.

    Returns
    -------
    int
        The smallest side ``s`` with ``s ** 4 >= n_profiles``.

    Examples
    --------
    >>> auto_grid_side(5777), auto_grid_side(2401), auto_grid_side(64_800)
    (9, 7, 16)
    """
    return math.isqrt(math.isqrt(n_profiles - 1)) + 1 if n_profiles > 1 else 1


def _checked_grid(grid: Sequence[int] | None) -> tuple[int, int] | None:
    if grid is None:
        return None
    problem = None
    if isinstance(grid, str) or not isinstance(grid, Sequence) or len(grid) != 2:
        problem = "must be two whole numbers (nx, ny)"
    elif any(isinstance(n, bool) or not isinstance(n, Integral) or n < 1 for n in grid):
        problem = "must hold two positive whole numbers"
    elif grid[0] * grid[1] < 2:
        problem = "must have at least two nodes"
    if problem is not None:
        raise InputError(
            f"grid={grid!r} {problem}, e.g. grid=(4, 4); or None for a square grid "
            "of ceil(N ** 0.25) nodes a side."
        )
    return int(grid[0]), int(grid[1])


def _positive_iterations(iterations: object) -> int:
    if (
        isinstance(iterations, bool)
        or not isinstance(iterations, Integral)
        or iterations < 1
    ):
        raise InputError(
            f"iterations={iterations!r} must be a positive whole number, e.g. "
            "iterations=50_000."
        )
    return int(iterations)


def _positive_real(value: object, name: str, example: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InputError(f"{name}={value!r} must be a number above 0, e.g. {example}.")
    return float(value)


def _blocks(profiles: np.ndarray) -> list[np.ndarray]:
    """Split profiles ``(profile, depth)`` into at least one block of rows."""
    n_blocks = max(1, math.ceil(profiles.shape[0] / BLOCK_SIZE))
    return np.array_split(profiles, n_blocks)


def _training_order(
    n_profiles: int, iterations: int, random_state: int | None
) -> np.ndarray:
    """Row of the profile shown at each iteration: seeded shuffles, epoch by epoch.

    Every profile is shown once before any is shown twice, so a run shorter than
    one epoch trains on a random subset, not on the first rows.
    """
    rng = np.random.default_rng(random_state)
    epochs = -(-iterations // n_profiles)
    rows = np.broadcast_to(np.arange(n_profiles), (epochs, n_profiles))
    return rng.permuted(rows, axis=1).ravel()[:iterations]


class SOM(ProfileModel):
    """Self-organising map of the depth profiles of a velocity model.

    Parameters
    ----------
    grid : (int, int) or None, default None
        Number of nodes ``(nx, ny)`` of the map. ``None`` makes a square grid of
        ``ceil(N ** 0.25)`` nodes a side, N being the number of valid profiles.
    iterations : int, default 50_000
        Training steps; each shows the map one profile. Profiles are shown in a
        seeded random order, each once per epoch.
    sigma : float, default 0.3
        Width, in grid nodes, of the Gaussian neighbourhood a winner pulls along
        (MiniSom's ``sigma``; it decays during training).
    learning_rate : float, default 0.1
        Initial step towards the profile shown (decays during training).
    zrange : (float, float), optional
        Depth window in km below the surface; ``None`` keeps all depths.
    dz : float, optional
        Resample profiles every ``dz`` km; ``None`` keeps the model's depths.
    spacing : int, default 1
        Fit on every ``spacing``-th node along each horizontal dim.
    nan : {"drop", "fill"}, default "drop"
        Leave out profiles with missing values, or fill interior gaps first.
    random_state : int or None, default 0
        Seed of the initial weights (profiles drawn at random) and of the order
        profiles are shown in; fixed by default so that a run is reproducible.

    Attributes
    ----------
    labels_ : xarray.DataArray
        Cluster of every profile, on the input's horizontal dims (-1: left out).
    centres_ : xarray.DataArray
        Weights of the populated nodes, ``(cluster, depth)``, with each node's
        position on the grid as coordinates ``node_x`` and ``node_y``.
    member_means_ : xarray.DataArray
        Mean profile of each cluster's members, ``(cluster, depth)``.
    counts_ : xarray.DataArray
        Number of profiles in every cluster.
    n_clusters_ : int
        Number of populated nodes.
    grid_ : (int, int)
        Grid size used, ``(nx, ny)``.
    node_weights_ : xarray.DataArray
        Weights of every node, populated or not, ``(grid_x, grid_y, depth)``.
    umatrix_ : xarray.DataArray
        U-matrix ``(grid_x, grid_y)``: each node's mean distance to the weights
        of its up to eight neighbours, divided by the largest (so 0 to 1).
        Ridges of high values separate groups of similar nodes.
    quantisation_error_ : float
        Mean distance from each valid profile to its node's weights.
    topographic_error_ : float
        Fraction of the training profiles whose two best-matching nodes are not
        neighbours on the grid (0: the map keeps the data's topology).
    depth_ : numpy.ndarray
        Depths (km below the surface) the profiles were sampled at.

    Notes
    -----
    Clusters are numbered by the mean velocity of their node's weights, slowest
    first, as for k-means. ``predict`` gives each profile the nearest populated
    node; empty nodes are never a label.

    Examples
    --------
    >>> import xvcluster
    >>> vs = xvcluster.open_example()["vs"]
    >>> model = xvcluster.SOM((3, 3), iterations=2000, zrange=(0, 60), dz=2.0)
    >>> model = model.fit(vs)
    >>> model.umatrix_.dims, model.centres_.dims
    (('grid_x', 'grid_y'), ('cluster', 'depth'))
    """

    method = "som"

    def __init__(
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
    ) -> None:
        super().__init__(
            zrange=zrange, dz=dz, spacing=spacing, nan=nan, random_state=random_state
        )
        self.grid = _checked_grid(grid)
        self.iterations = _positive_iterations(iterations)
        self.sigma = _positive_real(sigma, "sigma", "sigma=0.3")
        self.learning_rate = _positive_real(
            learning_rate, "learning_rate", "learning_rate=0.1"
        )

    def get_params(self) -> dict[str, Any]:
        """Return the model's parameters as plain JSON-compatible values.

        Returns
        -------
        dict
            Each constructor argument by name; saved with every result.
        """
        return {
            "grid": None if self.grid is None else list(self.grid),
            "iterations": self.iterations,
            "sigma": self.sigma,
            "learning_rate": self.learning_rate,
            **super().get_params(),
        }

    # ------------------------------------------------------------- the fit

    def _fit_centres(self, profiles: np.ndarray) -> tuple[np.ndarray, None]:
        profiles = profiles.astype("float64", copy=False)
        self.grid_ = self.grid or (auto_grid_side(profiles.shape[0]),) * 2
        som = self._trained_map(profiles)
        node_weights = som.get_weights().copy()
        nodes = node_weights.reshape(-1, node_weights.shape[-1])
        populated = self._populated_nodes(profiles, nodes)

        self._node_positions = np.unravel_index(populated, self.grid_)
        self._node_weights = node_weights
        self._umatrix = som.distance_map(scaling="mean")
        self.topographic_error_ = self._topographic_error(som, profiles)
        self.n_clusters_ = int(populated.size)
        return nodes[populated], None

    def _populated_nodes(self, profiles: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Flat index of the nodes that win a profile, in the numbering order."""
        winners, _ = self._nearest(profiles, nodes)
        populated = np.unique(winners)
        return populated[_centre_order(nodes[populated])]

    def _trained_map(self, profiles: np.ndarray) -> MiniSom:
        """Train a MiniSom on ``profiles``, showing progress every few steps."""
        from minisom import MiniSom

        nx, ny = self.grid_
        self._check_neighbourhood()
        with warnings.catch_warnings():
            # Said in our words by _check_neighbourhood.
            warnings.filterwarnings("ignore", message=".*sigma might be too high")
            som = MiniSom(
                nx,
                ny,
                profiles.shape[1],
                sigma=self.sigma,
                learning_rate=self.learning_rate,
                random_seed=self.random_state,
            )
        som.random_weights_init(profiles)
        order = _training_order(profiles.shape[0], self.iterations, self.random_state)

        with progress_bar(self.iterations, "training SOM") as bar:
            for start in range(0, self.iterations, PROGRESS_STEP):
                stop = min(start + PROGRESS_STEP, self.iterations)
                for step in range(start, stop):
                    profile = profiles[order[step]]
                    som.update(profile, som.winner(profile), step, self.iterations)
                bar.update(stop - start)
        return som

    def _check_neighbourhood(self) -> None:
        """Warn when sigma is wider than the grid's diagonal (MiniSom's rule)."""
        diagonal = math.hypot(*self.grid_)
        if self.sigma > diagonal:
            nx, ny = self.grid_
            warn(
                f"sigma={self.sigma:g} is wider than the diagonal of the {nx} x {ny} "
                f"grid ({diagonal:.3g} nodes): every update pulls nearly all nodes "
                "alike, so the clusters blur together; choose a smaller sigma or a "
                "larger grid.",
                SOMNeighbourhoodWarning,
            )

    @staticmethod
    def _topographic_error(som: MiniSom, profiles: np.ndarray) -> float:
        """MiniSom's topographic error over all profiles, a block at a time."""
        blocks = _blocks(profiles)
        errors = [som.topographic_error(block) for block in blocks]
        return float(np.average(errors, weights=[len(block) for block in blocks]))

    def _distances(self, profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """Euclidean distances, from dot products so that BLAS does the work."""
        profiles = profiles.astype("float64", copy=False)
        return np.sqrt(squared_distances(profiles, centres))

    def _nearest(
        self, profiles: np.ndarray, centres: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest centre of each profile, a block of profiles at a time."""
        blocks = [
            super(SOM, self)._nearest(block, centres) for block in _blocks(profiles)
        ]
        nearest, distances = zip(*blocks, strict=True)
        return np.concatenate(nearest), np.concatenate(distances)

    def _record_fit_quality(self, distances: np.ndarray) -> None:
        self.quantisation_error_ = float(np.mean(distances))

    def _record_members(self, profiles: np.ndarray, labels: np.ndarray) -> None:
        self._member_means = member_means(profiles, labels, self.n_clusters_)

    def _finish_fit(self) -> None:
        """Put the node positions on the cluster dim; the nodes as DataArrays."""
        node_x, node_y = self._node_positions
        positions = {
            "node_x": ("cluster", node_x.astype("int32"), _NODE_X_ATTRS),
            "node_y": ("cluster", node_y.astype("int32"), _NODE_Y_ATTRS),
        }
        self.centres_ = self.centres_.assign_coords(positions)
        self.counts_ = self.counts_.assign_coords(positions)
        self.member_means_ = self._member_means_dataarray(self._member_means)
        self.node_weights_ = self._node_weights_dataarray(self._node_weights)
        self.umatrix_ = self._umatrix_dataarray(self._umatrix)

    # ------------------------------------------------------------- results

    def _member_means_dataarray(self, means: np.ndarray) -> xr.DataArray:
        return xr.DataArray(
            means,
            coords=self.centres_.coords,
            dims=("cluster", "depth"),
            name="member_means",
            attrs={
                "long_name": f"mean {self.variable_['long_name']} of the cluster's "
                "members",
                "units": self.variable_["units"],
            },
        )

    def _grid_coords(self) -> dict[str, Any]:
        nx, ny = self.grid_
        return {
            "grid_x": ("grid_x", np.arange(nx, dtype="int32"), _GRID_X_ATTRS),
            "grid_y": ("grid_y", np.arange(ny, dtype="int32"), _GRID_Y_ATTRS),
        }

    def _node_weights_dataarray(self, weights: np.ndarray) -> xr.DataArray:
        return xr.DataArray(
            weights,
            dims=("grid_x", "grid_y", "depth"),
            coords={
                **self._grid_coords(),
                "depth": ("depth", self.depth_, DEPTH_ATTRS),
            },
            name="node_weights",
            attrs={
                "long_name": f"{self.variable_['long_name']} held by the SOM node",
                "units": self.variable_["units"],
            },
        )

    def _umatrix_dataarray(self, umatrix: np.ndarray) -> xr.DataArray:
        return xr.DataArray(
            umatrix,
            dims=("grid_x", "grid_y"),
            coords=self._grid_coords(),
            name="umatrix",
            attrs={
                "long_name": "mean distance to the neighbouring nodes' weights, "
                "relative to the largest",
                "units": "1",
            },
        )

    def _result_variables(self) -> dict[str, xr.DataArray]:
        return {
            "member_means": self.member_means_,
            "node_weights": self.node_weights_,
            "umatrix": self.umatrix_,
            "quantisation_error": xr.DataArray(
                self.quantisation_error_,
                attrs={
                    "long_name": "mean distance from profile to its node's weights",
                    "units": self.variable_["units"],
                },
            ),
            "topographic_error": xr.DataArray(
                self.topographic_error_,
                attrs={
                    "long_name": "fraction of profiles whose two best nodes are "
                    "not neighbours",
                    "units": "1",
                },
            ),
        }

    def _restore(self, dataset: xr.Dataset) -> None:
        self.member_means_ = dataset["member_means"]
        self.node_weights_ = dataset["node_weights"]
        self.umatrix_ = dataset["umatrix"]
        self.quantisation_error_ = float(dataset["quantisation_error"])
        self.topographic_error_ = float(dataset["topographic_error"])
        self.grid_ = (dataset.sizes["grid_x"], dataset.sizes["grid_y"])
        self.n_clusters_ = int(dataset.sizes["cluster"])


_NODE_X_ATTRS = {"long_name": "position of the cluster's node along grid_x"}
_NODE_Y_ATTRS = {"long_name": "position of the cluster's node along grid_y"}
_GRID_X_ATTRS = {"long_name": "SOM grid node index along x"}
_GRID_Y_ATTRS = {"long_name": "SOM grid node index along y"}
