"""Matplotlib figures: profile panels, the knee curve, the static map."""

import sys

import matplotlib
import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import LineCollection, QuadMesh
from matplotlib.colors import to_hex

import xvcluster
from xvcluster.geography import cluster_colours, coastline, map_layout
from xvcluster.knee import elbow_dataset
from xvcluster.plot import plot_elbow, plot_map, plot_profiles

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def visible_panels(figure):
    return [axes for axes in figure.axes if axes.get_visible()]


def member_colour(panel):
    (members,) = [c for c in panel.collections if isinstance(c, LineCollection)]
    return to_hex(members.get_colors()[0], keep_alpha=False)


def bold_lines(panel):
    return [line for line in panel.get_lines() if line.get_linewidth() >= 2]


# ---------------------------------------------------------------- profiles


def test_one_panel_per_cluster_titled_with_number_and_count(pnw, pnw_model):
    figure = pnw.vcluster.plot_profiles(pnw_model.labels_)
    panels = visible_panels(figure)

    assert len(panels) == 5
    counts = pnw_model.counts_.values
    assert [panel.get_title() for panel in panels] == [
        f"cluster {cluster}: {counts[cluster]:,} profiles" for cluster in range(5)
    ]


def test_axis_labels_come_from_the_data_and_depth_runs_down(pnw, pnw_model):
    figure = pnw.vcluster.plot_profiles(pnw_model.labels_)
    panels = visible_panels(figure)

    velocity_label = f"{pnw.attrs['long_name']} ({pnw.attrs['units']})"
    assert {panel.get_xlabel() for panel in panels if panel.get_xlabel()} == {
        velocity_label
    }
    assert panels[0].get_ylabel() == "depth below the surface (km)"
    top, bottom = panels[0].get_ylim()
    assert top > bottom == 0.0
    assert top == 60.0


def test_panels_share_axes(pnw, pnw_model):
    panels = visible_panels(pnw.vcluster.plot_profiles(pnw_model.labels_))
    assert len({panel.get_xlim() for panel in panels}) == 1
    assert len({panel.get_ylim() for panel in panels}) == 1
    assert all(panels[0].get_shared_x_axes().joined(panels[0], p) for p in panels)


def test_members_drawn_in_the_map_colours(pnw, pnw_model):
    panels = visible_panels(pnw.vcluster.plot_profiles(pnw_model.labels_))
    assert [member_colour(panel) for panel in panels] == cluster_colours(5)


def test_labels_alone_draw_the_member_mean_from_the_data(pnw, pnw_model):
    panels = visible_panels(pnw.vcluster.plot_profiles(pnw_model.labels_))
    profiles = pnw.vcluster.profiles(zrange=(0, 60), dz=2.0)
    for cluster, panel in enumerate(panels):
        (mean_line,) = bold_lines(panel)
        expected = profiles.where(pnw_model.labels_ == cluster).mean(
            ["latitude", "longitude"]
        )
        np.testing.assert_allclose(mean_line.get_xdata(), expected, rtol=1e-5)
        np.testing.assert_allclose(mean_line.get_ydata(), profiles["depth"])


def test_a_model_or_its_result_draws_the_centres(pnw, pnw_model):
    for clusters in (pnw_model, pnw_model.result()):
        figure = plot_profiles(pnw, clusters)
        for cluster, panel in enumerate(visible_panels(figure)):
            (centre_line,) = bold_lines(panel)
            np.testing.assert_allclose(
                centre_line.get_xdata(), pnw_model.centres_.sel(cluster=cluster)
            )
        legend = [text.get_text() for text in figure.legends[0].get_texts()]
        assert legend == ["members", "centre"]


def test_som_result_draws_node_weight_and_member_mean(pnw, pnw_model):
    result = pnw_model.result()
    result["member_means"] = result["centres"] + 0.25
    result["labels"].attrs["method"] = "som"

    figure = plot_profiles(pnw, result)
    for cluster, panel in enumerate(visible_panels(figure)):
        node_weight, member_mean = bold_lines(panel)
        np.testing.assert_allclose(
            node_weight.get_xdata(), result["centres"].sel(cluster=cluster)
        )
        np.testing.assert_allclose(
            member_mean.get_xdata(), result["member_means"].sel(cluster=cluster)
        )
        assert node_weight.get_linestyle() != member_mean.get_linestyle()
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["members", "node weight", "member mean"]


def test_dask_and_transposed_models_draw_the_same_panels(pnw, pnw_model):
    reference = plot_profiles(pnw, pnw_model.labels_)
    for model in (
        pnw.chunk({"latitude": 40}),
        pnw.transpose("longitude", "depth", "latitude"),
    ):
        figure = plot_profiles(model, pnw_model.labels_)
        for expected, panel in zip(
            visible_panels(reference), visible_panels(figure), strict=True
        ):
            assert panel.get_title() == expected.get_title()
            np.testing.assert_allclose(
                bold_lines(panel)[0].get_xdata(),
                bold_lines(expected)[0].get_xdata(),
                rtol=1e-6,
            )


def test_missing_profiles_are_left_out_of_panels(delph, delph_model):
    figure = delph.vcluster.plot_profiles(delph_model.labels_)
    titles = [panel.get_title() for panel in visible_panels(figure)]
    assert titles == [
        f"cluster {c}: {n:,} profiles" for c, n in enumerate(delph_model.counts_.values)
    ]
    assert visible_panels(figure)[0].get_ylim() == (60.0, 0.0)


def test_two_clusters_sit_in_one_row(make_model):
    vs = make_model(2)
    labels = xvcluster.KMeans(2).fit(vs).labels_
    panels = visible_panels(plot_profiles(vs, labels))
    assert len(panels) == 2
    assert {panel.get_subplotspec().rowspan.start for panel in panels} == {0}


def test_twenty_five_clusters_get_distinct_colours(pnw):
    cells = np.arange(pnw.sizes["latitude"] * pnw.sizes["longitude"]) % 25
    labels = xr.DataArray(
        cells.reshape(pnw.sizes["latitude"], pnw.sizes["longitude"]).astype("int32"),
        coords={"latitude": pnw["latitude"], "longitude": pnw["longitude"]},
    )
    figure = plot_profiles(pnw, labels, max_members=20)
    panels = visible_panels(figure)

    assert len(panels) == 25
    assert len(figure.axes) == 25  # a 5 x 5 grid, nothing left over
    colours = [member_colour(panel) for panel in panels]
    assert colours == cluster_colours(25)
    assert len(set(colours)) == 25


def test_bad_clusters_are_refused(pnw, pnw_model):
    with pytest.raises(xvcluster.InputError, match="give labels"):
        plot_profiles(pnw, "labels")
    with pytest.raises(xvcluster.InputError, match="dims"):
        plot_profiles(pnw, pnw_model.labels_.rename(latitude="y"))


# -------------------------------------------------------------------- knee


def test_knee_curve_shows_raw_and_smoothed_inertia_and_the_knee():
    inertia = [10.0, 5.0, 2.0, 1.6, 1.4, 1.3]
    smoothed = np.array([9.5, 5.5, 2.3, 1.6, 1.4, 1.3])
    curve = elbow_dataset(range(2, 8), inertia, smoothed, knee=4)

    figure = xvcluster.plot_elbow(curve)
    (panel,) = figure.axes
    lines = {line.get_label(): line for line in panel.get_lines()}

    np.testing.assert_allclose(lines["inertia"].get_ydata(), inertia)
    np.testing.assert_allclose(lines["smoothed"].get_ydata(), smoothed)
    assert list(lines["knee: k = 4"].get_xdata()) == [4]
    assert "k = 4" in panel.get_title()
    assert panel.get_xlabel() == "number of clusters"


def test_knee_curve_from_a_model_and_its_result(make_model):
    model = xvcluster.KMeans(None, krange=range(2, 7)).fit(make_model(3))
    for curve in (model, model.result(), model.elbow_):
        (panel,) = plot_elbow(curve).axes
        labels = [line.get_label() for line in panel.get_lines()]
        assert f"knee: k = {model.n_clusters_}" in labels
        assert "smoothed" not in labels


def test_knee_curve_needs_a_knee_search(pnw_model):
    with pytest.raises(xvcluster.InputError, match="n_clusters=None"):
        plot_elbow(pnw_model)


# --------------------------------------------------------------------- map


def map_colours(figure):
    (mesh,) = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    drawn = mesh.to_rgba(np.ma.compressed(mesh.get_array()))
    return {to_hex(colour, keep_alpha=False) for colour in drawn}


def legend_entries(figure):
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_static_map_uses_the_cluster_colours_and_counts(pnw_model, offline):
    figure = pnw_model.labels_.vcluster.plot_map()
    assert map_colours(figure) == set(cluster_colours(5))
    assert legend_entries(figure) == [
        f"cluster {c} ({n:,})" for c, n in enumerate(pnw_model.counts_.values)
    ]


def test_static_map_draws_coastlines_offline(pnw_model, offline):
    figure = plot_map(pnw_model.labels_)
    drawn = figure.axes[0].collections
    assert len(drawn) >= 2  # the clusters and the coastlines


def test_static_map_without_cartopy(pnw_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "cartopy.crs", None)
    figure = plot_map(pnw_model.labels_)
    (axes,) = [a for a in figure.axes if a.get_legend() is not None]
    longitude = pnw_model.labels_["longitude"].attrs
    assert axes.get_xlabel() == f"{longitude['long_name']} ({longitude['units']})"
    assert map_colours(figure) == set(cluster_colours(5))
    coastlines = [c for c in axes.collections if isinstance(c, LineCollection)]
    assert len(coastlines) == 1 and len(coastlines[0].get_segments()) > 0


def test_static_map_of_missing_profiles_leaves_them_blank(delph_model):
    figure = plot_map(delph_model.labels_)
    (mesh,) = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    assert np.ma.count_masked(mesh.get_array()) == int(
        (delph_model.labels_ == -1).sum()
    )


def test_static_map_of_a_node_layout(pnw_model):
    nodes = pnw_model.labels_.stack(node=("latitude", "longitude")).reset_index("node")
    figure = plot_map(nodes)
    (dots,) = figure.axes[0].collections[:1]
    assert len(dots.get_offsets()) == nodes.size


# ------------------------------------------------------------ geography


def test_longitudes_in_0_360_get_coastlines_in_0_360(pnw_model):
    labels = pnw_model.labels_
    shifted = labels.assign_coords(longitude=labels["longitude"] + 360.0)
    layout = map_layout(shifted)
    assert layout.longitude_360 and layout.bounds[0] > 180

    lon, _ = coastline(layout)
    drawn = lon[~np.isnan(lon)]
    assert drawn.size > 0 and drawn.min() >= 0 and drawn.max() <= 360
    assert map_colours(plot_map(shifted)) == set(cluster_colours(5))


def test_global_coastlines_break_at_the_seam():
    grid = xr.DataArray(
        np.zeros((18, 36), dtype="int32"),
        coords={"lat": np.arange(-85.0, 90, 10), "lon": np.arange(5.0, 360, 10)},
    )
    for layout in (map_layout(grid), None):
        lon, lat = coastline(layout)
        # No line jumps across the map, which would streak across it.
        assert np.nanmax(np.abs(np.diff(lon))) < 180
        np.testing.assert_array_equal(np.isnan(lon), np.isnan(lat))


def test_layouts_are_recognised(pnw_model, delph):
    labels = pnw_model.labels_
    assert map_layout(labels).kind == "grid"
    nodes = labels.stack(node=("latitude", "longitude")).reset_index("node")
    assert map_layout(nodes).kind == "nodes"
    plain_dims = labels.rename(latitude="j", longitude="i").drop_vars(["j", "i"])
    curvilinear = plain_dims.assign_coords(
        lat=(
            ("j", "i"),
            np.broadcast_to(labels["latitude"].values[:, None], labels.shape),
        ),
        lon=(("j", "i"), np.broadcast_to(labels["longitude"].values, labels.shape)),
    )
    assert map_layout(curvilinear).kind == "curvilinear"
    assert map_colours(plot_map(curvilinear)) == set(cluster_colours(5))


def test_a_map_needs_latitude_and_longitude(pnw_model):
    with pytest.raises(xvcluster.AxisError, match="latitude"):
        map_layout(pnw_model.labels_.rename(latitude="row").drop_vars("row"))


def test_fitted_som_draws_node_weights_and_member_means(make_model):
    vs = make_model(3)
    som = xvcluster.SOM((2, 2), iterations=500).fit(vs)
    figure = plot_profiles(vs, som)
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend == ["members", "node weight", "member mean"]
    for cluster, panel in enumerate(visible_panels(figure)):
        node_weight, member_mean = bold_lines(panel)
        np.testing.assert_allclose(
            node_weight.get_xdata(), som.centres_.sel(cluster=cluster)
        )
        np.testing.assert_allclose(
            member_mean.get_xdata(), som.member_means_.sel(cluster=cluster)
        )


def test_a_result_read_back_with_xarray_draws_like_the_fitted_one(
    delph, delph_model, tmp_path, offline
):
    # open_dataset decodes the labels' _FillValue (-1) to NaN, making them float.
    delph_model.to_netcdf(tmp_path / "run.nc")
    with xr.open_dataset(tmp_path / "run.nc") as result:
        assert result["labels"].dtype.kind == "f"
        read_back = plot_map(result["labels"])
        panels = visible_panels(delph.vcluster.plot_profiles(result))

    fitted = plot_map(delph_model.labels_)
    assert map_colours(read_back) == map_colours(fitted)
    assert legend_entries(read_back) == legend_entries(fitted)
    counts = delph_model.counts_.values
    assert [panel.get_title() for panel in panels] == [
        f"cluster {cluster}: {count:,} profiles" for cluster, count in enumerate(counts)
    ]


def test_static_map_of_lazy_labels_reads_them_once(pnw):
    from dask.callbacks import Callback

    model = xvcluster.KMeans(3, zrange=(0, 60), dz=5.0).fit(pnw)
    lazy = model.predict(pnw.chunk({"latitude": 30}))
    computes = []

    with Callback(start=lambda dsk: computes.append(len(dsk))):
        figure = plot_map(lazy, coastlines=False)

    assert len(computes) == 1
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    counts = model.counts_.values
    assert legend == [f"cluster {c} ({counts[c]:,})" for c in range(3)]
