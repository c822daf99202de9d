"""Convolution and pooling written as their definitions, one output element at a time.

Slow (plain Python loops over every index) and obviously correct; tests compare
tinymed.nn.conv against them on small shapes. Stride and padding are (h, w) pairs.
"""
import math

import numpy as np


def out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_loops(x, weight, bias, stride, padding):
    """out[n, o, y, z] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * x[n, c, y*sh + i - ph, z*sw + j - pw],
    reading 0 outside x."""
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = stride, padding
    out_h, out_w = out_size(H, kh, sh, ph), out_size(W, kw, sw, pw)
    out = np.zeros((N, O, out_h, out_w))
    for n in range(N):
        for o in range(O):
            for y in range(out_h):
                for z in range(out_w):
                    total = 0.0 if bias is None else float(bias[o])
                    for c in range(C):
                        for i in range(kh):
                            for j in range(kw):
                                row, col = y * sh + i - ph, z * sw + j - pw
                                if 0 <= row < H and 0 <= col < W:
                                    total += float(weight[o, c, i, j]) * float(x[n, c, row, col])
                    out[n, o, y, z] = total
    return out


def _windows(x, kernel, stride, padding, fill):
    """Yield (n, c, y, z, values in the window, row-major), reading `fill` outside x."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    for n in range(N):
        for c in range(C):
            for y in range(out_size(H, kh, sh, ph)):
                for z in range(out_size(W, kw, sw, pw)):
                    values = []
                    for i in range(kh):
                        for j in range(kw):
                            row, col = y * sh + i - ph, z * sw + j - pw
                            inside = 0 <= row < H and 0 <= col < W
                            values.append(float(x[n, c, row, col]) if inside else fill)
                    yield n, c, y, z, values


def _pool_output(x, kernel, stride, padding):
    N, C, H, W = x.shape
    return np.zeros((N, C, out_size(H, kernel[0], stride[0], padding[0]), out_size(W, kernel[1], stride[1], padding[1])))


def max_pool2d_loops(x, kernel, stride, padding):
    """The largest value in each window; the padding is -inf."""
    out = _pool_output(x, kernel, stride, padding)
    for n, c, y, z, values in _windows(x, kernel, stride, padding, -math.inf):
        out[n, c, y, z] = max(values)
    return out


def avg_pool2d_loops(x, kernel, stride, padding):
    """The sum of each window divided by kh*kw; the padding is 0 and counts (count_include_pad)."""
    out = _pool_output(x, kernel, stride, padding)
    for n, c, y, z, values in _windows(x, kernel, stride, padding, 0.0):
        out[n, c, y, z] = sum(values) / (kernel[0] * kernel[1])
    return out
