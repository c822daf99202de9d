"""tinymed: deep learning for medical imaging, from scratch, in pure NumPy.

    import tinymed as tm
    x = tm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

The submodules, one idea each: nn (layers, losses), optim, imbalance, data, datasets,
transfer, models, metrics, train, utils (torch.utils.data's names); and, imported on demand, plots (matplotlib figures) and
testing (hypothesis strategies for graders; needs the test extra).
"""
import numpy as _np

from tinymed.autograd import Function, Tensor, get_default_dtype, no_grad, set_default_dtype
from tinymed.grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from tinymed.graph import draw_graph
from tinymed.gradcheck import GradcheckError, gradcheck
from tinymed import tensor_methods  # noqa: F401  (puts the operators and methods on Tensor)
from tinymed.factories import (
    arange, as_tensor, cat, concatenate, cuda, device, empty, eye, from_numpy, full, full_like, linspace,
    ones, ones_like, rand, rand_like, randint, randn, randn_like, stack, tensor, where, zeros, zeros_like,
)
from tinymed.functions import (
    abs, clamp, cos, exp, log, matmul, maximum, mean, minimum, relu, sigmoid, sin, sqrt, sum, tanh,
)
from tinymed.random import manual_seed
from tinymed.threads import get_num_threads, set_num_threads
from tinymed.transfer import load, save

from tinymed import autograd, graph_lock  # noqa: E402  (tm.autograd.Function, tm.graph_lock.set_enabled)
from tinymed import data, datasets, imbalance, metrics, models, nn, optim, train, transfer, utils  # noqa: E402,I001

__version__ = "0.2.0"

# PyTorch's dtype names: tm.float32 is np.dtype("float32"), so `t.dtype == tm.float32` holds.
# (Last in this file: from here on `float`, `int` and `bool` name dtypes, not the builtins.)
float32 = float = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
int64 = long = _np.dtype(_np.int64)
int32 = int = _np.dtype(_np.int32)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)

__all__ = [
    "Function", "GradcheckError", "Tensor", "get_default_dtype", "gradcheck",
    "get_num_threads", "load", "manual_seed", "no_grad", "save", "set_default_dtype", "set_num_threads",
    "enable_grad", "is_grad_enabled", "set_grad_enabled", "draw_graph",
    # making tensors (tinymed.factories)
    "arange", "as_tensor", "cat", "concatenate", "empty", "eye", "from_numpy", "full", "full_like", "linspace",
    "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like", "stack", "tensor", "where",
    "zeros", "zeros_like", "device", "cuda",
    # function forms of tensor methods (tinymed.functions)
    "abs", "clamp", "cos", "exp", "log", "matmul", "maximum", "mean", "minimum", "relu", "sigmoid", "sin",
    "sqrt", "sum", "tanh",
    # dtypes
    "bool", "double", "float", "float32", "float64", "int", "int32", "int64", "long", "uint8",
    "autograd", "graph_lock", "data", "datasets", "imbalance", "metrics", "models", "nn", "optim", "train",
    "transfer", "utils",
]
