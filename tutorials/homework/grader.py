"""Grader of the tinymed homework (assignment.ipynb): pytest checks of a student's solution.py.

    python -m pytest grader.py                                          # solution.py beside this file
    TINYMED_SOLUTION=path/to/solution.py python -m pytest grader.py     # any other file

The last cell of the notebook writes solution.py. Each check compares the student's code with
tinymed's own implementation (the reference) on inputs drawn by hypothesis, and checks every
backward against central differences (`tinymed.testing.assert_gradients`). A failing check says
which exercise, which quantity (which gradient, which shape) and for what input. The examples are
derandomized, so a solution gets the same verdict on every run. The notebook's "check yourself"
cells run the same checks on the notebook's objects: `grader.run_checks("Sigmoid", Sigmoid)`.
"""
import contextlib
import importlib.util
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinymed as tm
import tinymed.nn.functional as F
from tinymed import data, imbalance
from tinymed.autograd import Context
from tinymed.testing import assert_gradients, shapes, tensors

GRADING = settings(
    max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no "explain" phase: its line numbers are noise here
)

# ---------------------------------------------------------------------------------------------
# Finding the solution, and the registry of checks
# ---------------------------------------------------------------------------------------------


def load_solution(path=None):
    """Import the solution file: `path`, else $TINYMED_SOLUTION, else solution.py beside the grader."""
    path = Path(path or os.environ.get("TINYMED_SOLUTION") or Path(__file__).with_name("solution.py"))
    if not path.is_file():
        raise FileNotFoundError(
            f"grader: no solution file at {path}: run the last cell of assignment.ipynb to write "
            f"solution.py, or point TINYMED_SOLUTION at your file"
        )
    spec = importlib.util.spec_from_file_location("student_solution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Check:
    exercise: str     # "a" .. "d", as in the notebook
    name: str         # the object of the solution it checks
    description: str  # what it checks, in one line
    run: object       # run(answer) raises AssertionError when the answer is wrong

    def __repr__(self):
        return f"({self.exercise}) {self.name}: {self.description}"


CHECKS = []


def check(exercise, name, description):
    """Register a check of answer `name` of exercise `exercise`."""
    def register(fn):
        CHECKS.append(Check(exercise, name, description, fn))
        return fn
    return register


def run_checks(name, answer):
    """Run every check of `name` (e.g. "Sigmoid") on `answer`; print each one that passes."""
    selected = [c for c in CHECKS if c.name == name]
    if not selected:
        raise ValueError(f"run_checks: no checks for {name!r}; known: {sorted({c.name for c in CHECKS})}")
    for c in selected:
        c.run(answer)
        print(f"passed  {c!r}")
    print(f"All {len(selected)} checks of {name} passed.")


# ---------------------------------------------------------------------------------------------
# Helpers: running the student's code, comparing arrays with a useful message
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running(what, hint=""):
    """Turn a crash inside the student's code into a failed check that says where it happened."""
    __tracebackhide__ = True  # pytest shows the student's frames, not the grader's
    try:
        yield
    except NotImplementedError as e:
        raise AssertionError(f"{what} is not implemented yet: replace `raise NotImplementedError` in its cell") from e
    except AssertionError:
        raise
    except Exception as e:
        raise AssertionError(f"{what} raised {type(e).__name__}: {e}{hint}") from e


def assert_close(what, got, expected, context, rtol=1e-6, atol=1e-9, hint=""):
    """`got` must have `expected`'s shape and values; the message names `what`, the input
    (`context`), the worst element and how many elements differ."""
    __tracebackhide__ = True
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{what} has shape {got.shape} but should have shape {expected.shape} ({context})")
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if bad.any():
        worst = np.unravel_index(np.argmax(np.where(bad, np.abs(got - expected), -1.0)), got.shape)
        where = f"at index {tuple(int(i) for i in worst)} " if got.ndim else ""
        if sorted(got.ravel().tolist()) == pytest.approx(sorted(expected.ravel().tolist()), rel=rtol, abs=atol):
            hint += " (the right numbers in the wrong places: check the order of your transposes and reshapes)"
        raise AssertionError(
            f"{what} is wrong ({context}): {where}expected {expected[worst]:.6g}, got {got[worst]:.6g}; "
            f"{int(bad.sum())} of {bad.size} values differ.{hint}"
        )


def leaf(array, dtype=np.float64):
    return tm.Tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def gradient_check(what, fn, *inputs):
    __tracebackhide__ = True
    try:
        assert_gradients(fn, *inputs)
    except tm.GradcheckError as e:
        raise AssertionError(f"{what}: the backward disagrees with central differences: {e}") from None


@contextlib.contextmanager
def overflow_is_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# ---------------------------------------------------------------------------------------------
# (a) Sigmoid
# ---------------------------------------------------------------------------------------------

A = "Exercise (a), Sigmoid"


def sigmoid_and_grad(fn, x, upstream):
    """fn(x) and dL/dx for L = sum(upstream * fn(x)), on a fresh leaf made from x."""
    x = leaf(x, x.dtype)
    out = fn(x)
    out.backward(np.asarray(upstream, dtype=x.dtype))
    return out, x.grad


@check("a", "Sigmoid", "forward gives tinymed's sigmoid, same shape")
@GRADING
@given(x=tensors(shape=shapes(max_dims=3, max_side=5), elements=st.floats(-30, 30)))
def sigmoid_forward(Sigmoid, x):
    with running(f"{A}.forward"):
        out = Sigmoid.apply(x)
    if not isinstance(out, tm.Tensor):
        raise AssertionError(f"{A}: Sigmoid.apply(x) should give a Tensor, got {type(out).__name__}")
    assert_close(f"{A}.forward", out.data, F.sigmoid(x).data, f"x of shape {x.shape}", atol=1e-12)


@check("a", "Sigmoid", "forward is finite and exact for x = +-1000 (no overflow), float32 and float64")
def sigmoid_forward_huge(Sigmoid):
    for dtype in (np.float32, np.float64):
        x = tm.Tensor(np.array([-1000, -745, -100, -30, -1, 0, 1, 30, 100, 745, 1000], dtype=dtype))
        with overflow_is_an_error(), running(
            f"{A}.forward on {dtype.__name__} x = {x.data.tolist()}",
            hint=" (exp overflowed: compute it from e^-|x|, which is never above 1)",
        ):
            out = Sigmoid.apply(x)
        if out.dtype != dtype:
            raise AssertionError(f"{A}.forward returned {out.dtype} for {dtype.__name__} input: keep the input's dtype")
        assert_close(f"{A}.forward", out.data, F.sigmoid(x).data, f"{dtype.__name__} x = {x.data.tolist()}",
                     rtol=1e-5 if dtype == np.float32 else 1e-9, atol=1e-30)


@check("a", "Sigmoid", "backward gives tinymed's dL/dx = upstream * s * (1 - s)")
@GRADING
@given(x=tensors(shape=shapes(max_dims=3, max_side=5), elements=st.floats(-30, 30)), seed=st.integers(0, 2**32 - 1))
def sigmoid_backward(Sigmoid, x, seed):
    upstream = np.random.default_rng(seed).standard_normal(x.shape)
    ctx = Context((True,), recording=False)  # called as the engine calls it, to see what comes back
    with running(f"{A}.backward"):
        Sigmoid.forward(ctx, x.data)
        grad = Sigmoid.backward(ctx, upstream)
    grad = grad[0] if isinstance(grad, tuple) and len(grad) == 1 else grad
    if not isinstance(grad, (np.ndarray, np.generic)) or grad.shape != x.shape:
        got = f"shape {grad.shape}" if isinstance(grad, (np.ndarray, np.generic)) else type(grad).__name__
        raise AssertionError(f"{A}.backward: dL/dx has {got} but x has shape {x.shape}; it must have x's shape")
    _, expected = sigmoid_and_grad(F.sigmoid, x.data, upstream)
    assert_close(f"{A}.backward: dL/dx", grad, expected, f"x of shape {x.shape}, random upstream gradient",
                 atol=1e-12, hint=" dL/dx = upstream * s * (1 - s), element-wise, with s the forward's output.")


@check("a", "Sigmoid", "backward agrees with central differences (gradcheck)")
@GRADING
@given(x=tensors(shape=shapes(max_dims=2, max_side=3), elements=st.floats(-6, 6)))
def sigmoid_gradcheck(Sigmoid, x):
    with running(f"{A}"):
        gradient_check(f"{A}, x of shape {x.shape}", Sigmoid.apply, x)


@check("a", "Sigmoid", "float32 in, float32 out and float32 gradient; finite gradient at +-1000")
def sigmoid_float32(Sigmoid):
    x = np.array([-1000.0, -3.0, 0.0, 0.5, 1000.0], dtype=np.float32)
    with overflow_is_an_error(), running(f"{A} on float32 x = {x.tolist()}"):
        out, grad = sigmoid_and_grad(Sigmoid.apply, x, np.ones_like(x))
    if out.dtype != np.float32 or grad.dtype != np.float32:
        raise AssertionError(
            f"{A}: float32 input gave a {out.dtype} output and a {grad.dtype} gradient; both must stay float32"
        )
    _, expected = sigmoid_and_grad(F.sigmoid, x, np.ones_like(x))
    assert_close(f"{A}.backward: dL/dx", grad, expected, f"float32 x = {x.tolist()}", rtol=1e-5, atol=1e-30)


# ---------------------------------------------------------------------------------------------
# (b) Conv2d: the backward
# ---------------------------------------------------------------------------------------------

B = "Exercise (b), Conv2d"


class ConvCase:
    """One convolution: shapes, stride, padding, and a seed for the values of x, weight, bias and
    the upstream gradient. Its repr is what a failing check shows."""

    def __init__(self, x_shape, w_shape, stride, padding, seed=0):
        self.x_shape, self.w_shape, self.stride, self.padding, self.seed = x_shape, w_shape, stride, padding, seed

    def __repr__(self):
        return (f"x of shape {self.x_shape}, weight {self.w_shape}, bias ({self.w_shape[0]},), "
                f"stride={self.stride}, padding={self.padding}")

    @property
    def out_shape(self):
        (n, _, h, w), (o, _, kh, kw), s, p = self.x_shape, self.w_shape, self.stride, self.padding
        return n, o, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1

    def arrays(self, dtype=np.float64):
        """x, weight, bias and an upstream gradient dL/dout."""
        rng = np.random.default_rng(self.seed)
        shapes_ = (self.x_shape, self.w_shape, (self.w_shape[0],), self.out_shape)
        return [rng.standard_normal(s).astype(dtype) for s in shapes_]

    def reference(self, dtype=np.float64):
        """tinymed's F.conv2d: the output and (dx, dweight, dbias)."""
        x, w, b, g = self.arrays(dtype)
        x, w, b = leaf(x, dtype), leaf(w, dtype), leaf(b, dtype)
        out = F.conv2d(x, w, b, stride=self.stride, padding=self.padding)
        out.backward(g)
        return out.data, (x.grad, w.grad, b.grad)

    def student(self, Conv2d, dtype=np.float64):
        """The student's forward and backward, called as the engine calls them."""
        x, w, b, g = self.arrays(dtype)
        ctx = Context((True, True, True), recording=False)
        with running(f"{B}.forward ({self})"):
            out = Conv2d.forward(ctx, x, w, b, stride=self.stride, padding=self.padding)
        with running(f"{B}.backward ({self})"):
            grads = Conv2d.backward(ctx, g)
        if not isinstance(grads, tuple) or len(grads) != 3:
            got = f"{len(grads)} values" if isinstance(grads, tuple) else f"a single {type(grads).__name__}"
            raise AssertionError(f"{B}.backward must return (dx, dweight, dbias), one gradient per input; got {got}")
        names = ("dx", "dweight", "dbias")
        for name, grad, like in zip(names, grads, (x, w, b)):
            if not isinstance(grad, (np.ndarray, np.generic)) or grad.shape != like.shape:
                got = f"shape {grad.shape}" if isinstance(grad, (np.ndarray, np.generic)) else type(grad).__name__
                raise AssertionError(
                    f"{B}.backward: {name} has {got} but its input has shape {like.shape} ({self}); "
                    f"a gradient has the shape of its input"
                )
        return np.asarray(out), grads


@st.composite
def conv_cases(draw, max_side=5):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    h = draw(st.integers(max(1, kh - 2 * padding), max_side))
    w = draw(st.integers(max(1, kw - 2 * padding), max_side))
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return ConvCase((n, c, h, w), (o, c, kh, kw), stride, padding, draw(st.integers(0, 2**32 - 1)))


TYPICAL = ConvCase((2, 3, 5, 4), (4, 3, 3, 2), stride=2, padding=1)
GRAD_HINTS = {
    "dx": " dx is col2im of W2d^T @ g2d: each input pixel collects the gradient of every patch it fell into.",
    "dweight": " dweight is g2d @ cols^T, of shape (O, C*kh*kw), reshaped to weight's shape (O, C, kh, kw).",
    "dbias": " dbias[o] is the sum of the upstream gradient over the batch and all output pixels of channel o.",
}


@check("b", "Conv2d", "forward (given) still gives tinymed's conv2d")
@GRADING
@example(case=TYPICAL)
@given(case=conv_cases())
def conv_forward(Conv2d, case):
    x, w, b = (leaf(a) for a in case.arrays()[:3])
    with running(f"{B}.forward ({case})"):
        out = Conv2d.apply(x, w, b, stride=case.stride, padding=case.padding)
    expected, _ = case.reference()
    assert_close(f"{B}.forward", out.data, expected, case, hint=" The forward and im2col are given: restore them.")


def conv_gradient_check(index):
    """The check of one of the three gradients, named conv_backward_dx (dweight, dbias)."""
    name = ("dx", "dweight", "dbias")[index]

    def run(Conv2d, case):
        _, grads = case.student(Conv2d)
        _, expected = case.reference()
        assert_close(f"{B}.backward: {name}", grads[index], expected[index], case, hint=GRAD_HINTS[name])

    run.__name__ = run.__qualname__ = f"conv_backward_{name}"  # before given(), which reports it
    return GRADING(example(case=TYPICAL)(given(case=conv_cases())(run)))


for _i, _name in enumerate(("dx", "dweight", "dbias")):
    check("b", "Conv2d", f"backward: {_name} equals tinymed's conv2d gradient")(conv_gradient_check(_i))


@check("b", "Conv2d", "backward agrees with central differences (gradcheck), through the engine")
@GRADING
@example(case=ConvCase((1, 2, 4, 3), (2, 2, 2, 2), stride=2, padding=1))
@given(case=conv_cases(max_side=4))
def conv_gradcheck(Conv2d, case):
    x, w, b = (leaf(a) for a in case.arrays()[:3])

    def conv(x, w, b):
        return Conv2d.apply(x, w, b, stride=case.stride, padding=case.padding)

    with running(f"{B} ({case})"):
        gradient_check(f"{B} ({case})", conv, x, w, b)


@check("b", "Conv2d", "float32 in, float32 gradients out")
def conv_float32(Conv2d):
    _, grads = TYPICAL.student(Conv2d, np.float32)
    for name, grad in zip(("dx", "dweight", "dbias"), grads):
        if grad.dtype != np.float32:
            raise AssertionError(
                f"{B}.backward: {name} is {grad.dtype} for float32 inputs; gradients keep their input's dtype"
            )


# ---------------------------------------------------------------------------------------------
# (c) The course's class weights and weighted loss
# ---------------------------------------------------------------------------------------------

C = "Exercise (c)"
COURSE_LABELS = np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.float64)  # 6 normal X-rays, 2 masses


@st.composite
def binary_labels(draw, with_both_classes=True):
    """0/1 labels of shape (N,) or (N, C); with_both_classes: every label (column) holds a 1 and a 0."""
    n = draw(st.integers(3, 12))
    shape = draw(st.sampled_from([(n,), (n, draw(st.integers(1, 4)))]))
    labels = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    if with_both_classes:
        columns = labels.reshape(n, -1)
        columns[0, columns.sum(axis=0) == n] = 0.0  # no column may be all 1 ...
        columns[1, columns.sum(axis=0) == 0] = 1.0  # ... or all 0
    return labels


@check("c", "course_class_weights", "6 normal and 2 mass X-rays give w_pos = 6/8, w_neg = 2/8")
def class_weights_course_example(course_class_weights):
    with running(f"{C}, course_class_weights"):
        w_pos, w_neg = course_class_weights(COURSE_LABELS)
    if np.allclose([w_pos, w_neg], [0.25, 0.75]):
        raise AssertionError(
            f"{C}, course_class_weights: got w_pos = 2/8, w_neg = 6/8, swapped: w_pos is the fraction of "
            f"NEGATIVE examples (6/8 here), so that the rare positives weigh more"
        )
    assert_close(f"{C}, course_class_weights: (w_pos, w_neg)", [w_pos, w_neg], [0.75, 0.25], "labels 0,0,0,0,0,0,1,1")


@check("c", "course_class_weights", "matches tinymed's imbalance.class_weights, per label")
@GRADING
@given(labels=binary_labels())
def class_weights_per_label(course_class_weights, labels):
    with running(f"{C}, course_class_weights"):
        got = course_class_weights(labels)
    expected = imbalance.class_weights(labels)
    for name, g, e in zip(("pos_weights", "neg_weights"), got, expected):
        what = "numbers" if labels.ndim == 1 else f"arrays of shape ({labels.shape[1]},), one weight per label (column)"
        if np.shape(g) != np.shape(e):
            raise AssertionError(f"{C}, course_class_weights: for labels of shape {labels.shape} return two {what}; "
                                 f"{name} has shape {np.shape(g)}")
        assert_close(f"{C}, course_class_weights: {name}", g, e, f"labels of shape {labels.shape}",
                     hint=" w_pos = fraction of negatives, w_neg = fraction of positives, per label.")


def loss_by_loops(logits, targets, w_pos, w_neg):
    """The course's formula, one element at a time."""
    x, y = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1), np.asarray(targets).reshape(len(logits), -1)
    w_pos, w_neg = np.broadcast_to(w_pos, x.shape[1:]), np.broadcast_to(w_neg, x.shape[1:])
    total = 0.0
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            p = 1 / (1 + math.exp(-x[i, c]))
            total -= w_pos[c] * y[i, c] * math.log(p) + w_neg[c] * (1 - y[i, c]) * math.log(1 - p)
    return total / x.size


def student_loss(weighted_bce, x, targets, w_pos, w_neg, context):
    with running(f"{C}, weighted_bce ({context})"):
        loss = weighted_bce(x, targets, w_pos, w_neg)
    if not isinstance(loss, tm.Tensor) or loss.shape != ():
        got = f"shape {loss.shape}" if isinstance(loss, tm.Tensor) else type(loss).__name__
        raise AssertionError(
            f"{C}, weighted_bce must return a scalar Tensor (shape ()), the mean loss; got {got} ({context})"
        )
    return loss


def loss_hint(value, x, targets, w_pos, w_neg):
    """Recognise the usual slips: swapped weights, a sum instead of a mean, a per-label sum."""
    def reference(pos, neg, reduction="mean"):
        return F.weighted_binary_cross_entropy(x, targets, pos, neg, reduction=reduction).item()

    guesses = {
        " (that is the loss with pos_weights and neg_weights swapped)": reference(w_neg, w_pos),
        " (that is the sum, not the mean over all elements)": reference(w_pos, w_neg, "sum"),
        " (that is the mean over examples summed over labels; take the mean over all N*C elements)":
            reference(w_pos, w_neg, "class_sum"),
    }
    return "".join(h for h, v in guesses.items() if np.isclose(value, v, rtol=1e-6, atol=1e-12))


def assert_loss(loss, x, targets, w_pos, w_neg, context):
    expected = F.weighted_binary_cross_entropy(x, targets, w_pos, w_neg)
    assert_close(f"{C}, weighted_bce: the loss", loss.item(), expected.item(), context,
                 hint=loss_hint(loss.item(), x, targets, w_pos, w_neg))


@check("c", "weighted_bce", "the course's example: both classes contribute equally, value by the formula")
def weighted_bce_course_example(weighted_bce):
    logits = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, 2.0])
    w_pos, w_neg = 6 / 8, 2 / 8
    context = f"logits {logits.tolist()}, targets {COURSE_LABELS.tolist()}, w_pos = 6/8, w_neg = 2/8"
    loss = student_loss(weighted_bce, leaf(logits), COURSE_LABELS, w_pos, w_neg, context)
    expected = loss_by_loops(logits, COURSE_LABELS, w_pos, w_neg)
    assert_close(f"{C}, weighted_bce: the loss", loss.item(), expected, context,
                 hint=loss_hint(loss.item(), tm.Tensor(logits), COURSE_LABELS, w_pos, w_neg))
    # at logits 0 every example costs log 2, so each class's share is its count times its weight
    zero = np.zeros(8)
    for label, count, weight in ((1.0, 2, w_pos), (0.0, 6, w_neg)):
        share = student_loss(weighted_bce, leaf(zero[COURSE_LABELS == label]), COURSE_LABELS[COURSE_LABELS == label],
                             w_pos, w_neg, f"the {count} examples of class {label:g} alone, logits 0").item() * count
        assert_close(f"{C}, weighted_bce: the summed loss of the {count} class-{label:g} examples", share,
                     count * weight * math.log(2), "logits all 0", hint=" Each class should contribute 1.5 * log 2.")


@st.composite
def loss_cases(draw):
    labels = draw(binary_labels(with_both_classes=False))
    x = draw(hnp.arrays(np.float64, labels.shape, elements=st.floats(-8, 8)))
    per_label = labels.ndim == 2 and draw(st.booleans())
    weight = st.floats(0.05, 1.0)
    w_shape = (labels.shape[1],) if per_label else ()
    w_pos, w_neg = (draw(hnp.arrays(np.float64, w_shape, elements=weight)) for _ in range(2))
    if not per_label:
        w_pos, w_neg = float(w_pos), float(w_neg)
    return x, labels, w_pos, w_neg


def describe(x, w_pos, w_neg):
    weights = "numbers" if np.ndim(w_pos) == 0 else f"arrays of shape {np.shape(w_pos)}"
    return f"logits of shape {x.shape}, pos_weights and neg_weights {weights}"


@check("c", "weighted_bce", "the value equals tinymed's weighted_binary_cross_entropy (mean)")
@GRADING
@given(case=loss_cases())
def weighted_bce_value(weighted_bce, case):
    x, targets, w_pos, w_neg = case
    context = describe(x, w_pos, w_neg)
    loss = student_loss(weighted_bce, leaf(x), targets, w_pos, w_neg, context)
    assert_loss(loss, tm.Tensor(x), targets, w_pos, w_neg, context)


@check("c", "weighted_bce", "dL/dlogits equals tinymed's, and passes gradcheck")
@GRADING
@given(case=loss_cases())
def weighted_bce_gradient(weighted_bce, case):
    x, targets, w_pos, w_neg = case
    context = describe(x, w_pos, w_neg)
    logits = leaf(x)
    with running(f"{C}, weighted_bce: backward ({context})"):
        student_loss(weighted_bce, logits, targets, w_pos, w_neg, context).backward()
    expected = leaf(x)
    F.weighted_binary_cross_entropy(expected, targets, w_pos, w_neg).backward()
    if logits.grad is None:
        raise AssertionError(
            f"{C}, weighted_bce: no gradient reached the logits: build the loss from tensor operations"
        )
    assert_close(f"{C}, weighted_bce: dL/dlogits", logits.grad, expected.grad, context)
    gradient_check(f"{C}, weighted_bce ({context})", lambda t: weighted_bce(t, targets, w_pos, w_neg), leaf(x))


@check("c", "weighted_bce", "finite and exact at logits of +-1000, float32 stays float32")
def weighted_bce_huge_logits(weighted_bce):
    x = np.array([[-1000.0, 1000.0], [1000.0, -1000.0], [-100.0, 100.0], [0.0, 30.0]])
    targets = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    w_pos, w_neg = np.array([0.7, 0.4]), np.array([0.3, 0.6])
    for dtype in (np.float64, np.float32):
        context = f"{dtype.__name__} logits {x.tolist()}"
        logits = leaf(x, dtype)
        with overflow_is_an_error(), running(f"{C}, weighted_bce ({context})",
                                             hint=" (use log_sigmoid: log(sigmoid(x)) overflows or gives log 0)"):
            loss = student_loss(weighted_bce, logits, targets, w_pos, w_neg, context)
            loss.backward()
        if loss.dtype != dtype:
            raise AssertionError(
                f"{C}, weighted_bce returned {loss.dtype} for {dtype.__name__} logits; keep their dtype"
            )
        if not np.isfinite(loss.item()) or not np.isfinite(logits.grad).all():
            raise AssertionError(
                f"{C}, weighted_bce: the loss ({loss.item()}) or its gradient is not finite ({context}): "
                f"use log_sigmoid(x) and log_sigmoid(-x) for log p and log(1 - p)"
            )
        expected = leaf(x, dtype)
        reference = F.weighted_binary_cross_entropy(expected, targets, w_pos, w_neg)
        reference.backward()
        assert_close(f"{C}, weighted_bce: the loss", loss.item(), reference.item(), context, rtol=1e-5)
        assert_close(f"{C}, weighted_bce: dL/dlogits", logits.grad, expected.grad, context, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# (d) OverSampler
# ---------------------------------------------------------------------------------------------

D = "Exercise (d), OverSampler"


def epoch_of(sampler, context):
    with running(f"{D}: iterating ({context})"):
        epoch = list(sampler)
    bad = [i for i in epoch if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer))]
    if bad:
        raise AssertionError(f"{D}: an epoch must yield integer indices, got {bad[0]!r} ({context})")
    return [int(i) for i in epoch]


def make_sampler(OverSampler, labels, seed):
    with running(f"{D}(labels, seed={seed}) with {len(labels)} labels"):
        return OverSampler(labels, seed=seed)


@check("d", "OverSampler", "every class drawn up to the majority count, every sample kept, len = K * M")
@GRADING
@given(labels=st.lists(st.integers(0, 3), min_size=1, max_size=40), seed=st.integers(0, 1000))
def oversampler_balanced(OverSampler, labels, seed):
    labels = np.array(labels)
    classes, counts = np.unique(labels, return_counts=True)
    context = f"labels {labels.tolist()}"
    sampler = make_sampler(OverSampler, labels, seed)
    # tinymed's sampler refuses a single class; for one class the epoch is a shuffle of all samples
    expected_len = len(data.OverSampler(labels)) if len(classes) > 1 else len(labels)
    with running(f"{D}: len(sampler)"):
        length = len(sampler)
    if length != expected_len:
        raise AssertionError(f"{D}: len(sampler) is {length} but should be K * M = {len(classes)} * {counts.max()} "
                             f"= {expected_len} ({context})")
    for epoch_number in (1, 2):
        epoch = epoch_of(sampler, context)
        if len(epoch) != expected_len:
            raise AssertionError(
                f"{D}: epoch {epoch_number} has {len(epoch)} indices but len(sampler) = {expected_len} ({context})"
            )
        outside = [i for i in epoch if not 0 <= i < len(labels)]
        if outside:
            raise AssertionError(f"{D}: index {outside[0]} is not a sample index 0..{len(labels) - 1} ({context})")
        drawn = np.bincount(epoch, minlength=len(labels))
        for k, n in zip(classes, counts):
            got = int(drawn[labels == k].sum())
            if got != counts.max():
                raise AssertionError(
                    f"{D}: class {k} ({n} samples) was drawn {got} times in epoch {epoch_number}, but every "
                    f"class must be drawn M = {counts.max()} times (the majority count) ({context})"
                )
        missing = np.flatnonzero(drawn == 0)
        if missing.size:
            raise AssertionError(f"{D}: sample {missing[0]} (class {labels[missing[0]]}) never appears in epoch "
                                 f"{epoch_number}: keep every sample once, then add copies ({context})")


LONG = np.array([0] * 30 + [1] * 8 + [2] * 3)


@check("d", "OverSampler", "the same seed gives the same epochs")
def oversampler_reproducible(OverSampler):
    context = "30, 8 and 3 samples of classes 0, 1, 2"
    first, second = make_sampler(OverSampler, LONG, 7), make_sampler(OverSampler, LONG, 7)
    for epoch_number in (1, 2):
        if epoch_of(first, context) != epoch_of(second, context):
            raise AssertionError(f"{D}: two samplers made with seed=7 gave different epoch {epoch_number}: draw from "
                                 f"np.random.default_rng(seed), made once in __init__ ({context})")


@check("d", "OverSampler", "each epoch is shuffled and drawn afresh; another seed gives another epoch")
def oversampler_shuffled(OverSampler):
    context = "30, 8 and 3 samples of classes 0, 1, 2"
    sampler = make_sampler(OverSampler, LONG, 0)
    first, second = epoch_of(sampler, context), epoch_of(sampler, context)
    if all(np.diff(LONG[first]) >= 0):
        raise AssertionError(
            f"{D}: the epoch is ordered by class; shuffle it, or every batch holds one class ({context})"
        )
    if first == second:
        raise AssertionError(
            f"{D}: two epochs of one sampler are identical; draw a new epoch at every iter ({context})"
        )
    if epoch_of(make_sampler(OverSampler, LONG, 1), context) == first:
        raise AssertionError(f"{D}: seed=0 and seed=1 gave the same epoch; use the seed ({context})")


@check("d", "OverSampler", "works for labels that are strings")
def oversampler_string_labels(OverSampler):
    labels = ["normal"] * 5 + ["mass"] * 2
    epoch = epoch_of(make_sampler(OverSampler, labels, 0), f"labels {labels}")
    if not all(0 <= i < len(labels) for i in epoch):
        raise AssertionError(f"{D}: labels {labels} gave indices {epoch}, not all in 0..{len(labels) - 1}")
    masses = sum(labels[i] == "mass" for i in epoch)
    if (len(epoch), masses) != (10, 5):
        raise AssertionError(f"{D}: labels {labels} should give 10 indices, 5 of them masses; got {len(epoch)} "
                             f"indices with {masses} masses")


# ---------------------------------------------------------------------------------------------
# pytest: one test per check, on the solution file
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solution():
    return load_solution()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: f"{c.exercise}-{c.name}-{c.run.__name__}")
def test_solution(solution, check):
    if not hasattr(solution, check.name):
        pytest.fail(
            f"Exercise ({check.exercise}): the solution defines no `{check.name}` (did its cell run before export?)"
        )
    check.run(getattr(solution, check.name))
