"""bootstrap_ci: 1000 stratified bootstraps of the AUC on 2000 examples, against a naive loop.

    python benchmarks/bench_metrics.py

Data: 2000 examples, about 20 % positive, scores normal with the positives shifted by 1.5.
tinymed's ``bootstrap_ci(metrics.roc_auc, ...)`` ranks each resample (O(N log N)); the naive
loop draws the same stratified resamples and computes each AUC by comparing every positive
with every negative (O(n_pos n_neg), the AUC's definition), as a first implementation would.
scikit-learn's ``roc_auc_score`` in the same loop is timed too when it is importable. Each is
run 3 times and the best time is kept; the intervals are printed to show they agree.
"""
import time

import numpy as np

from tinymed import metrics

N, N_BOOTSTRAPS, LEVEL, SEED = 2000, 1000, 0.95, 0


def best_time(run, repeat=3):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def pairwise_auc(y, scores):
    """P(positive's score > negative's score), ties half, by all pairs at once."""
    pos, neg = scores[y == 1][:, None], scores[y == 0][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def naive_bootstrap(auc, y, scores):
    rng = np.random.default_rng(SEED)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    values = []
    for _ in range(N_BOOTSTRAPS):
        index = np.r_[rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))]
        values.append(auc(y[index], scores[index]))
    return metrics.BootstrapCI(auc(y, scores), *np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]))


def main():
    rng = np.random.default_rng(5)
    y = (rng.random(N) < 0.2).astype(int)
    scores = rng.normal(size=N) + 1.5 * y
    runs = {
        "tinymed bootstrap_ci(roc_auc)": lambda: metrics.bootstrap_ci(
            metrics.roc_auc, y, scores, n_bootstraps=N_BOOTSTRAPS, level=LEVEL, seed=SEED),
        "naive loop, pairwise AUC": lambda: naive_bootstrap(pairwise_auc, y, scores),
    }
    try:
        from sklearn.metrics import roc_auc_score
        runs["naive loop, sklearn roc_auc_score"] = lambda: naive_bootstrap(roc_auc_score, y, scores)
    except ImportError:
        pass
    print(f"{N_BOOTSTRAPS} bootstraps of the AUC on {N} examples ({int(y.sum())} positive), best of 3")
    baseline = None
    for name, run in runs.items():
        seconds, result = best_time(run)
        baseline = baseline or seconds
        print(f"  {name:36s} {seconds:7.3f} s  ({seconds / baseline:5.1f} x tinymed)  {result}")


if __name__ == "__main__":
    main()
