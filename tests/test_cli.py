import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xvcluster
from xvcluster.cli import RESULT_FILE, main

# Figures are tested in test_cli_figures.py; here they would only cost time.
FAST = ["--zrange", "0", "60", "--dz", "5", "--no-figures"]
DELPH_PATH = Path(__file__).parent / "data" / "Cascadia-ANT+RF-Delph2018.r0.1.nc"


def run_cli(capsys, *argv):
    status = main(["run", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("example")
    status = main(["run", "--k", "4", *FAST, "--out", str(out)])
    assert status == 0
    return out / RESULT_FILE


def test_example_run_writes_labels_on_the_models_grid(example_run):
    vs = xvcluster.open_example()["vs"]
    with xr.open_dataset(example_run) as result:
        xr.testing.assert_identical(result["latitude"], vs["latitude"])
        xr.testing.assert_identical(result["longitude"], vs["longitude"])
        assert result.sizes["cluster"] == 4
        assert (
            int(result["counts"].sum()) == vs.sizes["latitude"] * vs.sizes["longitude"]
        )
        np.testing.assert_allclose(result["depth"], np.arange(0, 61, 5.0))


def test_saved_run_loads_as_a_model(example_run):
    model = xvcluster.load_model(example_run)
    vs = xvcluster.open_example()["vs"]
    xr.testing.assert_equal(model.predict(vs), model.labels_)


def test_summary_names_k_counts_and_file(capsys, tmp_path):
    status, out, err = run_cli(capsys, "--k", "3", *FAST, "--out", str(tmp_path))
    assert status == 0
    assert err == ""
    assert "k = 3" in out
    assert str(tmp_path / RESULT_FILE) in out
    counts = [
        int(line.split()[1]) for line in out.splitlines() if line[:7].strip().isdigit()
    ]
    assert len(counts) == 3
    assert sum(counts) == 109 * 53


def test_second_run_gives_the_same_labels(capsys, tmp_path, example_run):
    status, _, _ = run_cli(capsys, "--k", "4", *FAST, "--out", str(tmp_path))
    assert status == 0
    with (
        xr.open_dataset(example_run) as first,
        xr.open_dataset(tmp_path / RESULT_FILE) as second,
    ):
        xr.testing.assert_identical(first["labels"], second["labels"])


def test_knee_search_is_the_default(capsys, tmp_path):
    status, out, err = run_cli(
        capsys, *FAST, "--krange", "2", "6", "--out", str(tmp_path)
    )
    assert status == 0
    # Five points are too few for Kneedle here: the fallback is said in one line.
    assert err.startswith("xvcluster: warning: Found no knee")
    assert "knee of the inertia curve over k = 2..6" in out
    with xr.open_dataset(tmp_path / RESULT_FILE) as result:
        assert list(result["k"].values) == [2, 3, 4, 5, 6]
        assert int(result["knee"]) == result.sizes["cluster"]


def test_existing_result_is_kept_without_overwrite(capsys, tmp_path):
    assert run_cli(capsys, "--k", "2", *FAST, "--out", str(tmp_path))[0] == 0
    before = (tmp_path / RESULT_FILE).read_bytes()

    status, out, err = run_cli(capsys, "--k", "3", *FAST, "--out", str(tmp_path))
    assert status == 2
    assert out == ""
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / RESULT_FILE).read_bytes() == before

    status, _, _ = run_cli(
        capsys, "--k", "3", *FAST, "--out", str(tmp_path), "--overwrite"
    )
    assert status == 0
    with xr.open_dataset(tmp_path / RESULT_FILE) as result:
        assert result.sizes["cluster"] == 3


def test_real_model_with_missing_values(capsys, tmp_path):
    path = str(Path(__file__).parent / "data" / "Cascadia-ANT+RF-Delph2018.r0.1.nc")
    status, _, _ = run_cli(
        capsys,
        path,
        "--k",
        "4",
        "--zrange",
        "0",
        "60",
        "--dz",
        "4",
        "--out",
        str(tmp_path),
    )
    assert status == 0
    with xr.open_dataset(tmp_path / RESULT_FILE, mask_and_scale=False) as result:
        labels = result["labels"].values
        assert (labels == -1).any() and (labels >= 0).any()
        assert int(result["counts"].sum()) == int((labels >= 0).sum())


@pytest.fixture
def two_variable_model(tmp_path):
    vs = xvcluster.open_example()["vs"].isel(
        latitude=slice(0, 10), longitude=slice(0, 10)
    )
    path = tmp_path / "two.nc"
    xr.Dataset({"vs": vs, "vp": vs * 1.75}).to_netcdf(path)
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.nc"], "No model file"),
        (["--k", "-3"], "n_clusters=-3"),
        (["--k", "1"], "n_clusters=1"),
        (["--zrange", "60", "0"], "zrange"),
        (["--dz", "0"], "dz=0"),
        (["--spacing", "0"], "spacing=0"),
        (["--var", "rho"], "No variable 'rho'"),
        (["--var", "depth"], "No variable 'depth'"),
        (["--zrange", "300", "400"], "outside the data"),
        (["--zrange", "0", "nan"], "non-finite"),
        (["--zrange", "10", "10"], "top at or below its bottom"),
        (["--krange", "2", "3"], "krange"),
        (["--krange", "9", "2"], "krange"),
        (["--dz", "-2"], "dz=-2.0"),
        (["--dz", "200"], "larger than the depth window"),
        (["--spacing", "-1"], "spacing=-1"),
        (["--random-state", "-1"], "random_state=-1"),
        (["--smooth", "2"], "smooth=2"),
        (["--lat", "nope"], "'nope'"),
        (["--depth", "latitude"], "depth"),
    ],
)
def test_bad_input_ends_with_one_line(capsys, tmp_path, argv, message):
    status, out, err = run_cli(capsys, *argv, "--out", str(tmp_path))
    assert status == 2
    assert out == ""
    assert err.startswith("xvcluster: error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / RESULT_FILE).exists()


def test_several_variables_need_var(capsys, tmp_path, two_variable_model):
    status, _, err = run_cli(capsys, str(two_variable_model), "--out", str(tmp_path))
    assert status == 2
    assert "--var" in err and "'vp'" in err and "'vs'" in err

    status, out, _ = run_cli(
        capsys,
        str(two_variable_model),
        "--var",
        "vp",
        "--k",
        "2",
        "--out",
        str(tmp_path),
    )
    assert status == 0
    assert "'vp'" in out


def test_corrupt_model_file_is_named(capsys, tmp_path):
    broken = tmp_path / "broken.nc"
    broken.write_bytes(b"CDF\x01 this is not really netCDF")
    status, _, err = run_cli(capsys, str(broken), "--out", str(tmp_path / "out"))
    assert status == 2
    assert str(broken) in err
    assert len(err.strip().splitlines()) == 1


def test_command_line_error_has_no_traceback(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "xvcluster", "run", "--k", "0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 2
    assert "Traceback" not in finished.stderr
    assert finished.stderr.strip().splitlines() == [
        line
        for line in finished.stderr.strip().splitlines()
        if "xvcluster: error" in line
    ]


def test_window_the_data_do_not_fill_gets_a_better_one_suggested(capsys, tmp_path):
    # Delph2018 starts 3 km above sea level, where most nodes have no values.
    path = str(Path(__file__).parent / "data" / "Cascadia-ANT+RF-Delph2018.r0.1.nc")
    status, _, err = run_cli(capsys, path, "--k", "4", "--out", str(tmp_path))
    assert status == 2
    assert "window (-3 to 80 km)" in err
    assert "try zrange=(0, 80)" in err

    status, _, _ = run_cli(
        capsys, path, "--k", "4", "--zrange", "0", "80", "--out", str(tmp_path)
    )
    assert status == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--k", "abc"], "'abc' is not a number of clusters"),
        (["--k"], "expected one argument"),
        (["--zrange", "0"], "expected 2 arguments"),
        (["--dz", "two"], "invalid float value"),
        (["--metric", "cosine"], "invalid choice"),
        (["--nan", "maybe"], "invalid choice"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_malformed_options_end_with_one_line(capsys, tmp_path, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["run", *argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.startswith("xvcluster: error: ")
    assert message in err and "--help" in err
    assert len(err.strip().splitlines()) == 1


def damaged_copies(directory: Path) -> dict[str, Path]:
    example = Path(xvcluster.example_path()).read_bytes()
    files = {
        "empty": b"",
        "text": b"depth,lat,lon,vs\n0,45,-120,3.2\n",
        "truncated-netcdf3": example[: len(example) // 2],
        "truncated-netcdf4": DELPH_PATH.read_bytes()[:5000],
    }
    paths = {}
    for name, content in files.items():
        paths[name] = directory / f"{name}.nc"
        paths[name].write_bytes(content)
    return paths


@pytest.mark.parametrize(
    "name", ["empty", "text", "truncated-netcdf3", "truncated-netcdf4", "folder"]
)
def test_unreadable_model_files_are_named(capsys, tmp_path, name):
    paths = damaged_copies(tmp_path)
    paths["folder"] = tmp_path / "a-folder.nc"
    paths["folder"].mkdir()
    out = tmp_path / "out"
    status, stdout, err = run_cli(capsys, str(paths[name]), "--out", str(out))
    assert status == 2
    assert stdout == ""
    assert str(paths[name]) in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_output_folder_that_is_a_file_fails_before_the_fit(capsys, tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    status, _, err = run_cli(
        capsys, "--k", "2", "--out", str(tmp_path / "taken" / "out")
    )
    assert status == 2
    assert "not a folder" in err and len(err.strip().splitlines()) == 1


def _interrupted_write(signal_to_send: signal.Signals | None):
    """A to_netcdf that writes half a file, then is interrupted."""

    def to_netcdf(self, path=None, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n half a file")
        if signal_to_send is None:
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal_to_send)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("the signal was not delivered")

    return to_netcdf


@pytest.mark.parametrize(
    ("signal_to_send", "status", "word"),
    [(None, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_interrupted_run_leaves_no_partial_output(
    capsys, tmp_path, monkeypatch, signal_to_send, status, word
):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _interrupted_write(signal_to_send))
    out = tmp_path / "out"
    handler_before = signal.getsignal(signal.SIGTERM)
    code, stdout, err = run_cli(capsys, "--k", "2", *FAST, "--out", str(out))
    assert code == status
    assert stdout == ""
    assert err.strip() == f"xvcluster: {word}; no partial output left"
    assert list(out.iterdir()) == []
    # SIGTERM is back to what it was once the run is over.
    assert signal.getsignal(signal.SIGTERM) == handler_before


def test_interrupted_overwrite_keeps_the_previous_result(capsys, tmp_path, monkeypatch):
    assert run_cli(capsys, "--k", "2", *FAST, "--out", str(tmp_path))[0] == 0
    before = (tmp_path / RESULT_FILE).read_bytes()
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _interrupted_write(None))
    status, _, _ = run_cli(
        capsys, "--k", "3", *FAST, "--out", str(tmp_path), "--overwrite"
    )
    assert status == 130
    assert sorted(path.name for path in tmp_path.iterdir()) == [RESULT_FILE]
    assert (tmp_path / RESULT_FILE).read_bytes() == before


def test_sigint_to_a_running_command_leaves_no_partial_output(tmp_path):
    # A real Ctrl-C, wherever in the run it lands: afterwards the output folder
    # holds nothing, or a complete result, never a part of one.
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "xvcluster", "run", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)

    leftovers = sorted(path.name for path in out.iterdir()) if out.exists() else []
    assert leftovers in ([], [RESULT_FILE])
    if leftovers:
        xvcluster.load_model(out / RESULT_FILE)
    if process.returncode == 130:  # landed in the run, not in Python's start-up
        assert err.strip().endswith("xvcluster: interrupted; no partial output left")
        assert "Traceback" not in err
