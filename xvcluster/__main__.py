"""Run the xvcluster command: ``python -m xvcluster run``."""

import sys

from .cli import main

sys.exit(main())
