"""Convolution and pooling written as their definitions, one output element at a time.

Slow (plain Python loops over every index) and obviously correct; tests compare
tinymed.nn.conv and tinymed.nn.pooling against them on small shapes. Stride, padding and
dilation are (h, w) pairs.
"""
import math

import numpy as np


def out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def conv2d_loops(x, weight, bias, stride, padding, dilation=(1, 1), groups=1):
    """out[n, o, y, z] = bias[o] + sum_{c, i, j} weight[o, c, i, j] * x[n, c0 + c, y*sh + i*dh - ph, z*sw + j*dw - pw],
    reading 0 outside x; c0 = (o // (O / groups)) * (C / groups), the first channel of o's group."""
    N, C, H, W = x.shape
    O, C_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    out_h = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, O, out_h, out_w))
    for n in range(N):
        for o in range(O):
            c0 = (o // (O // groups)) * C_group
            for y in range(out_h):
                for z in range(out_w):
                    total = 0.0 if bias is None else float(bias[o])
                    for c in range(C_group):
                        for i in range(kh):
                            for j in range(kw):
                                row, col = y * sh + i * dh - ph, z * sw + j * dw - pw
                                if 0 <= row < H and 0 <= col < W:
                                    total += float(weight[o, c, i, j]) * float(x[n, c0 + c, row, col])
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
