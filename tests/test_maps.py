"""The interactive map: legend, hover, rasterising, layouts, HTML, Chromium render."""

import importlib.util
import os
import shutil
from pathlib import Path

import holoviews as hv
import numpy as np
import pytest
import xarray as xr
from bokeh.models import GlyphRenderer, HoverTool, Legend
from bokeh.models import Image as ImageGlyph
from PIL import Image

import xvcluster
from xvcluster import maps
from xvcluster.geography import cluster_colours

CHROMIUM = shutil.which("chromium")


def _screenshot_script():
    """``scripts/screenshots.py``, which renders HTML in headless Chromium."""
    path = Path(__file__).parents[1] / "scripts" / "screenshots.py"
    spec = importlib.util.spec_from_file_location("screenshots", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pnw_map(pnw_model):
    return pnw_model.labels_.vcluster.map()


def rendered(overlay):
    return hv.render(overlay, backend="bokeh")


def legend_items(figure):
    (legend,) = figure.select(Legend)
    return [
        (item.label.value, item.renderers[0].glyph.fill_color) for item in legend.items
    ]


def cluster_images(figure):
    return [
        renderer
        for renderer in figure.select(GlyphRenderer)
        if isinstance(renderer.glyph, ImageGlyph)
    ]


def test_legend_has_one_entry_per_cluster_in_its_colour(pnw_model, pnw_map):
    counts = pnw_model.counts_.values
    assert legend_items(rendered(pnw_map)) == [
        (f"cluster {c} ({counts[c]:,})", colour)
        for c, colour in enumerate(cluster_colours(5))
    ]


def test_hover_shows_longitude_latitude_and_cluster(pnw_map):
    figure = rendered(pnw_map)
    tooltips = [tool.tooltips for tool in figure.select(HoverTool)]
    assert [
        ("longitude", "$x{custom}"),
        ("latitude", "$y{custom}"),
        ("cluster", "@image"),
    ] in tooltips
    (hover,) = [
        tool for tool in figure.select(HoverTool) if tool.tooltips == tooltips[0]
    ]
    # geoviews turns the Web Mercator cursor position back into degrees.
    assert "wgs84_mercator.invert" in hover.formatters["$x"].code


def test_colour_map_is_the_cluster_colours(pnw_map):
    (image,) = cluster_images(rendered(pnw_map))
    mapper = image.glyph.color_mapper
    assert list(mapper.palette) == cluster_colours(5)
    assert (mapper.low, mapper.high) == (-0.5, 4.5)


def test_a_million_node_grid_is_one_image_of_screen_size():
    lat = np.linspace(30.0, 50.0, 1000)
    lon = np.linspace(-130.0, -110.0, 1000)
    provinces = np.add.outer(np.arange(1000) // 250, np.arange(1000) // 250) % 4
    labels = xr.DataArray(
        provinces.astype("int32"), coords={"lat": lat, "lon": lon}, dims=("lat", "lon")
    )
    (image,) = cluster_images(rendered(labels.vcluster.map(size=400)))
    (values,) = image.data_source.data["image"]
    assert max(values.shape) <= 400
    assert set(np.unique(values[np.isfinite(values)])) == {0.0, 1.0, 2.0, 3.0}


def test_node_layout_is_drawn_as_dots_with_their_own_hover(pnw_model):
    nodes = pnw_model.labels_.stack(node=("latitude", "longitude")).reset_index("node")
    figure = rendered(nodes.vcluster.map())
    tooltips = {name for tool in figure.select(HoverTool) for name, _ in tool.tooltips}
    assert {"longitude", "latitude", "cluster"} <= tooltips
    assert not cluster_images(figure)


def test_many_nodes_are_rasterised(pnw_model, monkeypatch):
    monkeypatch.setattr(maps, "DOTS_UP_TO", 1000)
    nodes = pnw_model.labels_.stack(node=("latitude", "longitude")).reset_index("node")
    assert len(cluster_images(rendered(nodes.vcluster.map()))) == 1


def test_regional_grid_in_0_360_lies_where_it_does_in_180(pnw_model):
    labels = pnw_model.labels_
    shifted = labels.assign_coords(longitude=labels["longitude"] + 360.0)
    from_180, from_360 = (
        rendered(labels.vcluster.map()),
        rendered(shifted.vcluster.map()),
    )
    assert from_360.x_range.start == pytest.approx(from_180.x_range.start)
    assert from_360.x_range.end == pytest.approx(from_180.x_range.end)
    assert legend_items(from_360) == legend_items(from_180)


def test_global_grid_in_0_360_fills_the_map():
    lat = np.arange(-89.5, 90.0, 1.0)
    lon = np.arange(0.5, 360.0, 1.0)
    labels = xr.DataArray(
        (np.arange(lon.size) // 90 * np.ones((lat.size, 1))).astype("int32"),
        coords={"lat": lat, "lon": lon},
        dims=("lat", "lon"),
    )
    figure = rendered(labels.vcluster.map(size=360))
    half_turn = 20037508.342789244
    assert figure.x_range.start == pytest.approx(-half_turn, rel=1e-2)
    assert figure.x_range.end == pytest.approx(half_turn, rel=1e-2)
    (image,) = cluster_images(figure)
    (values,) = image.data_source.data["image"]
    # 0-90 E is cluster 0, 270-360 E (90-0 W) cluster 3: west of Greenwich now.
    assert values[values.shape[0] // 2, 0] == 2.0
    assert values[values.shape[0] // 2, -1] == 1.0


def test_delph_grid_with_missing_profiles_draws_offline(delph_model, offline):
    (image,) = cluster_images(rendered(delph_model.labels_.vcluster.map()))
    (values,) = image.data_source.data["image"]
    assert np.isnan(values).any() and np.isfinite(values).any()


def test_tiles_by_name(pnw_model):
    overlay = pnw_model.labels_.vcluster.map(tiles="EsriImagery")
    assert "ArcGIS" in overlay.get(0).data
    with pytest.raises(xvcluster.InputError, match="EsriImagery"):
        pnw_model.labels_.vcluster.map(tiles="satellite")


def test_map_saves_as_standalone_html_offline(pnw_map, tmp_path, offline):
    path = xvcluster.save_html(pnw_map, tmp_path / "map.html")
    html = path.read_text()
    assert "Bokeh" in html and "<script src=" not in html
    with pytest.raises(xvcluster.OutputExistsError):
        xvcluster.save_html(pnw_map, path)
    assert list(tmp_path.iterdir()) == [path]


# ---------------------------------------------------------------- browser


def blended(colour, alpha):
    """A hex colour drawn with ``alpha`` over white, as 0-255 RGB."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return alpha * rgb + (1 - alpha) * 255


def test_saved_map_renders_the_cluster_colours_in_chromium(pnw_map, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    html = xvcluster.save_html(pnw_map, tmp_path / "map.html")
    png = tmp_path / "map.png"
    _screenshot_script().chromium_screenshot(html, png)

    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=float)
    assert pixels.std() > 10, "the page is blank"
    for colour in cluster_colours(5):
        distance = np.abs(pixels - blended(colour, 0.85)).max(axis=-1)
        share = (distance <= 8).mean()
        assert share > 0.002, f"cluster colour {colour} not on the map"
