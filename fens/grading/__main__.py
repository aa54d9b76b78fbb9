"""``python -m fens.grading ...``: the same as ``fens grade ...``."""

import sys

from fens.grading.cli import main

sys.exit(main())
