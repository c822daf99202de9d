"""`python -m tinymed.homework list | make | grade`: the homework command on its own."""
import sys

from tinymed.homework.cli import main

sys.exit(main())
