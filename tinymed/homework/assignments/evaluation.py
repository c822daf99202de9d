"""Assignment 6, after tutorial 06 (evaluation): the course's metric functions by their names
(`true_positives` ... `false_negatives` at pred >= th, `get_sensitivity` ...), the AUC by counting
pairs, a stratified bootstrap interval, and `check_for_leakage(df1, df2, patient_col)`.

`check_for_leakage` takes pandas DataFrames when the student has pandas, but the checks pass it
plain mappings of columns (dicts of lists, dicts of arrays): pandas is not a tinymed dependency.
"""
import numpy as np

from tinymed.homework.judge import close, equal
from tinymed.homework.probe import random
from tinymed.homework.spec import Assignment, Check, Exercise, notebook_path

# tinymed.metrics and the file beside it that defines its curves and areas (roc_auc, ...)
METRICS = ("tinymed.metrics", "tinymed.metrics_curves", "sklearn.metrics", "scipy.stats.mannwhitneyu",
           "scipy.stats.bootstrap")
Y = (random(70, (30,), low=0, high=1) < 0.3).astype(int)
PRED = np.round(random(71, (30,), low=0, high=1), 3)
PRED = np.where(PRED == 0.5, 0.501, PRED)  # no prediction on the threshold here: the ties have a check of their own
Y_HIDDEN = (random(72, (50,), low=0, high=1) < 0.2).astype(int)
PRED_HIDDEN = np.round(random(73, (50,), low=0, high=1), 1)  # rounded: many ties with th=0.3
TIES_Y, TIES_PRED = np.array([1, 0, 1, 0, 1, 0]), np.array([0.5, 0.5, 0.7, 0.2, 0.4, 0.9])


def counts(y, pred, th):
    positive = pred >= th
    return {"true_positives": int(np.sum(positive & (y == 1))), "true_negatives": int(np.sum(~positive & (y == 0))),
            "false_positives": int(np.sum(positive & (y == 0))), "false_negatives": int(np.sum(~positive & (y == 1)))}


COUNT_NAMES = ("true_positives", "true_negatives", "false_positives", "false_negatives")


def student_counts(ns, y, pred, th):
    return {name: int(ns[name](y.copy(), pred.copy(), th)) for name in COUNT_NAMES}


def count_right(names, y, pred, th, context):
    def judge(got):
        expected, strict = counts(y, pred, th), counts(y, pred + (pred == th) * -1e-9, th)
        for name in names:
            if got[name] != expected[name]:
                hint = (f"A prediction equal to th is positive: compare with `pred >= th` (and `pred < th` for the "
                        f"negatives), not `>` or `<=`." if got[name] == strict[name] else "")
                return equal(f"{name}(y, pred, th={th})", got[name], expected[name], context, hint)
        return None
    return judge


CONTEXT = "30 labels and predictions, th=0.5"
TIES = f"y = {TIES_Y.tolist()}, pred = {TIES_PRED.tolist()}, th=0.5"
CONFUSION = Exercise("confusion", names=COUNT_NAMES, forbidden=METRICS, checks=tuple(
    Check(name, 1, run=lambda ns: student_counts(ns, Y, PRED, 0.5), judge=count_right([name], Y, PRED, 0.5, CONTEXT))
    for name in COUNT_NAMES) + (
    Check("edge case: pred == th counts as positive", 1, run=lambda ns: student_counts(ns, TIES_Y, TIES_PRED, 0.5),
          judge=count_right(COUNT_NAMES, TIES_Y, TIES_PRED, 0.5, TIES)),
    Check("another threshold, with ties", 1, visibility="hidden",
          run=lambda ns: student_counts(ns, Y_HIDDEN, PRED_HIDDEN, 0.3),
          judge=count_right(COUNT_NAMES, Y_HIDDEN, PRED_HIDDEN, 0.3, "50 labels and predictions, th=0.3")),
))

# -- the rates ----------------------------------------------------------------------------------

RATE_NAMES = ("get_prevalence", "get_sensitivity", "get_specificity", "get_ppv", "get_npv")


def rates(y, pred, th):
    c = counts(y, pred, th)
    tp, tn, fp, fn = (c[n] for n in COUNT_NAMES)
    return {"get_prevalence": float(np.mean(y)), "get_sensitivity": tp / (tp + fn), "get_specificity": tn / (tn + fp),
            "get_ppv": tp / (tp + fp), "get_npv": tn / (tn + fn)}


def student_rates(ns, y, pred, th):
    return {name: float(ns[name](y.copy()) if name == "get_prevalence" else ns[name](y.copy(), pred.copy(), th))
            for name in RATE_NAMES}


SWAPS = {"get_sensitivity": ("get_specificity", "That is the specificity: sensitivity = TP / (TP + FN)."),
         "get_specificity": ("get_sensitivity", "That is the sensitivity: specificity = TN / (TN + FP)."),
         "get_ppv": ("get_npv", "That is the NPV: PPV = TP / (TP + FP)."),
         "get_npv": ("get_ppv", "That is the PPV: NPV = TN / (TN + FN).")}


def rate_right(names, y, pred, th, context):
    def judge(got):
        expected = rates(y, pred, th)
        for name in names:
            other, text = SWAPS.get(name, (name, ""))
            message = close(name, got[name], expected[name], context, hints=[(text, expected[other])] if text else ())
            if message:
                return message
        return None
    return judge


RATES = Exercise("rates", names=RATE_NAMES, forbidden=METRICS, checks=tuple(
    Check(name, 1, run=lambda ns: student_rates(ns, Y, PRED, 0.5), judge=rate_right([name], Y, PRED, 0.5, CONTEXT))
    for name in RATE_NAMES) + (
    Check("all five on another data set", 1, visibility="hidden",  # th between the rounded predictions: no ties
          run=lambda ns: student_rates(ns, Y_HIDDEN, PRED_HIDDEN, 0.35),
          judge=rate_right(RATE_NAMES, Y_HIDDEN, PRED_HIDDEN, 0.35, "50 labels and predictions, th=0.35")),
))

# -- AUC by counting pairs ----------------------------------------------------------------------

AUC_Y, AUC_S = np.array([0, 0, 1, 1, 0, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.7, 0.6])
TIE_Y, TIE_S = np.array([0, 1, 0, 1, 1, 0]), np.array([0.3, 0.3, 0.6, 0.6, 0.9, 0.1])


def auc_right(y, s, context):
    positives, negatives = s[y == 1][:, None], s[y == 0][None, :]
    hints = [("Tied pairs count half, not zero.", float(np.mean(positives > negatives))),
             ("Tied pairs count half, not one.", float(np.mean(positives >= negatives)))]
    expected = float(np.mean((positives > negatives) + 0.5 * (positives == negatives)))  # the definition
    return lambda got: close("auc", got, expected, context, hints=hints)


AUC = Exercise("auc", names=("auc",), forbidden=METRICS, checks=(
    Check("no ties", 1, run=lambda ns: float(ns["auc"](AUC_Y.copy(), AUC_S.copy())),
          judge=auc_right(AUC_Y, AUC_S, f"y = {AUC_Y.tolist()}, scores = {AUC_S.tolist()}")),
    Check("edge case: tied scores count half", 1, run=lambda ns: float(ns["auc"](TIE_Y.copy(), TIE_S.copy())),
          judge=auc_right(TIE_Y, TIE_S, f"y = {TIE_Y.tolist()}, scores = {TIE_S.tolist()}")),
    Check("50 examples with ties", 1, visibility="hidden",
          run=lambda ns: float(ns["auc"](Y_HIDDEN.copy(), PRED_HIDDEN.copy())),
          judge=auc_right(Y_HIDDEN, PRED_HIDDEN, "50 labels and scores rounded to 0.1")),
))

# -- a stratified bootstrap ---------------------------------------------------------------------

B_Y = np.array([1] * 4 + [0] * 36)[np.random.default_rng(74).permutation(40)]
B_PRED = random(75, (40,), low=0, high=1) + 0.3 * B_Y


def bootstrapped(ns, seed=0, n_bootstraps=200):
    """The student's interval, and what their metric saw: each resample's positives and value."""
    seen = []

    def metric(y, pred):  # defined on any resample, so that only the stratification check sees a plain bootstrap
        y, pred = np.asarray(y), np.asarray(pred)
        value = float(np.sum(pred * y) - np.sum(pred * (1 - y)) / 9)
        seen.append([int(y.sum()), len(y), value])
        return value

    low, high = ns["bootstrap_ci"](metric, B_Y.copy(), B_PRED.copy(), n_bootstraps=n_bootstraps, level=0.9, seed=seed)
    return {"interval": [float(low), float(high)], "seen": seen}


def stratified(got):
    bad = [s for s in got["seen"] if s[:2] != [4, 40]]
    if bad:
        return (f"a resample held {bad[0][0]} positives among {bad[0][1]} examples, but the data has 4 among 40: "
                f"resample the positives and the negatives separately (stratified), each with replacement")
    return None


QUANTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
                    "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
                    "normal_unbiased")


def percentiles(got):
    values = np.array([s[2] for s in got["seen"]])
    if len(values) not in (200, 201):
        return f"the metric was called {len(values)} times; with n_bootstraps=200 it should be 200 (201 with the estimate)"
    low, high = got["interval"]
    for bound, q, name in ((low, 0.05, "low"), (high, 0.95, "high")):
        candidates = [np.quantile(v, q, method=m) for v in (values, values[1:]) for m in QUANTILE_METHODS]
        if not min(candidates) - 1e-12 <= bound <= max(candidates) + 1e-12:
            return (f"the interval's {name} end is {bound:.6g}, but the {q:.0%} quantile of the 200 resampled values is "
                    f"{np.quantile(values, q):.6g} (level=0.9): take "
                    f"np.quantile(values, [(1 - level) / 2, (1 + level) / 2])")
    return None


BOOTSTRAP = Exercise("bootstrap", names=("bootstrap_ci",), forbidden=METRICS, checks=(
    Check("stratified: every resample keeps the class counts", 1, run=bootstrapped, judge=stratified),
    Check("the interval is the quantiles of the resampled values", 1, run=bootstrapped, judge=percentiles),
    Check("the same seed gives the same interval", 1, visibility="hidden",
          run=lambda ns: [bootstrapped(ns, 3, 50)["interval"], bootstrapped(ns, 3, 50)["interval"],
                          bootstrapped(ns, 4, 50)["interval"]],
          judge=lambda got: "two calls with seed=3 gave different intervals: draw from np.random.default_rng(seed)"
          if got[0] != got[1] else "seed=3 and seed=4 gave the same interval: use the seed" if got[0] == got[2] else None),
))

# -- leakage ------------------------------------------------------------------------------------

TRAIN = {"PatientId": ["P01", "P02", "P03", "P04", "P05"], "Image": ["a.png", "b.png", "c.png", "d.png", "e.png"]}
TEST_CLEAN = {"PatientId": ["P06", "P07", "P08"], "Image": ["f.png", "g.png", "h.png"]}
TEST_LEAK = {"PatientId": ["P09", "P04", "P10"], "Image": ["i.png", "j.png", "k.png"]}
HIDDEN_A = {"patient": np.array([11, 12, 13, 14, 15, 16]), "label": np.zeros(6)}
HIDDEN_B = {"patient": np.array([20, 21, 16, 22, 12]), "label": np.ones(5)}


def leak(ns, a, b, column):
    return bool(ns["check_for_leakage"]({k: v.copy() for k, v in a.items()}, {k: v.copy() for k, v in b.items()}, column))


LEAKAGE = Exercise("leakage", names=("check_for_leakage",), forbidden=(
    "tinymed.datasets.has_leakage", "tinymed.datasets.patient_split"), checks=(
    Check("no patient in both sets: False", 1, run=lambda ns: leak(ns, TRAIN, TEST_CLEAN, "PatientId"),
          judge=lambda got: equal("check_for_leakage", got, False, "train P01..P05, test P06..P08")),
    Check("a patient in both sets, at different rows: True", 1, run=lambda ns: leak(ns, TRAIN, TEST_LEAK, "PatientId"),
          judge=lambda got: equal("check_for_leakage", got, True, "patient P04 is row 3 of df1 and row 1 of df2",
                                  "Compare the sets of patient IDs (set(df1[col]) & set(df2[col])), not the rows "
                                  "pairwise: a leaked patient rarely sits at the same row.")),
    Check("columns as NumPy arrays, two leaked patients", 1, visibility="hidden",
          run=lambda ns: leak(ns, HIDDEN_A, HIDDEN_B, "patient"),
          judge=lambda got: equal("check_for_leakage", got, True, "patients 12 and 16 in both, columns as NumPy arrays",
                                  "Use set(df[patient_col]): it works for DataFrames, dicts of lists and arrays alike.")),
))

ASSIGNMENT = Assignment(
    name="evaluation", title="Evaluating a classifier when the disease is rare", tutorial="06_evaluation.ipynb",
    exercises=(CONFUSION, RATES, AUC, BOOTSTRAP, LEAKAGE), notebook=notebook_path(__name__))
