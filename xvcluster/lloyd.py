"""Exact euclidean k-means: Lloyd iterations as sums over blocks of profiles.

One Lloyd iteration gives every profile to its nearest centre, then moves each
centre to the mean of its members. That mean needs only, per cluster, the sum
of the members and how many there are, and both add up over any split of the
profiles into blocks. An iteration is therefore one pass that sums per-block
statistics:

- in memory, over row batches of one numpy array (:func:`statistics_in_memory`);
- on dask, over the chunks of the grid (:class:`StatisticsOverBlocks`), with
  whatever scheduler is active, a ``dask.distributed`` client included.

Both passes give the same partition from the same initial centres; only the
order in which floating-point sums are added differs.

The initial centres come from a seeded sample of the profiles
(:func:`seeded_centres`): greedy k-means++ on the sample, refined by Lloyd
iterations on the sample, from several starts, keeping the start of lowest
inertia. Several starts make it unlikely that two seeds land in one province
and leave another without, the poor local minimum a single start often finds.

Several problems (one per k of a knee search) can share each pass: their
centres are stacked so that one matrix product serves them all.

Distances come from ``|x|^2 - 2 x.c + |c|^2`` with one BLAS matrix product per
batch, in float64 whatever the stored dtype, so that a float32 model is never
copied whole as float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

__all__ = [
    "BATCH_ROWS",
    "SAMPLE_SIZE",
    "LloydResult",
    "StatisticsOverBlocks",
    "batched_statistics",
    "block_statistics",
    "euclidean_distances",
    "kmeans_plusplus",
    "lloyd",
    "nearest_labels",
    "sample_positions",
    "seeded_centres",
    "statistics_in_memory",
]

SAMPLE_SIZE = 16_384
"""Profiles drawn (seeded) to choose the initial centres."""

START_SAMPLE_SIZE = 1_024
"""Profiles of the sample on which each start of the initialisation is tried."""

SAMPLE_RELATIVE_TOL = 1e-4
"""Relative change of inertia at which iterations on a sample stop."""

BATCH_ROWS = 16_384
"""Profiles per batch of the in-memory pass: bounds the float64 working copy."""

Statistics = tuple[np.ndarray, np.ndarray, float]
"""Per cluster: sum of the members ``(k, depth)``, member counts ``(k,)``; and
the sum of squared distances of all members to their centre."""

Pass = Callable[[Sequence[np.ndarray]], list[Statistics]]
"""One pass over the data: statistics of each centre set given."""


@dataclass(frozen=True)
class LloydResult:
    """Where Lloyd iterations stopped.

    Attributes
    ----------
    centres : numpy.ndarray
        Centres ``(cluster, depth)``, float64.
    counts : numpy.ndarray
        Members of each centre in the last assignment.
    inertia : float
        Mean squared distance from each profile to its centre.
    n_iter : int
        Passes made over the data.
    """

    centres: np.ndarray
    counts: np.ndarray
    inertia: float
    n_iter: int


def _squared_distances(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared euclidean distances ``(row, centre)`` by one matrix product."""
    row_norms = np.einsum("ij,ij->i", rows, rows)
    centre_norms = np.einsum("ij,ij->i", centres, centres)
    squared = row_norms[:, None] - 2.0 * (rows @ centres.T) + centre_norms[None, :]
    return np.maximum(squared, 0.0, out=squared)


def euclidean_distances(profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(profile, centre)``, in float64 batches.

    Parameters
    ----------
    profiles : numpy.ndarray
        Complete profiles ``(profile, depth)``, any float dtype.
    centres : numpy.ndarray
        Centres ``(cluster, depth)``.

    Returns
    -------
    numpy.ndarray
        float64 distances.
    """
    centres = np.asarray(centres, dtype="float64")
    distances = np.empty((profiles.shape[0], centres.shape[0]), dtype="float64")
    for start in range(0, profiles.shape[0], BATCH_ROWS):
        batch = profiles[start : start + BATCH_ROWS].astype("float64")
        distances[start : start + batch.shape[0]] = _squared_distances(batch, centres)
    return np.sqrt(distances, out=distances)


def _complete_rows(block: np.ndarray) -> np.ndarray:
    """The profiles of a block ``(..., depth)`` with a value at every depth."""
    rows = block.reshape(-1, block.shape[-1])
    complete = ~np.isnan(rows.sum(axis=1))  # a NaN anywhere makes the sum NaN
    return rows if complete.all() else rows[complete]


def nearest_labels(block: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each profile of a block ``(..., depth)``.

    Profiles with a missing value get -1.
    """
    rows = block.reshape(-1, block.shape[-1])
    labels = np.full(rows.shape[0], -1, dtype="int32")
    for start in range(0, rows.shape[0], BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        complete = ~np.isnan(batch.sum(axis=1))
        if complete.any():
            squared = _squared_distances(batch[complete].astype("float64"), centres)
            labels[start : start + batch.shape[0]][complete] = squared.argmin(axis=1)
    return labels.reshape(block.shape[:-1])


def block_statistics(
    block: np.ndarray, centre_sets: Sequence[np.ndarray]
) -> list[Statistics]:
    """Lloyd statistics of one block of profiles for each set of centres.

    Parameters
    ----------
    block : numpy.ndarray
        Profiles ``(..., depth)``; those with a missing value are left out.
    centre_sets : sequence of numpy.ndarray
        Centres ``(k, depth)`` of each problem.

    Returns
    -------
    list of (sums, counts, squared distance sum)
        One entry per centre set.
    """
    rows = _complete_rows(block).astype("float64", copy=False)
    squared = _squared_distances(rows, np.concatenate(centre_sets))

    statistics = []
    first = 0
    for centres in centre_sets:
        own = squared[:, first : first + centres.shape[0]]
        first += centres.shape[0]
        nearest = own.argmin(axis=1)
        members = (nearest[:, None] == np.arange(centres.shape[0])).astype("float64")
        statistics.append(
            (
                members.T @ rows,
                np.bincount(nearest, minlength=centres.shape[0]),
                float(own[np.arange(rows.shape[0]), nearest].sum()),
            )
        )
    return statistics


def _summed(parts: Sequence[list[Statistics]]) -> list[Statistics]:
    """Add the statistics of several blocks, problem by problem."""
    return [
        (
            sum(part[0] for part in per_problem),
            sum(part[1] for part in per_problem),
            sum(part[2] for part in per_problem),
        )
        for per_problem in zip(*parts, strict=True)
    ]


def batched_statistics(
    profiles: np.ndarray, centre_sets: Sequence[np.ndarray]
) -> list[Statistics]:
    """Lloyd statistics of profiles ``(..., depth)``, batch by batch.

    Batches of :data:`BATCH_ROWS` rows keep the float64 working copy small.
    """
    rows = profiles.reshape(-1, profiles.shape[-1])
    return _summed(
        [
            block_statistics(rows[start : start + BATCH_ROWS], centre_sets)
            for start in range(0, max(rows.shape[0], 1), BATCH_ROWS)
        ]
    )


def statistics_in_memory(profiles: np.ndarray) -> Pass:
    """A pass over a numpy array of complete profiles, in row batches."""
    return partial(batched_statistics, profiles)


class StatisticsOverBlocks:
    """Passes over the chunks of a dask array of profiles ``(..., depth)``.

    Each pass is one ``dask.compute``: the blocks are read (again) from their
    source, reduced to small statistics where they are, and summed. On a
    ``dask.distributed`` cluster the blocks never leave the workers.

    A pass that serves a single centre set also labels every profile in the
    same task that reads each block, so that the labels of the last pass come
    without one more pass over the data (:meth:`labels`).

    Parameters
    ----------
    profiles : dask.array.Array
        Profiles ``(..., depth)``, depth in one chunk.
    """

    def __init__(self, profiles) -> None:
        self._profiles = profiles
        self._blocks = profiles.to_delayed()[..., 0]  # the grid of blocks
        self._last_labels: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, centre_sets: Sequence[np.ndarray]) -> list[Statistics]:
        """Statistics of each centre set over all the blocks."""
        import dask

        centre_sets = [np.asarray(centres) for centres in centre_sets]
        if len(centre_sets) > 1:
            parts = [
                dask.delayed(batched_statistics)(block, centre_sets)
                for block in self._blocks.ravel()
            ]
            (statistics,) = dask.compute(dask.delayed(_summed)(parts))
            return statistics

        centres = centre_sets[0]
        parts = dask.compute(
            *[
                dask.delayed(_statistics_and_labels)(block, centres)
                for block in self._blocks.ravel()
            ]
        )
        grid = np.empty(self._blocks.shape, dtype=object)
        grid.ravel()[:] = [labels for _, labels in parts]
        self._last_labels = (centres, np.block(grid.tolist()))
        return _summed([statistics for statistics, _ in parts])

    def labels(self, centres: np.ndarray) -> np.ndarray:
        """Index of the nearest of ``centres`` for every profile, -1 if incomplete.

        Taken from the last pass when it used these centres, else computed.
        """
        if self._last_labels is not None and np.array_equal(
            self._last_labels[0], centres
        ):
            return self._last_labels[1]
        return self._profiles.map_blocks(
            nearest_labels,
            centres,
            drop_axis=self._profiles.ndim - 1,
            dtype="int32",
        ).compute()


def _statistics_and_labels(
    block: np.ndarray, centres: np.ndarray
) -> tuple[list[Statistics], np.ndarray]:
    """Lloyd statistics and labels of one block, for one set of centres."""
    return batched_statistics(block, [centres]), nearest_labels(block, centres)


def _moved_centres(
    centres: np.ndarray, sums: np.ndarray, counts: np.ndarray, sample: np.ndarray
) -> np.ndarray:
    """Centres moved to their members' mean; an empty one to a far sample profile."""
    moved = centres.copy()
    filled = counts > 0
    moved[filled] = sums[filled] / counts[filled, None]

    empty = np.flatnonzero(~filled)
    if empty.size:
        farthest_first = np.argsort(
            -_squared_distances(sample, moved[filled]).min(axis=1), kind="stable"
        )
        moved[empty] = sample[farthest_first[: empty.size]]
    return moved


def lloyd(
    one_pass: Pass,
    initial_centres: Sequence[np.ndarray],
    sample: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    relative_tol: float = 0.0,
    on_pass: Callable[[], None] | None = None,
) -> list[LloydResult]:
    """Run Lloyd iterations for one or more centre sets, sharing each pass.

    Parameters
    ----------
    one_pass : callable
        A pass over the data (:func:`statistics_in_memory`,
        :class:`StatisticsOverBlocks`).
    initial_centres : sequence of numpy.ndarray
        Starting centres ``(k, depth)`` of each problem.
    sample : numpy.ndarray
        Complete profiles (float64) an emptied cluster is re-seeded from.
    max_iter : int
        Passes at most.
    tol : float
        A problem stops when its inertia changes by less than this.
    relative_tol : float, default 0
        ... or by less than this fraction of its inertia.
    on_pass : callable, optional
        Called after each pass (progress).

    Returns
    -------
    list of LloydResult
        One per problem. Its counts and inertia belong to its returned centres.
    """
    centres = [np.array(start, dtype="float64") for start in initial_centres]
    previous = [np.inf] * len(centres)
    results: list[LloydResult | None] = [None] * len(centres)
    active = list(range(len(centres)))

    for iteration in range(1, max_iter + 1):
        statistics = one_pass([centres[problem] for problem in active])
        if on_pass is not None:
            on_pass()

        still_active = []
        for problem, (sums, counts, squared_sum) in zip(
            active, statistics, strict=True
        ):
            inertia = squared_sum / counts.sum()
            change = abs(previous[problem] - inertia)
            settled = counts.all() and (change < tol or change < relative_tol * inertia)
            if settled or iteration == max_iter:
                results[problem] = LloydResult(
                    centres[problem], counts, inertia, iteration
                )
                continue
            centres[problem] = _moved_centres(centres[problem], sums, counts, sample)
            previous[problem] = inertia
            still_active.append(problem)

        active = still_active
        if not active:
            break
    return results  # type: ignore[return-value]


def kmeans_plusplus(
    sample: np.ndarray, n_clusters: int, rng: np.random.Generator
) -> np.ndarray:
    """Choose ``n_clusters`` seeds among ``sample`` by greedy k-means++.

    scikit-learn's :func:`~sklearn.cluster.kmeans_plusplus` (the seeding tslearn
    uses too), seeded from ``rng``.
    """
    from sklearn.cluster import kmeans_plusplus as sklearn_kmeans_plusplus

    seeds, _ = sklearn_kmeans_plusplus(
        sample, n_clusters, random_state=int(rng.integers(2**31))
    )
    return seeds


def ward_centres(
    linkage_matrix: np.ndarray, profiles: np.ndarray, n_clusters: int
) -> np.ndarray:
    """Centres of the ``n_clusters`` clusters of a Ward tree of ``profiles``."""
    from scipy.cluster.hierarchy import fcluster

    members = fcluster(linkage_matrix, n_clusters, criterion="maxclust") - 1
    counts = np.bincount(members, minlength=n_clusters)
    sums = np.zeros((n_clusters, profiles.shape[1]))
    np.add.at(sums, members, profiles)
    return sums / np.maximum(counts, 1)[:, None]


def seeded_centres(
    sample: np.ndarray,
    ks: Sequence[int],
    rng: np.random.Generator,
    *,
    n_init: int,
    max_iter: int,
    tol: float,
    refine: bool = True,
) -> list[np.ndarray]:
    """Initial centres for each k from seeded starts on a sample, lowest inertia.

    The starts are tried on a seeded subsample of :data:`START_SAMPLE_SIZE`
    profiles. The first start cuts a Ward tree of the subsample into k
    clusters (one tree serves every k); the ``n_init - 1`` others are greedy
    k-means++. Each is refined by Lloyd iterations on the subsample, the one
    of lowest inertia is kept and, if ``refine``, refined again on the whole
    sample (pointless when the sample is all the profiles). Ward's
    tree does not depend on luck: it keeps two nearby provinces apart where
    k-means++ often seeds them as one.

    On the samples, iterations stop at a relative change of inertia of
    :data:`SAMPLE_RELATIVE_TOL` (or ``tol``): the aim is to rank the starts
    and come close, the exact answer is found on all the profiles.

    Returns
    -------
    list of numpy.ndarray
        Centres ``(k, depth)`` for each k of ``ks``.
    """
    from scipy.cluster.hierarchy import linkage

    subsample = sample[sample_positions(sample.shape[0], rng, START_SAMPLE_SIZE)]
    tree = linkage(subsample, method="ward")
    starts = [
        [ward_centres(tree, subsample, k)]
        + [kmeans_plusplus(subsample, k, rng) for _ in range(n_init - 1)]
        for k in ks
    ]
    options = {"max_iter": max_iter, "tol": tol, "relative_tol": SAMPLE_RELATIVE_TOL}

    tried = lloyd(
        statistics_in_memory(subsample),
        [start for per_k in starts for start in per_k],
        subsample,
        **options,
    )
    best = [
        min(tried[first : first + n_init], key=lambda result: result.inertia).centres
        for first in range(0, len(tried), n_init)
    ]
    if not refine or subsample.shape[0] == sample.shape[0]:
        return best
    refined = lloyd(statistics_in_memory(sample), best, sample, **options)
    return [result.centres for result in refined]


def sample_positions(
    count: int, rng: np.random.Generator, size: int = SAMPLE_SIZE
) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` of ``count`` profiles.

    All positions when there are no more than ``size``.
    """
    if count <= size:
        return np.arange(count)
    return np.sort(rng.choice(count, size=size, replace=False))
