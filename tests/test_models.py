"""SimpleCNN against its twin written in PyTorch; MiniDenseNet's shapes, gradients and training."""
import collections

import numpy as np
import pytest

import tinymed as tm
from tinymed.models import DenseBlock, MiniDenseNet, SimpleCNN, Transition
from tinymed.nn.layers import BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, MaxPool2d, ReLU


def _images(n, c=1, size=16, seed=0, dtype=np.float64):
    return tm.tensor(np.random.default_rng(seed).standard_normal((n, c, size, size)).astype(dtype))


# ---------------------------------------------------------------------------------------------
# SimpleCNN
# ---------------------------------------------------------------------------------------------


def test_simple_cnn_has_the_layers_of_the_api():
    model = SimpleCNN(in_channels=3, num_classes=5, seed=0)
    kinds = [type(m) for m in model.features]
    assert kinds == [Conv2d, BatchNorm2d, ReLU, MaxPool2d] * 2 + [Conv2d, BatchNorm2d, ReLU, GlobalAvgPool2d]
    convs = [m for m in model.features if isinstance(m, Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (3, 16, (3, 3), (1, 1)), (16, 32, (3, 3), (1, 1)), (32, 64, (3, 3), (1, 1))]
    assert [m.num_features for m in model.features if isinstance(m, BatchNorm2d)] == [16, 32, 64]
    assert [m.kernel_size for m in model.features if isinstance(m, MaxPool2d)] == [2, 2]
    assert isinstance(model.classifier, Linear)
    assert (model.classifier.in_features, model.classifier.out_features) == (64, 5)
    assert [name for name, _ in model.named_children()] == ["features", "classifier"]


@pytest.mark.parametrize("size", [4, 28, 32])
def test_simple_cnn_gives_one_logit_per_class_for_any_image_size(size):
    model = SimpleCNN(in_channels=2, num_classes=3, seed=0)
    out = model(_images(5, c=2, size=size, dtype=np.float32))
    assert out.shape == (5, 3) and out.dtype == np.float32


def test_the_same_seed_builds_the_same_simple_cnn():
    a, b, c = SimpleCNN(seed=1).state_dict(), SimpleCNN(seed=1).state_dict(), SimpleCNN(seed=2).state_dict()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["features.4.weight"], c["features.4.weight"])


def _torch_simple_cnn(torch, in_channels, num_classes):
    """The same network written in PyTorch, as a user would (GlobalAvgPool2d = AdaptiveAvgPool2d(1) + Flatten)."""
    tnn = torch.nn
    features = tnn.Sequential(
        tnn.Conv2d(in_channels, 16, 3, padding=1), tnn.BatchNorm2d(16), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.BatchNorm2d(64), tnn.ReLU(),
        tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten()),
    )
    classifier = tnn.Linear(64, num_classes)
    return tnn.Sequential(collections.OrderedDict(features=features, classifier=classifier)).double()


@pytest.fixture
def twins():
    """(tinymed SimpleCNN, PyTorch twin) in float64 with the twin's weights loaded strictly,
    after one training step of the twin so the running statistics are not the initial ones."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = _torch_simple_cnn(torch, 2, 3)
    with torch.no_grad():
        for name, p in theirs.named_parameters():  # BatchNorm weight 1 / bias 0 would hide mistakes
            if ".1." in name or ".5." in name or ".9." in name:
                p.uniform_(0.5, 1.5) if name.endswith("weight") else p.normal_()
        theirs(torch.randn(6, 2, 12, 12, dtype=torch.float64) * 2 + 1)
    ours = SimpleCNN(in_channels=2, num_classes=3, seed=0).double()
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()}, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    return ours, theirs


def test_simple_cnn_state_dict_has_the_keys_order_and_layouts_of_the_pytorch_twin():
    torch = pytest.importorskip("torch")
    theirs = _torch_simple_cnn(torch, 1, 1).state_dict()
    ours = SimpleCNN().state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key].shape == tuple(value.shape), key
    assert ours["features.1.num_batches_tracked"].dtype == np.int64


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_simple_cnn_gives_the_outputs_and_gradients_of_the_pytorch_twin(twins, mode):
    import torch

    ours, theirs = twins
    getattr(ours, mode)()
    getattr(theirs, mode)()
    x = _images(4, c=2, size=12, seed=3)
    out = ours(x)
    out_t = theirs(torch.from_numpy(x.data.copy()))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-6, atol=1e-10)
    # a loss that weighs every output differently, so every gradient path is exercised
    r = np.random.default_rng(4).standard_normal(out.shape)
    (out * r).sum().backward()
    (out_t * torch.from_numpy(r)).sum().backward()
    torch_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_grads[name].grad.numpy(), rtol=1e-6, atol=1e-10, err_msg=name)
    for key, value in theirs.state_dict().items():  # running statistics moved (train) or not (eval) alike
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-10, err_msg=key)


def test_simple_cnn_parameter_count_equals_pytorchs_and_the_summary_shows_it():
    torch = pytest.importorskip("torch")
    expected = sum(p.numel() for p in _torch_simple_cnn(torch, 1, 1).parameters())
    model = SimpleCNN()
    assert sum(p.size for p in model.parameters()) == expected
    assert f"Total params: {expected:,}" in model.summary((1, 32, 32))


def test_simple_cnn_parameter_count_by_hand():
    # conv: out * (in * 9 + 1); batch norm: 2 * channels; linear: 64 * classes + classes
    expected = (16 * (1 * 9 + 1) + 32 * (16 * 9 + 1) + 64 * (32 * 9 + 1)) + 2 * (16 + 32 + 64) + (64 + 1)
    assert sum(p.size for p in SimpleCNN().parameters()) == expected


def test_channels_last_images_get_a_hint_to_transpose():
    x = tm.tensor(np.zeros((2, 16, 16, 1), dtype=np.float32))  # (N, H, W, C), as images are often stored
    with pytest.raises(ValueError, match=r"got x.shape=\(2, 16, 16, 1\); channels-last images \(N, H, W, C\)\? use x.transpose\(0, 3, 1, 2\)"):
        SimpleCNN()(x)


def test_simple_cnn_rejects_images_it_cannot_pool_or_of_the_wrong_shape():
    model = SimpleCNN()
    with pytest.raises(ValueError, match=r"SimpleCNN: images must be at least 4x4 pixels \(two 2x2 max-pools\), got x.shape=\(2, 1, 3, 8\)"):
        model(_images(2, size=8, dtype=np.float32)[:, :, :3])
    with pytest.raises(ValueError, match=r"SimpleCNN: x must be 4-d \(N, C, H, W\), got shape \(1, 8, 8\)"):
        model(tm.tensor(np.zeros((1, 8, 8), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"conv2d: weight has 1 input channels but x has 3 \(x.shape=\(2, 3, 8, 8\), .*\)\nin features.0: Conv2d\(1, 16, "):
        model(_images(2, c=3, size=8, dtype=np.float32))
    with pytest.raises(ValueError, match="SimpleCNN: num_classes must be an int >= 1, got 0"):
        SimpleCNN(num_classes=0)


# ---------------------------------------------------------------------------------------------
# MiniDenseNet
# ---------------------------------------------------------------------------------------------


def test_mini_densenet_features_are_stem_blocks_transitions_and_final_in_order():
    model = MiniDenseNet(seed=0)
    names = [name for name, _ in model.features.named_children()]
    assert names == ["stem", "block1", "transition1", "block2", "transition2", "block3", "final"]
    assert isinstance(model.features[1], DenseBlock) and isinstance(model.features[2], Transition)
    assert isinstance(model.classifier, Linear)


@pytest.mark.parametrize(
    "kwargs, size, channels_after_each_child",
    [
        # 16 -> +2*8 = 32 -> halved 16 -> 32 -> 16 -> 32
        ({}, 32, [16, 32, 16, 32, 16, 32, 32]),
        ({"growth_rate": 4, "block_config": (3, 1), "num_init_features": 6}, 8, [6, 18, 9, 13, 13]),
        ({"in_channels": 3, "num_classes": 4, "block_config": (1,)}, 5, [16, 24, 24]),
    ],
)
def test_mini_densenet_grows_channels_by_the_growth_rate_and_halves_them_in_transitions(kwargs, size, channels_after_each_child):
    model = MiniDenseNet(seed=0, **kwargs)
    x = _images(2, c=kwargs.get("in_channels", 1), size=size, dtype=np.float32)
    shapes = []
    for child in model.features:
        x = child(x)
        shapes.append(x.shape)
    assert [s[1] for s in shapes] == channels_after_each_child
    assert shapes[-1] == (2, model.num_features) == (2, model.classifier.in_features)
    # each transition halves the image
    n_blocks = len(kwargs.get("block_config", (2, 2, 2)))
    assert shapes[-2][2] == size // 2 ** (n_blocks - 1)
    out = model(_images(2, c=kwargs.get("in_channels", 1), size=size, dtype=np.float32))
    assert out.shape == (2, kwargs.get("num_classes", 1)) and out.dtype == np.float32


def test_mini_densenet_parameter_count_by_hand():
    # dense layer reading c channels: BatchNorm 2c + conv 3x3 (no bias) c * 9 * growth
    dense = lambda c: 2 * c + c * 9 * 8
    block = dense(16) + dense(24)
    transition = 2 * 32 + 32 * 16  # BatchNorm(32) + conv 1x1 32 -> 16
    expected = 1 * 9 * 16 + 3 * block + 2 * transition + 2 * 32 + (32 + 1)
    assert sum(p.size for p in MiniDenseNet().parameters()) == expected


def test_a_dense_layer_keeps_its_input_as_the_first_channels_of_its_output():
    block = DenseBlock(2, 3, growth_rate=2, seed=0)
    x = _images(2, c=3, size=5, dtype=np.float32)
    out = block(x)
    assert out.shape == (2, 3 + 2 * 2, 5, 5) and block.out_channels == 7
    np.testing.assert_array_equal(out.data[:, :3], x.data)


def test_a_tiny_mini_densenet_passes_gradcheck_for_the_image_and_every_parameter():
    model = MiniDenseNet(growth_rate=2, block_config=(1, 1), num_init_features=2, seed=0).double()
    x = tm.tensor(np.random.default_rng(0).standard_normal((1, 1, 8, 8)), requires_grad=True)
    assert tm.gradcheck(lambda x: model(x), (x,))
    x_constant = tm.tensor(x.data.copy())
    assert tm.gradcheck(lambda *ps: model(x_constant), list(model.parameters()))


def test_the_same_seed_builds_the_same_mini_densenet():
    a, b = MiniDenseNet(seed=4).state_dict(), MiniDenseNet(seed=4).state_dict()
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def _separable_problem(n=16, size=8):
    """Label 1: a bright square in the top-left quarter; label 0: in the bottom-right one."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (n, 1, size, size))
    y = np.arange(n) % 2
    half = size // 2
    for i in range(n):
        r0, c0 = (0, 0) if y[i] else (half, half)
        x[i, 0, r0:r0 + half, c0:c0 + half] += 1.0
    return tm.tensor(x.astype(np.float32)), y.astype(np.float32)


def _bce_with_logits(z, y):
    # mean of log(1 + exp(z)) - y z, the logistic loss written with tensor operations
    return ((z.exp() + 1.0).log() - z * y).mean()


@pytest.mark.parametrize("model_class", [MiniDenseNet, SimpleCNN])
def test_a_few_sgd_steps_on_a_separable_problem_reduce_the_loss(model_class):
    model = model_class(seed=0)
    x, y = _separable_problem()
    losses = []
    for _ in range(8):
        model.zero_grad()
        loss = _bce_with_logits(model(x).reshape(-1), y)
        loss.backward()
        losses.append(loss.item())
        for p in model.parameters():
            p.data = p.data - np.float32(0.1) * p.grad
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.5 * losses[0]


def test_mini_densenet_rejects_images_too_small_for_its_transitions_and_bad_configs():
    with pytest.raises(ValueError, match=r"MiniDenseNet: images must be at least 4x4 pixels \(each transition halves them\), got x.shape=\(1, 1, 3, 3\)"):
        MiniDenseNet(seed=0)(tm.tensor(np.zeros((1, 1, 3, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"MiniDenseNet: block_config must be a non-empty tuple of layer counts, got \(\)"):
        MiniDenseNet(block_config=())
    with pytest.raises(ValueError, match=r"MiniDenseNet: each entry of block_config must be an int >= 1, got 0"):
        MiniDenseNet(block_config=(2, 0))
    with pytest.raises(ValueError, match=r"MiniDenseNet: growth_rate must be an int >= 1, got -1"):
        MiniDenseNet(growth_rate=-1)
