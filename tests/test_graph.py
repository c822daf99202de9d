"""tm.draw_graph: the recorded graph drawn with matplotlib alone."""
import numpy as np
import pytest

import tinymed as tm
from tinymed.graph import draw_graph

matplotlib = pytest.importorskip("matplotlib")


def boxes(figure):
    return [t for ax in figure.axes for t in ax.texts if not isinstance(t, matplotlib.text.Annotation)]


def texts(figure):
    return [t.get_text() for t in boxes(figure)]


def logistic_loss():
    x = tm.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    w = tm.tensor(np.array([0.5, -0.5]), requires_grad=True)
    b = tm.tensor(0.1, dtype=np.float64, requires_grad=True)
    return x, w, b, -((x @ w + b).sigmoid().log()).mean()


def test_the_drawing_names_every_op_and_shape_and_colours_leaves_apart():
    x, w, b, loss = logistic_loss()
    figure = draw_graph(loss, names={"x": x, "w": w, "b": b})
    assert isinstance(figure, matplotlib.figure.Figure)
    labels = texts(figure)
    for op in ("MatMulBackward", "AddBackward", "SigmoidBackward", "LogBackward", "MeanBackward", "NegBackward"):
        assert sum(op in label for label in labels) == 1, (op, labels)
    assert len(labels) == 9  # six op results and three leaves
    assert any(label.startswith("x\nleaf\n(2, 2)") for label in labels)
    colours = {t.get_text().split("\n")[0]: t.get_bbox_patch().get_facecolor() for t in boxes(figure)}
    assert colours["x"] != colours["w"] == colours["b"]  # data grey, leaves that require grad green
    matplotlib.pyplot.close(figure)


def test_after_backward_each_leaf_shows_its_grad():
    x, w, b, loss = logistic_loss()
    before = texts(draw_graph(loss, names={"w": w}))
    assert not any("grad" in label for label in before)
    loss.backward()
    labels = texts(draw_graph(loss, names={"w": w, "b": b}))
    w_label = next(label for label in labels if label.startswith("w\n"))
    b_label = next(label for label in labels if label.startswith("b\n"))
    assert w_label.endswith("grad " + np.array2string(np.asarray(w.grad), precision=3, separator=", "))
    assert b_label.endswith("grad " + np.array2string(np.asarray(b.grad).ravel(), precision=3))
    matplotlib.pyplot.close("all")


def test_a_tensor_used_twice_gets_two_arrows():
    x = tm.tensor([1.0], requires_grad=True)
    figure = draw_graph(x * x)
    assert len(texts(figure)) == 2
    assert len([t for t in figure.axes[0].texts if isinstance(t, matplotlib.text.Annotation)]) == 2
    matplotlib.pyplot.close(figure)


def test_a_deep_graph_is_cut_at_max_depth_with_a_box_counting_the_rest():
    x = tm.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    figure = draw_graph(y, max_depth=5)
    labels = texts(figure)
    assert len(labels) == 7  # six columns (depths 0 to 5) and the box for the rest
    assert "... 9995 more tensors" in labels[-1]
    matplotlib.pyplot.close(figure)


def test_draw_graph_draws_into_a_given_axes():
    _, _, _, loss = logistic_loss()
    figure, (left, right) = matplotlib.pyplot.subplots(1, 2)
    assert draw_graph(loss, ax=right, title="loss") is figure
    assert right.get_title() == "loss" and not left.texts and len(boxes(figure)) == 9
    matplotlib.pyplot.close(figure)
