"""The documentation covers the whole public surface: API, accessor, CLI, notebooks.

These read the Markdown sources under docs/, so they run without building the
site; the build itself (with warnings as errors) runs in .ci/run.
"""

import re
import tomllib
from pathlib import Path

import pytest

import xvcluster
from xvcluster.accessor import VClusterAccessor
from xvcluster.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _accessor_methods() -> list[str]:
    return [
        name
        for name, member in vars(VClusterAccessor).items()
        if callable(member) and not name.startswith("_")
    ]


def _run_options() -> list[str]:
    parser = build_parser()
    (commands,) = [action for action in parser._actions if action.dest == "command"]
    run = commands.choices["run"]
    return [option for action in run._actions for option in action.option_strings]


@pytest.mark.parametrize("name", xvcluster.__all__)
def test_every_public_name_is_in_the_api_reference(name):
    assert re.search(rf"(?<!\w){re.escape(name)}(?!\w)", _page("api.md")), (
        f"xvcluster.{name} is public (in __all__) but missing from docs/api.md"
    )


@pytest.mark.parametrize("method", _accessor_methods())
def test_every_accessor_method_is_in_the_api_reference(method):
    assert f"DataArray.vcluster.{method}\n" in _page("api.md"), (
        f"DataArray.vcluster.{method} is missing from docs/api.md"
    )


def test_the_accessor_has_the_documented_methods():
    # Guards the two tests above against finding nothing to check.
    assert {"kmeans", "som", "elbow", "map"} <= set(_accessor_methods())


@pytest.mark.parametrize("option", _run_options())
def test_every_cli_option_is_described(option):
    assert re.search(rf"`{re.escape(option)}[ `]", _page("cli.md")), (
        f"xvcluster run {option} is not described in docs/cli.md"
    )


def test_the_cli_page_describes_the_positional_model():
    assert "`MODEL`" in _page("cli.md")


def test_every_notebook_is_in_the_examples_toctree():
    notebooks = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))
    toctree = re.search(r"```\{toctree\}(.*?)```", _page("examples.md"), re.S)
    listed = sorted(re.findall(r"^notebooks/([\w-]+)$", toctree.group(1), re.M))
    assert notebooks, "no notebooks found in notebooks/"
    assert listed == notebooks


def test_every_page_is_in_the_site_toctree():
    index = _page("index.md")
    pages = sorted(path.stem for path in DOCS.glob("*.md") if path.stem != "index")
    for page in pages:
        assert re.search(rf"^{page}$", index, re.M), f"docs/{page}.md is not linked"


def test_citation_file_matches_the_package_version():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    (version,) = re.findall(r"^version: (\S+)$", citation, re.M)
    assert version == pyproject["project"]["version"]


def test_the_citing_page_gives_each_model_doi():
    citing = _page("citing.md")
    for doi in [
        "10.1016/j.epsl.2011.06.026",  # PNW10-S
        "10.17611/DP/9991680",  # PNW10-S at the IRIS EMC
        "10.1093/gji/ggu356",  # S362ANI+M
        "10.1029/2018GL079518",  # Delph et al. (2018)
        "10.17611/dp/cascadiaantrfd2018",
    ]:
        assert doi in citing
    assert "CRUST1.0" in citing
