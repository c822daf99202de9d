"""Scripts a PyTorch beginner writes, run unchanged on tinymed (`import tinymed as torch`) and on
PyTorch, printing the same numbers within float32 rounding.

Each script is a function of the library it runs on (`torch` is tinymed or PyTorch) and of
`load`, which the test uses to give both the same initial weights through `load_state_dict`
(PyTorch's weights and ours are drawn from different generators). The scripts use only names
both libraries have today.
"""
import numpy as np
import pytest

import tinymed

torch_lib = pytest.importorskip("torch")

LIBRARIES = [tinymed, torch_lib]
TOL = dict(rtol=2e-4, atol=2e-5)  # float32 rounding, accumulated over a few dozen steps


def _loader(lib, state):
    """load(model): the harness's same initial weights, as arrays (tinymed) or tensors (PyTorch)."""
    def load(model):
        arrays = {k: state[k] for k in model.state_dict()}
        model.load_state_dict(arrays if lib is tinymed else {k: lib.from_numpy(v) for k, v in arrays.items()})
    return load


def _random_state(model, seed=0):
    """Weights for `model` (a tinymed model of the same architecture): float32 arrays."""
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(v.shape) * 0.3).astype(v.dtype) for k, v in model.state_dict().items()}


def _run_both(script, state, *args):
    return [script(lib, _loader(lib, state), *args) for lib in LIBRARIES]


def _assert_same(ours, theirs):
    """Equal nested results: numbers, lists, strings, dicts of arrays/tensors."""
    if isinstance(ours, dict):
        assert list(ours) == list(theirs)
        for key in ours:
            _assert_same(ours[key], theirs[key])
    elif isinstance(ours, str):
        assert ours == theirs
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
    else:
        np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64), **TOL)


def _state_arrays(model):
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


# ---------------------------------------------------------------------------------------------
# 1. nn.Sequential and MSELoss fit a line
# ---------------------------------------------------------------------------------------------


def fit_a_line(torch, load):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    load(model)
    x = torch.tensor([[-1.0], [-0.5], [0.0], [0.5], [1.0], [1.5]])
    y = torch.tensor([[-1.9], [-1.1], [0.1], [0.9], [2.1], [3.0]])
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(40):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, _state_arrays(model)


def test_sequential_with_mse_loss_fits_a_line_as_in_pytorch():
    state = _random_state(tinymed.nn.Sequential(tinymed.nn.Linear(1, 8), tinymed.nn.Tanh(), tinymed.nn.Linear(8, 1)))
    ours, theirs = _run_both(fit_a_line, state)
    _assert_same(ours, theirs)
    assert ours[0][-1] < 0.1 * ours[0][0]


# ---------------------------------------------------------------------------------------------
# 2. A custom Module with Parameters, trained with Adam (a cubic polynomial, PyTorch's tutorial)
# ---------------------------------------------------------------------------------------------


def fit_a_polynomial(torch, load):
    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(0.1))
            self.b = torch.nn.Parameter(torch.tensor(-0.2))
            self.c = torch.nn.Parameter(torch.tensor(0.3))
            self.d = torch.nn.Parameter(torch.tensor(0.05))

        def forward(self, x):
            return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    model = Polynomial3()
    load(model)
    x = torch.linspace(-1.5, 1.5, 31)
    y = torch.sin(x)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for t in range(60):
        loss = ((model(x) - y) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [model.a.item(), model.b.item(), model.c.item(), model.d.item()]


def test_a_custom_module_with_parameters_trains_with_adam_as_in_pytorch():
    state = {"a": np.float32(0.1), "b": np.float32(-0.2), "c": np.float32(0.3), "d": np.float32(0.05)}
    state = {k: np.asarray(v) for k, v in state.items()}
    ours, theirs = _run_both(fit_a_polynomial, state)
    _assert_same(ours, theirs)


# ---------------------------------------------------------------------------------------------
# 3. LeNet: print(net), one SGD step (PyTorch's "Neural Networks" tutorial)
# ---------------------------------------------------------------------------------------------


def lenet(torch, load, image, target):
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    net = Net()
    load(net)
    printed = str(net)
    params = list(net.parameters())
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    criterion = nn.MSELoss()
    optimizer.zero_grad()
    output = net(torch.tensor(image))
    loss = criterion(output, torch.tensor(target))
    # the tutorial's walk back through the graph: loss.grad_fn, then one step back
    step_back = loss.grad_fn.next_functions[0][0]
    walks = loss.grad_fn is not None and hasattr(step_back, "next_functions")
    loss.backward()
    conv1_bias_grad = np.asarray(net.conv1.bias.grad)
    optimizer.step()
    return printed, walks, len(params), list(params[0].shape), loss.item(), conv1_bias_grad, _state_arrays(net)


def test_lenet_prints_trains_and_steps_as_in_pytorch():
    nn = tinymed.nn
    shapes = {"conv1": nn.Conv2d(1, 6, 5), "conv2": nn.Conv2d(6, 16, 5), "fc1": nn.Linear(400, 120),
              "fc2": nn.Linear(120, 84), "fc3": nn.Linear(84, 10)}
    state = {f"{name}.{k}": v for name, layer in shapes.items() for k, v in _random_state(layer, seed=len(name)).items()}
    rng = np.random.default_rng(1)
    image = rng.standard_normal((2, 1, 32, 32)).astype(np.float32)
    target = rng.standard_normal((2, 10)).astype(np.float32)
    ours, theirs = _run_both(lenet, state, image, target)
    _assert_same(ours, theirs)
    assert ours[0].startswith("Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))")


# ---------------------------------------------------------------------------------------------
# 4. An imbalanced binary classifier with BCEWithLogitsLoss(pos_weight=...)
# ---------------------------------------------------------------------------------------------


def imbalanced_classifier(torch, load, features, labels):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 1))
    load(model)
    n_pos = float(labels.sum())
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([(len(labels) - n_pos) / n_pos]))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    x, y = torch.tensor(features), torch.tensor(labels)
    losses = []
    for epoch in range(30):
        model.train()
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        probs = torch.sigmoid(model(x))
    return losses, probs.numpy()


def test_bce_with_logits_and_pos_weight_train_as_in_pytorch():
    rng = np.random.default_rng(2)
    labels = (rng.random((40, 1)) < 0.15).astype(np.float32)
    labels[0] = 1.0
    features = (rng.standard_normal((40, 4)) + 1.5 * labels).astype(np.float32)
    model = tinymed.nn.Sequential(tinymed.nn.Linear(4, 16), tinymed.nn.ReLU(), tinymed.nn.Dropout(0.0),
                                  tinymed.nn.Linear(16, 1))
    ours, theirs = _run_both(imbalanced_classifier, _random_state(model, seed=3), features, labels)
    _assert_same(ours, theirs)


# ---------------------------------------------------------------------------------------------
# 5. Freezing a layer with p.requires_grad = False, CrossEntropyLoss, LayerNorm, GELU
# ---------------------------------------------------------------------------------------------


def frozen_feature_extractor(torch, load, features, classes):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(6, 12), nn.LayerNorm(12), nn.GELU(), nn.Linear(12, 3))
    load(model)
    for p in model[0].parameters():
        p.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    x, y = torch.tensor(features), torch.tensor(classes)
    losses = []
    for step in range(25):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
    return losses, len(trainable), model[0].weight.grad is None, _state_arrays(model)


def test_freezing_by_requires_grad_keeps_the_layer_as_in_pytorch():
    nn = tinymed.nn
    model = nn.Sequential(nn.Linear(6, 12), nn.LayerNorm(12), nn.GELU(), nn.Linear(12, 3))
    state = _random_state(model, seed=4)
    rng = np.random.default_rng(5)
    features = rng.standard_normal((20, 6)).astype(np.float32)
    classes = rng.integers(0, 3, size=20)
    ours, theirs = _run_both(frozen_feature_extractor, state, features, classes)
    _assert_same(ours, theirs)
    np.testing.assert_array_equal(ours[3]["0.weight"], state["0.weight"])
