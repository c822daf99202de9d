"""Class counts after imbalanced-learn's random over/undersampling, by its rules, in plain Python.

Written from imbalanced-learn's documentation and `check_sampling_strategy`: counts are taken per
class in sorted label order, and the majority / minority class is the first of the largest /
smallest count in that order.
"""


def class_counts(y):
    counts = {}
    for label in y:
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def resampled_counts(y, method, strategy):
    """{class: count} after resampling, or raises ValueError where imbalanced-learn does."""
    counts = class_counts(y)
    if len(counts) < 2:
        raise ValueError("single class")
    n_majority = max(counts.values())
    n_minority = min(counts.values())
    majority = next(c for c in counts if counts[c] == n_majority)
    minority = next(c for c in counts if counts[c] == n_minority)
    after = dict(counts)
    if isinstance(strategy, str):
        if strategy == "auto":
            strategy = "not majority" if method == "over" else "not minority"
        if (method, strategy) in (("over", "majority"), ("under", "minority")):
            raise ValueError("strategy not allowed for this method")
        for c in counts:
            chosen = {
                "all": True,
                "minority": c == minority,
                "majority": c == majority,
                "not minority": c != minority,
                "not majority": c != majority,
            }[strategy]
            if chosen:
                after[c] = n_majority if method == "over" else n_minority
    elif isinstance(strategy, dict):
        for c, n in strategy.items():
            if c not in counts or n < 0:
                raise ValueError("unknown class or negative count")
            if (method == "over" and n < counts[c]) or (method == "under" and n > counts[c]):
                raise ValueError("dict count on the wrong side of the current count")
            after[c] = n
    else:
        if len(counts) != 2 or not 0 < strategy <= 1:
            raise ValueError("float ratio needs binary y and a ratio in (0, 1]")
        if method == "over":
            added = int(n_majority * strategy - counts[minority])
            if added <= 0:
                raise ValueError("ratio would shrink the minority class")
            after[minority] = counts[minority] + added
        else:
            kept = int(n_minority / strategy)
            if kept > counts[majority]:
                raise ValueError("ratio would grow the majority class")
            after[majority] = kept
    return after
