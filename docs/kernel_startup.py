"""Run by IPython at the start of every kernel that executes a page of the docs.

``docs/conf.py`` installs it as a startup file of a profile of its own (through
``IPYTHONDIR``), so the notebooks themselves stay as a user runs them:

- holoviews puts BokehJS, Panel and GeoViews into the page itself instead of
  linking them from their CDNs, so the interactive maps work offline and with
  the versions the notebook ran with;
- progress bars are off: on a static page they would show as stray lines of
  text (xvcluster draws them in any Jupyter kernel by default).
"""

import holoviews

import xvcluster

holoviews.extension.inline = True
xvcluster.set_options(progress=False)
