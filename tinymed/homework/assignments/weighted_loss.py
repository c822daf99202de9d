"""Assignment 3, after tutorial 03 (class imbalance): the course's weighted loss, by its own names
and numbers: `compute_class_freqs(labels) -> (pos, neg)` and `get_weighted_loss(pos_weights,
neg_weights, epsilon)`, whose loss is the mean over examples of each class, summed over classes,
on predicted probabilities (tinymed's weighted_binary_cross_entropy with from_logits=False and
reduction="class_sum" is the reference).
"""
import numpy as np

import tinymed.nn.functional as F
from tinymed.homework.judge import close, finite
from tinymed.homework.probe import forward_of, gradients_of, random
from tinymed.homework.spec import Assignment, Check, Exercise, notebook_path

# -- class frequencies --------------------------------------------------------------------------

COURSE_LABELS = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1], [1, 0, 1]], dtype=float)
HIDDEN_LABELS = (random(41, (7, 4), low=0, high=1) < 0.3).astype(float)


def freqs(labels, context):
    pos = labels.mean(axis=0)
    swapped = ("pos and neg are swapped: pos is the fraction of 1s (positives) in each column.", 1 - pos)
    return lambda got: (close("positive frequencies", got[0], pos, context, hints=[swapped])
                        or close("negative frequencies", got[1], 1 - pos, context, hints=[("", pos)]))


FREQS = Exercise("class_freqs", names=("compute_class_freqs",), forbidden=(
    "tinymed.imbalance", "sklearn.utils.class_weight"), checks=(
    Check("the course's example", 1, run=lambda ns: list(ns["compute_class_freqs"](COURSE_LABELS.copy())),
          judge=freqs(COURSE_LABELS, "labels [[1,0,0],[0,1,1],[1,0,1],[1,1,1],[1,0,1]]")),
    Check("another label matrix", 1, visibility="hidden",
          run=lambda ns: list(ns["compute_class_freqs"](HIDDEN_LABELS.copy())),
          judge=freqs(HIDDEN_LABELS, "labels of shape (7, 4)")),
))

# -- the weighted loss --------------------------------------------------------------------------

COURSE_Y = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 0], [1, 0, 1]], dtype=float)
COURSE_WP, COURSE_WN = np.array([0.25, 0.25, 0.5]), np.array([0.75, 0.75, 0.5])
Y = (random(42, (6, 2), low=0, high=1) < 0.4).astype(float)
P = random(43, (6, 2), low=0.05, high=0.95)
WP, WN = random(44, (2,), low=0.1, high=0.9), random(45, (2,), low=0.1, high=0.9)
Y_HIDDEN = (random(46, (9, 3), low=0, high=1) < 0.3).astype(float)
P_HIDDEN = random(47, (9, 3), low=0.01, high=0.99)
WP_HIDDEN, WN_HIDDEN = random(48, (3,), low=0.1, high=0.9), random(49, (3,), low=0.1, high=0.9)
P_EDGE = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 1.0]])
Y_EDGE = np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])


def student_loss(ns, wp, wn, eps, y, p):
    """The student's loss on tensors: its value (a float)."""
    import tinymed as tm
    loss = ns["get_weighted_loss"](wp.copy(), wn.copy(), eps)(y.copy(), tm.Tensor(np.array(p)))
    return float(np.asarray(getattr(loss, "data", loss)))


def student_gradient(ns, wp, wn, eps, y, p):
    """dL/dy_pred of the student's loss, through the engine."""
    return gradients_of(lambda t: ns["get_weighted_loss"](wp.copy(), wn.copy(), eps)(y.copy(), t), [p])[0]


def reference(wp, wn, eps, y, p, reduction="class_sum"):
    return float(forward_of(lambda t: F.weighted_binary_cross_entropy(
        t, y, wp, wn, from_logits=False, epsilon=eps, reduction=reduction), [p]))


def loss_value(wp, wn, eps, y, p, context):
    hints = [
        ("That is the loss with pos_weights and neg_weights swapped: w_pos multiplies y * log(p).",
         reference(wn, wp, eps, y, p)),
        ("That is the mean over all N*C values; the course's loss is the mean over examples of each class, "
         "summed over the classes.", reference(wp, wn, eps, y, p, "mean")),
        ("That is the sum over everything; take the mean over examples (then sum over classes).",
         reference(wp, wn, eps, y, p, "sum")),
        ("That is the loss without epsilon: add it inside both logs, log(p + eps) and log(1 - p + eps).",  # 1e-30: no epsilon, as nn refuses 0
         reference(wp, wn, 1e-30, y, p) if np.all((p > 0) & (p < 1)) else np.nan),
    ]
    return lambda got: close("the loss", got, reference(wp, wn, eps, y, p), context, hints=hints)


def loss_gradient(wp, wn, eps, y, p, context):
    expected = gradients_of(lambda t: F.weighted_binary_cross_entropy(
        t, y, wp, wn, from_logits=False, epsilon=eps, reduction="class_sum"), [p])[0]
    return lambda got: close("dL/dy_pred", got, expected, context, hints=[
        ("That is the gradient with pos_weights and neg_weights swapped.", gradients_of(
            lambda t: F.weighted_binary_cross_entropy(t, y, wn, wp, from_logits=False, epsilon=eps,
                                                      reduction="class_sum"), [p])[0])])


COURSE = "the course's example: y_true of shape (4, 3), w_p = [0.25, 0.25, 0.5], w_n = [0.75, 0.75, 0.5], epsilon=1"
OTHER = "y_true of shape (6, 2), weights per class, epsilon=1e-7"

LOSS = Exercise("weighted_loss", names=("get_weighted_loss",), forbidden=(
    "tinymed.imbalance", "tinymed.nn.loss_functions", "tinymed.nn.weighted_losses", "tinymed.nn.losses",
    "tinymed.nn.functional.weighted_binary_cross_entropy",
    "tinymed.nn.functional.binary_cross_entropy", "tinymed.nn.functional.binary_cross_entropy_with_logits",
    "tinymed.nn.WeightedBCELoss", "tinymed.nn.BCEWithLogitsLoss"), checks=(
    Check("the course's numbers: L = -0.4956203 for y_pred = 0.7 and 0.3", 2,
          run=lambda ns: [student_loss(ns, COURSE_WP, COURSE_WN, 1.0, COURSE_Y, np.full((4, 3), q)) for q in (0.7, 0.3)],
          judge=lambda got: close("the loss for y_pred = 0.7 and for y_pred = 0.3", got,
                                  [reference(COURSE_WP, COURSE_WN, 1.0, COURSE_Y, np.full((4, 3), q)) for q in (0.7, 0.3)],
                                  COURSE, hints=[("That is the loss with pos_weights and neg_weights swapped: "
                                                  "w_pos multiplies y * log(p).",
                                                  [reference(COURSE_WN, COURSE_WP, 1.0, COURSE_Y, np.full((4, 3), q))
                                                   for q in (0.7, 0.3)])])),
    Check("value: other labels, weights and probabilities", 2,
          run=lambda ns: student_loss(ns, WP, WN, 1e-7, Y, P), judge=loss_value(WP, WN, 1e-7, Y, P, OTHER)),
    Check("gradient: dL/dy_pred through the engine", 1,
          run=lambda ns: student_gradient(ns, WP, WN, 1e-7, Y, P), judge=loss_gradient(WP, WN, 1e-7, Y, P, OTHER)),
    Check("edge case: predictions of exactly 0 and 1 stay finite (epsilon)", 1, visibility="after_due_date",
          run=lambda ns: student_loss(ns, WP, WN, 1e-7, Y_EDGE, P_EDGE),
          judge=lambda got: finite("the loss", got, "y_pred holding 0 and 1, epsilon=1e-7: add epsilon inside both logs")),
    Check("value and gradient on another data set", 1, visibility="hidden",
          run=lambda ns: [student_loss(ns, WP_HIDDEN, WN_HIDDEN, 1e-7, Y_HIDDEN, P_HIDDEN),
                          student_gradient(ns, WP_HIDDEN, WN_HIDDEN, 1e-7, Y_HIDDEN, P_HIDDEN)],
          judge=lambda got: loss_value(WP_HIDDEN, WN_HIDDEN, 1e-7, Y_HIDDEN, P_HIDDEN, "y_true of shape (9, 3)")(got[0])
          or loss_gradient(WP_HIDDEN, WN_HIDDEN, 1e-7, Y_HIDDEN, P_HIDDEN, "y_true of shape (9, 3)")(got[1])),
))

ASSIGNMENT = Assignment(
    name="weighted_loss", title="The weighted loss", tutorial="03_class_imbalance_weighted_loss.ipynb",
    exercises=(FREQS, LOSS), notebook=notebook_path(__name__))
