"""A PyTorch beginner's training scripts run unchanged with `import tinymed as torch`.

Each script is a function of the module it is given (`tinymed` or the real `torch`), written
only with PyTorch's spelling. With the same starting weights, the same data and the same batch
order, the optimizer and scheduler trajectories are deterministic, so tinymed's numbers are
compared with PyTorch's (when it is installed) within float32 rounding.
"""
import numpy as np
import pytest

import tinymed


def blobs(n=96, seed=0):
    """Three Gaussian blobs in 4-d: x float32 (n, 4), y int64 (n,)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[2.0, 0, 0, 1], [0, 2.0, 0, -1], [0, 0, 2.0, 0]])
    x = (centres[y] + rng.normal(scale=0.8, size=(n, 4))).astype(np.float32)
    return x, y.astype(np.int64)


def initial_weights(shapes, seed=1):
    rng = np.random.default_rng(seed)
    return {k: (rng.normal(size=s) * 0.5).astype(np.float32) for k, s in shapes.items()}


CLASSIFIER_SHAPES = {"0.weight": (16, 4), "0.bias": (16,), "2.weight": (3, 16), "2.bias": (3,)}


# ---------------------------------------------------------------------------------------------
# The scripts, as a beginner writes them (PyTorch's spelling only)
# ---------------------------------------------------------------------------------------------


def classifier_script(torch, weights, x, y, epochs=4):
    """DataLoader over a TensorDataset, CrossEntropyLoss, SGD with momentum, StepLR,
    train()/eval(), accuracy by argmax."""
    dataset = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        scheduler.step()
        model.eval()
        with torch.no_grad():
            logits = model(dataset.tensors[0])
        accuracy = (logits.argmax(dim=1) == dataset.tensors[1]).float().mean().item()
        history.append((total / len(dataset), accuracy, scheduler.get_last_lr()[0]))
    return model, history


def imbalanced_script(torch, weights, x, y, sampler, epochs=3):
    """Binary labels, BCEWithLogitsLoss(pos_weight=...), a frozen first layer by
    `p.requires_grad = False`, Adam with OneCycleLR stepped every batch."""
    targets = torch.tensor(y[:, None].astype(np.float32))
    dataset = torch.utils.data.TensorDataset(torch.tensor(x), targets)
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, sampler=sampler)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    for p in model[0].parameters():
        p.requires_grad = False
    pos_weight = torch.tensor([float((y == 0).sum() / (y == 1).sum())])
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, epochs=epochs, steps_per_epoch=len(loader))
    losses, lrs = [], []
    for epoch in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            lrs.append(scheduler.get_last_lr()[0])
    return model, losses, lrs


def save_and_reload_script(torch, model, make_model, path, x):
    """torch.save(model.state_dict(), path) / model.load_state_dict(torch.load(path))."""
    torch.save(model.state_dict(), path)
    restored = make_model()
    restored.load_state_dict(torch.load(path))
    restored.eval()
    model.eval()
    with torch.no_grad():
        return model(torch.tensor(x)).numpy(), restored(torch.tensor(x)).numpy()


def plateau_script(torch, weights, x, y, epochs=12):
    """Adam with amsgrad, ReduceLROnPlateau on the training loss, full-batch steps."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=0.5, amsgrad=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs, labels = torch.tensor(x), torch.tensor(y)
    history = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        scheduler.step(loss.item())
        history.append((loss.item(), optimizer.param_groups[0]["lr"]))
    return history


# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------


def test_the_classifier_script_learns_with_tinymed():
    x, y = blobs()
    _, history = classifier_script(tinymed, initial_weights(CLASSIFIER_SHAPES), x, y)
    losses, accuracies, lrs = zip(*history)
    assert losses[-1] < losses[0] and accuracies[-1] > 0.85
    assert lrs == (0.1, 0.05, 0.05, 0.025)


def test_the_classifier_script_gives_pytorchs_losses_accuracies_and_lrs():
    torch = pytest.importorskip("torch")
    x, y = blobs()
    weights = initial_weights(CLASSIFIER_SHAPES)
    ours_model, ours = classifier_script(tinymed, weights, x, y)
    theirs_model, theirs = classifier_script(torch, weights, x, y)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-4, atol=1e-5)
    for key, value in theirs_model.state_dict().items():
        np.testing.assert_allclose(ours_model.state_dict()[key], value.numpy(), rtol=1e-4, atol=1e-5, err_msg=key)


def test_a_weighted_random_sampler_balances_the_batches_of_the_imbalanced_script():
    x, y = blobs(120)
    y = (y == 0).astype(np.int64)
    y[np.flatnonzero(y)[8:]] = 0  # 8 positives in 120
    weights = 1.0 / np.bincount(y)[y]
    sampler = tinymed.utils.data.WeightedRandomSampler(weights, num_samples=len(y), generator=0)
    drawn = np.array(list(sampler))
    assert abs(y[drawn].mean() - 0.5) < 0.15
    shapes = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8), "2.bias": (1,)}
    start = initial_weights(shapes)
    model, losses, lrs = imbalanced_script(tinymed, start, x, y, sampler)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], start["0.weight"])  # frozen
    assert not np.array_equal(model.state_dict()["2.weight"], start["2.weight"])
    assert max(lrs) == pytest.approx(0.05, rel=0.05) and min(lrs) < 1e-6  # up to max_lr, down to max_lr / 25e4
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


def test_the_imbalanced_script_gives_pytorchs_losses_and_lrs_for_the_same_batch_order():
    torch = pytest.importorskip("torch")
    x, y = blobs(120)
    y = (y == 0).astype(np.int64)
    order = list(tinymed.utils.data.WeightedRandomSampler(1.0 / np.bincount(y)[y], num_samples=120, generator=0))
    shapes = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8), "2.bias": (1,)}
    start = initial_weights(shapes)
    _, ours_losses, ours_lrs = imbalanced_script(tinymed, start, x, y, order)
    _, theirs_losses, theirs_lrs = imbalanced_script(torch, start, x, y, order)
    np.testing.assert_allclose(ours_lrs, theirs_lrs, rtol=1e-9)
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=1e-4, atol=1e-5)


def test_torch_save_and_load_of_a_state_dict_restore_the_model(tmp_path):
    x, y = blobs()
    model, _ = classifier_script(tinymed, initial_weights(CLASSIFIER_SHAPES), x, y, epochs=1)

    def make_model():
        return tinymed.nn.Sequential(tinymed.nn.Linear(4, 16), tinymed.nn.ReLU(), tinymed.nn.Linear(16, 3))

    before, after = save_and_reload_script(tinymed, model, make_model, str(tmp_path / "model.pt"), x)
    np.testing.assert_array_equal(before, after)
    with np.load(tmp_path / "model.pt", allow_pickle=False) as f:  # a plain .npz under the .pt name
        np.testing.assert_array_equal(f["2.bias"], model.state_dict()["2.bias"])


def test_the_plateau_script_cuts_the_lr_when_pytorch_does():
    torch = pytest.importorskip("torch")
    x, y = blobs()
    weights = initial_weights(CLASSIFIER_SHAPES)
    ours = np.array(plateau_script(tinymed, weights, x, y))
    theirs = np.array(plateau_script(torch, weights, x, y))
    np.testing.assert_allclose(ours[:, 1], theirs[:, 1], rtol=1e-12)
    np.testing.assert_allclose(ours[:, 0], theirs[:, 0], rtol=1e-4)
    assert ours[-1, 1] < 0.5
