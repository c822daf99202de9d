"""The rails of `nn.functional`: what a layer's input must be, checked once, where F receives it.

A layer's `forward` is one line that calls F; F asks here whether `x` can go in:

- `x` is a tinymed Tensor (a NumPy array is refused, with the fix: `tm.tensor(x)`);
- with weights: `x` is a float of the weights' dtype. tinymed never converts silently, so
  float64 data meeting float32 weights is a TypeError naming both; integer images
  (uint8 pixels 0-255) are refused with the fix, convert and scale: `x.float() / 255`.
  (PyTorch refuses both too: "expected scalar type Float but found Byte".)

When a layer (a Module) made the call, `Module.__call__` adds a note naming the layer to any
error, so the message says which F function refused what, and the note says in which layer.
"""
from tinymed.autograd import Tensor


def tensor_input(fn, x, weight=None, name="x"):
    """`x` must be a Tensor; with `weight` (a Tensor or None), also a float of weight's dtype.
    Returns x."""
    if not isinstance(x, Tensor):
        hint = " (wrap it with tm.tensor(x))" if hasattr(x, "__array__") else ""
        raise TypeError(f"{fn}: {name} must be a tinymed Tensor, got {type(x).__name__}{hint}")
    if weight is None or x.dtype == weight.dtype:
        return x
    if x.dtype.kind != "f":
        raise TypeError(
            f"{fn}: {name} holds {x.dtype} values but the weights are {weight.dtype}: convert and "
            f"scale integer images first, e.g. x.float() / 255 (pixels 0-255 to [0, 1])"
        )
    raise TypeError(
        f"{fn}: {name} is {x.dtype} but the weights are {weight.dtype}; convert one of them "
        f"(x.float() / x.double(), or model.float() / model.double())"
    )
