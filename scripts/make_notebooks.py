"""Write the tutorial notebooks in ``notebooks/`` from the cells below.

Usage::

    python scripts/make_notebooks.py            # (re)write notebooks/*.ipynb
    python scripts/make_notebooks.py --check    # exit 1 if a notebook differs

The notebooks are kept here as plain Python so that a change to one reads as a
diff of text, and they are written without outputs: the documentation build
executes them (myst-nb), so every output on the site comes from the library as
it is. Edit the cells here, run this script, commit both.

A cell is a string; ``md(...)`` makes a Markdown cell and ``code(...)`` a code
cell (further arguments are cell tags that myst-nb reads, e.g. ``remove-stderr``).
Text is dedented and stripped, so cells can be indented like the code.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def md(text: str) -> nbformat.NotebookNode:
    """A Markdown cell."""
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    """A code cell, with cell tags for the docs build (e.g. ``remove-stderr``)."""
    cell = nbformat.v4.new_code_cell(textwrap.dedent(text).strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


QUICKSTART = [
    md(
        """
        # Quickstart: provinces of the Pacific Northwest crust

        A 3-D velocity model is a stack of 1-D profiles: at every grid node, shear
        velocity as a function of depth. Nodes whose profiles look alike (the same
        sediment thickness, the same crustal velocities, the same Moho depth)
        belong to the same structural province. xvcluster groups the profiles of
        a model into such provinces, straight from an `xarray.DataArray`, and
        draws them.

        This notebook walks through one complete run on the model that ships with
        the package, so it needs no download:

        1. open the model and look at what is in it;
        2. let a knee search choose the number of clusters *k*;
        3. look at the clusters as profiles and on an interactive map;
        4. keep the fitted model, save it, load it back, and reuse it.

        It runs in a few seconds.
        """
    ),
    code(
        """
        import holoviews as hv
        import matplotlib.pyplot as plt

        import xvcluster  # importing it adds the .vcluster accessor to DataArrays

        # Load bokeh into the page, for the interactive maps further down.
        hv.extension("bokeh", logo=False)
        """
    ),
    md(
        """
        ## The model

        `xvcluster.open_example()` opens PNW10-S, the ambient-noise shear-velocity
        model of the Cascadia subduction zone by Porritt et al. (2011), as
        distributed by the IRIS Earth Model Collaboration. It is an ordinary
        `xarray.Dataset`: whatever you would do with a model you opened yourself
        with `xr.open_dataset("model.nc")` works the same way.
        """
    ),
    code(
        """
        model = xvcluster.open_example()
        model
        """
    ),
    md(
        """
        The velocity is the variable `vs`, in km/s, on 41 depths from 0 to 100 km
        every 2.5 km and a 0.1-degree grid. If you use the model, cite it:
        """
    ),
    code(
        """
        print(model.attrs["citation"])
        vs = model["vs"]
        """
    ),
    md(
        """
        Every grid node is one profile. Here are a few, from the coast to the
        Basin and Range, to see what the clustering will compare:
        """
    ),
    code(
        """
        figure, panel = plt.subplots(figsize=(4, 5), layout="constrained")
        for longitude in (-124.0, -122.0, -120.0, -117.0):
            profile = vs.sel(latitude=45.0, longitude=longitude, method="nearest")
            profile.plot(y="depth", ax=panel, label=f"{longitude:g}°E")
        panel.invert_yaxis()
        panel.set_title("Profiles at 45°N")
        panel.legend();
        """
    ),
    md(
        """
        ## How many provinces? The knee of the inertia curve

        k-means needs the number of clusters, *k*. A common way to choose it is to
        fit k-means for a range of *k* and plot the inertia (the mean squared
        distance from each profile to its cluster's centre) against *k*. Inertia
        always falls as *k* grows; the *knee* of that curve is where adding
        clusters stops paying off.

        Pass `None` as *k* and xvcluster searches `krange` for the knee (with the
        [kneed](https://kneed.readthedocs.io) algorithm) and returns the labels of
        the fit at the knee. Two more choices shape every clustering:

        - `zrange=(0, 60)`: the depth window, in km below the surface. Here the
          crust and the uppermost mantle, where PNW10-S is best resolved.
        - `dz=2.0`: the profiles are resampled every 2 km (linear interpolation
          along depth only), so that every depth counts the same in the distance.
        """
    ),
    code(
        """
        labels = vs.vcluster.kmeans(None, krange=range(2, 13), zrange=(0, 60), dz=2.0)
        labels
        """
    ),
    md(
        """
        The labels are a `DataArray` on the model's own latitude and longitude.
        Clusters are numbered by the mean velocity of their centre, slowest first,
        so cluster 0 is always the slowest province and the numbers do not change
        from one run to the next. `-1` would mark a profile left out because of
        missing values (PNW10-S has none). The attributes record the method and
        every parameter, so a saved label file says how it was made.

        The curve itself, with the chosen *k* marked:
        """
    ),
    code(
        """
        curve = vs.vcluster.elbow(krange=range(2, 13), zrange=(0, 60), dz=2.0)
        xvcluster.plot_elbow(curve);
        """
    ),
    md(
        """
        The knee is a guide, not a law: if your question needs finer provinces,
        pick a larger *k* and pass it directly, e.g. `vs.vcluster.kmeans(8, ...)`.

        ## What the clusters are: profile panels

        One panel per cluster: member profiles faint (at most 200 drawn per
        panel), the cluster centre and the mean of its members bold, depth
        increasing downward. This is the figure that tells you whether the
        clusters mean something geologically.
        """
    ),
    code(
        """
        vs.vcluster.plot_profiles(labels);
        """
    ),
    md(
        """
        ## Where the clusters are: an interactive map

        `labels.vcluster.map()` draws the clusters with geoviews and bokeh: pan,
        zoom with the mouse wheel, hover for the longitude, latitude and cluster
        of a node. Each cluster has the same colour as in the profile panels. The
        coastlines ship with xvcluster; add a basemap with e.g.
        `tiles="EsriImagery"` (satellite) or `tiles="OSM"`, which the browser then
        fetches when the map is shown.
        """
    ),
    code(
        """
        labels.vcluster.map()
        """
    ),
    md(
        """
        `xvcluster.save_html(figure, "map.html")` writes a map as one standalone
        HTML file that opens offline, and `labels.vcluster.plot_map()` draws a
        static one with matplotlib, for a paper.

        ## The model object: fit once, keep everything

        The accessor calls return labels. To keep the centres, member counts and
        inertia, and to reuse the clustering, fit a `xvcluster.KMeans` yourself.
        It takes the same parameters; `fit` returns the fitted model.
        """
    ),
    code(
        """
        kmeans = xvcluster.KMeans(int(labels.max()) + 1, zrange=(0, 60), dz=2.0)
        kmeans.fit(vs)
        print(f"k = {kmeans.n_clusters_}, inertia = {kmeans.inertia_:.4f} (km/s)²")
        kmeans.counts_.to_series()
        """
    ),
    md(
        """
        The centres are profiles too, a `(cluster, depth)` DataArray with depth in
        km below the surface:
        """
    ),
    code(
        """
        centres = kmeans.centres_
        centres.plot.line(y="depth", hue="cluster", yincrease=False, figsize=(4, 5));
        """
    ),
    md(
        """
        `result()` gathers everything, labels, centres, counts and parameters, in
        one `xarray.Dataset`, ready for your own analysis or for `to_netcdf`:
        """
    ),
    code(
        """
        kmeans.result()
        """
    ),
    md(
        """
        ## Save, load, predict

        `to_netcdf` writes the fitted model as a plain netCDF file (the parameters
        as JSON text; loading it runs no code), and `xvcluster.load_model` reads it
        back as a model that predicts exactly as before. `predict` assigns each
        profile of any model, this one or another region sampled over the same
        depth window, to the nearest centre. We write to a temporary folder here;
        use any path of yours.
        """
    ),
    code(
        """
        import tempfile
        from pathlib import Path

        path = Path(tempfile.mkdtemp()) / "pnw10s-kmeans.nc"
        kmeans.to_netcdf(path)

        loaded = xvcluster.load_model(path)
        again = loaded.predict(vs)
        same = (again == kmeans.labels_).all().item()
        print("same labels after the round trip:", same)
        """
    ),
    md(
        """
        ## Where next

        - [k-means or a self-organising map?](kmeans-vs-som.ipynb) compares the two
          methods on this model and on the global mantle model S362ANI+M.
        - [A model larger than memory](large-model.ipynb) clusters half a million
          profiles from a file on disk, lazily, on a local dask cluster.
        - On your own model: `vs = xr.open_dataset("model.nc", chunks={})["vs"]`,
          then the same calls. Latitude, longitude and depth are found from the
          file's attributes and names, in any order, in km or m.
        - From a shell, `xvcluster run model.nc --var vs --zrange 0 60 --dz 2`
          does this whole notebook and writes the results and figures to a folder.

        *Reference:* Porritt, R. W., Allen, R. M., Boyarko, D. C., & Brudzinski,
        M. R. (2011). Investigation of Cascadia segmentation with ambient noise
        tomography. *Earth and Planetary Science Letters*, 309(1-2), 67-76.
        doi:10.1016/j.epsl.2011.06.026. IRIS EMC, doi:10.17611/DP/9991680.
        """
    ),
]


KMEANS_VS_SOM = [
    md(
        """
        # k-means or a self-organising map?

        xvcluster offers two ways to group profiles, and they answer different
        questions.

        - **k-means** answers *"which few provinces does this model contain, and
          what is the typical profile of each?"* It splits the profiles into *k*
          groups, each summarised by its centre: the profile that is closest, on
          average, to its members.
        - **A self-organising map (SOM)** answers *"how are the profiles arranged,
          and which kinds grade into which?"* It lays a small grid of nodes over
          the profiles, each node a profile of its own, trained so that
          neighbouring nodes hold similar profiles. Every profile goes to its
          nearest node, so the nodes act as many fine clusters, and the grid's
          layout shows which of them are near one another. The *U-matrix*, the
          mean distance from each node to its neighbours, shows where the map
          stretches across a gap between families of profiles.

        We run both on two bundled models of very different scales: PNW10-S, the
        crust of the Pacific Northwest (0.1°, 0-100 km), and S362ANI+M, the
        whole mantle of the Earth (2°, 25-2890 km), then ask how far the two
        methods agree. The notebook takes under a minute.
        """
    ),
    code(
        """
        import holoviews as hv
        import matplotlib.pyplot as plt
        import pandas as pd
        from sklearn.metrics import adjusted_rand_score

        import xvcluster

        hv.extension("bokeh", logo=False)
        """
    ),
    md(
        """
        ## A regional model: PNW10-S

        The same window as in the [quickstart](quickstart.ipynb): 0-60 km every
        2 km. For k-means we take *k* = 5, close to the knee found there.
        """
    ),
    code(
        """
        pnw = xvcluster.open_example("PNW10-S")["vs"]
        window = {"zrange": (0, 60), "dz": 2.0}

        pnw_kmeans = xvcluster.KMeans(5, **window).fit(pnw)
        vs_panels = pnw.vcluster.plot_profiles(pnw_kmeans)
        """
    ),
    md(
        """
        For the SOM we choose a 3 x 3 grid: nine nodes, almost twice as many
        groups as k-means, which is the usual way to use a SOM (many nodes,
        then look at how they are arranged). Without `grid`, xvcluster sizes the
        grid from the number of profiles, `ceil(N ** 0.25)` a side, which would
        be 9 x 9 here. The SOM is trained one profile at a time for
        `iterations` steps; 20,000 is plenty for 5,777 profiles.

        A SOM's clusters are its populated nodes, numbered like k-means clusters
        (slowest centre first), so the same plotting calls apply.
        """
    ),
    code(
        """
        pnw_som = xvcluster.SOM((3, 3), iterations=20_000, **window).fit(pnw)
        pnw.vcluster.plot_profiles(pnw_som);
        """
    ),
    md(
        """
        The two maps together: `+` lays out holoviews objects side by side, and
        `.cols(1)` stacks them. Each map zooms on its own.
        """
    ),
    code(
        """
        (
            pnw_kmeans.labels_.vcluster.map(size=450, title="PNW10-S, k-means")
            + pnw_som.labels_.vcluster.map(size=450, title="PNW10-S, SOM 3 x 3")
        ).cols(1)
        """
    ),
    md(
        """
        ### Reading the SOM: node positions and the U-matrix

        Each SOM cluster keeps its node's position on the grid (`node_x`,
        `node_y`). The U-matrix is small, one value per node; large values mark
        nodes far from their neighbours, a boundary between families of
        profiles. Below, each node is labelled with its cluster number.
        """
    ),
    code(
        '''
        def show_umatrix(som, title):
            """Draw a fitted SOM's U-matrix, each node marked with its cluster."""
            figure, panel = plt.subplots(figsize=(4, 3.5), layout="constrained")
            som.umatrix_.plot(ax=panel, x="grid_x", y="grid_y", cmap="bone_r")
            nodes = som.centres_
            for cluster, x, y in zip(
                nodes["cluster"].values,
                nodes["node_x"].values,
                nodes["node_y"].values,
                strict=True,
            ):
                panel.text(x, y, str(cluster), ha="center", va="center", color="red")
            panel.set_title(title)
            return figure


        show_umatrix(pnw_som, "PNW10-S: U-matrix, cluster of each node");
        '''
    ),
    md(
        """
        ### How far do they agree?

        A cross-tabulation counts the profiles that fall in each pair (k-means
        cluster, SOM cluster). The adjusted Rand index (ARI) sums it up: 1 when
        the two partitions are the same up to numbering, about 0 when they agree
        no more than chance would. Because the SOM has more groups, a SOM node
        that sits wholly inside one k-means cluster is agreement, not
        disagreement: read the table row by row.
        """
    ),
    code(
        '''
        def agreement(kmeans, som):
            """Print the adjusted Rand index of two fits; return their cross-tab."""
            first = kmeans.labels_.values.ravel()
            second = som.labels_.values.ravel()
            table = pd.crosstab(
                pd.Series(first, name="k-means"),
                pd.Series(second, name="SOM"),
            )
            print(f"adjusted Rand index: {adjusted_rand_score(first, second):.2f}")
            return table


        agreement(pnw_kmeans, pnw_som)
        '''
    ),
    md(
        """
        ## A global model: S362ANI+M

        S362ANI+M (Moulik & Ekström, 2014) is a model of the whole mantle on a
        2-degree grid: 16,471 profiles from 25 to 2890 km. The file stores the
        isotropic shear velocity as the variable `v`, with units `kmps`; xvcluster
        reads both as they are, nothing needs renaming. Its depths are uneven:
        every 25 km near the top, every 250 km in the lower mantle.
        """
    ),
    code(
        """
        mantle_model = xvcluster.open_example("S362ANI+M")
        print(mantle_model.attrs["citation"])
        mantle = mantle_model["v"]
        mantle["depth"].values
        """
    ),
    md(
        """
        Most lateral variation in the mantle sits in the top few hundred
        kilometres: old, cold continental roots are fast, ridges and back-arcs are
        slow. We cluster the upper mantle, 25-400 km, resampled every 25 km (the
        model's own spacing at the top; without `dz` the coarse deep samples would
        count as much as the fine shallow ones).

        One more thing to keep in mind: on a regular latitude-longitude grid the
        nodes crowd together towards the poles, so high latitudes weigh more in
        the fit than their area does.
        """
    ),
    code(
        """
        upper_mantle = {"zrange": (25, 400), "dz": 25.0}

        mantle_kmeans = xvcluster.KMeans(5, **upper_mantle).fit(mantle)
        mantle.vcluster.plot_profiles(mantle_kmeans);
        """
    ),
    code(
        """
        mantle_som = xvcluster.SOM((3, 3), iterations=20_000, **upper_mantle)
        mantle_som.fit(mantle)
        mantle.vcluster.plot_profiles(mantle_som);
        """
    ),
    code(
        """
        (
            mantle_kmeans.labels_.vcluster.map(size=340, title="S362ANI+M, k-means")
            + mantle_som.labels_.vcluster.map(size=340, title="S362ANI+M, SOM 3 x 3")
        ).cols(1)
        """
    ),
    md(
        """
        The maps are drawn in Web Mercator, the projection of web basemaps, which
        stops at 85° of latitude and stretches the high latitudes.
        """
    ),
    code(
        """
        show_umatrix(mantle_som, "S362ANI+M: U-matrix, cluster of each node")
        agreement(mantle_kmeans, mantle_som)
        """
    ),
    md(
        """
        ## Which one to use

        - Use **k-means** when you want a handful of provinces with a typical
          profile each, for a map in a paper or to compare with geology. Choose *k*
          with the knee search, then check the profile panels.
        - Use a **SOM** to explore: many nodes that grade into one another, their
          arrangement on the grid and the U-matrix showing which groups of
          profiles are close and where the sharp boundaries are. Its quality is
          summed up by `quantisation_error_` (mean distance from a profile to its
          node) and `topographic_error_` (share of profiles whose two nearest
          nodes are not neighbours on the grid).
        - The two tend to agree on the large structures; where a k-means cluster
          spreads over several SOM nodes, the SOM is showing gradations within a
          province.
        """
    ),
    code(
        """
        for name, som in [("PNW10-S", pnw_som), ("S362ANI+M", mantle_som)]:
            print(
                f"{name}: quantisation error {som.quantisation_error_:.3f} km/s, "
                f"topographic error {som.topographic_error_:.2f}"
            )
        """
    ),
    md(
        """
        ## Where next

        - Every SOM setting (`sigma`, `learning_rate`, `iterations`) and k-means
          setting is described in the API reference of `xvcluster.SOM` and
          `xvcluster.KMeans`.
        - Both models save and load alike: `som.to_netcdf("som.nc")`, then
          `xvcluster.load_model("som.nc")`, which keeps the node weights and the
          U-matrix.
        - [A model larger than memory](large-model.ipynb) shows k-means on half a
          million profiles read lazily from disk.

        *References:* Porritt, R. W., Allen, R. M., Boyarko, D. C., & Brudzinski,
        M. R. (2011), *EPSL* 309, 67-76, doi:10.1016/j.epsl.2011.06.026 (IRIS EMC,
        doi:10.17611/DP/9991680). Moulik, P., & Ekström, G. (2014). An anisotropic
        shear velocity model of the Earth's mantle using normal modes, body waves,
        surface waves and long-period waveforms. *Geophysical Journal
        International*, 199(3), 1713-1738, doi:10.1093/gji/ggu356 (IRIS EMC,
        doi:10.17611/DP/EMC.1).
        """
    ),
]


LARGE_MODEL = [
    md(
        """
        # A model larger than memory, on a dask cluster

        Regional models at high resolution and global models at fine spacing
        reach millions of profiles, more than you want to hold in memory at once.
        xvcluster works on such models without loading them: open the file lazily
        with dask, and k-means reads it chunk by chunk, on a laptop or on a
        `dask.distributed` cluster.

        We need a large model with a known answer. `xvcluster.synthetic_model`
        builds one: planted provinces, each with its own crust-and-mantle
        profile, every node its province's profile plus noise. The province of
        every node is stored beside the velocities, so we can check what the
        clustering recovers. This notebook writes one of 480,000 profiles to a
        temporary folder and clusters it on a local cluster of two single-thread
        workers; it takes about a minute on two cores.
        """
    ),
    code(
        """
        import tempfile
        import time
        from pathlib import Path

        import holoviews as hv
        import xarray as xr
        from dask.distributed import Client, LocalCluster
        from sklearn.metrics import adjusted_rand_score

        import xvcluster

        # Long steps (the fit) draw progress bars in Jupyter, as widgets when
        # ipywidgets is installed; xvcluster.set_options(progress=False) hides them.
        hv.extension("bokeh", logo=False)
        """
    ),
    md(
        """
        ## Build the model on disk, band by band

        With `chunks=50` the model is built lazily in bands of 50 latitude rows,
        and `to_netcdf` computes and writes one band at a time: a model far
        larger than memory is written the same way. The values do not depend on
        the chunking, and the same seed always gives the same model.
        """
    ),
    code(
        """
        synthetic = xvcluster.synthetic_model(8, nlat=600, nlon=800, seed=0, chunks=50)
        synthetic
        """
    ),
    code(
        """
        folder = Path(tempfile.mkdtemp())
        path = folder / "synthetic.nc"
        synthetic.to_netcdf(path)
        print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB")
        """
    ),
    md(
        """
        ## A local dask cluster

        `LocalCluster` starts worker processes on this machine; `Client` makes it
        the scheduler of every dask computation that follows, xvcluster's
        included. On a real cluster you would connect the `Client` to its
        scheduler instead (e.g. with dask-jobqueue on a batch system), and the
        code below would not change.
        """
    ),
    code(
        """
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=":0",  # its dashboard on any free port
        )
        client = Client(cluster)
        client
        """
    ),
    md(
        """
        ## Open lazily

        `chunks={"latitude": 100}` opens the file with dask, in bands of 100
        latitude rows: nothing is read yet, only the file's layout. Keep depth in
        one chunk (the default here): every profile then lies in one chunk.
        """
    ),
    code(
        """
        model = xr.open_dataset(path, chunks={"latitude": 100})
        vs = model["vs"]
        vs
        """
    ),
    md(
        """
        Declaring the clustering reads nothing either: `KMeans(...)` only checks
        and stores its parameters. Data is read when `fit` is called.
        """
    ),
    code(
        """
        kmeans = xvcluster.KMeans(8, engine="auto")
        print("velocities held as", type(vs.data).__module__, type(vs.data).__name__)
        print("fitted yet:", hasattr(kmeans, "labels_"))
        """
    ),
    md(
        """
        ## Fit

        `engine="auto"` chooses how to fit. When a dask-backed model's profiles
        exceed 256 MiB (`xvcluster.kmeans.BLOCKWISE_BYTES`, about 1.3 million
        profiles of 50 float32 depths), it fits *block by block*: each iteration
        of k-means reads the chunks once on the workers and brings back only, per
        cluster, a sum and a count, so memory follows the chunk size, not the
        model size. Below that size it gathers the profiles into this process's
        memory once and iterates there. Our 480,000 profiles take 92 MiB, so
        `auto` gathers them; `engine="blockwise"` asks for the block-by-block fit
        whatever the size, the way a model larger than memory is fitted, and
        gives the same partition. The times printed are this page's own run.
        """
    ),
    code(
        """
        print(f"profiles: {vs.nbytes / 2**20:.0f} MiB")

        start = time.perf_counter()
        kmeans.fit(vs)
        print(f"engine='auto': {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        blockwise = xvcluster.KMeans(8, engine="blockwise").fit(vs)
        print(f"engine='blockwise': {time.perf_counter() - start:.1f} s")
        print("same partition:", bool((blockwise.labels_ == kmeans.labels_).all()))
        """
    ),
    md(
        """
        ## Predict lazily

        `predict` on a dask-backed model returns lazy labels: a task graph,
        computed block by block only when asked for, e.g. by `to_netcdf`, a plot,
        or `.compute()`. Use it to label another model, or a larger or finer
        version of this one, with the centres fitted here.
        """
    ),
    code(
        """
        labels = kmeans.predict(vs)
        print(type(labels.data).__name__, labels.data.chunksize)
        labels = labels.compute()
        labels
        """
    ),
    md(
        """
        ## Did it find the planted provinces?

        The adjusted Rand index compares the labels with the stored provinces: 1
        means the same partition up to numbering. Since xvcluster numbers
        clusters by the mean velocity of their centre, slowest first, the rule the
        synthetic model numbers its provinces by, here the numbers match too.
        """
    ),
    code(
        """
        planted = model["province"].values.ravel()
        found = labels.values.ravel()
        print(f"adjusted Rand index: {adjusted_rand_score(planted, found):.4f}")
        print(f"nodes with the planted number: {(planted == found).mean():.2%}")
        """
    ),
    md(
        """
        The map of 480,000 nodes is rasterised to the size of the plot, so it
        stays light in the page.
        """
    ),
    code(
        """
        labels.vcluster.map(size=450, title="synthetic model, k-means (k = 8)")
        """
    ),
    md(
        """
        ## Close the cluster

        Shut the workers down when done, and remove the temporary file.
        """
    ),
    code(
        """
        client.close()
        cluster.close()
        model.close()
        path.unlink()
        folder.rmdir()
        """,
        # On a busy machine the nanny may log that it had to stop a worker.
        "remove-stderr",
    ),
    md(
        """
        ## How it scales

        A block-by-block fit makes passes over the data until the centres settle
        (at most `max_iter`, 50 by default), each pass reading every profile
        once: the cost of a pass grows in proportion to the number of profiles
        and shrinks with more workers, while memory stays that of a few chunks
        per worker, whatever the size of the model. How many passes a model
        needs depends on its data. To measure it on your machine, run
        `python benchmarks/run.py --workload 4` in the xvcluster repository: it
        times synthetic models of 250,000, 1 million and 4 million profiles,
        with scikit-learn beside xvcluster.

        ## Where next

        - On your own large model: `xr.open_dataset("model.nc", chunks={...})`
          with depth in one chunk, then `xvcluster.KMeans(k).fit(vs)`; choose
          `k` first on a subsample with `spacing=4` (every 4th node each way) and
          a knee search.
        - From a shell, `xvcluster run model.nc --k 8 --engine blockwise` does the
          same in a batch job.
        - Back to the [quickstart](quickstart.ipynb), or to
          [k-means or a self-organising map?](kmeans-vs-som.ipynb).
        """
    ),
]


def build(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A notebook of these cells, with no outputs."""
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=METADATA)
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number:02d}"
    return notebook


NOTEBOOK_CELLS = {
    "quickstart.ipynb": QUICKSTART,
    "kmeans-vs-som.ipynb": KMEANS_VS_SOM,
    "large-model.ipynb": LARGE_MODEL,
}


def main(argv: list[str] | None = None) -> int:
    """Write the notebooks, or with ``--check`` report those that differ."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing")
    args = parser.parse_args(argv)

    stale = []
    NOTEBOOKS.mkdir(exist_ok=True)
    for name, cells in NOTEBOOK_CELLS.items():
        text = nbformat.writes(build(cells)) + "\n"
        path = NOTEBOOKS / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        sys.stderr.write(f"Out of date: {', '.join(stale)}; run {sys.argv[0]}.\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
