"""Build ``xvcluster/data/coastline_50m.npz`` from Natural Earth's 1:50m land.

The source is ``land-50m.json`` of the npm package ``world-atlas`` 2.0.2, a TopoJSON
redistribution of Natural Earth's public-domain 1:50m land polygons::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python scripts/make_coastline.py package/land-50m.json

Every arc of the land topology is a piece of coastline. The arcs are decoded,
cut where they run along the map's edges (the antimeridian and the South Pole
line, where Natural Earth closes its polygons), simplified with shapely and
written as two float32 arrays, ``lon`` and ``lat``, with NaN between lines.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import shapely

TOLERANCE_DEGREES = 0.01
OUTPUT = Path(__file__).parents[1] / "xvcluster" / "data" / "coastline_50m.npz"


def decode_arcs(topology: dict) -> list[np.ndarray]:
    """Return each quantised, delta-encoded arc as an ``(n, 2)`` lon/lat array."""
    scale = np.asarray(topology["transform"]["scale"])
    translate = np.asarray(topology["transform"]["translate"])
    return [
        np.cumsum(np.asarray(arc, dtype="float64"), axis=0) * scale + translate
        for arc in topology["arcs"]
    ]


def cut_at_map_edges(arc: np.ndarray) -> list[np.ndarray]:
    """Split an arc where consecutive points both lie on the map's edge."""
    on_edge = (np.abs(arc[:, 0]) >= 180 - 1e-6) | (arc[:, 1] <= -90 + 0.01)
    edge_step = on_edge[:-1] & on_edge[1:]
    pieces = np.split(arc, np.flatnonzero(edge_step) + 1)
    return [piece for piece in pieces if len(piece) >= 2]


def simplified(line: np.ndarray) -> np.ndarray:
    """The line simplified to ``TOLERANCE_DEGREES``, topology kept."""
    geometry = shapely.simplify(shapely.LineString(line), TOLERANCE_DEGREES)
    return shapely.get_coordinates(geometry)


def main() -> None:
    """Read the TopoJSON named on the command line and write the coastline file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topojson", type=Path, help="world-atlas land-50m.json")
    args = parser.parse_args()

    topology = json.loads(args.topojson.read_text())
    lines = [
        simplified(piece)
        for arc in decode_arcs(topology)
        for piece in cut_at_map_edges(arc)
    ]
    lines = [line for line in lines if len(line) >= 2]

    separator = np.full((1, 2), np.nan)
    joined = np.concatenate([part for line in lines for part in (line, separator)])
    np.savez_compressed(
        OUTPUT,
        lon=joined[:-1, 0].astype("float32"),
        lat=joined[:-1, 1].astype("float32"),
    )
    print(f"wrote {OUTPUT}: {len(lines)} lines, {len(joined) - len(lines)} points")


if __name__ == "__main__":
    main()
