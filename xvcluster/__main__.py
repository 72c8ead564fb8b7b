"""Run the xvcluster command: ``python -m xvcluster run``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
