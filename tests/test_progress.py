import io
import sys

import dask.array as dsa
import pytest

import xvcluster
from xvcluster.progress import (
    computing_with_progress,
    progress_bar,
    progress_enabled,
)


def test_progress_is_off_under_a_test_runner_by_default():
    assert xvcluster.get_options()["progress"] == "auto"
    assert not progress_enabled()


def test_set_options_restores_the_previous_value_after_a_with_block():
    with xvcluster.set_options(progress=True):
        assert progress_enabled()
        with xvcluster.set_options(progress=False):
            assert not progress_enabled()
        assert progress_enabled()
    assert xvcluster.get_options()["progress"] == "auto"


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_set_options_rejects_a_bad_progress_value(bad):
    with pytest.raises(xvcluster.InputError, match="'auto', True or False"):
        xvcluster.set_options(progress=bad)
    assert xvcluster.get_options()["progress"] == "auto"


def test_set_options_rejects_an_unknown_option():
    with pytest.raises(xvcluster.InputError, match="progress"):
        xvcluster.set_options(colour="red")


def test_bars_draw_on_stderr_only_when_enabled(monkeypatch):
    for enabled, expect_output in [(False, False), (True, True)]:
        stream = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        with xvcluster.set_options(progress=enabled), progress_bar(4, "steps") as bar:
            bar.update(4)
        assert ("steps" in stream.getvalue()) is expect_output


def test_a_disabled_bar_does_not_import_tqdm_auto(monkeypatch):
    # tqdm.auto warns on import in a Jupyter kernel without ipywidgets, so a
    # page that turned progress off must not import it.
    monkeypatch.delitem(sys.modules, "tqdm.auto", raising=False)
    with xvcluster.set_options(progress=False), progress_bar(4, "steps") as bar:
        bar.update(4)
    assert "tqdm.auto" not in sys.modules


def test_dask_computations_report_progress_when_enabled(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    array = dsa.ones((100,), chunks=10)
    with xvcluster.set_options(progress=True), computing_with_progress("summing"):
        assert array.sum().compute() == 100
    assert "summing" in stream.getvalue()


def test_a_disabled_bar_imports_no_tqdm(monkeypatch):
    for module in [name for name in sys.modules if name.split(".")[0] == "tqdm"]:
        monkeypatch.delitem(sys.modules, module)
    with xvcluster.set_options(progress=False), progress_bar(4, "steps") as bar:
        bar.update(4)
    assert "tqdm" not in sys.modules
