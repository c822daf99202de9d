"""Slow batch normalisation and softmax by their definitions, in plain Python loops, to check
tinymed.nn.functional against."""
import math

import numpy as np


def _channel_positions(shape, c):
    """Every index of an (N, C, ...) array that lies in channel c."""
    return [index for index in np.ndindex(*shape) if index[1] == c]


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """Returns (out, new_running_mean, new_running_var) as float64 arrays; inputs are not changed."""
    out = np.zeros(x.shape)
    new_mean, new_var = [float(v) for v in running_mean], [float(v) for v in running_var]
    for c in range(x.shape[1]):
        positions = _channel_positions(x.shape, c)
        values = [float(x[i]) for i in positions]
        m = len(values)
        if training:
            mean = sum(values) / m
            var = sum((v - mean) ** 2 for v in values) / m
            new_mean[c] = (1 - momentum) * new_mean[c] + momentum * mean
            new_var[c] = (1 - momentum) * new_var[c] + momentum * var * m / (m - 1)
        else:
            mean, var = float(running_mean[c]), float(running_var[c])
        for i, v in zip(positions, values):
            out[i] = (v - mean) / math.sqrt(var + eps) * float(weight[c]) + float(bias[c])
    return out, np.array(new_mean), np.array(new_var)


def batch_norm_training_backward(x, weight, g, eps):
    """dL/dx, dL/dweight, dL/dbias of training-mode batch norm, by the chain rule in stages
    through var and mean (the textbook derivation, not the compact formula the library uses)."""
    dx = np.zeros(x.shape)
    dweight, dbias = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for c in range(x.shape[1]):
        positions = _channel_positions(x.shape, c)
        values = [float(x[i]) for i in positions]
        grads = [float(g[i]) for i in positions]
        m = len(values)
        mean = sum(values) / m
        var = sum((v - mean) ** 2 for v in values) / m
        std = math.sqrt(var + eps)
        xhat = [(v - mean) / std for v in values]
        dweight[c] = sum(gi * h for gi, h in zip(grads, xhat))
        dbias[c] = sum(grads)
        dxhat = [gi * float(weight[c]) for gi in grads]
        dvar = sum(d * (v - mean) for d, v in zip(dxhat, values)) * -0.5 * (var + eps) ** -1.5
        dmean = sum(-d / std for d in dxhat) + dvar * sum(-2 * (v - mean) for v in values) / m
        for i, d, v in zip(positions, dxhat, values):
            dx[i] = d / std + dvar * 2 * (v - mean) / m + dmean / m
    return dx, dweight, dbias


def softmax_rows(x):
    """Softmax of every row of a 2-d array: exp(v - max) / sum of them."""
    out = []
    for row in x:
        top = max(float(v) for v in row)
        exps = [math.exp(float(v) - top) for v in row]
        total = sum(exps)
        out.append([e / total for e in exps])
    return np.array(out)


# -- activations, one element at a time, from their textbook formulas -------------------------


def _elementwise(f, x):
    return np.array([f(float(v)) for v in np.ravel(x)]).reshape(np.shape(x))


def leaky_relu(x, slope):
    return _elementwise(lambda v: v if v > 0 else slope * v, x)


def elu(x, alpha):
    return _elementwise(lambda v: v if v > 0 else alpha * math.expm1(v), x)


def gelu(x):
    return _elementwise(lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2))), x)


def gelu_tanh(x):
    k = math.sqrt(2 / math.pi)
    return _elementwise(lambda v: 0.5 * v * (1 + math.tanh(k * (v + 0.044715 * v**3))), x)


def silu(x):
    return _elementwise(lambda v: v / (1 + math.exp(-v)), x)


def softplus(x, beta, threshold):
    return _elementwise(lambda v: v if beta * v > threshold else math.log1p(math.exp(beta * v)) / beta, x)


def layer_norm(x, k, weight, bias, eps):
    """Normalise each of the x.shape[:-k] blocks of its last k axes, by explicit loops."""
    lead = x.shape[: x.ndim - k]
    out = np.zeros(x.shape)
    for index in np.ndindex(*lead):
        block = [float(v) for v in np.ravel(x[index])]
        mean = sum(block) / len(block)
        var = sum((v - mean) ** 2 for v in block) / len(block)
        normed = np.array([(v - mean) / math.sqrt(var + eps) for v in block]).reshape(x.shape[x.ndim - k:])
        out[index] = normed * weight + bias
    return out
