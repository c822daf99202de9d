"""Scripts a PyTorch beginner writes (from PyTorch's own tutorials: "Tensors" and "Learning
PyTorch with Examples"), run unchanged with `import tinymed as torch`, and compared number for
number with real PyTorch when it is installed (within float32 rounding).

Each script is a function of the module it runs on, so the same lines run once with tinymed and
once with torch."""
import math

import numpy as np
import pytest

import tinymed


def tensor_basics(torch):
    """PyTorch's "Tensors" tutorial: making, attributes, indexing, joining, arithmetic, the NumPy
    bridge. Returns what it would print, as NumPy values."""
    seen = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    seen["x_data"], seen["x_np"], seen["x_ones"] = x_data, x_np, x_ones
    seen["rand_shape"] = tuple(x_rand.shape)
    shape = (2, 3,)
    seen["zeros"], seen["ones"] = torch.zeros(shape), torch.ones(shape)
    tensor = torch.rand(3, 4)
    seen["attributes"] = (tuple(tensor.shape), str(tensor.dtype), str(tensor.device))

    tensor = torch.ones(4, 4)
    seen["first row"], seen["first column"], seen["last column"] = tensor[0], tensor[:, 0], tensor[..., -1]
    tensor[:, 1] = 0
    seen["tensor"] = tensor
    seen["cat"] = torch.cat([tensor, tensor, tensor], dim=1)

    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    seen["y1"], seen["y2"], seen["z1"], seen["z2"] = y1, y2, z1, z2
    agg = tensor.sum()
    agg_item = agg.item()
    seen["agg_item"] = (agg_item, type(agg_item).__name__)
    tensor.add_(5)
    seen["add_"] = tensor

    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    seen["bridge t->n"] = n.copy()
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    seen["bridge n->t"] = t
    seen["printed"] = f"{agg:.2f} {float(agg)} {len(tensor)} {tensor.size()} {tensor.size(1)}"
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 5.0, 3.0])
    seen["eq"], seen["ne"], seen["lt"] = a == b, a != b, a < b
    seen["all"] = bool((a == a).all())
    seen["max dim"] = tuple(torch.tensor([[1.0, 9.0], [4.0, 2.0]]).max(dim=1))
    seen["argmax"] = torch.tensor([[1.0, 9.0], [4.0, 2.0]]).argmax(dim=1)
    seen["view"] = torch.arange(6).view(2, 3).transpose(0, 1).unsqueeze(0).squeeze(0)
    seen["tolist"] = torch.arange(4).tolist()
    return seen


def polynomial_fit(torch, init, steps=2000):
    """"Learning PyTorch with Examples": fit a + b x + c x^2 + d x^3 to sin(x) with raw tensors,
    autograd and hand-written gradient descent under no_grad. `init`: the four start values
    (the tutorial draws them with torch.randn; fixed here so both libraries start alike)."""
    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, device=device, dtype=dtype, requires_grad=True) for v in init)
    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad.zero_()  # the other way to clear a gradient
            d.grad = None
    result = f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3"
    return losses, [a.item(), b.item(), c.item(), d.item()], result


def legendre_fit(torch, steps=2000):
    """"Learning PyTorch with Examples": a custom autograd.Function, the Legendre polynomial
    P3(x) = (5x^3 - 3x) / 2, in y = a + b P3(c + d x), fitted to sin(x)."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    dtype = torch.float
    device = torch.device("cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for t in range(steps):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, [a.item(), b.item(), c.item(), d.item()]


def as_numpy(value):
    if isinstance(value, tuple):
        return tuple(as_numpy(v) for v in value)
    return value.numpy() if hasattr(value, "numpy") else value


def test_tensor_basics_print_what_pytorch_prints():
    ours = tensor_basics(tinymed)
    assert ours["x_data"].dtype == np.int64 and ours["attributes"] == ((3, 4), "float32", "cpu")
    assert ours["bridge t->n"].tolist() == [2.0] * 5 and ours["bridge n->t"].tolist() == [2.0] * 5
    torch = pytest.importorskip("torch")
    theirs = tensor_basics(torch)
    assert ours.keys() == theirs.keys()
    for key in ours:
        if key == "attributes":
            assert theirs[key] == ((3, 4), "torch.float32", "cpu")
        elif key == "printed":
            assert ours[key].replace("(4, 4) ", "") == theirs[key].replace("torch.Size([4, 4]) ", "")
        else:
            np.testing.assert_equal(as_numpy(ours[key]), as_numpy(theirs[key]), err_msg=key)


@pytest.mark.slow
def test_polynomial_fit_with_raw_tensors_matches_pytorch():
    init = np.random.default_rng(0).standard_normal(4).tolist()
    losses, coefficients, result = polynomial_fit(tinymed, init)
    assert losses[-1] < losses[0] / 10 and result.startswith("Result: y = ")
    torch = pytest.importorskip("torch")
    their_losses, their_coefficients, _ = polynomial_fit(torch, init)
    np.testing.assert_allclose(losses, their_losses, rtol=1e-4)
    np.testing.assert_allclose(coefficients, their_coefficients, rtol=1e-4, atol=1e-6)


def test_polynomial_fit_runs_with_randn_as_in_the_tutorial():
    tinymed.manual_seed(0)
    init = [tinymed.randn((), dtype=tinymed.float).item() for _ in range(4)]
    losses, _, _ = polynomial_fit(tinymed, init, steps=300)
    assert losses[-1] < losses[0]


@pytest.mark.slow
def test_custom_legendre_function_matches_pytorch():
    losses, coefficients = legendre_fit(tinymed)
    assert losses[-1] < losses[0]
    torch = pytest.importorskip("torch")
    their_losses, their_coefficients = legendre_fit(torch)
    np.testing.assert_allclose(losses, their_losses, rtol=1e-4)
    np.testing.assert_allclose(coefficients, their_coefficients, rtol=1e-4, atol=1e-6)


def test_custom_legendre_function_matches_pytorch_for_a_few_steps():
    torch = pytest.importorskip("torch")
    losses, coefficients = legendre_fit(tinymed, steps=200)
    their_losses, their_coefficients = legendre_fit(torch, steps=200)
    np.testing.assert_allclose(losses, their_losses, rtol=1e-5)
    np.testing.assert_allclose(coefficients, their_coefficients, rtol=1e-5, atol=1e-7)
