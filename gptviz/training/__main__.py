"""Entry point of ``python -m gptviz.training``."""

import sys

from gptviz.training.cli import main

sys.exit(main())
