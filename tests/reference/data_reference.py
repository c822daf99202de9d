"""Image transforms pixel by pixel, in plain Python loops, to check tinymed.transforms against."""
import numpy as np


def shift(x, dy, dx, fill):
    """out[c, i, j] = x[c, i - dy, j - dx]; outside the image: 0, or the nearest edge pixel."""
    channels, height, width = x.shape
    out = np.zeros_like(x)
    for c in range(channels):
        for i in range(height):
            for j in range(width):
                si, sj = i - dy, j - dx
                if 0 <= si < height and 0 <= sj < width:
                    out[c, i, j] = x[c, si, sj]
                elif fill == "edge":
                    out[c, i, j] = x[c, min(max(si, 0), height - 1), min(max(sj, 0), width - 1)]
    return out


def normalize(x, mean, std):
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        for i in range(x.shape[1]):
            for j in range(x.shape[2]):
                out[c, i, j] = (x[c, i, j] - mean[c]) / std[c]
    return out
