"""PyTorch's function forms of the tensor methods: `tm.exp(x)` is `x.exp()`, `tm.sum(x, dim=1)`
is `x.sum(dim=1)`, `tm.maximum(a, b)` is `a.maximum(b)`. Each passes its arguments on to the
method of the same name, where they are checked and documented (see `tinymed.tensor_methods`).
"""
from tinymed.autograd import Tensor


def _tensor(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"tm.{name}: input must be a Tensor, got {type(input).__name__} (make one with tm.tensor)")
    return input


def _function_form(name, doc):
    """`tm.<name>(input, ...)`: input.<name>(...) once input is checked to be a Tensor."""

    def function_form(input, *args, **kwargs):
        return getattr(_tensor(name, input), name)(*args, **kwargs)

    function_form.__name__ = function_form.__qualname__ = name
    function_form.__doc__ = doc
    return function_form


exp = _function_form("exp", "e ** input, element-wise.")
log = _function_form("log", "Natural logarithm, element-wise.")
sqrt = _function_form("sqrt", "Square root, element-wise.")
abs = _function_form("abs", "Absolute value, element-wise.")
sin = _function_form("sin", "Sine, element-wise.")
cos = _function_form("cos", "Cosine, element-wise.")
tanh = _function_form("tanh", "Hyperbolic tangent, element-wise.")
sigmoid = _function_form("sigmoid", "1 / (1 + e ** -input), element-wise.")
relu = _function_form("relu", "max(input, 0), element-wise.")
clamp = _function_form("clamp", "clamp(input, min=None, max=None): input limited to [min, max].")
sum = _function_form("sum", "sum(input, dim=None, keepdim=False) (or axis=, keepdims=).")
mean = _function_form("mean", "mean(input, dim=None, keepdim=False) (or axis=, keepdims=).")
maximum = _function_form("maximum", "maximum(input, other): max(input, other) element-wise, broadcasting.")
minimum = _function_form("minimum", "minimum(input, other): min(input, other) element-wise, broadcasting.")


def matmul(input, other):
    """input @ other."""
    return _tensor("matmul", input) @ other
