"""SOM labels for 64,800 profiles: one winner() call per profile against xvcluster.

Reads CRUST1.0 from ``../shared/data/crust1.0`` (through
:func:`models.crust1_model`), so it runs only where that folder exists; no test
depends on it. Run from the repository root::

    python benchmarks/som_winners.py [--repeats 3] [--iterations 50000]

One SOM is trained on every CRUST1.0 profile (0-80 km every 1 km). Then, side by
side and in alternation, it times

(a) the predecessor's way: a Python loop calling MiniSom's ``winner()`` once per
    profile, on a MiniSom holding the trained node weights;
(b) xvcluster's: ``model.predict(vs)`` on the whole model in memory, which cuts
    and checks the profiles and labels them a block of profiles at a time, and
    the same on the model split into dask chunks;

checks that (a) and (b) put every profile on the same node, and prints the times
and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from minisom import MiniSom
from models import CRUST1_CITATION, crust1_model

import xvcluster


def per_profile_winners(som: MiniSom, profiles: np.ndarray) -> np.ndarray:
    """The predecessor's loop: flat node index of each profile's winner."""
    winners = [som.winner(profile) for profile in profiles]
    return np.ravel_multi_index(np.array(winners).T, som.get_weights().shape[:2])


def minisom_holding(model: xvcluster.SOM) -> MiniSom:
    """A MiniSom with the trained node weights of ``model``.

    MiniSom has no public setter for its weights, hence the private attribute.
    """
    weights = model.node_weights_.values
    som = MiniSom(*weights.shape, sigma=model.sigma, learning_rate=model.learning_rate)
    som._weights = weights.copy()
    return som


def label_nodes(model: xvcluster.SOM, labels: np.ndarray) -> np.ndarray:
    """Flat node index of each cluster number in ``labels``."""
    node_x = model.centres_["node_x"].values[labels]
    node_y = model.centres_["node_y"].values[labels]
    return np.ravel_multi_index((node_x, node_y), model.grid_)


def timed(function, *args):
    started = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=50_000)
    args = parser.parse_args()

    vs = crust1_model()
    print(f"CRUST1.0 vs {dict(vs.sizes)}; {CRUST1_CITATION}")

    seconds, model = timed(xvcluster.SOM(iterations=args.iterations).fit, vs)
    valid = model.labels_.values.ravel() >= 0
    print(
        f"trained a {model.grid_[0]} x {model.grid_[1]} SOM on {valid.sum()} of "
        f"{valid.size} profiles ({args.iterations} iterations) in {seconds:.1f} s; "
        f"{model.n_clusters_} populated nodes"
    )

    profiles = vs.vcluster.profiles().values.reshape(valid.size, -1)[valid]
    som = minisom_holding(model)
    chunked = vs.chunk({"latitude": 45, "longitude": 90})

    loop_times, numpy_times, dask_times = [], [], []
    for _ in range(args.repeats):
        seconds, winners = timed(per_profile_winners, som, profiles)
        loop_times.append(seconds)
        seconds, labels = timed(model.predict, vs)
        numpy_times.append(seconds)
        seconds, chunked_labels = timed(lambda: model.predict(chunked).compute())
        dask_times.append(seconds)

        ours = label_nodes(model, labels.values.ravel()[valid])
        assert np.array_equal(ours, winners), "the two ways disagree on winners"
        assert np.array_equal(chunked_labels.values, labels.values)
    print(f"same winner for all {valid.sum()} profiles, numpy and dask alike")

    print(f"per-profile winner() loop: {[round(t, 2) for t in loop_times]} s")
    for name, times in [("numpy", numpy_times), ("dask", dask_times)]:
        ratios = [ours / loop for ours, loop in zip(times, loop_times, strict=True)]
        print(
            f"xvcluster predict ({name}): {[round(t, 3) for t in times]} s; "
            f"time / loop time, run by run: {[round(r, 3) for r in ratios]}, "
            f"median {statistics.median(ratios):.3f}"
        )


if __name__ == "__main__":
    main()
