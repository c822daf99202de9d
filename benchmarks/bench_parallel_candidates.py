"""Would tinymed.parallel help batch norm, ReLU and the optimizer? The candidates, timed.

    python benchmarks/bench_parallel_candidates.py [--rounds 15]

On SimpleCNN's largest activation, (64, 16, 64, 64) float32 (16 MB), times batch norm's forward
+ backward and ReLU's forward + backward as tinymed computes them today and as they would run
over blocks of the batch on tinymed's threads (the versions below: a proposal for the files
that own them, checked equal here), at 1 and 2 threads; and the share of a SimpleCNN step that
the SGD update takes. Medians over rounds, the candidates in turn.
"""
import argparse

import numpy as np
from bench_threads import median_times

import tinymed as tm
from tinymed import models, nn, ops, optim, parallel
from tinymed.nn import normalization

# --- the proposal: batch norm and ReLU over blocks of the batch -------------------------------


def batch_norm_blocks(x, weight, bias, eps):
    """BatchNormFunction.forward in training mode, block by block: (out, xhat, inv_std)."""
    per_channel, m = (1, -1, 1, 1), x.size // x.shape[1]
    blocks = parallel.blocks(x.shape[0], x[:1].nbytes)
    mean = sum(parallel.run(lambda rows: normalization._per_channel_sum(x[rows]), blocks)) / m
    xhat = np.empty_like(x)

    def centre(rows):  # xhat = x - mean, and its share of sum((x - mean)^2)
        np.subtract(x[rows], mean.reshape(per_channel), out=xhat[rows])
        return normalization._per_channel_sum(xhat[rows], xhat[rows])

    var = sum(parallel.run(centre, blocks)) / m
    inv_std = (1.0 / np.sqrt(var + eps)).reshape(per_channel)
    out = np.empty_like(x)

    def scale(rows):
        xhat[rows] *= inv_std
        np.multiply(xhat[rows], weight.reshape(per_channel), out=out[rows])
        out[rows] += bias.reshape(per_channel)

    parallel.run(scale, blocks)
    return out, xhat, inv_std


def batch_norm_blocks_backward(g, xhat, inv_std, weight):
    """BatchNormFunction.backward in training mode, block by block: (dx, dweight, dbias)."""
    per_channel, m = (1, -1, 1, 1), g.size // g.shape[1]
    blocks = parallel.blocks(g.shape[0], g[:1].nbytes)
    sums = parallel.run(lambda rows: (normalization._per_channel_sum(g[rows], xhat[rows]),
                                      normalization._per_channel_sum(g[rows])), blocks)
    dweight, dbias = sum(s[0] for s in sums), sum(s[1] for s in sums)
    factor = weight.reshape(per_channel) * inv_std / m
    dx = np.empty_like(g)

    def one_block(rows):  # dx = (weight inv_std / m) (m g - dbias - xhat dweight)
        np.multiply(g[rows], float(m), out=dx[rows])
        dx[rows] -= dbias.reshape(per_channel)
        dx[rows] -= xhat[rows] * dweight.reshape(per_channel)
        dx[rows] *= factor

    parallel.run(one_block, blocks)
    return dx, dweight, dbias


def relu_blocks(a, g):
    """ReLU forward and backward, block by block: (a * (a > 0), g * (a > 0))."""
    out, da, positive = np.empty_like(a), np.empty_like(g), np.empty(a.shape, bool)

    def one_block(rows):
        np.greater(a[rows], 0, out=positive[rows])
        np.multiply(a[rows], positive[rows], out=out[rows])
        np.multiply(g[rows], positive[rows], out=da[rows])

    parallel.run(one_block, parallel.blocks(a.shape[0], a[:1].nbytes))
    return out, da


# --- today's versions ---------------------------------------------------------------------------


class Ctx:
    needs_input_grad = (True, True, True)

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


def batch_norm_today(x, g, w, b):
    ctx = Ctx()
    out = normalization.BatchNormFunction.forward(ctx, x, w, b, running_mean=None, running_var=None,
                                                  training=True, momentum=0.1, eps=1e-5)
    return (out,) + tuple(normalization.BatchNormFunction.backward(ctx, g))


def relu_today(a, g):
    ctx = Ctx()
    return ops.ReLU.forward(ctx, a), ops.ReLU.backward(ctx, g)


def median_ms(fns, rounds):
    return {name: seconds * 1e3 for name, seconds in median_times(fns, rounds).items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16, 64, 64), dtype=np.float32)
    g = rng.standard_normal(x.shape, dtype=np.float32)
    w, b = rng.random(16, dtype=np.float32) + 0.5, rng.standard_normal(16, dtype=np.float32)

    mine = batch_norm_blocks(x, w, b, 1e-5)
    mine = (mine[0],) + batch_norm_blocks_backward(g, mine[1], mine[2], w)
    for a, c in zip(mine, batch_norm_today(x, g, w, b)):
        np.testing.assert_allclose(a, c, rtol=1e-3, atol=1e-3)
    for a, c in zip(relu_blocks(x, g), relu_today(x, g)):
        np.testing.assert_array_equal(a, c)

    print(f"x (64, 16, 64, 64) float32; median of {args.rounds} rounds, ms")
    print("| threads | batch norm today | batch norm in blocks | ReLU today | ReLU in blocks |")
    print("|---|---|---|---|---|")
    for n in (1, 2):
        tm.set_num_threads(n)
        t = median_ms({"bn": lambda: batch_norm_today(x, g, w, b),
                       "bn blocks": lambda: batch_norm_blocks_backward(g, *batch_norm_blocks(x, w, b, 1e-5)[1:], w),
                       "relu": lambda: relu_today(x, g), "relu blocks": lambda: relu_blocks(x, g)}, args.rounds)
        print(f"| {n} | {t['bn']:.1f} | {t['bn blocks']:.1f} | {t['relu']:.1f} | {t['relu blocks']:.1f} |")

    model = models.SimpleCNN(seed=0)
    sgd = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = tm.tensor(rng.random((64, 1, 64, 64), dtype=np.float32)), (rng.random((64, 1)) < 0.1).astype(np.float32)
    loss_fn = nn.BCEWithLogitsLoss()
    t = median_ms({"step": lambda: (sgd.zero_grad(), loss_fn(model(images), labels).backward(), sgd.step()),
                   "update": sgd.step}, args.rounds)
    print(f"\nSimpleCNN step {t['step']:.1f} ms, of which the SGD update {t['update']:.3f} ms "
          f"({100 * t['update'] / t['step']:.2f}%, {sum(p.size for p in model.parameters())} parameters)")


if __name__ == "__main__":
    main()
