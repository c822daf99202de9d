"""tinymed: deep learning for medical imaging, from scratch, in pure NumPy."""
from tinymed.random import manual_seed

__version__ = "0.1.0"
