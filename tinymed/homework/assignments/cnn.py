"""Assignment 2, after tutorial 02 (CNN layers): im2col, a convolution's forward and backward,
max-pool's backward and batch norm's backward.

The references: loops over every output pixel for im2col/col2im (slow, obviously right), and
tinymed's own layers through the engine for the gradients.
"""
import itertools

import numpy as np

import tinymed.nn.functional as F
from tinymed.homework.judge import close, dtype_only
from tinymed.homework.probe import forward, forward_of, gradients, gradients_of, random, upstream
from tinymed.homework.spec import Assignment, Check, Exercise, notebook_path

FORGOT = "It is what an upstream gradient of all ones gives: multiply by `grad` (the chain rule)."


def size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


def patch_entries(x_shape, kh, kw, stride, padding):
    """Every entry of im2col, one at a time: its place in cols, (c, i, j, n, p, q), and the padded
    pixel it copies, (n, c, stride*p + i, stride*q + j)."""
    n, c, h, w = x_shape
    ho, wo = size(h, kh, stride, padding), size(w, kw, stride, padding)
    for ni, ci, i, j, p, q in itertools.product(range(n), range(c), range(kh), range(kw), range(ho), range(wo)):
        yield (ci, i, j, ni, p, q), (ni, ci, stride * p + i, stride * q + j)


def im2col_by_loops(x, kh, kw, stride, padding):
    """cols[(c, i, j), (n, p, q)] = x_padded[n, c, stride*p + i, stride*q + j]."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.zeros((c, kh, kw, n, size(h, kh, stride, padding), size(w, kw, stride, padding)))
    for entry, pixel in patch_entries(x.shape, kh, kw, stride, padding):
        cols[entry] = xp[pixel]
    return cols.reshape(c * kh * kw, -1)


def col2im_by_loops(cols, x_shape, kh, kw, stride, padding, add=True):
    """The adjoint: every entry of cols added back to the pixel it was copied from (with
    add=False, written over it: the usual slip, whose answer a hint recognises)."""
    n, c, h, w = x_shape
    cols = cols.reshape(c, kh, kw, n, size(h, kh, stride, padding), size(w, kw, stride, padding))
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    for entry, pixel in patch_entries(x_shape, kh, kw, stride, padding):
        xp[pixel] = add * xp[pixel] + cols[entry]
    return xp[:, :, padding:padding + h, padding:padding + w]


# -- im2col and col2im --------------------------------------------------------------------------

IM = random(21, (2, 3, 5, 5))
IM_HIDDEN = random(22, (1, 2, 7, 6))


def cols_of(x, kh, kw, stride, padding):
    return random(23, (x.shape[1] * kh * kw, x.shape[0] * size(x.shape[2], kh, stride, padding)
                       * size(x.shape[3], kw, stride, padding)))


def im2col_case(x, kh, kw, stride, padding):
    """(run, judge) of im2col and of col2im on one input."""
    context = f"x of shape {x.shape}, kernel {kh}x{kw}, stride={stride}, padding={padding}"
    cols = cols_of(x, kh, kw, stride, padding)
    return (lambda ns: ns["im2col"](x.copy(), kh, kw, stride, padding),
            lambda got: close("im2col(x)", got, im2col_by_loops(x, kh, kw, stride, padding), context),
            lambda ns: ns["col2im"](cols.copy(), x.shape, kh, kw, stride, padding),
            lambda got: close("col2im(cols)", got, col2im_by_loops(cols, x.shape, kh, kw, stride, padding), context,
                              hints=[("Pixels in several patches must receive the sum of their entries: add with `+=`.",
                                      col2im_by_loops(cols, x.shape, kh, kw, stride, padding, add=False))]))


RUN_IM, JUDGE_IM, RUN_COL, JUDGE_COL = im2col_case(IM, 3, 3, 1, 1)
HIDDEN = im2col_case(IM_HIDDEN, 3, 2, 2, 0)

IM2COL = Exercise("im2col", names=("im2col", "col2im"), forbidden=(
    "tinymed.nn.conv", "tinymed.nn.functional.conv2d", "tinymed.nn.Conv2d", "scipy.signal", "scipy.ndimage"), checks=(
    Check("im2col: the patches as columns", 2, run=RUN_IM, judge=JUDGE_IM),
    Check("col2im: overlapping patches summed", 2, run=RUN_COL, judge=JUDGE_COL),
    Check("stride 2, a 3x2 kernel, no padding", 1, visibility="hidden",
          run=lambda ns: [HIDDEN[0](ns), HIDDEN[2](ns)],
          judge=lambda got: HIDDEN[1](got[0]) or HIDDEN[3](got[1])),
))

# -- Conv2d forward and backward ----------------------------------------------------------------

CX, CW, CB = random(24, (2, 3, 6, 5)), random(25, (4, 3, 3, 3)), random(26, (4,))
CX_HIDDEN, CW_HIDDEN, CB_HIDDEN = random(27, (3, 2, 7, 7)), random(28, (2, 2, 3, 2)), random(29, (2,))
NAMES = ("dL/dx", "dL/dweight", "dL/dbias")


def conv_gradient(x, w, b, which, stride=1, padding=0):
    context = f"x {x.shape}, weight {w.shape}, bias {b.shape}, stride={stride}, padding={padding}"
    options = {"stride": stride, "padding": padding}
    return lambda got: close(NAMES[which], got, gradients_of(F.conv2d, [x, w, b], **options)[which], context,
                             hints=[(FORGOT, gradients_of(F.conv2d, [x, w, b], seed=None, **options)[which])])


def conv_grads(ns, x=CX, w=CW, b=CB, **options):
    return gradients(ns["Conv2d"], [x, w, b], **options)


CONV = Exercise("conv2d", names=("Conv2d",), forbidden=(
    "tinymed.nn.conv", "tinymed.nn.functional.conv2d", "tinymed.nn.Conv2d", "scipy.signal", "scipy.ndimage"), checks=(
    Check("forward", 2, run=lambda ns: forward(ns["Conv2d"], [CX, CW, CB]),
          judge=lambda got: close("Conv2d.forward", got, forward_of(F.conv2d, [CX, CW, CB]),
                                  "x (2, 3, 6, 5), weight (4, 3, 3, 3)")),
    Check("backward: dL/dx", 2, run=lambda ns: conv_grads(ns)[0], judge=conv_gradient(CX, CW, CB, 0)),
    Check("backward: dL/dweight", 2, run=lambda ns: conv_grads(ns)[1], judge=conv_gradient(CX, CW, CB, 1)),
    Check("backward: dL/dbias", 1, run=lambda ns: conv_grads(ns)[2], judge=conv_gradient(CX, CW, CB, 2)),
    Check("dtype: float32 stays float32", 1,
          run=lambda ns: [forward(ns["Conv2d"], [a.astype(np.float32) for a in (CX, CW, CB)])]
          + conv_grads(ns, *(a.astype(np.float32) for a in (CX, CW, CB))),
          judge=lambda got: next(filter(None, (dtype_only(what, g, np.float32)
                                               for what, g in zip(("the output", *NAMES), got))), None)),
    Check("stride 2 and padding 1: all three gradients", 2, visibility="hidden",
          run=lambda ns: conv_grads(ns, CX_HIDDEN, CW_HIDDEN, CB_HIDDEN, stride=2, padding=1),
          judge=lambda got: next(filter(None, (conv_gradient(CX_HIDDEN, CW_HIDDEN, CB_HIDDEN, k, 2, 1)(got[k])
                                               for k in range(3))), None)),
))

# -- max pooling: the backward ------------------------------------------------------------------

MP = random(31, (2, 2, 4, 6))
MP_HIDDEN = random(32, (1, 3, 7, 5))


def pool_gradient(x, k, stride):
    context = f"x of shape {x.shape}, kernel_size={k}, stride={stride}"
    expected = gradients_of(F.max_pool2d, [x], kernel_size=k, stride=stride)[0]
    forgot = gradients_of(F.max_pool2d, [x], seed=None, kernel_size=k, stride=stride)[0]
    return lambda got: close("dL/dx", got, expected, context, hints=[(FORGOT, forgot)])


MAXPOOL = Exercise("maxpool", names=("MaxPool2d",), forbidden=(
    "tinymed.nn.conv.MaxPool2d", "tinymed.nn.functional.max_pool2d", "tinymed.nn.MaxPool2d"), checks=(
    Check("backward: 2x2 windows, stride 2", 2, run=lambda ns: gradients(ns["MaxPool2d"], [MP], kernel_size=2, stride=2)[0],
          judge=pool_gradient(MP, 2, 2)),
    Check("backward: overlapping windows (stride 1) add up", 1,
          run=lambda ns: gradients(ns["MaxPool2d"], [MP], kernel_size=2, stride=1)[0], judge=pool_gradient(MP, 2, 1)),
    Check("backward: 3x3 windows, stride 2, odd sizes", 1, visibility="hidden",
          run=lambda ns: gradients(ns["MaxPool2d"], [MP_HIDDEN], kernel_size=3, stride=2)[0],
          judge=pool_gradient(MP_HIDDEN, 3, 2)),
))

# -- batch normalisation (training mode): the backward --------------------------------------------

BN_X, BN_G, BN_B = random(33, (4, 3, 2, 2)) * 2 + 1, random(34, (3,)), random(35, (3,))
BN_X_HIDDEN, BN_G_HIDDEN, BN_B_HIDDEN = random(36, (6, 2, 3, 1)), random(37, (2,)), random(38, (2,))
BN_NAMES = ("dL/dx", "dL/dgamma", "dL/dbeta")


def bn_gradient(x, g, b, which):
    expected = gradients_of(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True), [x, g, b])
    context = f"x of shape {x.shape}, training mode"
    hints = [("It is dL/dx as if the mean and variance were constants: in training they depend on x too, "
              "which adds the terms with sum(dxhat) and sum(dxhat * xhat).", _bn_constant_stats(x, g, which))]
    return lambda got: close(BN_NAMES[which], got, expected[which], context, hints=hints, rtol=1e-5, atol=1e-8)


def _bn_constant_stats(x, g, which):
    if which != 0:
        return None
    var = x.var(axis=(0, 2, 3)) if x.ndim == 4 else x.var(axis=0)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return upstream(x.shape) * (g / np.sqrt(var + 1e-5)).reshape(shape)


def bn_grads(ns, x=BN_X, g=BN_G, b=BN_B):
    return gradients(ns["BatchNorm"], [x, g, b], eps=1e-5)


BATCHNORM = Exercise("batchnorm", names=("BatchNorm",), forbidden=(
    "tinymed.nn.functional.BatchNorm", "tinymed.nn.functional.batch_norm", "tinymed.nn.BatchNorm2d",
    "tinymed.nn.BatchNorm1d"), checks=(
    Check("backward: dL/dx", 2, run=lambda ns: bn_grads(ns)[0], judge=bn_gradient(BN_X, BN_G, BN_B, 0)),
    Check("backward: dL/dgamma", 1, run=lambda ns: bn_grads(ns)[1], judge=bn_gradient(BN_X, BN_G, BN_B, 1)),
    Check("backward: dL/dbeta", 1, run=lambda ns: bn_grads(ns)[2], judge=bn_gradient(BN_X, BN_G, BN_B, 2)),
    Check("backward: another shape, all three", 1, visibility="hidden",
          run=lambda ns: bn_grads(ns, BN_X_HIDDEN, BN_G_HIDDEN, BN_B_HIDDEN),
          judge=lambda got: next(filter(None, (bn_gradient(BN_X_HIDDEN, BN_G_HIDDEN, BN_B_HIDDEN, k)(got[k])
                                               for k in range(3))), None)),
))

ASSIGNMENT = Assignment(
    name="cnn", title="CNN layers by hand", tutorial="02_cnn_layers.ipynb",
    exercises=(IM2COL, CONV, MAXPOOL, BATCHNORM), notebook=notebook_path(__name__))
