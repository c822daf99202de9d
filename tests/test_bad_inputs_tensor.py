"""The bad-input catalogue of tensors and their methods: each line a wrong call, the error it must
raise and the words the message must hold (what was wrong, the value, the fix), so none comes
back as a silent nan or a raw NumPy error."""
import numpy as np
import pytest

import tinymed as tm

x = tm.tensor(np.arange(6.0).reshape(2, 3))
empty = tm.tensor(np.zeros((0, 3)))

CASES = {
    # silently wrong before: a reduction of nothing
    "mean of an empty tensor": (lambda: empty.mean(), ValueError, r"mean: the input is empty .*shape \(0, 3\)"),
    "max of an empty tensor": (lambda: empty.max(), ValueError, r"max: the input is empty .*shape \(0, 3\)"),
    "min of an empty tensor": (lambda: empty.min(), ValueError, r"min: the input is empty .*shape \(0, 3\)"),
    "max along an empty dim": (lambda: empty.max(dim=0), ValueError, "max: the input is empty"),
    "var of an empty tensor": (lambda: empty.var(), ValueError, "var: the input is empty"),
    "argmax of an empty tensor": (lambda: empty.argmax(), ValueError, "argmax: the input is empty"),
    "logsumexp of an empty tensor": (lambda: empty.logsumexp(), ValueError, "logsumexp: the input is empty"),
    "var of one value": (lambda: tm.tensor([1.0]).var(), ValueError, "var: 1 value.*correction=0"),
    # silently wrong before: overflow to inf
    "float() of 1e300": (lambda: tm.tensor(np.array([1e300])).float(), ValueError,
                         r"float: the value 1e\+300 does not fit in float32"),
    "to(float32) of -1e300": (lambda: tm.tensor(np.array([2.0, -1e300])).to(tm.float32), ValueError,
                              r"to: the value -1e\+300 does not fit in float32"),
    # comparisons check their operand as the arithmetic does
    "x < a string": (lambda: x < "abc", TypeError, "comparison <: expected a Tensor, a NumPy array or a number, got str 'abc'"),
    "x == a string": (lambda: x == "abc", TypeError, "comparison ==: expected .* got str"),
    "x > None": (lambda: x > None, TypeError, "comparison >: expected .* got NoneType"),
    "x >= a list of strings": (lambda: x >= ["a"], TypeError, "comparison >=: expected .* got list"),
    "comparison shapes": (lambda: x < np.ones(4), ValueError, r"comparison <: shapes \(2, 3\) and \(4,\) do not broadcast"),
    # arguments of the methods
    "dim and axis": (lambda: x.sum(dim=0, axis=0), TypeError, "sum: got both dim= and axis="),
    "dim out of range": (lambda: x.mean(dim=2), ValueError, "mean: dim 2 is out of range for a tensor with 2 dims"),
    "axis twice": (lambda: x.sum(axis=(1, -1)), ValueError, r"sum: axis \(1, -1\) names an axis twice"),
    "keepdim not a bool": (lambda: x.sum(0, keepdim="yes"), TypeError, "sum: keepdim must be True or False"),
    "max dim with keepdims": (lambda: x.max(dim=1, keepdims=True), TypeError, "max: dim= .* cannot be mixed"),
    "a wrong keyword": (lambda: x.mean(dims=0), TypeError, r"Tensor.mean\(\) got an unexpected keyword argument 'dims'"),
    "reshape to a wrong size": (lambda: x.reshape(4, 2), ValueError,
                                r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) to \(4, 2\)"),
    "view with two -1": (lambda: x.view(-1, -1), ValueError, "view: cannot reshape"),
    "permute not a permutation": (lambda: x.permute(0, 0), ValueError, r"permute: axes \(0, 0\) are not a permutation"),
    "transpose dim out of range": (lambda: x.transpose(0, 5), ValueError, "transpose: dim 5 is out of range"),
    "t of 3-d": (lambda: tm.zeros(2, 2, 2).t(), ValueError, "t: expects a tensor of at most 2 dims"),
    "expand a size that is not 1": (lambda: x.expand(4, 3), ValueError,
                                    r"expand: a tensor of shape \(2, 3\) cannot be expanded to \(4, 3\)"),
    "repeat with too few counts": (lambda: x.repeat(2), ValueError, "repeat: give a count for each of the 2 axes"),
    "split sections that do not add up": (lambda: x.split([1, 1], dim=1), ValueError,
                                          r"split: sections \[1, 1\] add up to 2, but axis 1 has size 3"),
    "chunk of 0": (lambda: x.chunk(0), ValueError, "chunk: chunks must be an int >= 1"),
    "gather with a float index": (lambda: x.gather(1, np.zeros((2, 1))), TypeError, "gather: index must be an integer"),
    "masked_fill with a float mask": (lambda: x.masked_fill(np.ones((2, 3)), 0.0), TypeError,
                                      "masked_fill: mask must be boolean"),
    "masked_fill with a wider mask": (lambda: x.masked_fill(np.ones((4, 2, 3), bool), 0.0), ValueError,
                                      r"masked_fill: a mask of shape \(4, 2, 3\) does not broadcast to"),
    "clamp min above max": (lambda: x.clamp(3, 1), ValueError, "clamp: min must be <= max, got min=3, max=1"),
    "clamp with a string": (lambda: x.clamp(min="0"), TypeError, "clamp: min must be a number"),
    "norm with p below 1": (lambda: x.norm(0.5), ValueError, "norm: p must be a number >= 1"),
    "softmax without a dim": (lambda: x.softmax(), TypeError, "softmax: give the axis to normalise along, e.g. dim=-1"),
    "matmul shapes": (lambda: x @ x, ValueError, r"matmul: shapes \(2, 3\) and \(2, 3\) do not match"),
    "matmul with a string": (lambda: x @ "abc", TypeError, "matmul: expected a Tensor, a NumPy array or a number"),
    "size of a missing dim": (lambda: x.size(2), ValueError, "size: dim 2 is out of range"),
    "to a device that is not the CPU": (lambda: x.to("cuda"), ValueError, "runs on the CPU only"),
    "to a dtype that is not one": (lambda: x.to(dtype="float99"), TypeError, "to: dtype must be float32, float64, an integer type or bool, got 'float99'"),
    # Python protocols
    "bool of many elements": (lambda: bool(x), RuntimeError, r"bool\(\) of a tensor with 6 elements is ambiguous"),
    "float of many elements": (lambda: float(x), ValueError, "item: only a one-element tensor"),
    "format spec of many elements": (lambda: f"{x:.3f}", TypeError, "format spec '.3f' needs a one-element tensor"),
    "index with a float tensor": (lambda: [1, 2][tm.tensor(1.0)], TypeError, "only an integer tensor can be used as an index"),
    # in place
    "in place on a leaf that requires grad": (lambda: tm.ones(2, requires_grad=True).add_(1), RuntimeError,
                                              "add_: in-place .* requires grad .* tm.no_grad"),
    "in place float into int": (lambda: tm.tensor([1, 2]).mul_(0.5), TypeError,
                                "mul_: the result is float64 but this tensor is int64"),
    "copy_ of another shape": (lambda: tm.zeros(2).copy_(np.ones(3)), ValueError, r"copy_: a value of shape \(3,\) does not broadcast to the tensor's shape \(2,\)"),
    "in place on an expanded view": (lambda: tm.zeros(3, 1).expand(3, 4).add_(1.0), ValueError,
                                     r"add_: this tensor's memory is read-only .*x.clone\(\)"),
    "fill_ with a string": (lambda: tm.zeros(2).fill_("a"), TypeError, "fill_: value must be a number"),
    "add_ with a string": (lambda: tm.zeros(2).add_("a"), TypeError, "add_: expected a Tensor, a NumPy array or a number, got str"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_a_clear_error(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_sum_and_prod_of_nothing_stay_0_and_1_as_numpy_and_pytorch():
    assert empty.sum().item() == 0.0 and empty.prod().item() == 1.0
    assert empty.sum(dim=1).shape == (0,) and empty.mean(dim=1).shape == (0,)  # no axis of length 0 reduced
