"""`python -m tinymed ...` runs the command line (see tinymed.cli)."""
import sys

from tinymed.cli import main

sys.exit(main())
