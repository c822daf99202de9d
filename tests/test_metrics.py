import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import metrics_reference as ref
from tinymed import metrics
from tinymed.random import manual_seed

# The worked example: 3 sick, 5 healthy; scores >= 0.5 are positive calls (0.5 itself included).
#   y       1    1    1    0    0    0    0    0
#   score  0.9  0.4  0.6  0.7  0.1  0.2  0.5  0.3
#   call    +    -    +    +    -    -    +    -
#           TP   FN   TP   FP   TN   TN   FP   TN     -> TP 2, FN 1, FP 2, TN 3
Y = [1, 1, 1, 0, 0, 0, 0, 0]
SCORES = [0.9, 0.4, 0.6, 0.7, 0.1, 0.2, 0.5, 0.3]


@st.composite
def labelled_scores(draw, max_size=40, probabilities=False):
    """(y, scores), (N,), both classes present; scores often tied."""
    rest = draw(st.lists(st.integers(0, 1), max_size=max_size - 2))
    y = np.array(draw(st.permutations([1, 0, *rest])))
    if probabilities:
        values = st.floats(0, 1)
    else:
        values = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.floats(-1e3, 1e3))
    scores = np.array(draw(st.lists(values, min_size=len(y), max_size=len(y))))
    return y, scores


class FakeTensor:
    """Anything with .numpy(), like a tinymed Tensor."""

    def __init__(self, array):
        self.array = np.asarray(array)

    def numpy(self):
        return self.array


# --- Metrics at a threshold ------------------------------------------------------------------

def test_confusion_counts_of_the_worked_example():
    assert metrics.confusion_counts(Y, SCORES) == (2, 3, 2, 1)
    c = metrics.confusion_counts(Y, SCORES)
    assert (c.tp, c.tn, c.fp, c.fn) == (2, 3, 2, 1)
    assert all(type(v) is int for v in c)


def test_threshold_metrics_of_the_worked_example():
    assert metrics.accuracy(Y, SCORES) == pytest.approx(5 / 8)
    assert metrics.prevalence(Y) == pytest.approx(3 / 8)
    assert metrics.sensitivity(Y, SCORES) == pytest.approx(2 / 3)
    assert metrics.specificity(Y, SCORES) == pytest.approx(3 / 5)
    assert metrics.ppv(Y, SCORES) == pytest.approx(2 / 4)
    assert metrics.npv(Y, SCORES) == pytest.approx(3 / 4)
    assert metrics.f1(Y, SCORES) == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))


def test_raising_the_threshold_trades_sensitivity_for_specificity():
    # At 0.65 only 0.9 and 0.7 are called positive: TP 1, FN 2, FP 1, TN 4.
    assert metrics.confusion_counts(Y, SCORES, threshold=0.65) == (1, 4, 1, 2)


def test_always_predicting_the_majority_class_is_accurate_but_finds_no_disease():
    y = np.array([1] * 5 + [0] * 95)
    always_normal = np.zeros(100)
    assert metrics.accuracy(y, always_normal) == pytest.approx(0.95)
    assert metrics.sensitivity(y, always_normal) == 0.0
    assert metrics.specificity(y, always_normal) == 1.0
    assert metrics.npv(y, always_normal) == pytest.approx(0.95)


def test_a_ratio_with_a_zero_denominator_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(metrics.ppv([1, 0, 0], [0.1, 0.2, 0.3]))  # no positive calls
        assert np.isnan(metrics.npv([1, 0, 0], [0.9, 0.8, 0.7]))  # no negative calls
        assert np.isnan(metrics.sensitivity([0, 0, 0], [0.1, 0.9, 0.3]))  # no positives
        assert np.isnan(metrics.specificity([1, 1], [0.1, 0.9]))  # no negatives
        assert np.isnan(metrics.f1([0, 0], [0.1, 0.2]))  # no positives, none predicted
        assert np.isnan(metrics.ppv([[1, 0], [0, 1]], [[0.9, 0.1], [0.1, 0.2]])[1])


@given(labelled_scores(), st.floats(-2, 2))
def test_confusion_counts_match_the_loop_reference(data, threshold):
    y, scores = data
    assert metrics.confusion_counts(y, scores, threshold) == ref.confusion_counts(y, scores, threshold)


@given(labelled_scores(), st.floats(-2, 2))
def test_rates_and_their_complements_add_up(data, threshold):
    y, scores = data
    tp, tn, fp, fn = metrics.confusion_counts(y, scores, threshold)
    assert tp + tn + fp + fn == len(y) and tp + fn == y.sum()
    sens, spec = metrics.sensitivity(y, scores, threshold), metrics.specificity(y, scores, threshold)
    assert sens + fn / (tp + fn) == pytest.approx(1.0)  # sensitivity + false negative rate
    assert spec + fp / (tn + fp) == pytest.approx(1.0)  # specificity + false positive rate
    prev = metrics.prevalence(y)
    assert metrics.accuracy(y, scores, threshold) == pytest.approx(prev * sens + (1 - prev) * spec)


@given(labelled_scores(), st.floats(-2, 2))
def test_ppv_follows_from_sensitivity_specificity_and_prevalence_by_bayes(data, threshold):
    y, scores = data
    sens, spec = metrics.sensitivity(y, scores, threshold), metrics.specificity(y, scores, threshold)
    prev = metrics.prevalence(y)
    called_positive = sens * prev + (1 - spec) * (1 - prev)
    if called_positive > 0:
        assert metrics.ppv(y, scores, threshold) == pytest.approx(sens * prev / called_positive)


@given(labelled_scores(), st.floats(-2, 2), st.floats(-2, 2))
def test_a_higher_threshold_never_raises_sensitivity_nor_lowers_specificity(data, t1, t2):
    y, scores = data
    low, high = min(t1, t2), max(t1, t2)
    assert metrics.sensitivity(y, scores, high) <= metrics.sensitivity(y, scores, low)
    assert metrics.specificity(y, scores, high) >= metrics.specificity(y, scores, low)


def test_several_labels_give_one_value_per_column_and_may_have_one_threshold_each():
    rng = np.random.default_rng(0)
    y, scores = rng.integers(0, 2, (30, 3)), rng.random((30, 3))
    thresholds = [0.2, 0.5, 0.8]
    counts = metrics.confusion_counts(y, scores, thresholds)
    for c in range(3):
        expected = ref.confusion_counts(y[:, c], scores[:, c], thresholds[c])
        assert tuple(int(v[c]) for v in counts) == expected
        assert metrics.sensitivity(y, scores, thresholds)[c] == metrics.sensitivity(
            y[:, c], scores[:, c], thresholds[c])
    np.testing.assert_allclose(metrics.prevalence(y), y.mean(axis=0))


def test_inputs_may_be_lists_arrays_tensors_or_a_column_with_a_flat_vector():
    expected = metrics.roc_auc(Y, SCORES)
    column = np.array(SCORES)[:, None]
    assert metrics.roc_auc(FakeTensor(Y), FakeTensor(SCORES)) == expected
    assert metrics.roc_auc(np.array(Y, dtype=bool), np.array(SCORES, dtype=np.float32)) == expected
    assert metrics.roc_auc(Y, column) == expected  # e.g. the (N, 1) output of a 1-logit model
    assert metrics.confusion_counts(np.array(Y)[:, None], SCORES) == (2, 3, 2, 1)


# --- ROC and precision-recall ------------------------------------------------------------------

def test_roc_auc_of_the_worked_example_counts_pairs():
    # Positives 0.9, 0.4, 0.6 against 5 negatives 0.7, 0.1, 0.2, 0.5, 0.3: 0.9 beats 5,
    # 0.4 beats 3, 0.6 beats 4, so 12 of 15 pairs.
    assert metrics.roc_auc(Y, SCORES) == pytest.approx(12 / 15)


def test_a_tie_between_a_positive_and_a_negative_counts_half():
    assert metrics.roc_auc([1, 0], [0.5, 0.5]) == 0.5
    assert metrics.roc_auc([1, 1, 0], [0.7, 0.5, 0.5]) == pytest.approx((1 + 0.5) / 2)


@given(labelled_scores())
def test_roc_auc_is_the_fraction_of_correctly_ordered_pairs(data):
    y, scores = data
    assert metrics.roc_auc(y, scores) == pytest.approx(ref.pairwise_auc(y, scores))


@given(labelled_scores())
def test_roc_curve_visits_each_distinct_threshold_and_its_area_is_the_auc(data):
    y, scores = data
    fpr, tpr, thresholds = metrics.roc_curve(y, scores)
    np.testing.assert_allclose(np.c_[fpr, tpr], ref.roc_points(y, scores))
    assert thresholds[0] == np.inf
    np.testing.assert_array_equal(thresholds[1:], sorted(set(scores), reverse=True))
    assert metrics.roc_auc(y, scores) == pytest.approx(ref.trapezoid_area(list(zip(fpr, tpr))))


@given(labelled_scores())
def test_roc_auc_is_in_the_unit_interval_and_reverses_with_the_ranking(data):
    y, scores = data
    auc = metrics.roc_auc(y, scores)
    assert 0.0 <= auc <= 1.0
    assert metrics.roc_auc(y, -scores) == pytest.approx(1 - auc)
    assert metrics.roc_auc(1 - y, scores) == pytest.approx(1 - auc)


@given(labelled_scores(), st.sampled_from([lambda s: np.exp(s / 8), lambda s: s**3 + s,
                                           lambda s: 5 * s - 7]))
def test_roc_auc_only_depends_on_the_ranking(data, increasing):
    y, _ = data
    scores = np.random.default_rng(len(y)).integers(-20, 21, len(y)).astype(float)
    assert metrics.roc_auc(y, increasing(scores)) == metrics.roc_auc(y, scores)


def test_roc_auc_of_several_columns_is_one_per_column():
    rng = np.random.default_rng(1)
    y, scores = rng.integers(0, 2, (40, 4)), rng.integers(0, 5, (40, 4))
    aucs = metrics.roc_auc(y, scores)
    assert aucs.shape == (4,)
    np.testing.assert_allclose(aucs, [ref.pairwise_auc(y[:, c], scores[:, c]) for c in range(4)])


@given(labelled_scores())
def test_average_precision_matches_its_definition(data):
    y, scores = data
    assert metrics.average_precision(y, scores) == pytest.approx(ref.average_precision(y, scores))


def test_average_precision_of_the_worked_example_and_of_a_perfect_ranking():
    # Thresholds 0.9, 0.7, 0.6, 0.5, 0.4: recall rises at 0.9 (P 1/1), 0.6 (P 2/3), 0.4 (P 3/5).
    assert metrics.average_precision(Y, SCORES) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert metrics.average_precision([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.9]) == 1.0


def test_average_precision_of_a_random_ranking_is_about_the_prevalence():
    rng = np.random.default_rng(2)
    y = (rng.random(20_000) < 0.1).astype(int)
    assert metrics.average_precision(y, rng.random(20_000)) == pytest.approx(y.mean(), abs=0.01)


@given(labelled_scores())
def test_precision_recall_curve_ends_at_precision_one_recall_zero(data):
    y, scores = data
    precision, recall, thresholds = metrics.precision_recall_curve(y, scores)
    assert (precision[-1], recall[-1]) == (1.0, 0.0)
    np.testing.assert_array_equal(thresholds, sorted(set(scores)))
    for p, r, t in zip(precision, recall, thresholds):
        tp, _, fp, fn = ref.confusion_counts(y, scores, t)
        assert (p, r) == pytest.approx((tp / (tp + fp), tp / (tp + fn)))


# --- Choosing a threshold ----------------------------------------------------------------------

@given(labelled_scores())
def test_youden_threshold_maximises_sensitivity_plus_specificity(data):
    y, scores = data
    j = {}
    for t in set(scores):
        tp, tn, fp, fn = ref.confusion_counts(y, scores, t)
        j[t] = Fraction(tp, tp + fn) + Fraction(tn, tn + fp) - 1  # exact, so ties are ties
    best = metrics.youden_threshold(y, scores)
    assert j[best] == max(j.values())
    assert best == max(t for t in j if j[t] == j[best])


@given(labelled_scores(), st.floats(0.01, 1.0))
def test_threshold_for_sensitivity_is_the_highest_reaching_the_target(data, target):
    y, scores = data
    t = metrics.threshold_for_sensitivity(y, scores, target)
    assert metrics.sensitivity(y, scores, t) >= target
    higher = [s for s in set(scores) if s > t]
    assert all(metrics.sensitivity(y, scores, s) < target for s in higher)


# --- Against scikit-learn ----------------------------------------------------------------------

@given(labelled_scores())
def test_curves_and_areas_equal_scikit_learns(data):
    skm = pytest.importorskip("sklearn.metrics")
    y, scores = data
    assert metrics.roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores))
    for ours, theirs in zip(metrics.roc_curve(y, scores),
                            skm.roc_curve(y, scores, drop_intermediate=False)):
        np.testing.assert_allclose(ours, theirs)
    assert metrics.average_precision(y, scores) == pytest.approx(
        skm.average_precision_score(y, scores))
    for ours, theirs in zip(metrics.precision_recall_curve(y, scores),
                            skm.precision_recall_curve(y, scores)):
        np.testing.assert_allclose(ours, theirs)


@given(labelled_scores(), st.floats(0, 1))
def test_threshold_metrics_equal_scikit_learns_where_defined(data, threshold):
    skm = pytest.importorskip("sklearn.metrics")
    y, scores = data
    predicted = (scores >= threshold).astype(int)
    assert metrics.accuracy(y, scores, threshold) == pytest.approx(skm.accuracy_score(y, predicted))
    assert metrics.sensitivity(y, scores, threshold) == pytest.approx(skm.recall_score(y, predicted))
    if predicted.any():
        assert metrics.ppv(y, scores, threshold) == pytest.approx(skm.precision_score(y, predicted))
        assert metrics.f1(y, scores, threshold) == pytest.approx(skm.f1_score(y, predicted))


def test_several_columns_equal_scikit_learns_average_none():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y, scores = rng.integers(0, 2, (200, 5)), rng.integers(0, 10, (200, 5)) / 10
    np.testing.assert_allclose(metrics.roc_auc(y, scores), skm.roc_auc_score(y, scores, average=None))
    np.testing.assert_allclose(metrics.average_precision(y, scores),
                               skm.average_precision_score(y, scores, average=None))


@given(labelled_scores(probabilities=True), st.integers(1, 12))
def test_calibration_curve_equals_scikit_learns_uniform_strategy(data, n_bins):
    calibration = pytest.importorskip("sklearn.calibration")
    y, probs = data
    prob_true, prob_pred, _ = metrics.calibration_curve(y, probs, n_bins)
    expected = calibration.calibration_curve(y, probs, n_bins=n_bins, strategy="uniform")
    np.testing.assert_allclose(prob_true, expected[0])
    np.testing.assert_allclose(prob_pred, expected[1])


# --- Calibration -------------------------------------------------------------------------------

@given(labelled_scores(probabilities=True), st.integers(1, 12))
def test_calibration_curve_matches_the_loop_reference(data, n_bins):
    y, probs = data
    probs[: min(2, len(probs))] = [0.0, 1.0][: min(2, len(probs))]
    prob_true, prob_pred, counts = metrics.calibration_curve(y, probs, n_bins)
    np.testing.assert_allclose(np.c_[prob_true, prob_pred, counts],
                               ref.calibration_bins(y, probs, n_bins))
    assert counts.sum() == len(y)


def test_calibration_curve_of_a_worked_example_with_probabilities_on_the_bin_edges():
    # Bins [0, .5] and (.5, 1]: {0, 0.1, 0.2, 0.4, 0.5} hold 1 positive; {0.6, 0.9, 1} hold 3.
    prob_true, prob_pred, counts = metrics.calibration_curve(
        [0, 0, 0, 1, 0, 1, 1, 1], [0.0, 0.1, 0.2, 0.4, 0.5, 0.6, 0.9, 1.0], n_bins=2)
    np.testing.assert_allclose(prob_true, [1 / 5, 1.0])
    np.testing.assert_allclose(prob_pred, [1.2 / 5, 2.5 / 3])
    np.testing.assert_array_equal(counts, [5, 3])


def test_calibration_curve_drops_empty_bins():
    prob_true, prob_pred, counts = metrics.calibration_curve([0, 1, 1], [0.05, 0.95, 0.92])
    np.testing.assert_allclose(prob_true, [0.0, 1.0])
    np.testing.assert_allclose(prob_pred, [0.05, 0.935])
    np.testing.assert_array_equal(counts, [1, 2])


# --- Bootstrap ---------------------------------------------------------------------------------

def _separable_data(n, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    y[:2] = [0, 1]
    return y, rng.normal(size=n) + 1.5 * y


def test_bootstrap_ci_is_reproducible_for_a_seed():
    y, scores = _separable_data(300, 0)
    first = metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=200, seed=7)
    assert metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=200, seed=7) == first
    assert metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=200, seed=8) != first
    manual_seed(5)
    a = metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=50)
    manual_seed(5)
    assert metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=50) == a
    generator = np.random.default_rng(1)
    metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=50, seed=generator)
    assert metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=50, seed=generator) != \
        metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=50, seed=1)


@pytest.mark.parametrize("seed", range(4))
def test_bootstrap_interval_contains_the_estimate_on_the_data(seed):
    y, scores = _separable_data(200, seed)
    result = metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=300, seed=seed)
    assert result.estimate == metrics.roc_auc(y, scores)
    assert result.low < result.estimate < result.high


def test_every_bootstrap_resample_keeps_the_class_counts():
    y, scores = _separable_data(50, 1)
    n_pos = int(y.sum())
    positive_scores, negative_scores = set(scores[y == 1]), set(scores[y == 0])
    seen = []

    def spy(y_resampled, scores_resampled):
        seen.append((np.asarray(y_resampled), np.asarray(scores_resampled)))
        return metrics.roc_auc(y_resampled, scores_resampled)

    metrics.bootstrap_ci(spy, y, scores, n_bootstraps=100, seed=0)
    assert len(seen) == 101  # the estimate, then 100 resamples
    for y_b, scores_b in seen:
        assert len(y_b) == len(y) and y_b.sum() == n_pos
        assert set(scores_b[y_b == 1]) <= positive_scores
        assert set(scores_b[y_b == 0]) <= negative_scores
    assert any(len(set(s.tolist())) < len(y) for _, s in seen[1:])  # drawn with replacement


def test_a_wider_level_gives_a_wider_interval_from_the_same_resamples():
    y, scores = _separable_data(200, 2)
    ci90 = metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=300, level=0.9, seed=3)
    ci99 = metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=300, level=0.99, seed=3)
    assert ci99.low <= ci90.low and ci90.high <= ci99.high


def test_more_data_gives_a_narrower_interval():
    small = metrics.bootstrap_ci(metrics.roc_auc, *_separable_data(100, 4), n_bootstraps=300, seed=0)
    large = metrics.bootstrap_ci(metrics.roc_auc, *_separable_data(3000, 4), n_bootstraps=300, seed=0)
    assert large.high - large.low < (small.high - small.low) / 2


def test_bootstrap_leaves_out_resamples_where_the_metric_is_undefined():
    # PPV at 0.95: only the single 0.99 is a positive call, missing from many resamples.
    y, scores = [1, 1, 1, 0, 0, 0, 0], [0.99, 0.2, 0.3, 0.1, 0.2, 0.3, 0.4]
    result = metrics.bootstrap_ci(lambda a, b: metrics.ppv(a, b, 0.95), y, scores,
                                  n_bootstraps=100, seed=0)
    assert result == (1.0, 1.0, 1.0)


def test_bootstrap_ci_prints_the_estimate_and_interval():
    assert str(metrics.BootstrapCI(0.8123, 0.77, 0.851)) == "0.812 [0.770, 0.851]"


@pytest.mark.parametrize("seed, level", [(0, 0.95), (1, 0.9), (2, 0.5)])
def test_bootstrap_ci_of_the_auc_equals_the_loop_reference_with_the_same_seed(seed, level):
    y, scores = _separable_data(30, seed)
    scores = np.round(scores, 1)  # ties, which the AUC counts half
    result = metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=60, level=level, seed=seed)
    expected = ref.bootstrap_auc(y.tolist(), scores.tolist(), 60, level, np.random.default_rng(seed))
    assert result == pytest.approx(expected, rel=1e-12)


# --- Report ------------------------------------------------------------------------------------

def test_report_has_one_aligned_row_per_label_with_the_metrics():
    rng = np.random.default_rng(6)
    y, scores = rng.integers(0, 2, (60, 2)), rng.random((60, 2))
    y[:, 1] = 0  # no positives: AUC, sensitivity undefined
    text = metrics.report(y, scores, names=["Mass", "Pneumothorax"], threshold=0.4)
    lines = text.splitlines()
    assert lines[0].split() == ["label", "N", "prevalence", "AUC", "sensitivity", "specificity",
                                "PPV", "NPV"]
    assert len({len(line) for line in lines[:4]}) == 1  # header, rule and rows line up
    mass = lines[2].split()
    assert mass[:2] == ["Mass", "60"]
    expected = [metrics.prevalence(y[:, 0]), metrics.roc_auc(y[:, 0], scores[:, 0])] + [
        f(y[:, 0], scores[:, 0], 0.4)
        for f in (metrics.sensitivity, metrics.specificity, metrics.ppv, metrics.npv)]
    assert mass[2:] == [f"{v:.3f}" for v in expected]
    pneumothorax = lines[3].split()
    assert pneumothorax[3:5] == ["n/a", "n/a"]
    assert "0.4" in lines[-1]


def test_report_of_one_label_and_of_per_label_thresholds():
    assert len(metrics.report(Y, SCORES).splitlines()) == 4  # header, rule, row, threshold
    text = metrics.report(np.c_[Y, Y], np.c_[SCORES, SCORES], threshold=[0.5, 0.65])
    rows = [line.split() for line in text.splitlines()[2:]]
    assert [row[:2] for row in rows] == [["label", "0"], ["label", "1"]]
    assert [row[3] for row in rows] == ["0.500", "0.650"]
    assert [row[6] for row in rows] == [f"{2 / 3:.3f}", f"{1 / 3:.3f}"]  # sensitivity


# --- Bad input ---------------------------------------------------------------------------------

THRESHOLD_METRICS = [metrics.confusion_counts, metrics.accuracy, metrics.sensitivity,
                     metrics.specificity, metrics.ppv, metrics.npv, metrics.f1]
SCORE_METRICS = THRESHOLD_METRICS + [metrics.roc_auc, metrics.roc_curve, metrics.average_precision,
                                     metrics.precision_recall_curve, metrics.report,
                                     metrics.youden_threshold]


@pytest.mark.parametrize("fn", SCORE_METRICS, ids=lambda f: f.__name__)
def test_every_metric_rejects_bad_labels_lengths_shapes_empties_and_nans(fn):
    name = fn.__name__
    with pytest.raises(ValueError, match=rf"{name}: labels in y must be 0 or 1, got \[-1, 2\]"):
        fn([0, 2, 1, -1], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match=rf"{name}: labels in y must be 0 or 1, got \[nan\]"):
        fn([0, np.nan, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=rf"{name}: y has 5 entries but scores has 4"):
        fn([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match=rf"{name}: y has shape \(3, 2\) but scores has \(3, 3\)"):
        fn(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=rf"{name}: y is empty"):
        fn([], [])
    with pytest.raises(ValueError, match=rf"{name}: scores contains NaN \(first at index \(2,\)\)"):
        fn([0, 1, 0], [0.1, 0.2, np.nan])
    with pytest.raises(ValueError, match=rf"{name}: y must have shape \(N,\) or \(N, C\)"):
        fn(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match=rf"{name}: scores must hold numbers, got dtype <U"):
        fn([0, 1], ["high", "low"])


@pytest.mark.parametrize("fn", THRESHOLD_METRICS + [metrics.report], ids=lambda f: f.__name__)
@pytest.mark.parametrize("threshold", ["0.5", None, float("nan"), True, [[0.5]]])
def test_every_threshold_metric_rejects_a_threshold_that_is_not_a_number(fn, threshold):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: threshold must be a number"):
        fn(Y, SCORES, threshold=threshold)


def test_per_label_thresholds_must_match_the_number_of_labels():
    with pytest.raises(ValueError, match=r"sensitivity: threshold has 3 entries but scores has 2"):
        metrics.sensitivity(np.zeros((4, 2)), np.zeros((4, 2)), threshold=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"ppv: threshold has 2 entries but scores has 1"):
        metrics.ppv(Y, SCORES, threshold=[0.1, 0.2])


def test_prevalence_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"prevalence: labels in y must be 0 or 1, got \[3\]"):
        metrics.prevalence([0, 3])
    with pytest.raises(ValueError, match=r"prevalence: y is empty"):
        metrics.prevalence([])


def test_auc_with_only_one_class_says_so_and_names_the_column():
    with pytest.raises(ValueError, match=r"roc_auc: only one class present in y \(all 3 labels "
                                         r"are negatives \(0\)\); it needs both"):
        metrics.roc_auc([0, 0, 0], [0.1, 0.2, 0.3])
    y = np.array([[0, 1], [1, 1], [0, 1]])
    with pytest.raises(ValueError, match=r"roc_auc: only one class present in y in column 1 "
                                         r"\(all 3 labels are positives \(1\)\)"):
        metrics.roc_auc(y, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"roc_curve: only one class present"):
        metrics.roc_curve([1, 1], [0.1, 0.2])


def test_average_precision_needs_a_positive_but_not_a_negative():
    assert metrics.average_precision([1, 1], [0.2, 0.1]) == 1.0
    with pytest.raises(ValueError, match=r"average_precision: only one class present in y in "
                                         r"column 0 .* it needs at least one positive"):
        metrics.average_precision(np.zeros((3, 2)), np.zeros((3, 2)))


@pytest.mark.parametrize("fn", [metrics.roc_curve, metrics.precision_recall_curve,
                                metrics.youden_threshold], ids=lambda f: f.__name__)
def test_curves_take_one_label_at_a_time(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: expects one label.*y\[:, c\]"):
        fn(np.eye(3), np.eye(3))


def test_bootstrap_ci_rejects_bad_arguments():
    y, scores = _separable_data(20, 0)
    with pytest.raises(ValueError, match=r"bootstrap_ci: n_bootstraps must be an int >= 1, got 0"):
        metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=0)
    with pytest.raises(TypeError, match=r"bootstrap_ci: n_bootstraps must be an int >= 1, got 10.0"):
        metrics.bootstrap_ci(metrics.roc_auc, y, scores, n_bootstraps=10.0)
    for level, error in ((0, ValueError), (1, ValueError), (1.5, ValueError), (-0.1, ValueError),
                         (float("nan"), ValueError), ("0.95", TypeError)):
        with pytest.raises(error, match=r"bootstrap_ci: level \(e.g. 0.95\) must be a finite number > 0 and < 1"):
            metrics.bootstrap_ci(metrics.roc_auc, y, scores, level=level)
    with pytest.raises(TypeError, match=r"bootstrap_ci: metric must be a function"):
        metrics.bootstrap_ci("roc_auc", y, scores)
    with pytest.raises(ValueError, match=r"bootstrap_ci: metric must return one number"):
        metrics.bootstrap_ci(lambda a, b: [1.0, 2.0], y, scores, n_bootstraps=2)
    with pytest.raises(ValueError, match=r"bootstrap_ci: only one class present"):
        metrics.bootstrap_ci(metrics.roc_auc, [1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"bootstrap_ci: expects one label"):
        metrics.bootstrap_ci(metrics.roc_auc, np.eye(3), np.eye(3))
    with pytest.raises(TypeError, match=r"bootstrap_ci: seed must be an int"):
        metrics.bootstrap_ci(metrics.roc_auc, y, scores, seed="7")
    with pytest.raises(ValueError, match=r"bootstrap_ci: the metric was nan on every resample"):
        metrics.bootstrap_ci(lambda a, b: float("nan"), y, scores, n_bootstraps=3)


def test_calibration_curve_rejects_non_probabilities_and_bad_bins():
    with pytest.raises(ValueError, match=r"calibration_curve: probs must be in \[0, 1\], got "
                                         r"values from -0.5 to 2.0"):
        metrics.calibration_curve([0, 1, 0], [-0.5, 2.0, 0.5])
    with pytest.raises(ValueError, match=r"calibration_curve: y has 2 entries but probs has 3"):
        metrics.calibration_curve([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"calibration_curve: probs contains NaN"):
        metrics.calibration_curve([0, 1], [0.1, np.nan])
    for n_bins, error in ((0, ValueError), (2.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match=r"calibration_curve: n_bins must be an int >= 1"):
            metrics.calibration_curve([0, 1], [0.1, 0.2], n_bins=n_bins)


def test_threshold_for_sensitivity_rejects_a_target_outside_zero_one():
    for target, error in ((0, ValueError), (1.5, ValueError), (-1, ValueError), (float("nan"), ValueError), ("0.9", TypeError)):
        with pytest.raises(error, match=r"threshold_for_sensitivity: target must be a finite number > 0 and <= 1"):
            metrics.threshold_for_sensitivity(Y, SCORES, target)


def test_report_rejects_names_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"report: names has 1 entries but there are 2 labels"):
        metrics.report(np.eye(2), np.eye(2), names=["Mass"])
