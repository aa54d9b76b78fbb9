"""``python -m fens.grading ...``: the same as ``fens grade ...``."""

import sys

from fens.grading.cli import main

if __name__ == "__main__":  # not when a tool walks the package's modules
    sys.exit(main())
