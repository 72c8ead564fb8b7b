"""Exact euclidean k-means: Lloyd iterations as sums over blocks of profiles.

One Lloyd iteration gives every profile to its nearest centre, then moves each
centre to the mean of its members. That mean needs only, per cluster, the sum
of the members and how many there are, and both add up over any split of the
profiles into blocks. An iteration is therefore one pass that sums per-block
statistics:

- in memory, over one numpy array (:class:`StatisticsInMemory`), which keeps
  each problem's last assignment so that a pass only adds and removes the
  profiles that changed cluster;
- on dask, over the chunks of the grid (:class:`StatisticsOverBlocks`), with
  whatever scheduler is active, a ``dask.distributed`` client included. Each
  chunk is read again at every pass, but what a pass of one problem learnt of
  it (its profiles' norms and last assignment, 12 bytes a profile) is kept,
  so that the next pass updates the sums just as in memory.

Both passes give the same partition from the same initial centres; only the
order in which floating-point sums are added differs.

Nearest centres are found in two steps (:func:`nearest_centres`). Distances
``|x|^2 - 2 x.c + |c|^2`` come first from one float32 matrix product, several
times faster than float64 on the small products k-means makes. The error of
that product is bounded whatever order BLAS adds in: a dot product of length
``d`` is off by at most ``(d + 2)`` float32 roundings of ``|x| |c|``, the
rounding of ``x`` and ``c`` to float32 included. A profile whose nearest
centre is closer than the second by more than twice that bound (plus the
float64 arithmetic's own) is certainly assigned right. The few others, about
one in two thousand on real models, are measured again in float64, each from
its own differences, which no matrix shape or batch size can change: the
assignment does not depend on how the profiles are split into batches or
chunks. Sums of members and the inertia are always float64.

The initial centres come from a seeded sample of the profiles
(:func:`seeded_centres`): a Ward tree and greedy k-means++ on a subsample,
refined by Lloyd iterations, keeping the start of lowest inertia. Several
starts make it unlikely that two seeds land in one province and leave another
without, the poor local minimum a single start often finds.

Several problems (one per k of a knee search) share each pass: their centres
are stacked so that one matrix product serves them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .profiles import complete_profiles, profile_rows

__all__ = [
    "BATCH_ROWS",
    "SAMPLE_SIZE",
    "LloydResult",
    "Remembered",
    "StatisticsInMemory",
    "StatisticsOverBlocks",
    "block_statistics",
    "kmeans_plusplus",
    "lloyd",
    "nearest_centres",
    "nearest_labels",
    "sample_positions",
    "seeded_centres",
    "squared_distances",
]

SAMPLE_SIZE = 16_384
"""Profiles drawn (seeded) to choose the initial centres."""

START_SAMPLE_SIZE = 512
"""Profiles of the sample on which each start of the initialisation is tried."""

START_RELATIVE_TOL = 1e-3
"""Relative change of inertia at which a start's iterations on the subsample
stop: enough to rank the starts."""

SAMPLE_RELATIVE_TOL = 1e-4
"""Relative change of inertia at which the best start's iterations on the
sample stop."""

BATCH_ROWS = 16_384
"""Profiles per batch: bounds the working copies of a pass."""

_FLOAT32_ROUNDING = float(np.finfo(np.float32).eps) / 2
_FLOAT64_ROUNDING = float(np.finfo(np.float64).eps) / 2

Statistics = tuple[np.ndarray, np.ndarray, float]
"""Per cluster: sum of the members ``(k, depth)``, member counts ``(k,)``; and
the sum of squared distances of all members to their centre."""

Pass = Callable[[Mapping[Hashable, np.ndarray]], dict[Hashable, Statistics]]
"""One pass over the data: the statistics of each problem's centres, by key."""


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


def squared_distances(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared euclidean distances ``(row, centre)`` by one float64 product.

    Parameters
    ----------
    rows : numpy.ndarray
        Profiles ``(profile, depth)``, float64.
    centres : numpy.ndarray
        Centres ``(cluster, depth)``, float64.

    Returns
    -------
    numpy.ndarray
        ``(profile, cluster)``, never negative.
    """
    row_norms = np.einsum("ij,ij->i", rows, rows)
    centre_norms = np.einsum("ij,ij->i", centres, centres)
    squared = row_norms[:, None] - 2.0 * (rows @ centres.T) + centre_norms[None, :]
    return np.maximum(squared, 0.0, out=squared)


def _row_norms(rows: np.ndarray) -> np.ndarray:
    """Squared norm of each row, float64, batch by batch."""
    norms = np.empty(rows.shape[0], dtype="float64")
    for start in range(0, rows.shape[0], BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS].astype("float64", copy=False)
        norms[start : start + batch.shape[0]] = np.einsum("ij,ij->i", batch, batch)
    return norms


def _screened_nearest(
    rows: np.ndarray,
    single: np.ndarray,
    norms: np.ndarray,
    centre_sets: Sequence[np.ndarray],
) -> list[np.ndarray]:
    """Nearest centre of each row for each centre set (one batch of rows).

    ``single`` is ``rows`` as float32 and ``norms`` their float64 squared norms.
    The product is several times faster when ``single`` is stored depth-major
    (column-major as ``(row, depth)``). See the module's docstring for why the
    float32 screen is exact.
    """
    stacked = np.concatenate(centre_sets)
    products = stacked.astype("float32") @ single.T  # (centre, row)
    # Bounds on the error of the difference between two centres' distances:
    # float32 products (and roundings of x and c to float32) and the float64
    # arithmetic after them, the comparison's own addition included; 1.01
    # covers the second-order terms.
    depth = rows.shape[1]
    float32_error = 4.0 * (depth + 2) * _FLOAT32_ROUNDING * 1.01
    float64_error = 2.0 * (depth + 4) * _FLOAT64_ROUNDING * 1.01
    lengths = np.sqrt(norms)

    labels = []
    first = 0
    for centres in centre_sets:
        own = products[first : first + centres.shape[0]]
        first += centres.shape[0]
        centre_norms = np.einsum("ij,ij->i", centres, centres)
        # The squared distance less the row's own norm, which every centre shares.
        relative = centre_norms[:, None] - 2.0 * own

        largest = float(centre_norms.max())
        bound = float32_error * np.sqrt(largest) * lengths
        bound += float64_error * (norms + largest)

        nearest, unsure = _nearest_unless_close(relative, bound)
        if unsure.size:
            nearest[unsure] = _exact_nearest(rows[unsure], centres)
        labels.append(nearest)
    return labels


def _nearest_unless_close(
    distances: np.ndarray, bound: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row of the smallest value of each column, and the columns where it is unsure.

    A column is unsure when a second row comes within ``bound`` of its smallest
    value (ties included); its nearest row is then left to the caller. Counting
    the rows within the bound takes a few elementwise passes over the short
    axis, much faster than ``argmin`` and ``partition`` along it.
    """
    closest = distances.min(axis=0)
    within = distances <= closest + bound

    small = np.min_scalar_type(distances.shape[0])
    candidates = np.add.reduce(within, axis=0, dtype=small)
    # Where one row is within the bound, the sum of the rows within is that row.
    positions = np.arange(distances.shape[0], dtype=small)[:, None]
    nearest = np.add.reduce(positions * within, axis=0, dtype=small)
    return nearest.astype(np.int32), np.flatnonzero(candidates > 1)


def _exact_nearest(rows: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Nearest centre by float64 differences, row by row.

    Each squared distance is a sum over one row's own differences, so the
    answer does not depend on which other rows are in the batch.
    """
    nearest = np.empty(rows.shape[0], dtype=np.intp)
    step = max(1, BATCH_ROWS // centres.shape[0])
    for start in range(0, rows.shape[0], step):
        batch = rows[start : start + step].astype("float64")
        difference = batch[:, None, :] - centres[None, :, :]
        squared = np.square(difference, out=difference).sum(axis=2)
        nearest[start : start + batch.shape[0]] = squared.argmin(axis=1)
    return nearest


def nearest_centres(profiles: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each complete profile ``(profile, depth)``.

    Exact: the same answer as comparing float64 distances, whatever the batch
    (see the module's docstring).

    Parameters
    ----------
    profiles : numpy.ndarray
        Complete profiles ``(profile, depth)``, any float dtype.
    centres : numpy.ndarray
        Centres ``(cluster, depth)``.

    Returns
    -------
    numpy.ndarray
        int32 index of the nearest centre.
    """
    centres = np.asarray(centres, dtype="float64")
    labels = np.empty(profiles.shape[0], dtype="int32")
    for start in range(0, profiles.shape[0], BATCH_ROWS):
        batch = profiles[start : start + BATCH_ROWS]
        (labels[start : start + batch.shape[0]],) = _screened_nearest(
            batch, batch.astype("float32", copy=False), _row_norms(batch), [centres]
        )
    return labels


def _complete_batches(
    block: np.ndarray,
) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Batches of a block's profiles ``(..., depth)``, with their complete ones.

    Yields where the batch sits among the block's rows, which of its profiles
    are complete, and those profiles (a view when all are).
    """
    rows = profile_rows(block)
    for start in range(0, rows.shape[0], BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        complete = complete_profiles(batch)
        where = slice(start, start + batch.shape[0])
        yield where, complete, batch if complete.all() else batch[complete]


def nearest_labels(block: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each profile of a block ``(..., depth)``.

    Profiles with a missing value get -1.
    """
    labels = np.full(block.shape[:-1], -1, dtype="int32").ravel()
    for where, complete, batch in _complete_batches(block):
        labels[where][complete] = nearest_centres(batch, centres)
    return labels.reshape(block.shape[:-1])


def _membership(labels: np.ndarray, n_clusters: int):
    """Sparse one-hot matrix ``(row, cluster)`` of the rows' clusters."""
    from scipy.sparse import csr_array

    return csr_array(
        (np.ones(labels.size), labels, np.arange(labels.size + 1)),
        shape=(labels.size, n_clusters),
    )


def _member_sums(rows: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Float64 sum of the rows of each cluster ``(cluster, depth)``, by batches."""
    sums = np.zeros((n_clusters, rows.shape[1]))
    for start in range(0, rows.shape[0], BATCH_ROWS):
        batch = slice(start, start + BATCH_ROWS)
        # Row-major, as the sparse product wants, whatever the layout of rows.
        wide = np.ascontiguousarray(rows[batch], dtype="float64")
        sums += _membership(labels[batch], n_clusters).T @ wide
    return sums


def _moved_member_sums(
    rows: np.ndarray,
    moved: np.ndarray,
    old: np.ndarray,
    new: np.ndarray,
    n_clusters: int,
) -> np.ndarray:
    """How the member sums change when ``rows[moved]`` go from ``old`` to ``new``.

    Few rows move once the iterations settle, so a dense +1/-1 matrix
    ``(cluster, moved row)`` and one product cost less than building a sparse one.
    """
    change = np.zeros((n_clusters, rows.shape[1]))
    clusters = np.arange(n_clusters)[:, None]
    for start in range(0, moved.size, BATCH_ROWS):
        batch = slice(start, start + BATCH_ROWS)
        arriving = (new[batch] == clusters).astype("float64")
        leaving = (old[batch] == clusters).astype("float64")
        change += (arriving - leaving) @ rows[moved[batch]].astype("float64")
    return change


def _squared_distance_sum(
    norm_sum: float, centres: np.ndarray, sums: np.ndarray, counts: np.ndarray
) -> float:
    """Sum of squared distances of members to their centre, from the statistics.

    ``sum |x - c|^2 = sum |x|^2 - 2 sum_c c.S_c + sum_c n_c |c|^2``.
    """
    centre_norms = np.einsum("ij,ij->i", centres, centres)
    cross = np.einsum("ij,ij->", centres, sums)
    return float(max(norm_sum - 2.0 * cross + counts @ centre_norms, 0.0))


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

    Notes
    -----
    One float64 batch at a time is the only copy made. Nothing is remembered
    between passes: passes of a single problem use :func:`_resumed_block_pass`.
    """
    centre_sets = [np.asarray(centres, dtype="float64") for centres in centre_sets]
    empty = [
        (
            np.zeros((centres.shape[0], block.shape[-1])),
            np.zeros(centres.shape[0], int),
            0.0,
        )
        for centres in centre_sets
    ]
    parts = [empty]
    for _, _, batch in _complete_batches(block):
        if batch.shape[0] == 0:
            continue
        wide = np.ascontiguousarray(batch, dtype="float64")
        norms = np.einsum("ij,ij->i", wide, wide)
        nearest = _screened_nearest(
            batch, batch.astype("float32", copy=False), norms, centre_sets
        )
        parts.append(
            [
                _statistics(wide, float(norms.sum()), centres, batch_labels)
                for centres, batch_labels in zip(centre_sets, nearest, strict=True)
            ]
        )
    return _summed(parts)


def _resumed_block_pass(
    block: np.ndarray,
    key: Hashable,
    centres: np.ndarray,
    remembered: Remembered | None,
) -> tuple[Statistics, np.ndarray, Remembered]:
    """One problem's statistics and labels over one block, resuming its last pass.

    The block is read afresh, but its profiles' norms and last assignment come
    from ``remembered``: as in memory, only the profiles that changed cluster
    update the sums. Returns the statistics, the labels on the block's grid
    (-1 where a profile is incomplete) and what to remember for the next pass.
    """
    rows = profile_rows(block)
    complete = complete_profiles(rows)
    labels = np.full(rows.shape[0], -1, dtype="int32")
    if not complete.any():
        nothing = (np.zeros_like(centres), np.zeros(centres.shape[0], int), 0.0)
        return nothing, labels.reshape(block.shape[:-1]), Remembered(np.zeros(0), {})

    passes = StatisticsInMemory(
        rows if complete.all() else rows[complete], remembered=remembered
    )
    statistics = passes({key: centres})[key]
    labels[complete] = passes.labels(centres)
    return statistics, labels.reshape(block.shape[:-1]), passes.remembered()


def _statistics(
    rows: np.ndarray, norm_sum: float, centres: np.ndarray, labels: np.ndarray
) -> Statistics:
    """Statistics of float64 rows given their nearest centres."""
    sums = _member_sums(rows, labels, centres.shape[0])
    counts = np.bincount(labels, minlength=centres.shape[0])
    return sums, counts, _squared_distance_sum(norm_sum, centres, sums, counts)


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


@dataclass(frozen=True)
class _Assignment:
    """A problem's last assignment in memory: its centres and what they gave."""

    centres: np.ndarray
    labels: np.ndarray
    sums: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class Remembered:
    """What passes over some profiles remember between passes.

    Attributes
    ----------
    norms : numpy.ndarray
        Float64 squared norm of each profile.
    assignments : dict
        Each problem's last assignment, by key.
    """

    norms: np.ndarray
    assignments: dict[Hashable, _Assignment]


class StatisticsInMemory:
    """Passes over complete profiles ``(profile, depth)`` held in memory.

    The profiles are kept once more as depth-major float32, the layout the
    distance product is fastest on (a view of depth-first float32 profiles,
    as a model file's are), with their float64 norms. Each problem's last assignment is
    remembered, so a pass finds the nearest centres, then updates the member
    sums with only the profiles that changed cluster; late iterations, where
    few profiles move, cost little more than the distance screen.

    Parameters
    ----------
    profiles : numpy.ndarray
        Complete profiles ``(profile, depth)``, any float dtype and layout.
    remembered : Remembered, optional
        What earlier passes over the same profiles remembered
        (:meth:`remembered`): a block read again resumes where it stopped.
    """

    def __init__(
        self, profiles: np.ndarray, *, remembered: Remembered | None = None
    ) -> None:
        self._rows = profiles
        # Depth-major for the distance screen: a view of depth-first float32.
        self._single = np.asfortranarray(profiles, dtype="float32")
        if remembered is None:
            remembered = Remembered(_row_norms(profiles), {})
        self._norms = remembered.norms
        self._norm_sum = float(self._norms.sum())
        self._assignments = dict(remembered.assignments)

    def remembered(self) -> Remembered:
        """The profiles' norms and each problem's last assignment.

        Returns
        -------
        Remembered
            To resume passes over the same profiles in another object.
        """
        return Remembered(self._norms, dict(self._assignments))

    def __call__(
        self, centre_sets: Mapping[Hashable, np.ndarray]
    ) -> dict[Hashable, Statistics]:
        """Statistics of each problem's centres; forgets problems not asked."""
        keys = list(centre_sets)
        centres = [np.asarray(centre_sets[key], dtype="float64") for key in keys]
        labels = self._nearest(centres)

        statistics = {}
        assignments = {}
        for key, key_centres, key_labels in zip(keys, centres, labels, strict=True):
            sums, counts = self._updated_sums(key, key_centres.shape[0], key_labels)
            squared = _squared_distance_sum(self._norm_sum, key_centres, sums, counts)
            statistics[key] = (sums, counts, squared)
            assignments[key] = _Assignment(key_centres, key_labels, sums, counts)
        self._assignments = assignments
        return statistics

    def labels(self, centres: np.ndarray) -> np.ndarray:
        """Index of the nearest of ``centres`` for every profile.

        Taken from the last pass when one of its problems used these centres.
        """
        for assignment in self._assignments.values():
            if np.array_equal(assignment.centres, centres):
                return assignment.labels.astype("int32", copy=False)
        return nearest_centres(self._rows, centres)

    def _nearest(self, centres: list[np.ndarray]) -> list[np.ndarray]:
        """Nearest centre of every profile for each centre set, batch by batch."""
        parts = [
            _screened_nearest(
                self._rows[start : start + BATCH_ROWS],
                self._single[start : start + BATCH_ROWS],
                self._norms[start : start + BATCH_ROWS],
                centres,
            )
            for start in range(0, self._rows.shape[0], BATCH_ROWS)
        ]
        if len(parts) == 1:
            return parts[0]
        return [
            np.concatenate([part[problem] for part in parts])
            for problem in range(len(centres))
        ]

    def _updated_sums(
        self, key: Hashable, n_clusters: int, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Member sums and counts for ``labels``, updated from the last pass if any."""
        previous = self._assignments.get(key)
        if previous is None:
            counts = np.bincount(labels, minlength=n_clusters)
            return _member_sums(self._rows, labels, n_clusters), counts

        moved = np.flatnonzero(labels != previous.labels)
        if moved.size == 0:
            return previous.sums, previous.counts
        old, new = previous.labels[moved], labels[moved]
        counts = (
            previous.counts
            + np.bincount(new, minlength=n_clusters)
            - np.bincount(old, minlength=n_clusters)
        )
        sums = previous.sums + _moved_member_sums(
            self._rows, moved, old, new, n_clusters
        )
        return sums, counts


class StatisticsOverBlocks:
    """Passes over the chunks of a dask array of profiles ``(..., depth)``.

    Each pass is one ``dask.compute``: the blocks are read (again) from their
    source, reduced to small statistics where they are, and summed. On a
    ``dask.distributed`` cluster the blocks never leave the workers.

    A pass that serves a single centre set also labels every profile in the
    same task that reads each block, so that the labels of the last pass come
    without one more pass over the data (:meth:`labels`). It also keeps, per
    block, the profiles' norms and last assignment (12 bytes a profile), so
    that the next pass of the same problem updates the sums with only the
    profiles that changed cluster, as in memory.

    Parameters
    ----------
    profiles : dask.array.Array
        Profiles ``(..., depth)``, depth in one chunk.
    """

    def __init__(self, profiles) -> None:
        self._profiles = profiles
        self._blocks = profiles.to_delayed()[..., 0]  # the grid of blocks
        self._last_labels: tuple[np.ndarray, np.ndarray] | None = None
        self._remembered: dict[Hashable, list[Remembered | None]] = {}

    def __call__(
        self, centre_sets: Mapping[Hashable, np.ndarray]
    ) -> dict[Hashable, Statistics]:
        """Statistics of each problem's centres over all the blocks."""
        import dask

        keys = list(centre_sets)
        centres = [np.asarray(centre_sets[key], dtype="float64") for key in keys]
        if len(centres) > 1:
            parts = [
                dask.delayed(block_statistics)(block, centres)
                for block in self._blocks.ravel()
            ]
            (statistics,) = dask.compute(dask.delayed(_summed)(parts))
            self._remembered = {}
            return dict(zip(keys, statistics, strict=True))

        # One problem: each block resumes from what its last pass remembered,
        # and the labels come with the statistics.
        key = keys[0]
        remembered = self._remembered.get(key, [None] * self._blocks.size)
        parts = dask.compute(
            *[
                dask.delayed(_resumed_block_pass)(block, key, centres[0], memory)
                for block, memory in zip(self._blocks.ravel(), remembered, strict=True)
            ]
        )
        self._remembered = {key: [memory for _, _, memory in parts]}
        grid = np.empty(self._blocks.shape, dtype=object)
        grid.ravel()[:] = [labels for _, labels, _ in parts]
        self._last_labels = (centres[0], np.block(grid.tolist()))
        (statistics,) = _summed([[statistics] for statistics, _, _ in parts])
        return {key: statistics}

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
            -squared_distances(sample, moved[filled]).min(axis=1), kind="stable"
        )
        moved[empty] = sample[farthest_first[: empty.size]]
    return moved


_RUNS = itertools.count()


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
        A pass over the data (:class:`StatisticsInMemory`,
        :class:`StatisticsOverBlocks`), given each active problem's centres
        under a key unique to this run and problem.
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
    run = next(_RUNS)  # keys a pass may remember assignments by, this run only

    for iteration in range(1, max_iter + 1):
        statistics = one_pass({(run, problem): centres[problem] for problem in active})
        if on_pass is not None:
            on_pass()

        still_active = []
        for problem in active:
            sums, counts, squared_sum = statistics[run, problem]
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
    sums = _member_sums(profiles, members, n_clusters)
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

    On the subsample, iterations stop at a relative change of inertia of
    :data:`START_RELATIVE_TOL`, on the sample at :data:`SAMPLE_RELATIVE_TOL`
    (or ``tol``): the aim is to rank the starts and come close, the exact
    answer is found on all the profiles.

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
    options = {"max_iter": max_iter, "tol": tol}

    tried = lloyd(
        StatisticsInMemory(subsample),
        [start for per_k in starts for start in per_k],
        subsample,
        **options,
        relative_tol=START_RELATIVE_TOL,
    )
    best = [
        min(tried[first : first + n_init], key=lambda result: result.inertia).centres
        for first in range(0, len(tried), n_init)
    ]
    if not refine or subsample.shape[0] == sample.shape[0]:
        return best
    refined = lloyd(
        StatisticsInMemory(sample),
        best,
        sample,
        **options,
        relative_tol=SAMPLE_RELATIVE_TOL,
    )
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
