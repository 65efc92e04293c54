"""``python -m tools.probe``: see `tools.probe.cli`."""

from __future__ import annotations

import sys

from tools.probe.cli import main

if __name__ == "__main__":
    sys.exit(main())
