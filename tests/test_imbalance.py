import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference import imbalance_reference as ref
from tinymed import imbalance

# --- frequencies and the course's class weights ---------------------------------------------


def test_course_example_six_normals_two_masses():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    pos_freq, neg_freq = imbalance.class_frequencies(y)
    assert (pos_freq, neg_freq) == (2 / 8, 6 / 8)
    w_pos, w_neg = imbalance.class_weights(y)
    assert (w_pos, w_neg) == (6 / 8, 2 / 8)
    # each class's total contribution: 2 masses * 6/8 == 6 normals * 2/8
    assert 2 * w_pos == 6 * w_neg


def test_multilabel_frequencies_and_weights_are_per_column():
    labels = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 0]])
    pos_freq, neg_freq = imbalance.class_frequencies(labels)
    np.testing.assert_allclose(pos_freq, [1 / 4, 1 / 4, 3 / 4])
    np.testing.assert_allclose(neg_freq, [3 / 4, 3 / 4, 1 / 4])
    w_pos, w_neg = imbalance.class_weights(labels)
    np.testing.assert_allclose(w_pos, [3 / 4, 3 / 4, 1 / 4])
    np.testing.assert_allclose(w_neg, [1 / 4, 1 / 4, 3 / 4])


def test_bool_int_and_float_labels_give_the_same_frequencies():
    y = np.array([True, False, False, True, False])
    expected = (2 / 5, 3 / 5)
    assert imbalance.class_frequencies(y) == expected
    assert imbalance.class_frequencies(y.astype(int)) == expected
    assert imbalance.class_frequencies(y.astype(np.float32).tolist()) == expected


@st.composite
def label_matrices(draw):
    """(N, C) 0/1 matrices in which every column holds both classes."""
    n = draw(st.integers(2, 60))
    c = draw(st.integers(1, 6))
    labels = draw(hnp.arrays(np.int8, (n, c), elements=st.integers(0, 1)))
    labels[0], labels[1] = 1, 0
    return labels


@given(label_matrices())
def test_weighted_classes_contribute_equally_for_every_label(labels):
    pos_freq, neg_freq = imbalance.class_frequencies(labels)
    w_pos, w_neg = imbalance.class_weights(labels)
    assert w_pos.shape == w_neg.shape == (labels.shape[1],)
    np.testing.assert_allclose(w_pos * pos_freq, w_neg * neg_freq, rtol=1e-12)
    np.testing.assert_allclose(w_pos + w_neg, 1.0, rtol=1e-12)
    # the frequencies counted in a plain loop
    for c in range(labels.shape[1]):
        column = [int(v) for v in labels[:, c]]
        assert pos_freq[c] == pytest.approx(sum(column) / len(column))


def test_class_weights_names_the_column_without_positives():
    labels = np.array([[1, 0], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match=r"class_weights: label column 1 has no positive"):
        imbalance.class_weights(labels)
    assert imbalance.class_frequencies(labels)[0].tolist() == [2 / 3, 0.0]


def test_class_weights_rejects_a_label_without_negatives():
    with pytest.raises(ValueError, match=r"class_weights: labels has no negative"):
        imbalance.class_weights([1, 1, 1])


@pytest.mark.parametrize(
    "labels, error, message",
    [
        ([0, 1, 2], ValueError, r"class_frequencies: labels must be exactly 0 or 1, found \[2\.0\]"),
        ([0.0, 0.5, 1.0], ValueError, r"exactly 0 or 1, found \[0\.5\]"),
        ([0.0, np.nan], ValueError, r"exactly 0 or 1"),
        ([], ValueError, r"class_frequencies: labels must have shape \(N,\) or \(N, C\).*got shape \(0,\)"),
        (np.zeros((2, 2, 2)), ValueError, r"got shape \(2, 2, 2\)"),
        (["a", "b"], TypeError, r"class_frequencies: labels must be 0/1 numbers or booleans, got dtype <U1"),
    ],
)
def test_class_frequencies_rejects_labels_that_are_not_binary(labels, error, message):
    with pytest.raises(error, match=message):
        imbalance.class_frequencies(labels)


# --- multi-class weights and per-sample weights ---------------------------------------------


def test_balanced_class_weights_by_hand():
    # 4 samples, 2 classes: 4 / (2 * 3) and 4 / (2 * 1)
    np.testing.assert_allclose(imbalance.balanced_class_weights([0, 0, 0, 1]), [2 / 3, 2.0])
    # num_classes fixes K when y's largest class is known to be present
    np.testing.assert_allclose(imbalance.balanced_class_weights([1, 0, 2, 2], num_classes=3), [4 / 3, 4 / 3, 2 / 3])


class_vectors = st.lists(st.integers(0, 4), min_size=1, max_size=80).map(np.array)


@given(class_vectors)
def test_balanced_class_weights_match_scikit_learn(y):
    utils = pytest.importorskip("sklearn.utils.class_weight")
    y = np.concatenate([np.arange(y.max() + 1), y])  # every class 0 .. K-1 present
    expected = utils.compute_class_weight("balanced", classes=np.arange(y.max() + 1), y=y)
    np.testing.assert_allclose(imbalance.balanced_class_weights(y), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "y, kwargs, error, message",
    [
        ([0, 2, 2], {}, ValueError, r"balanced_class_weights: class 1 has no sample in y"),
        ([0, 1], {"num_classes": 3}, ValueError, r"class 2 has no sample"),
        ([0, 1, 2], {"num_classes": 2}, ValueError, r"num_classes \(> max\(y\) = 2\) must be an int >= 3, got 2"),
        ([0.0, 1.0], {}, TypeError, r"balanced_class_weights: y must hold integer class labels, got dtype float64"),
        ([-1, 0], {}, ValueError, r"y must hold classes 0 \.\. K-1, found -1"),
        ([[0, 1], [1, 0]], {}, ValueError, r"balanced_class_weights: y has shape \(2, 2\), a multi-label target"),
    ],
)
def test_balanced_class_weights_rejects_bad_labels(y, kwargs, error, message):
    with pytest.raises(error, match=message):
        imbalance.balanced_class_weights(y, **kwargs)


def test_sample_weights_give_each_class_the_same_total():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    w = imbalance.sample_weights(y)
    assert w.shape == (8,)
    # 8 / (2 * 6) for each normal, 8 / (2 * 2) for each mass; both classes total 4
    np.testing.assert_allclose(w, [8 / 12] * 6 + [2.0] * 2)
    assert w[y == 0].sum() == pytest.approx(w[y == 1].sum()) == pytest.approx(4.0)


@given(st.lists(st.sampled_from(["normal", "mass", "nodule"]), min_size=1, max_size=60))
def test_sample_weights_are_inverse_class_frequencies_summing_to_n(y):
    w = imbalance.sample_weights(y)
    counts = ref.class_counts(y)
    for i, label in enumerate(y):
        assert w[i] == pytest.approx(len(y) / (len(counts) * counts[label]))
    assert w.sum() == pytest.approx(len(y))


@given(class_vectors)
def test_sample_weights_match_scikit_learn(y):
    utils = pytest.importorskip("sklearn.utils.class_weight")
    np.testing.assert_allclose(imbalance.sample_weights(y), utils.compute_sample_weight("balanced", y), rtol=1e-12)


def test_sample_weights_read_an_n_by_1_column_as_one_label_per_sample():
    y = np.array([0, 1, 1, 1])
    np.testing.assert_array_equal(imbalance.sample_weights(y[:, None]), imbalance.sample_weights(y))


def test_sample_weights_refuse_multilabel_targets_and_point_to_per_label_weights():
    with pytest.raises(ValueError, match=r"sample_weights: y has shape \(3, 2\), a multi-label.*class_weights"):
        imbalance.sample_weights([[0, 1], [1, 1], [0, 0]])


# --- resampling -----------------------------------------------------------------------------


def imbalanced(counts):
    """X (N, 2) whose first column is the row number, and y with counts[k] samples of class k."""
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.stack([np.arange(len(y)), y], axis=1)
    return X, y


@pytest.mark.parametrize(
    "method, strategy, expected",
    [
        ("over", "auto", {0: 10, 1: 10}),
        ("under", "auto", {0: 3, 1: 3}),
        ("over", 0.5, {0: 10, 1: 5}),  # int(0.5 * 10)
        ("over", 0.45, {0: 10, 1: 4}),  # 3 + int(4.5 - 3)
        ("under", 0.5, {0: 6, 1: 3}),  # int(3 / 0.5)
        ("under", 0.7, {0: 4, 1: 3}),  # int(3 / 0.7) = int(4.29)
        ("over", {1: 8}, {0: 10, 1: 8}),
        ("over", {0: 12, 1: 3}, {0: 12, 1: 3}),
        ("under", {0: 5}, {0: 5, 1: 3}),
        ("under", {0: 0, 1: 1}, {0: 0, 1: 1}),
    ],
)
def test_resample_counts_by_hand_for_ten_normals_three_masses(method, strategy, expected):
    X, y = imbalanced([10, 3])
    X_res, y_res = imbalance.resample(X, y, method=method, sampling_strategy=strategy, seed=0)
    assert ref.class_counts(y_res.tolist()) == {k: v for k, v in expected.items() if v}
    assert ref.resampled_counts(y.tolist(), method, strategy) == expected
    np.testing.assert_array_equal(X_res[:, 1], y_res)  # rows travel with their labels


@pytest.mark.parametrize(
    "method, strategy, expected",
    [
        # classes 1 and 2 tie as minority, 3 is the majority: ties go to the smaller label
        ("over", "minority", {0: 5, 1: 9, 2: 2, 3: 9}),
        ("over", "not majority", {0: 9, 1: 9, 2: 9, 3: 9}),
        ("over", "not minority", {0: 9, 1: 2, 2: 9, 3: 9}),
        ("under", "majority", {0: 5, 1: 2, 2: 2, 3: 2}),
        ("under", "not majority", {0: 2, 1: 2, 2: 2, 3: 9}),
        ("under", "all", {0: 2, 1: 2, 2: 2, 3: 2}),
    ],
)
def test_resample_named_strategies_pick_classes_as_imbalanced_learn(method, strategy, expected):
    X, y = imbalanced([5, 2, 2, 9])
    _, y_res = imbalance.resample(X, y, method=method, sampling_strategy=strategy, seed=1)
    assert ref.class_counts(y_res.tolist()) == expected == ref.resampled_counts(y.tolist(), method, strategy)


@st.composite
def resampling_cases(draw):
    counts = draw(st.lists(st.integers(1, 25), min_size=2, max_size=4))
    method = draw(st.sampled_from(["over", "under"]))
    kind = draw(st.sampled_from(["name", "float", "dict"]))
    if kind == "name":
        strategy = draw(st.sampled_from(list(imbalance.STRATEGIES)))
    elif kind == "float":
        counts = counts[:2]  # a float ratio is for binary labels; the multi-class error is tested below
        strategy = draw(st.floats(0.05, 1.0))
    else:
        keys = draw(st.lists(st.integers(0, len(counts) - 1), min_size=1, unique=True))
        strategy = {k: draw(st.integers(0, 40)) for k in keys}
    return counts, method, strategy


def outcome(resample, y, method, strategy):
    try:
        return resample(y, method, strategy)
    except ValueError:
        return "ValueError"


@given(resampling_cases())
def test_resample_counts_match_the_reference_rules(case):
    counts, method, strategy = case
    X, y = imbalanced(counts)

    def ours(y, method, strategy):
        _, y_res = imbalance.resample(X, y, method=method, sampling_strategy=strategy, seed=0)
        return ref.class_counts(y_res.tolist())

    expected = outcome(ref.resampled_counts, y.tolist(), method, strategy)
    if expected != "ValueError":
        expected = {k: v for k, v in expected.items() if v}
    assert outcome(ours, y, method, strategy) == expected


@given(resampling_cases())
def test_resample_counts_match_imbalanced_learn(case):
    over = pytest.importorskip("imblearn.over_sampling")
    under = pytest.importorskip("imblearn.under_sampling")
    counts, method, strategy = case
    X, y = imbalanced(counts)
    # imbalanced-learn refuses "majority" for over and "minority" for under only at fit time, as we do
    sampler = over.RandomOverSampler if method == "over" else under.RandomUnderSampler

    def theirs(y, method, strategy):
        return ref.class_counts(sampler(sampling_strategy=strategy, random_state=0).fit_resample(X, y)[1].tolist())

    def ours(y, method, strategy):
        return ref.class_counts(imbalance.resample(X, y, method=method, sampling_strategy=strategy, seed=0)[1].tolist())

    assert outcome(ours, y, method, strategy) == outcome(theirs, y, method, strategy)


def test_oversampling_keeps_every_sample_in_order_then_adds_copies_of_the_minority():
    X, y = imbalanced([10, 3])
    X_res, y_res = imbalance.resample(X, y, method="over", seed=0)
    np.testing.assert_array_equal(X_res[:13], X)
    np.testing.assert_array_equal(y_res[:13], y)
    added = X_res[13:]
    assert len(added) == 7 and (added[:, 1] == 1).all()
    assert set(added[:, 0]) <= {10, 11, 12}


def test_undersampling_keeps_distinct_samples_in_their_original_order():
    X, y = imbalanced([30, 4])
    X_res, y_res = imbalance.resample(X, y, method="under", seed=0)
    rows = X_res[:, 0]
    assert (np.diff(rows) > 0).all()  # increasing: no duplicates, original order
    assert set(rows[y_res == 1]) == {30, 31, 32, 33}  # every minority sample kept


def test_resample_is_reproducible_for_a_seed_and_keeps_image_shapes():
    y = np.array([0] * 20 + [1] * 5)
    X = np.arange(25 * 3 * 4, dtype=np.float32).reshape(25, 3, 4)
    first = imbalance.resample(X, y, seed=7)
    again = imbalance.resample(X, y, seed=7)
    other = imbalance.resample(X, y, seed=8)
    assert first[0].shape == (40, 3, 4) and first[0].dtype == np.float32
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    generator = np.random.default_rng(7)
    np.testing.assert_array_equal(imbalance.resample(X, y, seed=generator)[0], first[0])


def test_resample_keeps_an_n_by_1_label_column():
    X, y = imbalanced([6, 2])
    _, y_res = imbalance.resample(X, y[:, None], method="under", seed=0)
    assert y_res.shape == (4, 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"y": np.zeros(12)}, ValueError, r"resample: X has 13 samples \(shape \(13, 2\)\) but y has 12"),
        ({"method": "smote"}, ValueError, r"resample: method must be one of 'over', 'under', got 'smote'"),
        ({"sampling_strategy": "balanced"}, ValueError, r"resample: sampling_strategy must be one of"),
        ({"sampling_strategy": 1.5}, ValueError, r"resample: a float sampling_strategy must be a finite number > 0 and <= 1, got 1.5"),
        ({"sampling_strategy": 0.0}, ValueError, r"must be a finite number > 0 and <= 1, got 0.0"),
        ({"sampling_strategy": True}, TypeError, r"resample: sampling_strategy must be a str, a float .* got bool"),
        ({"sampling_strategy": [0, 1]}, TypeError, r"got list"),
        ({"sampling_strategy": {2: 5}}, ValueError, r"resample: sampling_strategy names classes \[2\] that are not in y"),
        ({"sampling_strategy": {1: 2}}, ValueError, r"with method='over' sampling_strategy\[1\] = 2 must be >= the 3 samples"),
        ({"sampling_strategy": {1: -1}}, ValueError, r"sampling_strategy\[1\] must be an int >= 0, got -1"),
        ({"method": "under", "sampling_strategy": {0: 11}}, ValueError, r"with method='under' .* must be <= the 10 samples"),
        ({"method": "under", "sampling_strategy": "minority"}, ValueError, r"'minority' cannot be used with method='under'"),
        ({"sampling_strategy": "majority"}, ValueError, r"'majority' cannot be used with method='over'"),
        ({"sampling_strategy": 0.2}, ValueError, r"sampling_strategy=0.2 would leave the minority class with 2 <= its 3"),
        ({"method": "under", "sampling_strategy": 0.1}, ValueError, r"asks for 30 majority samples but class 0 has only 10"),
        ({"y": np.zeros(13)}, ValueError, r"resample: y holds a single class"),
        ({"y": np.zeros((13, 2))}, ValueError, r"resample: y has shape \(13, 2\), a multi-label target"),
        ({"y": np.zeros(0), "X": np.zeros((0, 2))}, ValueError, r"resample: y must be a non-empty array"),
        ({"seed": -1}, ValueError, r"resample: seed must be >= 0"),
    ],
)
def test_resample_rejects_bad_input(kwargs, error, message):
    X, y = imbalanced([10, 3])
    arguments = {"X": X, "y": y, **kwargs}
    with pytest.raises(error, match=message):
        imbalance.resample(**arguments)


def test_a_float_strategy_needs_binary_labels():
    X, y = imbalanced([5, 3, 2])
    with pytest.raises(ValueError, match=r"resample: a float sampling_strategy needs binary y, but y has 3 classes"):
        imbalance.resample(X, y, sampling_strategy=0.5)


@given(st.lists(st.integers(0, 3), min_size=2, max_size=50))
def test_oversampled_rows_are_copies_of_rows_of_the_same_class(labels):
    y = np.array(labels)
    assume(len(set(labels)) > 1)
    X = np.stack([np.arange(len(y)), y], axis=1)
    X_res, y_res = imbalance.resample(X, y, method="over", seed=3)
    for row, label in zip(X_res, y_res):
        assert y[row[0]] == label == row[1]
