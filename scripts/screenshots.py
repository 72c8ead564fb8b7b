"""Screenshots of the bundled example's interactive map and profile figure.

Clusters PNW10-S (bundled, no download) with k-means, k = 5 over 0-60 km every
2 km, saves the interactive map as standalone HTML, renders it in headless
Chromium (Debian's ``chromium``) and saves the profile figure::

    python scripts/screenshots.py            # writes docs/images/*.png

The map screenshot is what a browser shows when it opens ``map.html``; the test
``tests/test_maps.py`` renders maps the same way, with :func:`chromium_screenshot`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

IMAGES = Path(__file__).parents[1] / "docs" / "images"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, which a closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_screenshot(
    html: Path, png: Path, size: tuple[int, int] = (900, 800)
) -> Path:
    """Open ``html`` in headless Chromium and save what it shows as ``png``."""
    chromium = shutil.which("chromium")
    if chromium is None:
        raise FileNotFoundError("chromium is not installed: apt-get install chromium")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={size[0]},{size[1]}",
                # Virtual time lets BokehJS finish drawing before the shot.
                "--virtual-time-budget=10000",
                Path(html).resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return png


def main() -> None:
    """Cluster the example and write the two screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="output folder")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import xvcluster

    vs = xvcluster.open_example()["vs"]
    model = xvcluster.KMeans(5, zrange=(0, 60), dz=2.0).fit(vs)
    args.out.mkdir(parents=True, exist_ok=True)

    profiles = vs.vcluster.plot_profiles(model)
    profiles.savefig(args.out / "example-profiles.png", dpi=72)

    with tempfile.TemporaryDirectory() as folder:
        html = xvcluster.save_html(
            model.labels_.vcluster.map(size=560), Path(folder) / "map.html"
        )
        chromium_screenshot(html, args.out / "example-map.png", size=(620, 700))
    print(f"wrote {args.out / 'example-profiles.png'}, {args.out / 'example-map.png'}")


if __name__ == "__main__":
    main()
