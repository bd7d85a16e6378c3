"""Entry point of ``python -m gptviz.train``, the same command as ``python -m gptviz.training``."""

from gptviz.training.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
