"""``python -m qlint``."""

from qlint.cli import run

run()
