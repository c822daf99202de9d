"""tinymed: deep learning for medical imaging, from scratch, in pure NumPy.

    import tinymed as tm
    x = tm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""
from tinymed.autograd import Function, Tensor, get_default_dtype, no_grad, set_default_dtype
from tinymed.ops import concatenate, stack, tensor, where
from tinymed.gradcheck import GradcheckError, gradcheck
from tinymed.random import manual_seed
from tinymed.transfer import load, save

__version__ = "0.1.0"

__all__ = [
    "Function", "GradcheckError", "Tensor", "concatenate", "get_default_dtype", "gradcheck",
    "load", "manual_seed", "no_grad", "save", "set_default_dtype", "stack", "tensor", "where",
]
