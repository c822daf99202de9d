"""Assignment 1, after tutorial 01 (autograd): the backward of four ops and a Function of one's own.

Every gradient is checked through the engine with a random upstream gradient dL/d(out), so a
backward that forgets to multiply by it fails, and each input's gradient is its own check.
"""
import numpy as np

from tinymed.autograd import unbroadcast
from tinymed.homework.judge import close, dtype_only, finite
from tinymed.homework.probe import forward, gradients, random, upstream
from tinymed.homework.spec import Assignment, Check, Exercise, notebook_path


def sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) without overflow


def softplus(x):
    return np.logaddexp(0, x)


FORGOT = "It equals the local derivative alone: multiply it by the upstream gradient `grad` (the chain rule)."

# -- sigmoid ------------------------------------------------------------------------------------

X = random(1, (3, 4)) * 3
X_HIDDEN = random(2, (2, 3, 5)) * 5
X_HUGE = np.array([-1000.0, -100.0, -1.0, 0.0, 1.0, 100.0, 1000.0])


def sigmoid_backward(x, what, context):
    s, g = sigmoid(x), upstream(x.shape)
    return lambda got: close(what, got, g * s * (1 - s), context, hints=[
        (FORGOT, s * (1 - s)),
        ("It equals grad * s: the derivative of s is s * (1 - s).", g * s)])


# tinymed.ops.Elementwise writes an element-wise op's backward (g * f'): deriving from it skips the exercise.
SIGMOID = Exercise("sigmoid", names=("Sigmoid",), forbidden=(
    "tinymed.ops.Sigmoid", "tinymed.ops.LogSigmoid", "tinymed.nn.functional.sigmoid", "tinymed.nn.Sigmoid",
    "tinymed.ops.Elementwise", "scipy.special.expit"), checks=(
    Check("forward", 1, visibility="visible",
          run=lambda ns: forward(ns["Sigmoid"], [X]),
          judge=lambda got: close("Sigmoid.forward(x)", got, sigmoid(X), "x of shape (3, 4)")),
    Check("backward: dL/dx", 2, visibility="visible",
          run=lambda ns: gradients(ns["Sigmoid"], [X])[0],
          judge=sigmoid_backward(X, "dL/dx", "x of shape (3, 4), a random upstream gradient")),
    Check("dtype: float32 in, float32 out and gradient", 1, visibility="visible",
          run=lambda ns: [forward(ns["Sigmoid"], [X.astype(np.float32)]),
                          gradients(ns["Sigmoid"], [X.astype(np.float32)])[0]],
          judge=lambda got: close("Sigmoid.forward(x) for float32 x", got[0], sigmoid(X), "x of shape (3, 4)",
                                  rtol=1e-5, dtype=np.float32) or dtype_only("dL/dx for float32 x", got[1], np.float32)),
    Check("edge case: x = +-1000 without overflow", 1, visibility="after_due_date",
          run=lambda ns: [forward(ns["Sigmoid"], [X_HUGE]), gradients(ns["Sigmoid"], [X_HUGE])[0]],
          judge=lambda got: close("Sigmoid.forward(x)", got[0], sigmoid(X_HUGE), f"x = {X_HUGE.tolist()}", atol=1e-300)
          or finite("dL/dx", got[1], f"x = {X_HUGE.tolist()}")),
    Check("backward on another shape", 1, visibility="hidden",
          run=lambda ns: gradients(ns["Sigmoid"], [X_HIDDEN])[0],
          judge=sigmoid_backward(X_HIDDEN, "dL/dx", "x of shape (2, 3, 5), a random upstream gradient")),
))

# -- broadcast multiply -------------------------------------------------------------------------

A, B = random(3, (3, 1, 4)), random(4, (5, 4))
A_HIDDEN, B_HIDDEN = random(5, (4, 4)), random(6, (4, 4))


def mul_gradient(a, b, which):
    g = upstream(np.broadcast_shapes(a.shape, b.shape))
    mine, other = (a, b) if which == 0 else (b, a)
    name = "ab"[which]
    context = f"a of shape {a.shape}, b of shape {b.shape}, a random upstream gradient"
    return lambda got: close(f"dL/d{name}", got, unbroadcast(g * other, mine.shape), context, hints=[
        (FORGOT, unbroadcast(np.broadcast_to(other, g.shape), mine.shape)),
        (f"It is grad times {name} itself: dL/d{name} is grad times the *other* input.",
         unbroadcast(g * mine, mine.shape))])


MUL = Exercise("mul", names=("Mul",), forbidden=("tinymed.ops.Mul",), checks=(
    Check("forward with broadcasting", 1,
          run=lambda ns: forward(ns["Mul"], [A, B]),
          judge=lambda got: close("Mul.forward(a, b)", got, A * B, "a of shape (3, 1, 4), b of shape (5, 4)")),
    Check("backward: dL/da", 1, run=lambda ns: gradients(ns["Mul"], [A, B])[0], judge=mul_gradient(A, B, 0)),
    Check("backward: dL/db", 1, run=lambda ns: gradients(ns["Mul"], [A, B])[1], judge=mul_gradient(A, B, 1)),
    Check("backward: both gradients, same shapes", 1, visibility="hidden",
          run=lambda ns: gradients(ns["Mul"], [A_HIDDEN, B_HIDDEN]),
          judge=lambda got: mul_gradient(A_HIDDEN, B_HIDDEN, 0)(got[0]) or mul_gradient(A_HIDDEN, B_HIDDEN, 1)(got[1])),
))

# -- matrix product -----------------------------------------------------------------------------

M1, M2 = random(7, (3, 4)), random(8, (4, 2))
M1_HIDDEN, M2_HIDDEN = random(9, (1, 5)), random(10, (5, 3))


def matmul_gradient(a, b, which):
    g = upstream((a.shape[0], b.shape[1]))
    expected = g @ b.T if which == 0 else a.T @ g
    forgot = np.ones_like(g) @ b.T if which == 0 else a.T @ np.ones_like(g)
    name = "ab"[which]
    return lambda got: close(f"dL/d{name}", got, expected, f"a of shape {a.shape}, b of shape {b.shape}",
                             hints=[(FORGOT, forgot)])


MATMUL = Exercise("matmul", names=("MatMul",), forbidden=("tinymed.ops.MatMul", "tinymed.nn.functional.linear"), checks=(
    Check("forward", 1, run=lambda ns: forward(ns["MatMul"], [M1, M2]),
          judge=lambda got: close("MatMul.forward(a, b)", got, M1 @ M2, "a of shape (3, 4), b of shape (4, 2)")),
    Check("backward: dL/da", 1, run=lambda ns: gradients(ns["MatMul"], [M1, M2])[0], judge=matmul_gradient(M1, M2, 0)),
    Check("backward: dL/db", 1, run=lambda ns: gradients(ns["MatMul"], [M1, M2])[1], judge=matmul_gradient(M1, M2, 1)),
    Check("backward: a row vector times a matrix", 1, visibility="hidden",
          run=lambda ns: gradients(ns["MatMul"], [M1_HIDDEN, M2_HIDDEN]),
          judge=lambda got: matmul_gradient(M1_HIDDEN, M2_HIDDEN, 0)(got[0])
          or matmul_gradient(M1_HIDDEN, M2_HIDDEN, 1)(got[1])),
))

# -- a reduction: sum over an axis ----------------------------------------------------------------

S = random(11, (3, 4))
S_HIDDEN = random(12, (2, 3, 4))


def sum_gradient(x, axis):
    g = upstream(np.sum(x, axis=axis).shape)
    expected = np.broadcast_to(g if axis is None else np.expand_dims(g, axis), x.shape)
    return lambda got: close("dL/dx", got, expected, f"x of shape {x.shape}, axis={axis}",
                             hints=[(FORGOT + " Here each x gets the upstream gradient of its sum.", np.ones(x.shape))])


SUM = Exercise("sum", names=("Sum",), forbidden=("tinymed.ops.Sum", "tinymed.ops.Mean"), checks=(
    Check("forward, axis=None and axis=1", 1,
          run=lambda ns: [forward(ns["Sum"], [S]), forward(ns["Sum"], [S], axis=1)],
          judge=lambda got: close("Sum.forward(x)", got[0], S.sum(), "x of shape (3, 4), axis=None")
          or close("Sum.forward(x, axis=1)", got[1], S.sum(axis=1), "x of shape (3, 4), axis=1")),
    Check("backward: axis=None", 1, run=lambda ns: gradients(ns["Sum"], [S])[0], judge=sum_gradient(S, None)),
    Check("backward: axis=1", 1, run=lambda ns: gradients(ns["Sum"], [S], axis=1)[0], judge=sum_gradient(S, 1)),
    Check("backward: axis=0 of a 3-d x", 1, visibility="hidden",
          run=lambda ns: gradients(ns["Sum"], [S_HIDDEN], axis=0)[0], judge=sum_gradient(S_HIDDEN, 0)),
))

# -- a Function of one's own: softplus ----------------------------------------------------------

P = random(13, (4, 3)) * 4
P_HUGE = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])


def softplus_gradient(x):
    g = upstream(x.shape)
    return lambda got: close("dL/dx", got, g * sigmoid(x), f"x = {x.tolist()}" if x.size < 8 else f"x of shape {x.shape}",
                             hints=[(FORGOT, sigmoid(x))], atol=1e-12)


SOFTPLUS = Exercise("softplus", names=("Softplus",), forbidden=(
    "tinymed.ops.LogSigmoid", "tinymed.ops.Sigmoid", "tinymed.nn.functional.sigmoid", "tinymed.ops.Elementwise"), checks=(
    Check("forward", 1, run=lambda ns: forward(ns["Softplus"], [P]),
          judge=lambda got: close("Softplus.forward(x)", got, softplus(P), "x of shape (4, 3)")),
    Check("backward: dL/dx (what gradcheck compares)", 2, run=lambda ns: gradients(ns["Softplus"], [P])[0],
          judge=softplus_gradient(P)),
    Check("edge case: x = +-1000 without overflow", 1, visibility="after_due_date",
          run=lambda ns: [forward(ns["Softplus"], [P_HUGE]), gradients(ns["Softplus"], [P_HUGE])[0]],
          judge=lambda got: close("Softplus.forward(x)", got[0], softplus(P_HUGE), f"x = {P_HUGE.tolist()}",
                                  hints=[("Use np.logaddexp(0, x), or max(x, 0) + log(1 + e^-|x|).", np.inf)])
          or finite("dL/dx", got[1], f"x = {P_HUGE.tolist()}")),
))

ASSIGNMENT = Assignment(
    name="autograd", title="Backward passes by hand", tutorial="01_autograd.ipynb",
    exercises=(SIGMOID, MUL, MATMUL, SUM, SOFTPLUS), notebook=notebook_path(__name__))
