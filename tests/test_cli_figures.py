"""The figures ``xvcluster run`` writes beside clusters.nc."""

import sys

import pytest
from PIL import Image

from xvcluster.cli import (
    ELBOW_FILE,
    MAP_FILE,
    MAP_HTML_FILE,
    PROFILES_FILE,
    RESULT_FILE,
    main,
)

FAST = ["--zrange", "0", "60", "--dz", "5"]
FIGURES = [PROFILES_FILE, MAP_FILE, MAP_HTML_FILE]


@pytest.fixture(scope="module")
def knee_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("knee")
    assert main(["run", *FAST, "--krange", "2", "6", "--out", str(out)]) == 0
    return out


def test_knee_search_run_writes_every_figure(knee_run):
    for name in [*FIGURES, ELBOW_FILE]:
        assert (knee_run / name).stat().st_size > 0
    for name in [PROFILES_FILE, MAP_FILE, ELBOW_FILE]:
        with Image.open(knee_run / name) as image:
            assert image.format == "PNG"
    assert "Bokeh" in (knee_run / MAP_HTML_FILE).read_text()
    assert not [path for path in knee_run.iterdir() if path.name.startswith(".")]


def test_given_k_writes_no_knee_curve(capsys, tmp_path):
    assert main(["run", "--k", "3", *FAST, "--out", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [RESULT_FILE, *FIGURES]
    )
    out = capsys.readouterr().out
    assert all(f"wrote {tmp_path / name}" in out for name in FIGURES)


def test_existing_figure_stops_the_run_before_the_fit(capsys, knee_run):
    before = (knee_run / RESULT_FILE).stat().st_mtime_ns
    (knee_run / RESULT_FILE).rename(knee_run / "kept.nc")
    try:
        status = main(["run", *FAST, "--krange", "2", "6", "--out", str(knee_run)])
        err = capsys.readouterr().err
        assert status == 2
        assert PROFILES_FILE in err and "--overwrite" in err
        assert not (knee_run / RESULT_FILE).exists()
    finally:
        (knee_run / "kept.nc").rename(knee_run / RESULT_FILE)
    assert (knee_run / RESULT_FILE).stat().st_mtime_ns == before


def test_without_plotting_libraries_the_result_is_still_written(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status = main(["run", "--k", "3", *FAST, "--out", str(tmp_path)])
    err = capsys.readouterr().err

    assert status == 0
    assert [path.name for path in tmp_path.iterdir()] == [RESULT_FILE]
    (line,) = err.strip().splitlines()
    assert line.startswith("xvcluster: warning: figures not written:")
    assert "xvcluster[plot]" in line


def test_no_figures_writes_the_result_only(tmp_path):
    status = main(["run", "--k", "3", *FAST, "--no-figures", "--out", str(tmp_path)])
    assert status == 0
    assert [path.name for path in tmp_path.iterdir()] == [RESULT_FILE]
