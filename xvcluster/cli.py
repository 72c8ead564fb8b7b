"""The ``xvcluster`` command: the clustering workflow from a shell.

``xvcluster run`` clusters a netCDF velocity model (the bundled PNW10-S example
when none is given), writes the result Dataset to ``OUT/clusters.nc`` and prints
a short summary. Bad input ends the run with one line on stderr and exit status 2.

Beside the result it draws ``profiles.png``, ``map.png``, ``map.html`` and, when
k came from the knee search, ``elbow.png``. Without the plotting extra
(matplotlib, geoviews, ...) it says so in one warning line and writes the result
alone.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import xarray as xr

from .datasets import example_path
from .errors import (
    FiguresSkippedWarning,
    InputError,
    MissingDependencyError,
    XVClusterError,
    XVClusterWarning,
    warn,
)
from .geography import require
from .io import check_writable, open_velocity_model, select_variable, write_atomically
from .kmeans import ENGINES, METRICS, KMeans
from .model import ProfileModel
from .som import SOM

__all__ = ["main"]

RESULT_FILE = "clusters.nc"
PROFILES_FILE = "profiles.png"
MAP_FILE = "map.png"
MAP_HTML_FILE = "map.html"
ELBOW_FILE = "elbow.png"
PLOTTING_LIBRARIES = ("matplotlib", "holoviews", "geoviews", "datashader", "colorcet")


def _cluster_count(text: str) -> int | None:
    if text.lower() == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of clusters; give a whole number or 'auto'"
        ) from None


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser that reports a bad option in one line, not with usage."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` as one line and exit with status 2."""
        self.exit(2, f"xvcluster: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``xvcluster`` command line."""
    parser = _OneLineParser(
        prog="xvcluster",
        description="Cluster the depth-velocity profiles of a 3-D velocity model.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_OneLineParser
    )
    run = commands.add_parser(
        "run",
        help="cluster a model and write the results",
        description=(
            "Cluster the profiles of MODEL (default: the bundled PNW10-S model) and "
            f"write the result Dataset to OUT/{RESULT_FILE}."
        ),
    )
    run.add_argument(
        "model", nargs="?", help="netCDF velocity model (default: example)"
    )
    run.add_argument("--var", help="variable to cluster (default: the only one)")
    run.add_argument("--method", choices=["kmeans", "som"], default="kmeans")
    run.add_argument(
        "--zrange",
        type=float,
        nargs=2,
        metavar=("TOP", "BOTTOM"),
        help="depth window, km below the surface (default: all depths)",
    )
    run.add_argument("--dz", type=float, help="depth step in km (default: model's)")
    run.add_argument("--spacing", type=int, default=1, help="keep every N-th node")
    run.add_argument("--nan", choices=["drop", "fill"], default="drop")
    run.add_argument("--random-state", type=int, default=0)
    kmeans = run.add_argument_group("k-means (--method kmeans)")
    kmeans.add_argument(
        "--k",
        type=_cluster_count,
        metavar="N|auto",
        help="number of clusters, or 'auto' for the knee of the inertia curve "
        "(default auto)",
    )
    kmeans.add_argument(
        "--krange",
        type=int,
        nargs=2,
        metavar=("KMIN", "KMAX"),
        help="smallest and largest k the knee search tries, inclusive (default 2 14)",
    )
    kmeans.add_argument("--metric", choices=METRICS, help="default euclidean")
    kmeans.add_argument(
        "--engine",
        choices=ENGINES,
        help="k-means engine (default auto: blockwise for models above 256 MiB)",
    )
    kmeans.add_argument(
        "--smooth", type=int, help="odd window to smooth the knee curve"
    )
    som = run.add_argument_group("self-organising map (--method som)")
    som.add_argument(
        "--grid",
        type=int,
        nargs=2,
        metavar=("NX", "NY"),
        help="nodes of the map (default: ceil(N ** 0.25) a side for N profiles)",
    )
    som.add_argument("--iterations", type=int, help="training steps (default 50000)")
    som.add_argument("--sigma", type=float, help="neighbourhood width (default 0.3)")
    som.add_argument(
        "--learning-rate", type=float, help="initial learning rate (default 0.1)"
    )
    run.add_argument("--lat", help="name of the latitude coordinate")
    run.add_argument("--lon", help="name of the longitude coordinate")
    run.add_argument("--depth", help="name of the depth dimension")
    run.add_argument("--out", default="xvcluster-out", help="output folder")
    run.add_argument(
        "--overwrite", action="store_true", help="replace results already in OUT"
    )
    run.add_argument(
        "--no-figures",
        dest="figures",
        action="store_false",
        help=f"write {RESULT_FILE} only, without the PNG and HTML figures",
    )
    return parser


# Each method's own options: the argument name and the model's keyword.
METHOD_OPTIONS = {
    "kmeans": {
        "k": "n_clusters",
        "krange": "krange",
        "metric": "metric",
        "engine": "engine",
        "smooth": "smooth",
    },
    "som": {
        "grid": "grid",
        "iterations": "iterations",
        "sigma": "sigma",
        "learning_rate": "learning_rate",
    },
}
METHOD_HINTS = {
    "kmeans": "a SOM's clusters are its populated nodes: size the map with --grid",
    "som": "k-means takes its cluster count from --k",
}


def _check_method_options(args: argparse.Namespace) -> None:
    """Refuse options of the other method rather than ignore them silently."""
    for method, options in METHOD_OPTIONS.items():
        if method == args.method:
            continue
        given = [
            "--" + name.replace("_", "-")
            for name in options
            if getattr(args, name) is not None
        ]
        if given:
            verb, pronoun = ("applies", "it") if len(given) == 1 else ("apply", "them")
            raise InputError(
                f"{' '.join(given)} only {verb} to --method {method}, but the method "
                f"is {args.method}; add --method {method} or drop {pronoun} "
                f"({METHOD_HINTS[method]})."
            )


def _build_model(args: argparse.Namespace) -> ProfileModel:
    _check_method_options(args)
    options = {
        keyword: getattr(args, name)
        for name, keyword in METHOD_OPTIONS[args.method].items()
        if getattr(args, name) is not None
    }
    if "krange" in options:
        kmin, kmax = options["krange"]
        options["krange"] = range(kmin, kmax + 1)

    model_class = SOM if args.method == "som" else KMeans
    return model_class(
        **options,
        zrange=args.zrange,
        dz=args.dz,
        spacing=args.spacing,
        nan=args.nan,
        random_state=args.random_state,
    )


def _summary(model: ProfileModel, variable: xr.DataArray, source: str) -> list[str]:
    labels = model.labels_
    clustered = int((labels >= 0).sum())
    depths = model.depth_
    lines = [
        f"{model.method} on {variable.name!r} from {source}",
        f"profiles: {labels.size} on {dict(labels.sizes)}, {clustered} clustered, "
        f"{depths.size} depths {depths[0]:g}-{depths[-1]:g} km",
    ]
    elbow = getattr(model, "elbow_", None)
    if isinstance(model, SOM):
        nx, ny = model.grid_
        lines.append(
            f"{model.n_clusters_} clusters: the populated nodes of a {nx} x {ny} "
            f"map (quantisation error {model.quantisation_error_:.3g}, "
            f"topographic error {model.topographic_error_:.3g})"
        )
    elif elbow is not None:
        ks = elbow["k"].values
        lines.append(
            f"k = {model.n_clusters_} (knee of the inertia curve over k = "
            f"{ks[0]}..{ks[-1]})"
        )
    else:
        lines.append(f"k = {model.n_clusters_}")
    units = model.centres_.attrs.get("units", "")
    lines.append(f"{'cluster':>7}  {'profiles':>8}  mean {variable.name} ({units})")
    mean_velocity = model.centres_.mean("depth").values
    for cluster, count, mean in zip(
        model.counts_["cluster"].values,
        model.counts_.values,
        mean_velocity,
        strict=True,
    ):
        lines.append(f"{cluster:>7}  {count:>8}  {mean:.3f}")
    return lines


def _figure_paths(out: Path, with_elbow: bool, overwrite: bool) -> dict[str, Path]:
    """The figure files of a run, each refused if it exists and not overwriting."""
    names = [PROFILES_FILE, MAP_FILE, MAP_HTML_FILE]
    if with_elbow:
        names.append(ELBOW_FILE)
    return {name: check_writable(out / name, overwrite=overwrite) for name in names}


def _save_png(figure, path: Path, overwrite: bool) -> None:
    """Write a matplotlib figure as PNG atomically, then release it."""
    import matplotlib.pyplot as plt

    try:
        write_atomically(
            path,
            lambda temporary: figure.savefig(temporary, dpi=120, format="png"),
            overwrite=overwrite,
        )
    finally:
        plt.close(figure)


def _write_figures(
    model: ProfileModel,
    variable: xr.DataArray,
    paths: dict[str, Path],
    overwrite: bool,
) -> list[Path]:
    """Draw the run's figures into ``paths``; return those written.

    Every plotting library is checked first, so that a missing one means no
    figure at all (and one warning), never some figures and not others.
    """
    from .maps import interactive_map, save_html
    from .plot import plot_elbow, plot_map, plot_profiles

    try:
        for library in PLOTTING_LIBRARIES:
            require(library, "Drawing the figures")
    except MissingDependencyError as error:
        warn(f"figures not written: {error}", FiguresSkippedWarning)
        return []

    import matplotlib

    matplotlib.use("Agg")
    result = model.result()
    _save_png(plot_profiles(variable, result), paths[PROFILES_FILE], overwrite)
    _save_png(plot_map(model.labels_), paths[MAP_FILE], overwrite)
    save_html(interactive_map(model.labels_), paths[MAP_HTML_FILE], overwrite=overwrite)
    if ELBOW_FILE in paths:
        _save_png(plot_elbow(result), paths[ELBOW_FILE], overwrite)
    return [path for path in paths.values() if path.exists()]


def run(args: argparse.Namespace) -> int:
    """Carry out ``xvcluster run`` and return the exit status."""
    started = time.perf_counter()
    model = _build_model(args)
    out = Path(args.out)
    # Refuse an existing result before the fit, not after it.
    result_path = check_writable(out / RESULT_FILE, overwrite=args.overwrite)
    knee_search = isinstance(model, KMeans) and model.n_clusters is None
    figure_paths = (
        _figure_paths(out, knee_search, args.overwrite) if args.figures else {}
    )

    source = args.model if args.model is not None else example_path()
    with open_velocity_model(source, chunks={}) as dataset:
        variable = select_variable(dataset, args.var)
        model.fit(variable, lat=args.lat, lon=args.lon, depth=args.depth)
        # Lazy coordinates (e.g. 2-D easting) are read while writing: keep it open.
        model.to_netcdf(result_path, overwrite=args.overwrite)
        figures = (
            _write_figures(model, variable, figure_paths, args.overwrite)
            if figure_paths
            else []
        )

    for line in _summary(model, variable, source):
        print(line)
    for figure in figures:
        print(f"wrote {figure}")
    print(f"wrote {result_path} in {time.perf_counter() - started:.1f} s")
    return 0


class _Terminated(Exception):
    """The run received SIGTERM (e.g. from a batch scheduler)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextmanager
def _terminate_gracefully() -> Iterator[None]:
    """Turn SIGTERM into an exception, so a killed run cleans up as ^C does."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xvcluster`` command; returns the exit status.

    Bad input, unreadable files and unwritable outputs end the run with one
    line on stderr and status 2; an interrupt (Ctrl-C, status 130) or SIGTERM
    (status 143) ends it with no result file and no temporary file left.
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(record=True) as caught, _terminate_gracefully():
        warnings.simplefilter("always", XVClusterWarning)
        try:
            status = run(args)
        except (XVClusterError, OSError) as error:
            one_line = " ".join(str(error).split())
            print(f"xvcluster: error: {one_line}", file=sys.stderr)
            status = 2
        except KeyboardInterrupt:
            print("xvcluster: interrupted; no partial output left", file=sys.stderr)
            status = 130
        except _Terminated:
            print("xvcluster: terminated; no partial output left", file=sys.stderr)
            status = 143
    for warning in caught:
        if issubclass(warning.category, XVClusterWarning):
            print(f"xvcluster: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return status


if __name__ == "__main__":
    sys.exit(main())
