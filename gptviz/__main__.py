"""Entry point of ``python -m gptviz``; the same command line as ``gptviz``."""

import sys

from gptviz.cli import main

sys.exit(main())
