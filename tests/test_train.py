"""fit / evaluate / predict: the training loop does what its five lines say."""
import numpy as np
import pytest

import tinymed as tm
from tinymed import data, models, nn, optim, train
from tinymed.nn.layers import Dropout, Linear, ReLU


def separable(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int64)
    return x, y


def mlp(seed=0):
    return nn.Sequential(Linear(4, 8, seed=seed), ReLU(), Dropout(0.2, seed=seed), Linear(8, 1, seed=seed + 1))


def loaders(x, y, seed=0):
    train_loader = data.DataLoader(data.ArrayDataset(x, y), batch_size=32, shuffle=True, seed=seed)
    return train_loader, data.DataLoader(data.ArrayDataset(x, y), batch_size=64)


def test_fit_lowers_the_loss_and_records_one_row_per_epoch():
    x, y = separable()
    model = mlp()
    train_loader, val_loader = loaders(x, y)
    history = train.fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.2, momentum=0.9),
                        train_loader, epochs=4, val_loader=val_loader, progress=False)
    assert len(history.train_loss) == len(history.val_loss) == len(history.val_auc) == len(history.seconds) == 4
    assert history.train_loss[-1] < history.train_loss[0] / 2
    assert history.val_auc[-1] > 0.95
    assert "train_loss" in repr(history)


def test_fit_is_reproducible_for_a_seed():
    x, y = separable()
    runs = []
    for _ in range(2):
        model = mlp(seed=3)
        history = train.fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.01),
                            loaders(x, y, seed=5)[0], epochs=2, progress=False)
        runs.append((history.train_loss, model.state_dict()))
    assert runs[0][0] == runs[1][0]
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key])


def test_evaluate_matches_a_loss_computed_by_hand_on_predict():
    x, y = separable()
    model = mlp()
    result = train.evaluate(model, loaders(x, y)[1], nn.BCEWithLogitsLoss())
    logits = train.predict(model, x)
    np.testing.assert_allclose(result["logits"], logits)
    p = 1 / (1 + np.exp(-logits[:, 0].astype(np.float64)))
    by_hand = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert result["loss"] == pytest.approx(by_hand, rel=1e-5)
    assert 0.0 <= result["auc"] <= 1.0


def test_predict_runs_in_eval_mode_without_a_graph_and_restores_the_mode():
    x, _ = separable(50)
    model = mlp()
    model.train()
    first = train.predict(model, x, batch_size=7)
    second = train.predict(model, tm.tensor(x), batch_size=50)
    np.testing.assert_allclose(first, second, rtol=1e-5)  # dropout is off: batching does not matter
    assert first.shape == (50, 1) and first.dtype == np.float32
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_validation_auc_is_nan_when_the_validation_set_has_one_class():
    x, y = separable()
    model = mlp()
    keep = y == 0
    history = train.fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1),
                        loaders(x, y)[0], val_loader=loaders(x[keep], y[keep])[1], progress=False)
    assert np.isnan(history.val_auc[0]) and np.isfinite(history.val_loss[0])


def test_bad_arguments_are_named():
    x, y = separable()
    model = mlp()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        train.fit(model, nn.BCEWithLogitsLoss(), sgd, loaders(x, y)[0], epochs=0)
    with pytest.raises(TypeError, match="train_loader must be a DataLoader"):
        train.fit(model, nn.BCEWithLogitsLoss(), sgd, 3)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        train.predict(model, x, batch_size=0)
    with pytest.raises(ValueError, match="no examples"):
        train.predict(model, x[:0])


def test_on_epoch_end_is_called_after_each_epoch_before_validation():
    x, y = separable()
    model = mlp()
    calls = []
    train.fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), loaders(x, y)[0],
              epochs=3, progress=False, on_epoch_end=lambda m, epoch: calls.append((m is model, epoch)))
    assert calls == [(True, 1), (True, 2), (True, 3)]


def test_update_bn_sets_running_statistics_to_the_plain_average_over_the_images():
    from tinymed.nn.layers import BatchNorm1d

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((300, 3)) * [1.0, 2.0, 3.0] + [5.0, -1.0, 0.0]).astype(np.float32)
    model = nn.Sequential(BatchNorm1d(3), Linear(3, 1, seed=0))
    frozen = nn.Sequential(BatchNorm1d(3)).freeze()
    model.eval()
    train.update_bn(model, x, batch_size=100)  # three equal batches: their mean is the mean
    bn = model[0]
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=0), rtol=1e-5)
    batch_vars = [x[i:i + 100].var(axis=0, ddof=1) for i in (0, 100, 200)]
    np.testing.assert_allclose(bn.running_var, np.mean(batch_vars, axis=0), rtol=1e-5)
    assert bn.momentum == 0.1 and not model.training  # options and mode restored
    train.update_bn(frozen, x)
    np.testing.assert_array_equal(frozen[0].running_mean, np.zeros(3))  # frozen layers keep theirs


def test_update_bn_makes_eval_mode_match_train_mode_and_spares_frozen_layers():
    x = np.random.default_rng(0).random((64, 1, 16, 16), dtype=np.float32)
    model = models.SimpleCNN(seed=0)
    model.features[9].freeze()
    frozen_mean = model.features[9].running_mean.copy()
    model.train()
    with tm.no_grad():
        in_training = model(tm.Tensor(x)).data
    train.update_bn(model, x, batch_size=64)
    assert model.training and model.features[1].momentum == 0.1
    np.testing.assert_array_equal(model.features[9].running_mean, frozen_mean)
    # one batch: running mean = the batch mean; running var = the unbiased batch variance, so
    # eval differs from training only by the factor m / (m - 1) inside the square root
    np.testing.assert_allclose(train.predict(model, x), in_training, rtol=0.02, atol=0.02)


def test_fit_names_a_model_loss_or_optimizer_that_is_not_one():
    x, y = separable(20)
    model, loader = mlp(), loaders(x, y)[0]
    sgd = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"fit: model must be an nn.Module, got the class SimpleCNN \(call it"):
        train.fit(models.SimpleCNN, nn.BCEWithLogitsLoss(), sgd, loader, progress=False)
    with pytest.raises(TypeError, match=r"fit: loss_fn must be a loss such as nn.BCEWithLogitsLoss\(\) \(an instance\), got the class BCEWithLogitsLoss"):
        train.fit(model, nn.BCEWithLogitsLoss, sgd, loader, progress=False)
    with pytest.raises(TypeError, match="fit: loss_fn must be .* got SGD"):  # loss and optimizer swapped
        train.fit(model, sgd, nn.BCEWithLogitsLoss(), loader, progress=False)
    with pytest.raises(TypeError, match="fit: optimizer must be an optimizer .* got NoneType"):
        train.fit(model, nn.BCEWithLogitsLoss(), None, loader, progress=False)
    with pytest.raises(TypeError, match="evaluate: loss_fn must be .* got the class BCEWithLogitsLoss"):
        train.evaluate(model, loader, nn.BCEWithLogitsLoss)


def test_arrays_or_datasets_given_as_loaders_are_refused_with_the_fix():
    x, y = separable(20)
    model, loss = mlp(), nn.BCEWithLogitsLoss()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    wrap = r"wrap the arrays as data.DataLoader\(data.ArrayDataset\(X, y\), batch_size=...\)"
    with pytest.raises(TypeError, match=r"fit: train_loader .* got a tuple of length 2 \(first item: ndarray\): " + wrap):
        train.fit(model, loss, sgd, (x, y), progress=False)
    with pytest.raises(TypeError, match=r"fit: val_loader .* got a tuple of length 2"):
        train.fit(model, loss, sgd, loaders(x, y)[0], val_loader=(x, y), progress=False)
    with pytest.raises(TypeError, match=r"evaluate: loader .* got ndarray of shape \(20, 4\): " + wrap):
        train.evaluate(model, x, loss)
    with pytest.raises(TypeError, match=r"predict: x_or_loader .* got ArrayDataset \(wrap it: data.DataLoader"):
        train.predict(model, data.ArrayDataset(x, y))
    with pytest.raises(TypeError, match=r"update_bn: images must be an array \(N, C, H, W\), got DataLoader"):
        train.update_bn(model, loaders(x, y)[1])


def test_a_loader_without_labels_is_named_in_fit():
    x, y = separable(20)
    model = mlp()
    images_only = data.DataLoader(data.ArrayDataset(x), batch_size=5)
    with pytest.raises(ValueError, match=r"fit: train_loader must yield \(x, y\) batches, got a tuple of length 1 .*ArrayDataset\(images, labels\)"):
        train.fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), images_only, progress=False)
    # predict needs no labels from an array, and keeps working on a loader of (x, y)
    assert train.predict(model, x).shape == (20, 1)
    assert train.predict(model, loaders(x, y)[1]).shape == (20, 1)


def test_progress_bars_show_only_on_a_terminal_unless_asked(monkeypatch, capsys):
    """progress=None (the default) follows stderr.isatty(): no hundreds of redrawn bars in a log."""
    import sys
    x, y = separable()
    for tty, progress, drawn in ((False, None, False), (True, None, True), (False, True, True), (True, False, False)):
        monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
        model = mlp()
        train.fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), loaders(x, y)[0],
                  progress=progress)
        assert ("epoch 1/1" in capsys.readouterr().err) == drawn, (tty, progress)
    with pytest.raises(TypeError, match=r"fit: progress must be True or False, got 'yes'"):
        train.fit(model, nn.BCEWithLogitsLoss(), optim.SGD(model.parameters(), lr=0.1), loaders(x, y)[0],
                  progress="yes")
