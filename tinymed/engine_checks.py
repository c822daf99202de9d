"""The engine's rails: checks of what users and Functions hand to `tinymed.autograd`.

A reader of the engine can skip this file: each check below turns a mistake that would give a
wrong number or a NumPy traceback deep inside an op into an error that names the mistake and the
fix. Tensor data is checked once, when a Tensor is made; a backward's arguments and each
Function's returned gradients are checked as the walk meets them.
"""
import math

import numpy as np

from tinymed import graph_lock, grad_mode

# ---------------------------------------------------------------------------------------------
# Making a tensor
# ---------------------------------------------------------------------------------------------


def as_array(data, dtype, default_dtype):
    """The array a new Tensor holds (always a copy), with PyTorch's dtype inference: NumPy
    arrays and scalars keep their dtype; Python floats become `default_dtype`, ints int64, bools
    bool (a list takes the kind of its widest element)."""
    if dtype is not None:
        dtype = numeric_dtype(dtype, "Tensor: dtype")
    data = _unwrap(data)
    try:
        array = np.array(data)
    except ValueError as e:
        raise ValueError(f"Tensor: cannot make an array of this {type(data).__name__} (nested lists must "
                         f"all have the same length at each depth): {e}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: data must be numbers or bools, got {type(data).__name__} of dtype {array.dtype}")
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        dtype = {"f": default_dtype, "b": np.dtype(bool)}.get(array.dtype.kind, np.dtype(np.int64))
    return array if dtype is None or dtype == array.dtype else check_fits(array, dtype, "Tensor")


def _unwrap(data):
    """A tensor, or tensors inside (nested) lists, become their arrays."""
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return np.asarray(data) if hasattr(data, "grad_fn") else data


def numeric_dtype(dtype, name):
    """A dtype a Tensor may hold: float32, float64, an integer type or bool -> np.dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or not (dt.kind in "biu" or dt in (np.dtype(np.float32), np.dtype(np.float64))):
        raise TypeError(f"{name} must be float32, float64, an integer type or bool, got {dtype!r}")
    return dt


def check_fits(array, dtype, name):
    """`array` cast to `dtype`, refusing a finite value that the cast would turn into inf
    (float64's 1e40 in float32): the cast for `Tensor(data, dtype)` and for `.float()`."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = array.astype(dtype)
    if out.dtype.kind == "f" and array.dtype.kind in "fiu":
        bad = np.isinf(out) & np.isfinite(array)
        if bad.any():
            value = array[bad].flat[0]
            raise ValueError(f"{name}: the value {value:.6g} does not fit in {out.dtype} (largest "
                             f"{np.finfo(out.dtype).max:.6g}) and would become inf; keep it in float64 "
                             f"(dtype=np.float64) or scale the data down")
    return out


def assignable(tensor):
    """`tensor[index] = value` changes data outside the graph: refuse it where backward would
    not see it, or where a live graph saved the array."""
    if tensor.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError("in-place assignment to a tensor that requires grad is invisible to backward: "
                           "do it under tm.no_grad(), or build a new tensor (e.g. with tm.where)")
    if isinstance(tensor.numpy(), graph_lock.LockedArray):
        raise graph_lock.GraphLockError(f"cannot assign into this tensor: {graph_lock.MESSAGE}")


def requires_grad_flag(tensor, flag):
    """`tensor.requires_grad_(flag)`: a bool, True only for a float tensor, False only for a leaf."""
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"requires_grad must be True or False, got {flag!r}")
    if flag and tensor.dtype.kind != "f":
        raise TypeError(f"requires_grad: only float tensors can require grad, this one is {tensor.dtype}")
    if not flag and tensor.grad_fn is not None:
        raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use .detach() instead")
    return bool(flag)


def hook(tensor, fn):
    """A hook for `tensor.register_hook`: a function, on a tensor that gradients reach."""
    if not callable(fn):
        raise TypeError(f"register_hook: hook must be a function of the gradient, got {fn!r:.40}")
    if not tensor.requires_grad:
        raise RuntimeError("register_hook: this tensor does not require grad, so no gradient reaches it")
    return fn


def grad_value(tensor, value):
    """What `tensor.grad = value` may store (as PyTorch): None, or a Tensor of the tensor's shape
    and dtype (an array is wrapped, not cast)."""
    if value is None:
        return None
    from tinymed.autograd import Tensor  # (imported here: autograd imports this module)

    value = value if isinstance(value, Tensor) else Tensor(value)
    if value.dtype != tensor.dtype:
        _wrong_dtype(value, tensor, "grad:", f"tensor; convert it with .to({tensor.dtype}) first")
    if value.shape != tensor.shape:
        raise ValueError(f"grad: a gradient of shape {value.shape} for a tensor of shape {tensor.shape}; "
                         f"it must have the tensor's shape")
    return value


def _wrong_dtype(grad, target, where, what):
    raise TypeError(f"{where} a {grad.dtype} gradient for a {target.dtype} {what}")


# ---------------------------------------------------------------------------------------------
# Starting a backward
# ---------------------------------------------------------------------------------------------


def seed_gradient(root, gradient, name):
    """dL/d(root) as an array: ones for a one-element output, else the given `gradient`."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph "
                           "(was it made under no_grad, or from tensors that do not require grad?)")
    if gradient is None:
        if math.prod(root.shape) != 1:
            raise ValueError(f"backward: output has shape {root.shape}; a non-scalar output needs an explicit "
                             f"grad of that shape (for a loss, reduce it with .sum() or .mean() first)")
        return np.ones(root.shape, dtype=root.dtype)
    array = np.asarray(gradient)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"backward: {name} must be a Tensor, a NumPy array or a number of the output's "
                        f"shape {root.shape} (dL/d(output)), got {gradient!r:.40}")
    if array.shape != root.shape:
        raise ValueError(f"backward: {name} has shape {array.shape} but the output has shape {root.shape}")
    return array.astype(root.dtype, copy=False)


def backward_keywords(gradient, grad):
    """`backward(gradient=...)` is PyTorch's name, `grad=` tinymed 0.1's: take either, not both."""
    if grad is not None and gradient is not None:
        raise TypeError("backward: got both gradient= and grad=; they are one argument (pass one)")
    return (gradient, "gradient") if grad is None else (grad, "grad")


# ---------------------------------------------------------------------------------------------
# What a Function's backward returned
# ---------------------------------------------------------------------------------------------


def graph_freed(node):
    raise RuntimeError(f"backward: the graph through {node.fn.__name__} was already used by a backward "
                       f"and freed; pass retain_graph=True to the first backward to go through it twice")


def gradient_count(node, grads):
    raise RuntimeError(f"{node.fn.__name__}.backward returned {len(grads)} gradients for "
                       f"{len(node.inputs)} inputs")


def input_gradient(node, data, grad):
    """`grad`, returned by node's backward for an input holding `data`, as an array that
    broadcasts to the input's shape and has its dtype."""
    grad = np.asarray(grad)
    if grad.shape != data.shape and not _broadcasts_to(data.shape, grad.shape):
        raise RuntimeError(f"{node.fn.__name__}.backward returned a gradient of shape {grad.shape} for "
                           f"an input of shape {data.shape}")
    if grad.dtype != data.dtype:
        _wrong_dtype(grad, data, f"{node.fn.__name__}.backward returned", "input")
    return grad


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def hook_result(tensor, result, grad):
    """What a hook returned: None keeps `grad`; else a replacement of the same shape."""
    if result is None:
        return grad
    array = np.asarray(result)
    if array.shape != grad.shape:
        raise ValueError(f"register_hook: the hook returned a gradient of shape {array.shape} for a "
                         f"tensor of shape {tensor.shape}; return None or a gradient of that shape")
    return array.astype(grad.dtype, copy=False)
