"""nn.Module, Parameter, Sequential, ModuleList: registration, walks, state dicts, modes, freeze.

The layers here are tiny stand-ins defined in this file (so the container logic is tested on
its own); they carry PyTorch's parameter and buffer names so the state-dict keys can be compared
with PyTorch's.
"""
import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinymed as tm
from tinymed.nn import Identity, Module, ModuleList, Parameter, Sequential


class TinyLinear(Module):
    def __init__(self, n_in, n_out, bias=True):
        super().__init__()
        self.weight = Parameter(np.arange(n_out * n_in, dtype=np.float32).reshape(n_out, n_in) / 10)
        if bias:
            self.bias = Parameter(np.zeros(n_out, dtype=np.float32))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        out = x @ self.weight.T
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}"


class TinyBatchNorm(Module):
    """Parameters and buffers named as PyTorch's BatchNorm1d; forward only shifts by the mean."""

    def __init__(self, c):
        super().__init__()
        self.weight = Parameter(np.ones(c, dtype=np.float32))
        self.bias = Parameter(np.zeros(c, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(c, dtype=np.float32))
        self.register_buffer("running_var", np.ones(c, dtype=np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        return (x - self.running_mean) * self.weight + self.bias


class TinyReLU(Module):
    def forward(self, x):
        return x.relu()


class Net(Module):
    def __init__(self):
        super().__init__()
        self.features = Sequential(TinyLinear(3, 4), TinyBatchNorm(4), TinyReLU())
        self.classifier = TinyLinear(4, 2)

    def forward(self, x):
        return self.classifier(self.features(x))


NET_KEYS = [
    "features.0.weight", "features.0.bias",
    "features.1.weight", "features.1.bias",
    "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
    "classifier.weight", "classifier.bias",
]


def randomised(model, seed=0):
    """The same model with every parameter and float buffer drawn at random."""
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data = rng.normal(size=p.shape).astype(p.dtype)
    for m in model.modules():
        for name, b in list(m._buffers.items()):
            m._buffers[name] = rng.normal(size=b.shape).astype(b.dtype) if b.dtype.kind == "f" else b + 7
    return model


# -- Parameter ------------------------------------------------------------------------------------


def test_parameter_is_a_tensor_that_requires_grad():
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    assert isinstance(p, tm.Tensor) and p.requires_grad and p.is_leaf
    assert p.shape == (2, 3) and p.dtype == np.float32


def test_parameter_of_integers_or_lists_is_default_float_and_float64_is_kept():
    assert Parameter(np.arange(3)).dtype == np.float32
    assert Parameter([1, 2]).dtype == np.float32
    assert Parameter(np.zeros(2)).dtype == np.float64


def test_parameter_copies_its_data():
    a = np.zeros(3, dtype=np.float32)
    p = Parameter(a)
    a[0] = 5
    assert p.data[0] == 0


def test_parameter_repr_says_parameter():
    assert repr(Parameter([1.0, 2.0])).startswith("Parameter([1., 2.]")


def test_parameter_of_strings_is_a_type_error():
    with pytest.raises(TypeError, match="Parameter: data must be numeric"):
        Parameter(np.array(["a"]))


# -- registration and walks ----------------------------------------------------------------------


def test_named_parameters_follow_registration_order_with_dotted_names():
    names = [n for n, _ in Net().named_parameters()]
    assert names == [k for k in NET_KEYS if "running" not in k and "num_batches" not in k]


def test_parameters_are_the_registered_objects():
    net = Net()
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    assert net.parameters().__next__() is net.features[0].weight


def test_named_buffers_are_the_registered_arrays():
    net = Net()
    assert [n for n, _ in net.named_buffers()] == [
        "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked"]
    assert next(net.buffers()) is net.features[1].running_mean


def test_children_are_direct_submodules_and_modules_are_all_descendants_depth_first():
    net = Net()
    assert [n for n, _ in net.named_children()] == ["features", "classifier"]
    assert list(net.children()) == [net.features, net.classifier]
    assert [n for n, _ in net.named_modules()] == [
        "", "features", "features.0", "features.1", "features.2", "classifier"]
    assert next(net.modules()) is net


def test_non_recursive_walks_see_only_the_module_itself():
    net = Net()
    assert list(net.named_parameters(recurse=False)) == []
    assert [n for n, _ in net.classifier.named_parameters(recurse=False)] == ["weight", "bias"]


def test_a_shared_parameter_is_listed_once():
    net = Net()
    net.classifier.weight = net.features[0].weight
    assert sum(p is net.features[0].weight for p in net.parameters()) == 1


def test_a_module_reachable_twice_is_listed_once():
    shared = TinyLinear(2, 2)
    seq = Sequential(shared, shared)
    assert len(list(seq.modules())) == 2
    assert len(list(seq.parameters())) == 2


def test_an_absent_bias_is_registered_as_none_and_skipped():
    lin = TinyLinear(3, 2, bias=False)
    assert lin.bias is None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert list(lin.state_dict()) == ["weight"]


def test_reassigning_a_parameter_name_to_an_array_is_a_type_error():
    lin = TinyLinear(3, 2)
    with pytest.raises(TypeError, match="cannot assign ndarray to parameter 'weight'.*Parameter or None"):
        lin.weight = np.zeros((2, 3))


def test_assigning_a_buffer_name_rebinds_the_buffer():
    bn = TinyBatchNorm(2)
    new = np.full(2, 3.0, dtype=np.float32)
    bn.running_mean = new
    assert dict(bn.named_buffers())["running_mean"] is new
    with pytest.raises(TypeError, match="running_mean: a buffer must be a np.ndarray or None, got list"):
        bn.running_mean = [1.0, 2.0]


def test_a_numpy_scalar_assigned_to_a_buffer_becomes_a_0d_array():
    bn = TinyBatchNorm(2)
    bn.num_batches_tracked = bn.num_batches_tracked + 1  # 0-d array + 1 is a np.int64 scalar
    tracked = bn.state_dict()["num_batches_tracked"]
    assert isinstance(tracked, np.ndarray) and tracked.shape == () and tracked.dtype == np.int64 and tracked == 1


def test_register_buffer_rejects_non_arrays():
    with pytest.raises(TypeError, match="register_buffer\\('b'\\): a buffer must be a np.ndarray"):
        Module().register_buffer("b", 3.0)


def test_a_name_is_one_thing_at_a_time():
    m = Module()
    m.x = TinyLinear(1, 1)
    m.x = Parameter([1.0])
    assert list(m.named_children()) == [] and [n for n, _ in m.named_parameters()] == ["x"]
    del m.x
    assert list(m.named_parameters()) == []
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'x'"):
        m.x


def test_registering_before_super_init_is_a_clear_error():
    class Forgetful(Module):
        def __init__(self):
            self.w = Parameter([1.0])

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\) first"):
        Forgetful()


def test_plain_attributes_are_not_registered():
    m = Module()
    m.size = 3
    m.array = np.zeros(2)
    assert m.size == 3 and list(m.named_buffers()) == [] and list(m.named_parameters()) == []


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        Module()(1)


def test_apply_visits_every_module_children_first():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["TinyLinear", "TinyBatchNorm", "TinyReLU", "Sequential", "TinyLinear", "Net"]


def test_deepcopy_gives_an_independent_model():
    net = Net()
    twin = copy.deepcopy(net)
    twin.classifier.weight.data[0, 0] = 99.0
    assert net.classifier.weight.data[0, 0] != 99.0
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]


# -- calling, hooks ------------------------------------------------------------------------------


def test_call_runs_forward_then_forward_hooks_which_remove():
    lin = TinyLinear(2, 2)
    seen = []
    handle = lin.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs[0].shape, out.shape)))
    lin(tm.tensor(np.ones((5, 2), dtype=np.float32)))
    handle.remove()
    lin(tm.tensor(np.ones((5, 2), dtype=np.float32)))
    assert seen == [(lin, (5, 2), (5, 2))]


def test_a_forward_hook_may_replace_the_output():
    ident = Identity()
    ident.register_forward_hook(lambda m, inputs, out: out * 2)
    assert np.array_equal(ident(tm.tensor([1.0, 2.0])).data, [2.0, 4.0])


# -- modes, gradients, dtypes --------------------------------------------------------------------


def test_train_and_eval_reach_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.features.train()
    assert [m.training for m in net.modules()] == [False, True, True, True, True, False]


def test_train_mode_must_be_a_bool():
    with pytest.raises(TypeError, match="train: mode must be a bool, got str"):
        Net().train("eval")


def test_zero_grad_sets_every_grad_to_none():
    net = Net()
    net(tm.tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_toggles_every_parameter():
    net = Net()
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net.requires_grad_() is net and all(p.requires_grad for p in net.parameters())


def test_double_casts_parameters_grads_and_float_buffers_but_not_integer_buffers():
    net = Net()
    weight = net.classifier.weight
    net(tm.tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert net.double() is net
    assert net.classifier.weight is weight  # optimizers keep their references
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    buffers = dict(net.named_buffers())
    assert buffers["features.1.running_mean"].dtype == np.float64
    assert buffers["features.1.num_batches_tracked"].dtype == np.int64
    assert net(tm.tensor(np.ones((2, 3)))).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.to("float64").features[1].running_var.dtype == np.float64


def test_to_an_integer_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="to: dtype must be float32 or float64, got int32"):
        Net().to(np.int32)


# -- state_dict and load_state_dict --------------------------------------------------------------


def test_state_dict_keys_follow_pytorch_naming_and_registration_order():
    assert list(Net().state_dict()) == NET_KEYS


def test_state_dict_holds_copies():
    net = Net()
    sd = net.state_dict()
    sd["classifier.weight"][:] = 42
    assert not np.any(net.classifier.weight.data == 42)
    assert sd["features.1.num_batches_tracked"].shape == () and sd["features.1.num_batches_tracked"].dtype == np.int64


def test_state_dict_round_trip_is_exact_in_values_and_dtypes():
    source, target = randomised(Net(), seed=1), Net()
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    loaded, original = target.state_dict(), source.state_dict()
    for key in NET_KEYS:
        assert loaded[key].dtype == original[key].dtype
        assert np.array_equal(loaded[key], original[key])
    x = tm.tensor(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    assert np.array_equal(target(x).data, source(x).data)


@given(st.lists(st.integers(1, 5), min_size=2, max_size=5), st.integers(0, 2**16))
def test_state_dict_round_trip_for_any_stack_of_layers(widths, seed):
    def make():
        return Sequential(*[TinyLinear(a, b) for a, b in zip(widths, widths[1:])])

    source, target = randomised(make(), seed), make()
    target.load_state_dict(source.state_dict())
    for (k1, a), (k2, b) in zip(source.state_dict().items(), target.state_dict().items()):
        assert k1 == k2 and np.array_equal(a, b)


def test_load_state_dict_keeps_parameter_objects_and_rebinds_their_arrays():
    net = Net()
    weight, old_array = net.classifier.weight, net.classifier.weight.data
    old_copy = old_array.copy()
    net.load_state_dict(randomised(Net()).state_dict())
    assert net.classifier.weight is weight
    assert net.classifier.weight.data is not old_array
    assert np.array_equal(old_array, old_copy)  # not written in place


def test_load_state_dict_works_while_a_graph_holds_the_parameters_read_only():
    net = Net()
    out = net(tm.tensor(np.ones((2, 3), dtype=np.float32))).sum()  # the graph locks saved arrays
    source = randomised(Net())
    net.load_state_dict(source.state_dict())
    assert np.array_equal(net.classifier.weight.data, source.classifier.weight.data)
    out.backward()


def test_load_state_dict_casts_to_the_models_dtypes():
    net = Net()
    sd = {k: v.astype(np.float64) if v.dtype.kind == "f" else v.astype(np.int32)
          for k, v in randomised(Net()).state_dict().items()}
    net.load_state_dict(sd)
    loaded = net.state_dict()
    assert all(loaded[k].dtype == (np.int64 if "num_batches" in k else np.float32) for k in NET_KEYS)
    assert np.allclose(loaded["classifier.weight"], sd["classifier.weight"])


def test_load_state_dict_accepts_tensors_as_values():
    net, source = Net(), randomised(Net())
    net.load_state_dict({k: tm.Tensor(v) for k, v in source.state_dict().items()})
    assert np.array_equal(net.features[0].weight.data, source.features[0].weight.data)


def test_strict_load_names_missing_and_unexpected_keys_and_changes_nothing():
    net = Net()
    before = net.state_dict()
    sd = randomised(Net()).state_dict()
    del sd["classifier.bias"]
    sd["head.weight"] = np.zeros(2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"missing keys: \['classifier.bias'\]; unexpected keys: \['head.weight'\]"):
        net.load_state_dict(sd)
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())


def test_non_strict_load_reports_missing_and_unexpected_keys_and_loads_the_rest():
    net = Net()
    source = randomised(Net())
    sd = source.state_dict()
    del sd["classifier.bias"]
    sd["head.weight"] = np.zeros(2, dtype=np.float32)
    result = net.load_state_dict(sd, strict=False)
    assert result == (["classifier.bias"], ["head.weight"])
    assert result.missing_keys == ["classifier.bias"] and result.unexpected_keys == ["head.weight"]
    assert np.array_equal(net.classifier.weight.data, source.classifier.weight.data)
    assert np.array_equal(net.classifier.bias.data, np.zeros(2))


@pytest.mark.parametrize("strict", [True, False])
def test_shape_mismatch_always_raises_naming_the_key_and_both_shapes(strict):
    sd = Net().state_dict()
    sd["features.0.weight"] = np.zeros((4, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"shape mismatch for 'features.0.weight'.*\(4, 5\).*\(4, 3\)"):
        Net().load_state_dict(sd, strict=strict)


@pytest.mark.parametrize("value", [[1.0, 2.0], "weights", np.array(["a", "b"]), None])
def test_a_value_that_is_not_a_numeric_array_is_a_type_error_naming_the_key(value):
    sd = Net().state_dict()
    sd["classifier.bias"] = value
    with pytest.raises(TypeError, match="load_state_dict: 'classifier.bias' must be a numeric np.ndarray"):
        Net().load_state_dict(sd)


def test_load_state_dict_needs_a_mapping():
    with pytest.raises(TypeError, match="state_dict must be a dict of arrays, got list"):
        Net().load_state_dict([("classifier.bias", np.zeros(2))])


def test_pytorch_state_dict_loads_strictly_into_the_same_architecture():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU())
    twin.train()(torch.randn(8, 3))  # moves the running statistics and num_batches_tracked
    sd = {k: v.detach().numpy() for k, v in twin.state_dict().items()}
    ours = Sequential(TinyLinear(3, 4), TinyBatchNorm(4), TinyReLU())
    assert list(ours.state_dict()) == list(sd)
    ours.load_state_dict(sd)
    assert all(np.array_equal(ours.state_dict()[k], v) for k, v in sd.items())
    assert ours.state_dict()["1.num_batches_tracked"] == 1


# -- freeze and unfreeze -------------------------------------------------------------------------


def test_freeze_marks_every_descendant_and_stops_their_gradients():
    net = Net()
    assert not any(m.frozen for m in net.modules())
    assert net.features.freeze() is net.features
    assert all(m.frozen for m in net.features.modules()) and not net.classifier.frozen and not net.frozen
    assert not any(p.requires_grad for p in net.features.parameters())
    assert all(p.requires_grad for p in net.classifier.parameters())


def test_frozen_parameters_get_no_gradient():
    net = Net()
    net.features.freeze()
    net(tm.tensor(np.ones((2, 3), dtype=np.float32))).sum().backward()
    assert all(p.grad is None for p in net.features.parameters())
    assert all(p.grad is not None for p in net.classifier.parameters())


def test_unfreeze_undoes_freeze_for_the_part_it_is_called_on():
    net = Net().freeze()
    net.classifier.unfreeze()
    assert [m.frozen for _, m in net.named_modules()] == [True, True, True, True, True, False]
    assert [p.requires_grad for p in net.parameters()] == [False] * 4 + [True] * 2
    net.unfreeze()
    assert not any(m.frozen for m in net.modules()) and all(p.requires_grad for p in net.parameters())


def test_freeze_does_not_change_the_training_mode():
    net = Net().freeze()
    assert all(m.training for m in net.modules())


# -- reading a model: repr and summary -----------------------------------------------------------


def test_repr_is_nested_and_indented_like_pytorch():
    assert repr(Net()) == (
        "Net(\n"
        "  (features): Sequential(\n"
        "    (0): TinyLinear(in_features=3, out_features=4)\n"
        "    (1): TinyBatchNorm()\n"
        "    (2): TinyReLU()\n"
        "  )\n"
        "  (classifier): TinyLinear(in_features=4, out_features=2)\n"
        ")"
    )


def test_summary_lists_layers_counts_and_totals():
    text = Net().summary()
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:8]}
    assert rows["features.0"] == ["TinyLinear", "16", "yes"]  # 4*3 weights + 4 biases
    assert rows["features.1"] == ["TinyBatchNorm", "8", "yes"]
    assert rows["features.2"] == ["TinyReLU", "0", "-"]
    assert rows["classifier"] == ["TinyLinear", "10", "yes"]
    assert "Output shape" not in text
    assert text.splitlines()[-3:] == ["Total params: 34", "Trainable params: 34", "Frozen params: 0"]


def test_summary_shows_frozen_layers_and_counts():
    net = Net()
    net.features.freeze()
    text = net.summary()
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:8]}
    assert rows["features.0"][-1] == "frozen" and rows["classifier"][-1] == "yes"
    assert text.splitlines()[-2:] == ["Trainable params: 10", "Frozen params: 24"]


def test_summary_says_partly_when_a_layer_is_half_frozen():
    net = Net()
    net.classifier.bias.requires_grad_(False)
    rows = {line.split()[0]: line.split()[1:] for line in net.summary().splitlines()[2:8]}
    assert rows["classifier"][-1] == "partly"


def test_summary_with_input_shape_shows_each_output_shape_and_restores_the_mode():
    net = Net()
    net.classifier.eval()
    text = net.summary(input_shape=(3,))
    rows = {line.split()[0]: line for line in text.splitlines()[2:8]}
    assert "(1, 4)" in rows["features.0"] and "(1, 2)" in rows["classifier"] and "(1, 2)" in rows["(model)"]
    assert [m.training for m in net.modules()] == [True] * 5 + [False]
    assert all(not m._forward_hooks for m in net.modules())


def test_summary_runs_the_model_in_eval_mode_without_recording_a_graph():
    seen = []

    class Spy(Module):
        def forward(self, x):
            seen.append((self.training, tm.autograd.is_grad_enabled()))
            return x

    Sequential(Spy()).summary((2, 2))
    assert seen == [(False, False)]


def test_summary_rejects_a_bad_input_shape():
    with pytest.raises(ValueError, match="summary: input_shape must be a tuple of positive ints"):
        Net().summary(input_shape=(0, 3))


# -- Sequential, ModuleList, Identity ------------------------------------------------------------


def test_sequential_applies_its_modules_in_order():
    a, b = TinyLinear(3, 4), TinyLinear(4, 2)
    x = tm.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    assert np.array_equal(Sequential(a, b)(x).data, b(a(x)).data)


def test_sequential_indexing_length_iteration():
    layers = [TinyLinear(2, 2), TinyReLU(), TinyLinear(2, 1)]
    seq = Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]


def test_sequential_slice_is_a_sequential_that_keeps_the_names():
    seq = Sequential(TinyLinear(2, 2), TinyReLU(), TinyLinear(2, 1))
    tail = seq[1:]
    assert isinstance(tail, Sequential) and list(tail) == list(seq)[1:]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]


def test_sequential_setitem_replaces_a_layer():
    seq = Sequential(TinyLinear(2, 2), TinyLinear(2, 1))
    head = TinyLinear(2, 5)
    seq[-1] = head
    assert seq[1] is head and list(seq.state_dict())[-1] == "1.bias"


def test_sequential_from_a_dict_uses_its_keys():
    seq = Sequential({"conv": TinyLinear(2, 2), "act": TinyReLU()})
    assert [n for n, _ in seq.named_children()] == ["conv", "act"]


def test_sequential_bad_entries_and_indices_are_clear_errors():
    with pytest.raises(TypeError, match="Sequential: entry 1 must be a Module, got function"):
        Sequential(TinyReLU(), lambda x: x)
    with pytest.raises(IndexError, match="Sequential: index 2 is out of range for 2 entries"):
        Sequential(TinyReLU(), TinyReLU())[2]
    with pytest.raises(TypeError, match="Sequential: index must be an int or a slice, got str"):
        Sequential(TinyReLU())["0"]


def test_module_list_registers_what_it_holds():
    blocks = ModuleList([TinyLinear(2, 2)])
    blocks.append(TinyLinear(2, 3))
    assert len(blocks) == 2 and blocks[1].weight.shape == (3, 2)
    assert [n for n, _ in blocks.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [type(b) for b in blocks] == [TinyLinear, TinyLinear]
    assert isinstance(blocks[:1], ModuleList) and len(blocks[:1]) == 1
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module, got int"):
        blocks.append(3)


def test_module_list_inside_a_module_contributes_parameters():
    class Tower(Module):
        def __init__(self):
            super().__init__()
            self.blocks = ModuleList(TinyLinear(2, 2) for _ in range(3))

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    assert list(Tower().state_dict())[-1] == "blocks.2.bias"


def test_identity_returns_its_input():
    x = tm.tensor([1.0, 2.0])
    assert Identity()(x) is x


# -- with the real layers ------------------------------------------------------------------------


def test_a_frozen_batch_norm_keeps_its_running_statistics_in_training_mode():
    from tinymed import nn

    model = Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    x = tm.tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    model(x)
    before = model.state_dict()
    model.freeze()
    out = model(x)
    assert model.training
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())
    bn = model[1]
    expected = (model[0](x).data - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    model.unfreeze()
    model(x)
    assert not np.array_equal(model.state_dict()["1.running_mean"], before["1.running_mean"])


def test_a_pytorch_sequential_state_dict_loads_strictly_into_the_same_tinymed_layers():
    torch = pytest.importorskip("torch")
    from tinymed import nn

    torch.manual_seed(0)
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3),
    )
    twin.train()(torch.randn(4, 1, 4, 4))
    ours = Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    assert ours.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()}) == ([], [])
    x = np.random.default_rng(1).standard_normal((2, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = twin.eval()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours.eval()(tm.tensor(x)).data, expected, rtol=1e-4, atol=1e-5)


def test_summary_of_real_layers_shows_the_shapes_of_an_image_model():
    from tinymed import nn

    model = Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                       nn.GlobalAvgPool2d(), nn.Linear(4, 1))
    model[0].freeze()
    rows = {line.split()[0]: line for line in model.summary((1, 8, 8)).splitlines()[2:9]}
    assert "(1, 4, 8, 8)" in rows["0"] and "40" in rows["0"] and "frozen" in rows["0"]  # 4*1*3*3 + 4
    assert "(1, 4, 4, 4)" in rows["3"] and "(1, 4)" in rows["4"] and "(1, 1)" in rows["5"]


# -- to(device), ModuleDict, ParameterList, gradient clipping ----------------------------------


def test_to_accepts_the_cpu_as_pytorch_spells_it_and_refuses_cuda():
    net = Net()
    weight = net.classifier.weight
    assert net.to("cpu") is net and net.to(device="cpu") is net and net.classifier.weight is weight
    assert net.to("cpu", np.float64).classifier.weight.dtype == np.float64
    assert net.to(device="cpu", dtype=np.float32).classifier.weight.dtype == np.float32
    assert net.to(tm.tensor(np.zeros(1))).classifier.weight.dtype == np.float64  # a tensor's dtype
    with pytest.raises(ValueError, match="to: device must be 'cpu': tinymed .* runs on the CPU only, got 'cuda'"):
        net.to("cuda")
    with pytest.raises(ValueError, match="got 'cuda:0'"):
        net.to(device="cuda:0", dtype=np.float64)
    assert net.classifier.weight.dtype == np.float64  # a refused call changes nothing


def test_module_dict_registers_its_modules_under_their_keys_in_order():
    heads = tm.nn.ModuleDict({"mass": TinyLinear(3, 1), "nodule": TinyLinear(3, 2)})
    heads["effusion"] = TinyLinear(3, 1, bias=False)
    assert list(heads) == ["mass", "nodule", "effusion"] and len(heads) == 3 and "mass" in heads
    assert list(heads.state_dict()) == ["mass.weight", "mass.bias", "nodule.weight", "nodule.bias", "effusion.weight"]
    assert [name for name, _ in heads.items()] == list(heads.keys())
    del heads["nodule"]
    assert list(heads) == ["mass", "effusion"]
    with pytest.raises(KeyError, match=r"ModuleDict: no module named 'x'; it holds \['mass', 'effusion'\]"):
        heads["x"]
    with pytest.raises(TypeError, match="ModuleDict: 'head' must be a Module, got int"):
        heads["head"] = 3


def test_module_dict_state_dict_keys_match_pytorchs():
    torch = pytest.importorskip("torch")
    ours = tm.nn.ModuleDict({"a": tm.nn.Linear(2, 3), "b": tm.nn.Sequential(tm.nn.Linear(3, 1))})
    theirs = torch.nn.ModuleDict({"a": torch.nn.Linear(2, 3), "b": torch.nn.Sequential(torch.nn.Linear(3, 1))})
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_parameter_list_registers_parameters_as_0_1_and_trains_them():
    class Mixture(Module):
        def __init__(self):
            super().__init__()
            self.weights = tm.nn.ParameterList([np.ones(2, np.float32), tm.tensor(np.zeros(2, np.float32))])
            self.weights.append(Parameter(np.full(2, 2.0, np.float32)))

        def forward(self, x):
            return sum(w * x for w in self.weights)

    model = Mixture()
    assert [name for name, _ in model.named_parameters()] == ["weights.0", "weights.1", "weights.2"]
    assert all(isinstance(p, Parameter) and p.dtype == np.float32 for p in model.weights)
    model(tm.tensor(np.array([1.0, 2.0], dtype=np.float32))).sum().backward()
    np.testing.assert_array_equal(np.asarray(model.weights[-1].grad), [1.0, 2.0])
    with pytest.raises(IndexError, match="ParameterList: index 3 is out of range for 3 entries"):
        model.weights[3]


def _with_grads(*grads):
    params = [Parameter(np.zeros_like(np.asarray(g, dtype=np.float32))) for g in grads]
    for p, g in zip(params, grads):
        p.grad = np.asarray(g, dtype=np.float32)
    return params


def test_clip_grad_norm_scales_all_gradients_to_the_max_norm_and_returns_the_old_norm():
    params = _with_grads([3.0, 0.0], [[4.0]])  # total L2 norm 5
    total = tm.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.asarray(params[0].grad), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(params[1].grad), [[0.8]], rtol=1e-5)
    small = _with_grads([0.3, 0.4])
    assert tm.nn.utils.clip_grad_norm_(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(np.asarray(small[0].grad), np.float32([0.3, 0.4]))  # under the max: untouched


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=6), st.sampled_from([1.0, 2.0, 3.0, float("inf")]),
       st.floats(0.01, 10))
def test_clip_grad_norm_matches_pytorch(values, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ours = _with_grads(np.array(values, dtype=np.float64))
    theirs = torch.zeros(len(values), dtype=torch.float32, requires_grad=True)
    theirs.grad = torch.tensor(np.float32(values))
    total = tm.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    their_total = torch.nn.utils.clip_grad_norm_([theirs], max_norm, norm_type)
    assert total == pytest.approx(float(their_total), rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(np.asarray(ours[0].grad), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_clip_grad_value_clamps_each_element_and_skips_missing_grads():
    params = _with_grads([-3.0, 0.5, 2.0]) + [Parameter(np.zeros(2))]
    tm.nn.utils.clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(np.asarray(params[0].grad), [-1.0, 0.5, 1.0])
    assert params[1].grad is None
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be a finite number > 0, got 0"):
        tm.nn.utils.clip_grad_value_(params, 0)
    with pytest.raises(ValueError, match="clip_grad_norm_: the total norm of the gradients is nan"):
        tm.nn.utils.clip_grad_norm_(_with_grads([np.nan]), 1.0, error_if_nonfinite=True)
