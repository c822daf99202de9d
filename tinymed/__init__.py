"""tinymed: deep learning for medical imaging, from scratch, in pure NumPy.

    import tinymed as tm
    x = tm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x

The submodules, one idea each: nn (layers, losses), optim, imbalance, data, datasets,
transfer, models, metrics, train; and, imported on demand, plots (matplotlib figures) and
testing (hypothesis strategies for graders; needs the test extra).
"""
from tinymed.autograd import Function, Tensor, get_default_dtype, no_grad, set_default_dtype
from tinymed.gradcheck import GradcheckError, gradcheck
from tinymed.tensor_methods import concatenate, stack, tensor, where
from tinymed.random import manual_seed
from tinymed.threads import get_num_threads, set_num_threads
from tinymed.transfer import load, save

from tinymed import data, datasets, imbalance, metrics, models, nn, optim, train, transfer  # noqa: E402,I001

__version__ = "0.1.0"

__all__ = [
    "Function", "GradcheckError", "Tensor", "concatenate", "get_default_dtype", "gradcheck",
    "get_num_threads", "load", "manual_seed", "no_grad", "save", "set_default_dtype", "set_num_threads", "stack", "tensor", "where",
    "data", "datasets", "imbalance", "metrics", "models", "nn", "optim", "train", "transfer",
]
