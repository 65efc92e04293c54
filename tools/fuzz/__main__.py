"""``python -m tools.fuzz``: see `tools.fuzz`."""

import sys

from tools.fuzz.runner import main

sys.exit(main())
