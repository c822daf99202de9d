"""Grad-CAM: the course's recipe on tinymed's own forward hooks and autograd, equal to the same
computation in PyTorch on a twin network with the same weights."""
import numpy as np
import pytest

from tinymed import models, plots
from test_models import twins  # noqa: F401  (the fixture: SimpleCNN and its loaded PyTorch twin)


def torch_grad_cam(torch, model, images, layer, target):
    """The course's Grad-CAM written in PyTorch: hook, backward, channel weights, resize, ReLU,
    divide by the maximum."""
    saved = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: saved.update(a=output))
    model.eval()
    x = torch.from_numpy(images)
    scores = model(x)
    handle.remove()
    activations = saved["a"]
    grads, = torch.autograd.grad(scores[:, target].sum(), activations)
    alpha = grads.mean(dim=(2, 3), keepdim=True)
    maps = (alpha * activations).sum(dim=1, keepdim=True)
    maps = torch.nn.functional.interpolate(maps, size=images.shape[2:], mode="bilinear", align_corners=False)
    maps = torch.relu(maps)[:, 0]
    peak = maps.amax(dim=(1, 2), keepdim=True)
    return torch.where(peak > 0, maps / peak, torch.zeros_like(maps)).detach().numpy()


# layers: after the 2nd ReLU (6x6), the 3rd conv, the last ReLU (3x3); peak: 1 where some
# position speaks for the target, 0 where the weighted sum is negative everywhere (ReLU'd away)
@pytest.mark.parametrize("index, target, peak", [(6, 0, 0.0), (6, 1, 1.0), (8, 0, 1.0), (10, 0, 1.0), (10, 2, 1.0)])
def test_grad_cam_equals_the_same_computation_in_pytorch_on_the_twin(twins, index, target, peak):  # noqa: F811
    import torch
    ours, theirs = twins
    images = np.random.default_rng(index).normal(0.5, 0.3, (4, 2, 13, 12))
    expected = torch_grad_cam(torch, theirs, images, theirs.features[index], target)
    maps = plots.grad_cam(ours, images, ours.features[index], target=target)
    assert maps.shape == (4, 13, 12)
    np.testing.assert_array_equal(expected.max(axis=(1, 2)), peak)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_grad_cam_maps_lie_in_0_1_with_a_1_per_image_and_restore_the_mode():
    model = models.SimpleCNN(seed=0)
    model.train()
    images = np.random.default_rng(0).random((3, 1, 16, 16)).astype(np.float32)
    maps = plots.grad_cam(model, images, model.features[10])
    assert maps.shape == (3, 16, 16) and maps.min() >= 0
    assert np.all((maps.max(axis=(1, 2)) == 1) | (maps.max(axis=(1, 2)) == 0))
    assert all(m.training for m in model.modules())
    assert not model.features[10]._forward_hooks  # the hook is gone


def test_grad_cam_weights_each_channel_by_its_mean_gradient_by_hand():
    """A one-layer model whose Grad-CAM is known in closed form: y = sum of the mean of each
    channel of relu(conv(x)) times a head weight, so dA_k = w_k / (h w) everywhere where A_k is."""
    import tinymed as tm
    import tinymed.nn as nn
    conv = nn.Conv2d(1, 2, 1, bias=False)
    head = nn.Linear(2, 1, bias=False)
    model = nn.Sequential(conv, nn.GlobalAvgPool2d(), head)
    conv.weight.data[...] = np.array([1.0, 2.0], dtype=np.float32).reshape(2, 1, 1, 1)
    head.weight.data[...] = np.array([[3.0, -1.0]], dtype=np.float32)
    image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4) / 16
    maps = plots.grad_cam(model, image, conv)
    # alpha = (3, -1) / 16, map = (3 * 1 - 1 * 2) / 16 * x: proportional to x, so x / max(x)
    np.testing.assert_allclose(maps[0], image[0, 0] / image.max(), rtol=1e-6)
    assert tm.tensor(1.0).dtype == np.float32  # the module ran in tinymed's default dtype


@pytest.mark.parametrize("layer, target, error, match", [
    ("other", 0, ValueError, r"grad_cam: layer must be a module of model"),
    ("pool", 0, ValueError, r"grad_cam: layer must run once and give \(N, K, h, w\) maps; .* shape \(2, 64\)"),
    ("relu", 1, ValueError, r"grad_cam: target must be an output index < 1, got 1"),
    ("relu", -1, ValueError, r"grad_cam: target must be an int >= 0, got -1"),
])
def test_grad_cam_refuses_a_foreign_layer_a_flat_layer_and_a_missing_target(layer, target, error, match):
    model = models.SimpleCNN(seed=0)
    layers = {"other": models.SimpleCNN(seed=1).features[10], "pool": model.features[11],
              "relu": model.features[10]}
    with pytest.raises(error, match=match):
        plots.grad_cam(model, np.zeros((2, 1, 8, 8), np.float32), layers[layer], target=target)
