"""Benchmark xvcluster's k-means against the ways users cluster velocity models today.

Usage::

    python benchmarks/run.py                  # workloads 1, 2, 4 and the thread test
    python benchmarks/run.py --workload 3     # the 4,000,000-profile model (slow)
    python benchmarks/run.py --quick          # smaller synthetic models, fast tools

Every tool runs end to end, netCDF file to labels, in a fresh Python process of
its own, one after the other (never two at once), so that:

- wall time covers opening the file, extracting profiles and clustering, not
  importing libraries (imports are done before the clock starts), nor the
  once-per-process scans of installed packages that every tool pays at its
  first open and first scikit-learn input check (also made before the clock);
- peak memory is the process's maximum resident set size, which sees numpy,
  dask and netCDF buffers alike (``VmHWM`` of ``/proc/self/status``: Linux's
  ``ru_maxrss`` would start from the driver's own peak), reported both whole
  and as growth over the process's size after its imports.

The tools:

xvcluster
    ``xr.open_dataset(path)`` then ``xvcluster.KMeans(...).fit``; the large
    synthetic models (workloads 3 and 4) are opened lazily with ``chunks=``.
    Workloads 1 and 2 open the file in memory, as every other tool does.
predecessor
    SeisGo's way (``../shared/reference/seisgo-clustering-workflow.md``): the
    model read into numpy, a Python loop over the nodes that cuts and
    interpolates each profile, ``to_time_series_dataset``, tslearn's
    ``TimeSeriesKMeans``; the knee over the inertia of one fit per k.
tslearn
    ``TimeSeriesKMeans`` on the profiles stacked by hand with xarray.
sklearn
    scikit-learn's ``KMeans`` on the profiles stacked by hand with xarray
    (open, stack, drop NaN profiles, ``KMeans``), all in memory.

Data: PNW10-S and CRUST1.0 are read from ``../shared/data`` when present (PNW10-S
falls back to the copy bundled with xvcluster; the CRUST1.0 workload is skipped
without it). The synthetic models come from ``xvcluster.synthetic_model``
(seeded, with planted provinces stored beside the velocities, which lets the
table score each tool by its adjusted Rand index against them). Generated
netCDF files go to ``--cache`` (default ``$XDG_CACHE_HOME/xvcluster-benchmarks``
or ``~/.cache/xvcluster-benchmarks``), never into the repository.

Timings on a shared or busy machine are noisy: compare ratios within one run, and
use ``--repeat 3`` (tools take turns; the fastest run of each is reported).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent

KRANGE = list(range(2, 15))
TOOLS = ("xvcluster", "predecessor", "tslearn", "sklearn")
ENGINE_TOOLS = ("xvc memory", "xvc blockwise")


@dataclass
class Task:
    """One clustering of one model file, run by each tool."""

    title: str
    path: Path
    variable: str
    k: int | None  # None: the knee search over KRANGE
    zrange: tuple[float, float] | None = None
    dz: float | None = None
    chunks: dict | None = None
    scored: bool = False  # the file holds the planted ``province``
    profiles: int | None = None  # how many, for the growth table
    tools: tuple[str, ...] = TOOLS
    skipped: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------- the tools


def _open(task: dict, chunks: dict | None = None):
    import xarray as xr

    return xr.open_dataset(task["path"], chunks=chunks)[task["variable"]]


def _stacked_profiles(task: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Profiles cut and resampled with xarray, stacked, NaN profiles dropped."""
    vs = _open(task).load()
    depth = vs["depth"]
    top, bottom = task["zrange"] or (float(depth.min()), float(depth.max()))
    if task["dz"] is not None:
        vs = vs.interp(depth=np.arange(top, bottom + 1e-9, task["dz"]))
    else:
        vs = vs.sel(depth=slice(top, bottom))
    grid = vs.transpose("latitude", "longitude", "depth")
    matrix = grid.values.reshape(-1, grid.sizes["depth"])
    complete = ~np.isnan(matrix).any(axis=1)
    return matrix[complete], complete, grid.shape[:2]


def _knee(inertia: list[float]) -> int:
    from kneed import KneeLocator

    knee = KneeLocator(KRANGE, inertia, curve="convex", direction="decreasing").knee
    return int(knee) if knee is not None else KRANGE[0]


def _with_missing(labels: np.ndarray, complete: np.ndarray) -> np.ndarray:
    full = np.full(complete.size, -1, dtype="int32")
    full[complete] = labels
    return full


def run_xvcluster(task: dict, engine: str = "auto") -> np.ndarray:
    import xvcluster

    vs = _open(task, task["chunks"])
    model = xvcluster.KMeans(
        task["k"], krange=KRANGE, zrange=task["zrange"], dz=task["dz"], engine=engine
    ).fit(vs)
    return model.labels_.transpose("latitude", "longitude").values.ravel()


def _tslearn_kmeans():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="h5py not installed")
        from tslearn.clustering import TimeSeriesKMeans
        from tslearn.utils import to_time_series_dataset
    return TimeSeriesKMeans, to_time_series_dataset


def _tslearn_fit(series: np.ndarray, k: int | None) -> np.ndarray:
    TimeSeriesKMeans, _ = _tslearn_kmeans()

    def fit(n):
        return TimeSeriesKMeans(n_clusters=n, metric="euclidean", random_state=0).fit(
            series
        )

    if k is not None:
        return fit(k).labels_
    fits = {n: fit(n) for n in KRANGE}
    return fits[_knee([fits[n].inertia_ for n in KRANGE])].labels_


def run_predecessor(task: dict) -> np.ndarray:
    """A Python loop over the nodes, as SeisGo's ``vpcluster_kmean`` does."""
    _, to_time_series_dataset = _tslearn_kmeans()
    vs = _open(task)
    dep = vs["depth"].values
    v = vs.transpose("depth", "latitude", "longitude").values  # n_depth x lat x lon
    top, bottom = task["zrange"] or (dep.min(), dep.max())
    inside = (dep >= top) & (dep <= bottom)
    new_depth = (
        np.arange(top, bottom + 1e-9, task["dz"])
        if task["dz"] is not None
        else dep[inside]
    )

    profiles, complete = [], []
    for i in range(v.shape[1]):
        for j in range(v.shape[2]):
            profile = v[inside, i, j]
            ok = not np.isnan(profile).any()
            complete.append(ok)
            if ok:
                profiles.append(np.interp(new_depth, dep[inside], profile))
    series = to_time_series_dataset(profiles)
    return _with_missing(_tslearn_fit(series, task["k"]), np.array(complete))


def run_tslearn(task: dict) -> np.ndarray:
    matrix, complete, _ = _stacked_profiles(task)
    labels = _tslearn_fit(matrix.astype("float64")[:, :, np.newaxis], task["k"])
    return _with_missing(labels, complete)


def run_sklearn(task: dict) -> np.ndarray:
    from sklearn.cluster import KMeans

    matrix, complete, _ = _stacked_profiles(task)
    if task["k"] is not None:
        labels = KMeans(task["k"], random_state=0).fit(matrix).labels_
    else:
        fits = {n: KMeans(n, random_state=0).fit(matrix) for n in KRANGE}
        labels = fits[_knee([fits[n].inertia_ / len(matrix) for n in KRANGE])].labels_
    return _with_missing(labels, complete)


RUNNERS = {
    "xvcluster": run_xvcluster,
    # Workload 4 also runs each euclidean engine at every size: "auto" changes
    # engine with size, and each engine's own growth is what scales.
    "xvc memory": partial(run_xvcluster, engine="memory"),
    "xvc blockwise": partial(run_xvcluster, engine="blockwise"),
    "predecessor": run_predecessor,
    "tslearn": run_tslearn,
    "sklearn": run_sklearn,
}


def _peak_mb() -> float:
    """This process's peak resident memory, MB.

    Linux's ``ru_maxrss`` keeps the parent's peak from before ``exec``, so a
    driver that has just written a large model would set every tool's floor;
    ``VmHWM`` counts this process's own pages only.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _initialise_shared_libraries() -> None:
    """Make the first uses that every tool pays once per process, like imports.

    xarray scans the installed packages for its backends at the first open, and
    scikit-learn's input check (in ``KMeans``, in tslearn's estimators and in
    ``kmeans_plusplus``) scans them for dataframe plugins at its first call:
    10 to 15 ms each, whichever tool comes first.
    """
    import sklearn.utils
    import xarray

    xarray.backends.list_engines()
    sklearn.utils.check_array(np.zeros((2, 2)))


def child(arguments: str) -> None:
    """Run one tool on one task in this process; print its measurements as JSON."""
    request = json.loads(arguments)
    task, tool = request["task"], request["tool"]
    if request.get("blas_threads"):
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(request["blas_threads"]), user_api="blas")
    if request.get("xvcluster_default_threads"):
        import xvcluster.kmeans

        xvcluster.kmeans._blas_single_threaded = contextlib.nullcontext

    # Import everything before the clock starts.
    import dask.array  # noqa: F401
    import kneed  # noqa: F401
    import netCDF4  # noqa: F401  (xarray imports it at the first open)
    import scipy.cluster.hierarchy  # noqa: F401
    import sklearn.cluster  # noqa: F401
    import xarray  # noqa: F401

    import xvcluster

    _tslearn_kmeans()
    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401  (dask imports it at the first compute)
    _initialise_shared_libraries()
    baseline = _peak_mb()

    start = time.perf_counter()
    labels = RUNNERS[tool](task)
    seconds = time.perf_counter() - start

    np.save(request["labels_path"], np.asarray(labels, dtype="int32"))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": _peak_mb(),
                "growth_mb": _peak_mb() - baseline,
            }
        )
    )


# -------------------------------------------------------------- the models


def crust1_file(cache: Path) -> Path | None:
    sys.path.insert(0, str(HERE))
    from models import CRUST1_DIR, crust1_model

    if not (CRUST1_DIR / "crust1.bnds").exists():
        return None
    path = cache / "crust1_vs_1km.nc"
    if not path.exists():
        model = crust1_model()
        _write_atomically(model.to_dataset(), path)
    return path


def pnw_file() -> Path:
    sys.path.insert(0, str(HERE))
    from models import PNW_PATH

    import xvcluster

    return PNW_PATH if PNW_PATH.exists() else Path(xvcluster.example_path())


def band_rows(nlat: int, nlon: int) -> int:
    """Latitude rows of a band of about 16 MB of float32 profiles of 50 depths.

    The synthetic files are written in such bands and opened in the same chunks.
    """
    return max(1, min(nlat, 2**22 // (nlon * 50)))


def synthetic_file(cache: Path, nlat: int, nlon: int) -> Path:
    """A synthetic model of nlat x nlon profiles x 50 depths, float32, 8 provinces."""
    import xvcluster

    path = cache / f"synthetic_8p_{nlat}x{nlon}x50.nc"
    if not path.exists():
        band = band_rows(nlat, nlon)
        model = xvcluster.synthetic_model(8, nlat=nlat, nlon=nlon, seed=0, chunks=band)
        encoding = {"vs": {"chunksizes": (50, band, nlon)}}
        _write_atomically(model, path, encoding)
    return path


def synthetic_task(cache: Path, side: int, detail: str = "", **fields) -> Task:
    """k=8 on the synthetic model of side x side profiles, read in its bands.

    ``detail`` goes into the title before ``k=8``; ``fields`` are the Task's
    other fields. The file holds the planted provinces, so the task is scored.
    """
    return Task(
        f"synthetic, {side * side:,} profiles x 50 depths, {detail}k=8",
        synthetic_file(cache, side, side),
        "vs",
        8,
        chunks={"latitude": band_rows(side, side)},
        scored=True,
        **fields,
    )


def _write_atomically(dataset, path: Path, encoding: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    dataset.to_netcdf(temporary, encoding=encoding)
    temporary.replace(path)


# ----------------------------------------------------------- the workloads


def workload_tasks(number: int, cache: Path, quick: bool) -> list[Task]:
    if number == 1:
        path = pnw_file()
        return [
            Task("PNW10-S, k=5, 0-60 km, dz=2", path, "vs", 5, (0, 60), 2.0),
            Task(
                "PNW10-S, knee over k=2..14, 0-60 km, dz=2",
                path,
                "vs",
                None,
                (0, 60),
                2.0,
            ),
        ]
    if number == 2:
        path = crust1_file(cache)
        if path is None:
            print("Workload 2 skipped: no CRUST1.0 in ../shared/data/crust1.0.")
            return []
        slow = {} if not quick else {"predecessor": "--quick", "tslearn": "--quick"}
        return [
            Task(
                "CRUST1.0 Vs, 64,800 profiles, 0-80 km every 1 km, k=6",
                path,
                "vs",
                6,
                skipped=slow,
            ),
            Task("CRUST1.0 Vs, knee over k=2..14", path, "vs", None, skipped=slow),
        ]
    if number == 3:
        side = 2000 if not quick else 500
        slow = "too slow at this size (minutes); run workload 4 to compare it"
        return [
            synthetic_task(
                cache,
                side,
                "float32 on disk, ",
                skipped={"predecessor": slow, "tslearn": slow},
            )
        ]
    if number == 4:
        base = 500 if not quick else 100
        tasks = []
        for factor in (1, 2, 4):  # N, 4N, 16N profiles
            side = base * factor
            slow = (
                {}
                if factor == 1
                else {tool: "shown at N only" for tool in ("predecessor", "tslearn")}
            )
            tasks.append(
                synthetic_task(
                    cache,
                    side,
                    tools=(*TOOLS, *ENGINE_TOOLS),
                    skipped=slow,
                    profiles=side * side,
                )
            )
        return tasks
    raise SystemExit(f"No workload {number}; choose 1, 2, 3 or 4.")


# ------------------------------------------------------------- the running


def run_tool(task: Task, tool: str, workdir: Path, **extra) -> dict:
    labels_path = workdir / f"{tool}-{abs(hash((task.title, tool, str(extra))))}.npy"
    request = {
        "task": {
            "path": str(task.path),
            "variable": task.variable,
            "k": task.k,
            "zrange": task.zrange,
            "dz": task.dz,
            "chunks": task.chunks,
        },
        "tool": tool,
        "labels_path": str(labels_path),
        **extra,
    }
    environment = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    finished = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(request)],
        capture_output=True,
        text=True,
        env=environment,
    )
    if finished.returncode != 0:
        return {"error": finished.stderr.strip().splitlines()[-1]}
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    result["labels"] = np.load(labels_path)
    return result


def _score(labels: np.ndarray, reference: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    keep = (labels >= 0) & (reference >= 0)
    return adjusted_rand_score(reference[keep], labels[keep])


def _provinces(task: Task) -> np.ndarray | None:
    import xarray as xr

    if not task.scored:
        return None
    with xr.open_dataset(task.path) as dataset:
        return dataset["province"].transpose("latitude", "longitude").values.ravel()


def print_table(task: Task, results: dict[str, dict]) -> None:
    provinces = _provinces(task)
    ours = results.get("xvcluster", {})
    header = (
        f"{'tool':<14} {'wall s':>9} {'peak MB':>9} {'growth MB':>10} "
        f"{'time / xvc':>11} {'growth / xvc':>13} {'ARI vs xvc':>11}"
        + (f" {'ARI vs planted':>15}" if provinces is not None else "")
    )
    print(f"\n{task.title}\n{task.path}\n{header}\n{'-' * len(header)}")
    for tool in task.tools:
        result = results.get(tool)
        if result is None:
            print(f"{tool:<14} skipped: {task.skipped.get(tool, '')}")
            continue
        if "error" in result:
            print(f"{tool:<14} failed: {result['error']}")
            continue
        time_ratio = (
            result["seconds"] / ours["seconds"] if "seconds" in ours else np.nan
        )
        growth_ratio = (
            result["growth_mb"] / ours["growth_mb"]
            if ours.get("growth_mb", 0) > 0
            else np.nan
        )
        agreement = (
            _score(result["labels"], ours["labels"]) if "labels" in ours else np.nan
        )
        line = (
            f"{tool:<14} {result['seconds']:>9.3f} {result['peak_mb']:>9.0f} "
            f"{result['growth_mb']:>10.0f} {time_ratio:>11.2f} {growth_ratio:>13.2f} "
            f"{agreement:>11.3f}"
        )
        if provinces is not None:
            line += f" {_score(result['labels'], provinces):>15.3f}"
        print(line, flush=True)


def best_of(runs: list[dict]) -> dict:
    """The fastest of repeated runs, with the largest peak memory seen."""
    finished = [run for run in runs if "error" not in run]
    if not finished:
        return runs[0]
    best = dict(min(finished, key=lambda run: run["seconds"]))
    best["peak_mb"] = max(run["peak_mb"] for run in finished)
    best["growth_mb"] = max(run["growth_mb"] for run in finished)
    return best


def run_workload(
    number: int, cache: Path, quick: bool, workdir: Path, repeat: int
) -> None:
    print(f"\n=== Workload {number} ===", flush=True)
    tables = []
    for task in workload_tasks(number, cache, quick):
        results = {}
        for _ in range(repeat):  # the tools take turns, so load hits them alike
            for tool in task.tools:
                if tool not in task.skipped:
                    results.setdefault(tool, []).append(run_tool(task, tool, workdir))
        best = {tool: best_of(runs) for tool, runs in results.items()}
        print_table(task, best)
        tables.append((task, best))
    if number == 4:
        print_growth(tables)


def print_growth(tables: list[tuple[Task, dict[str, dict]]]) -> None:
    """Each tool's wall time at every size, how it grows, and a straight line.

    ``steps`` are the factors of each 4x step in N. A fixed cost (opening the
    file, seeding on a sample of fixed size) makes a step take less than 4x
    even when the time is exactly linear; ``increments`` divides the time added
    by the second step (12N profiles more) by the time added by the first (3N
    more), which is 4.0 for a linear cost whatever the fixed cost. The line
    ``time = fixed + per profile x N`` is fitted by least squares over the
    sizes; its worst relative error says how straight the growth is.
    """
    sizes = np.array([task.profiles for task, _ in tables], dtype=float)
    header = (
        f"{'tool':<14}"
        + "".join(f"{int(size):>12,}" for size in sizes)
        + f"  {'steps':<12}{'increments':>11}{'fixed s':>8}{'us/profile':>11}"
        + f"{'worst fit':>10}"
    )
    print(
        "\nHow time grows with N (wall s; target: each 4x step 4x to 5x;"
        " increments 4.0 when linear)"
    )
    print(f"{header}\n{'-' * len(header)}")
    for tool in (*TOOLS, *ENGINE_TOOLS):
        seconds = [results.get(tool, {}).get("seconds") for _, results in tables]
        if sum(value is not None for value in seconds) < 2:
            continue
        cells = "".join(
            f"{value:>12.2f}" if value is not None else f"{'':>12}" for value in seconds
        )
        steps = " ".join(
            f"{later / earlier:.1f}x"
            for earlier, later in itertools.pairwise(seconds)
            if earlier is not None and later is not None
        )
        increments = (
            f"{(seconds[2] - seconds[1]) / (seconds[1] - seconds[0]):.2f}"
            if None not in seconds and len(seconds) == 3
            else ""
        )
        measured = np.array([value is not None for value in seconds])
        times = np.array([value for value in seconds if value is not None])
        per_profile, fixed = np.polyfit(sizes[measured], times, 1)
        worst = np.max(np.abs(fixed + per_profile * sizes[measured] - times) / times)
        print(
            f"{tool:<14}{cells}  {steps:<12}{increments:>11}{fixed:>8.2f}"
            f"{per_profile * 1e6:>11.2f}{worst:>10.1%}"
        )


def run_thread_test(cache: Path, workdir: Path, repeat: int) -> None:
    """Each engine's wall time with one BLAS thread and with the default.

    The in-memory engines on the CRUST1.0 knee search over k=2..14, the
    blockwise engine on 1,000,000 synthetic profiles (k=8, read in chunks):
    xvcluster limits BLAS to one thread where that measured faster (blockwise,
    whose dask threads already fill the cores) and leaves it alone elsewhere.
    """
    crust = crust1_file(cache)
    rows = []
    if crust is None:
        print(
            "Thread test: no CRUST1.0 in ../shared/data/crust1.0, memory rows skipped."
        )
    else:
        task = Task("CRUST1.0 knee search, k=2..14", crust, "vs", None)
        # One thread: set for the whole process; default: as the library leaves it.
        rows += [
            (task, tool, {"blas_threads": 1}, {}) for tool in ("sklearn", "xvc memory")
        ]
    task = synthetic_task(cache, 1000)
    # One thread: the library's own limit; default: that limit switched off.
    rows.append((task, "xvc blockwise", {}, {"xvcluster_default_threads": True}))

    print("\n=== BLAS threads (wall s) ===")
    print(f"{'tool':<14} {'1 thread':>10} {'default':>10} {'1 / default':>12}  task")
    for task, tool, one_extra, default_extra in rows:
        runs = {"one": [], "default": []}
        for _ in range(repeat):  # the two settings take turns
            runs["one"].append(run_tool(task, tool, workdir, **one_extra))
            runs["default"].append(run_tool(task, tool, workdir, **default_extra))
        one, default = (best_of(runs[name]).get("seconds", np.nan) for name in runs)
        print(
            f"{tool:<14} {one:>10.2f} {default:>10.2f} {one / default:>12.2f}  "
            f"{task.title}",
            flush=True,
        )
    print(
        "xvcluster limits BLAS to one thread in blockwise fits only; 'default' there"
        " switches its limit off to show what it saves."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", type=int, action="append", choices=[1, 2, 3, 4])
    parser.add_argument("--threads", action="store_true", help="run the thread test")
    parser.add_argument("--quick", action="store_true", help="smaller synthetic models")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each tool this many times, report the fastest (default 1)",
    )
    default_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    parser.add_argument(
        "--cache", type=Path, default=default_cache / "xvcluster-benchmarks"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    sys.path.insert(0, str(REPOSITORY))  # this checkout's xvcluster, not another
    if args.child:
        child(args.child)
        return

    print(
        f"xvcluster benchmarks on {os.cpu_count()} cores; each tool in its own process,"
        " one at a time; wall time excludes imports; peak = max RSS, growth = peak"
        f" minus RSS after imports; best of {args.repeat} run(s) per tool."
    )
    workloads = args.workload or ([1, 2, 4] if not args.threads else [])
    with tempfile.TemporaryDirectory() as workdir:
        for number in workloads:
            run_workload(number, args.cache, args.quick, Path(workdir), args.repeat)
        if args.threads or not args.workload:
            run_thread_test(args.cache, Path(workdir), args.repeat)


if __name__ == "__main__":
    main()
