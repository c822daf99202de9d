"""The dtype rules: which dtype an op computes in, and no silent float64.

A rail of the engine (`autograd.Function.apply` asks it), in PyTorch's terms:

- Python floats become the default float dtype, float32 (`set_default_dtype(np.float64)` to
  change it); float32 halves the memory and time of float64 and is what networks train in.
- An op computes in the float dtype of its float tensors. Two different float dtypes in one op
  are a TypeError, not a silent promotion: NumPy would turn float32 + float64 into float64, and
  everything computed after it, doubling memory and time without anyone asking for it. Numbers
  and NumPy arrays used as constants (loss weights, masks, scalars) take the op's dtype.
- With integer or bool tensors only, the op keeps their dtype (int64 + int64 is int64; a bool
  plus a number is int64), and gives the default float dtype when a float constant joins
  (int tensor * 2.5) or the result is fractional (7 / 2, exp).
"""
import numpy as np

from tinymed.validate import float_dtype

_default_dtype = np.dtype(np.float32)


def set_default_dtype(dtype):
    """Set the float dtype that Python floats (and lists of them) become: float32 or float64."""
    global _default_dtype
    _default_dtype = float_dtype(dtype)


def get_default_dtype():
    """The float dtype that Python floats become (float32 unless changed)."""
    return _default_dtype


def op_inputs(name, inputs, tensors):
    """The dtype op `name` computes in, and its inputs as arrays of it. `tensors[i]` is
    `inputs[i]` when that is a Tensor, else None (a constant)."""
    arrays = [x if t is None else t._data for x, t in zip(inputs, tensors)]
    first = arrays[0].dtype if tensors and tensors[0] is not None else None
    if first is not None and all([t is not None and a.dtype == first for a, t in zip(arrays, tensors)]):
        return first, arrays  # the common case: tensors of one dtype, nothing to convert
    is_tensor = [t is not None for t in tensors]
    dtype = _compute_dtype(name, arrays, is_tensor)
    return dtype, [v if t and v.dtype == dtype else _as_input(v, dtype, name) for v, t in zip(arrays, is_tensor)]


def op_output(fn, out, dtype):
    """Function `fn`'s forward result `out` for inputs of `dtype`, held to the rules above."""
    if out.dtype.kind != "f" or out.dtype == dtype or not fn.keeps_dtype:
        return out
    if dtype.kind != "f":  # an integer op with a fractional result
        return out.astype(_default_dtype)
    raise TypeError(f"{fn.__name__}.forward returned {out.dtype} for {dtype} inputs: some constant inside "
                    f"forward promoted the result (use Python numbers or arrays of the input's dtype)")


def _compute_dtype(name, values, is_tensor):
    dtype = None
    for v, t in zip(values, is_tensor):
        if t and v.dtype.kind == "f":
            if dtype is not None and v.dtype != dtype:
                raise TypeError(f"{name}: tensors of different float dtypes ({', '.join(sorted((str(dtype), str(v.dtype))))}) "
                                f"in one op; tinymed never promotes silently: convert one with .float() or .double()")
            dtype = v.dtype
    if dtype is not None:
        return dtype
    ints = {v.dtype for v, t in zip(values, is_tensor) if t}
    constants = [np.asarray(v) for v, t in zip(values, is_tensor) if not t]
    if not ints or any(c.dtype.kind == "f" for c in constants):
        return _default_dtype
    return np.result_type(*ints, *([np.int64] if constants and ints == {np.dtype(bool)} else []))


def _as_input(value, dtype, name):
    array = None if value is None else np.asarray(value)
    if array is None or array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a Tensor, a NumPy array or a number, got {type(value).__name__}")
    return array.astype(dtype, copy=False)
