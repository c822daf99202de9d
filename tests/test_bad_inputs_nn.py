"""Bad and edge inputs to tinymed.nn, one line each: every one gets a clear error naming the
argument, what came and the fix, or the right result. (The issue "Every bad input gets a clear
error" lists them; none may come back.)"""
import numpy as np
import pytest

import tinymed as tm
import tinymed.nn as nn
import tinymed.nn.functional as F
from tinymed.models import MiniDenseNet, SimpleCNN

EMPTY = tm.tensor(np.zeros((0, 3), dtype=np.float32))
EMPTY_IMAGES = tm.tensor(np.zeros((0, 1, 8, 8), dtype=np.float32))
UINT8_IMAGES = tm.tensor(np.full((2, 1, 8, 8), 200, dtype=np.uint8))
INT_FEATURES = tm.tensor(np.array([[1, 2, 3]], dtype=np.int64))
SCALE_HINT = r"convert and scale integer images first, e.g. x.float\(\) / 255"

REFUSED = [
    # Empty batches: the mean of no losses is nan (it used to come out silently, or blame the weights).
    (lambda: nn.BCEWithLogitsLoss()(EMPTY, np.zeros((0, 3))), ValueError,
     r"binary_cross_entropy_with_logits: logits is empty \(shape \(0, 3\)\); it needs at least one element"),
    (lambda: nn.WeightedBCELoss(0.7, 0.3)(EMPTY, np.zeros((0, 3))), ValueError,
     r"weighted_binary_cross_entropy: input is empty \(shape \(0, 3\)\)"),
    (lambda: nn.WeightedBCELoss(0.7, 0.3, from_logits=False)(EMPTY, np.zeros((0, 3))), ValueError,
     r"weighted_binary_cross_entropy: input is empty"),
    (lambda: nn.CrossEntropyLoss(weight=np.ones(3))(EMPTY, np.zeros(0, dtype=int)), ValueError,
     r"cross_entropy: logits is empty \(shape \(0, 3\)\)"),
    (lambda: nn.NLLLoss()(EMPTY, np.zeros(0, dtype=int)), ValueError, r"nll_loss: input is empty"),
    (lambda: nn.MSELoss()(EMPTY, np.zeros((0, 3))), ValueError, r"mse_loss: input is empty"),
    (lambda: nn.BCELoss()(EMPTY, np.zeros((0, 3))), ValueError, r"binary_cross_entropy: probs is empty"),
    (lambda: nn.FocalLoss()(EMPTY, np.zeros((0, 3))), ValueError, r"focal_loss: logits is empty"),
    # log(p + 0) at p = 0 is -inf: with probabilities, epsilon must be > 0.
    (lambda: nn.WeightedBCELoss(1.0, 1.0, from_logits=False, epsilon=0), ValueError,
     r"WeightedBCELoss: epsilon must be > 0 with probabilities \(from_logits=False\)"),
    (lambda: F.weighted_binary_cross_entropy(tm.tensor(np.zeros(2)), np.ones(2), 1.0, 1.0, from_logits=False, epsilon=0.0),
     ValueError, r"weighted_binary_cross_entropy: epsilon must be > 0 with probabilities"),
    (lambda: nn.WeightedBCELoss(1.0, 1.0, from_logits="no"), TypeError, r"WeightedBCELoss: from_logits must be True or False"),
    # Integer images (uint8 pixels 0-255) never pass a layer with float weights unscaled.
    (lambda: nn.Conv2d(1, 4, 3)(UINT8_IMAGES), TypeError, r"conv2d: x holds uint8 values but the weights are float32: " + SCALE_HINT),
    (lambda: nn.Linear(3, 2)(INT_FEATURES), TypeError, r"linear: x holds int64 values .*" + SCALE_HINT),
    (lambda: nn.BatchNorm2d(1)(UINT8_IMAGES), TypeError, r"batch_norm: x holds uint8 values .*" + SCALE_HINT),
    (lambda: nn.LayerNorm(8)(UINT8_IMAGES), TypeError, r"layer_norm: x holds uint8 values"),
    (lambda: SimpleCNN()(UINT8_IMAGES), TypeError, SCALE_HINT + r".*\nin features.0: Conv2d\(1, 16, "),
    (lambda: MiniDenseNet()(UINT8_IMAGES), TypeError, SCALE_HINT + r".*\nin features.stem: Conv2d\(1, 16, "),
    # float64 data into float32 weights: no silent conversion, both dtypes named.
    (lambda: SimpleCNN()(tm.tensor(np.zeros((2, 1, 8, 8)))), TypeError,
     r"conv2d: x is float64 but the weights are float32; convert one of them \(x.float\(\) / x.double\(\), or model.float\(\)"),
    # A NumPy array where a Tensor belongs.
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 2))(np.zeros((2, 1, 8, 8), np.float32)), TypeError,
     r"flatten: x must be a tinymed Tensor, got ndarray \(wrap it with tm.tensor\(x\)\)\nin 0: Flatten\("),
    (lambda: nn.ReLU()([1.0, -1.0]), TypeError, r"relu: x must be a tinymed Tensor, got list"),
    # Empty image batches reach the layers and are named there.
    (lambda: nn.BatchNorm2d(1)(EMPTY_IMAGES), ValueError, r"batch_norm: training needs more than one value per channel"),
    # Devices: tinymed is CPU only.
    (lambda: nn.Linear(2, 2).to("cuda"), ValueError, r"to: device must be 'cpu': tinymed is a NumPy library"),
    # Bad options name the layer or function.
    (lambda: nn.Conv2d(2, 4, 3, groups=3), ValueError, r"Conv2d: groups=3 must divide in_channels=2 and out_channels=4"),
    (lambda: nn.CrossEntropyLoss(ignore_index=1.5), TypeError, r"CrossEntropyLoss: ignore_index must be an int, got 1.5"),
    (lambda: nn.CrossEntropyLoss()(tm.tensor(np.zeros((2, 3))), np.array([0, 7])), ValueError,
     r"cross_entropy: target holds class index 7, out of range for 3 classes \(valid: 0 to 2, or ignore_index=-100\)"),
    (lambda: nn.utils.clip_grad_norm_(nn.Linear(2, 2).parameters(), max_norm=float("nan")), ValueError,
     r"clip_grad_norm_: max_norm must be a finite number > 0, got nan"),
    (lambda: nn.utils.clip_grad_norm_([np.zeros(2)], 1.0), TypeError, r"clip_grad_norm_: parameters must be Tensors"),
    (lambda: nn.MSELoss()(tm.tensor(np.zeros((2, 3))), np.zeros(3)), ValueError,
     r"mse_loss: target has shape \(3,\) but input has shape \(2, 3\)"),
]


@pytest.mark.parametrize("call, error, message", REFUSED, ids=[m[:60] for _, _, m in REFUSED])
def test_a_bad_input_to_nn_is_refused_with_a_message_naming_it_and_the_fix(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_scaled_image_the_message_asks_for_goes_through():
    assert SimpleCNN()(UINT8_IMAGES.float() / 255).shape == (2, 1)


def test_weighted_bce_on_probabilities_is_finite_at_p_0_and_1_with_the_default_epsilon():
    p = tm.tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=np.float32), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss = nn.WeightedBCELoss(1.0, 1.0, from_logits=False)(p, y)
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(2 * -np.log(1e-7) / 4, rel=1e-3)
    assert np.isfinite(np.asarray(p.grad)).all()
