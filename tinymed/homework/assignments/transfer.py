"""Assignment 5, after tutorial 05 (transfer learning): load pretrained weights under a new head,
freeze the shallow layers, build parameter groups, and see that frozen weights do not move.

Every model is a SimpleCNN made from a seed, so the grader rebuilds the same weights on its side.
"""
import functools

import numpy as np

import tinymed as tm
import tinymed.nn.functional as F
from tinymed import optim
from tinymed.homework.judge import close
from tinymed.homework.probe import random
from tinymed.homework.spec import Assignment, Check, Exercise, notebook_path
from tinymed.models import SimpleCNN


def pretrained_state():
    """The weights of a 4-class SimpleCNN, with running statistics as after training."""
    state = SimpleCNN(num_classes=4, seed=2).state_dict()
    for k, key in enumerate(sorted(key for key in state if "running" in key)):
        state[key] = np.abs(random(50 + k, state[key].shape)).astype(state[key].dtype)
    return state


def new_model():
    return SimpleCNN(num_classes=1, seed=1)


@functools.lru_cache(maxsize=None)
def reference():
    """(pretrained_state(), new_model().state_dict()) made once, for the judges only: the
    student's side always gets fresh ones, which it may change."""
    return pretrained_state(), new_model().state_dict()


def loaded(ns):
    model, state = new_model(), pretrained_state()
    keys = ns["load_backbone"](model, state)
    return {"state": model.state_dict(), "keys": sorted(keys) if keys is not None else None}


def backbone_loaded(buffers):
    """Every features.* entry (parameters, or with `buffers` the running statistics) is the pretrained one."""
    def judge(got):
        state, fresh = reference()
        for key, value in state.items():
            if key.startswith("features.") and (("running" in key) == buffers) and "num_batches" not in key:
                what = "BatchNorm running statistics" if buffers else "a 1-class SimpleCNN loading a 4-class one's weights"
                message = close(key, got["state"].get(key), value, what,
                                hints=[("It still holds its own initial values: it was not loaded.",
                                        fresh[key])])
                if message:
                    return message
        return None
    return judge


def head_kept(got):
    fresh = reference()[1]
    return next(filter(None, (close(key, got["state"].get(key), fresh[key], "the new 1-class head keeps its own weights")
                              for key in ("classifier.weight", "classifier.bias"))), None)


def keys_returned(got):
    state, fresh = reference()
    expected = sorted(k for k in state if k in fresh and state[k].shape == fresh[k].shape)
    if got["keys"] == expected:
        return None
    got_keys = got["keys"] or []
    extra, missing = sorted(set(got_keys) - set(expected)), sorted(set(expected) - set(got_keys))
    return (f"load_backbone returned {len(got_keys)} keys, expected the {len(expected)} keys whose shapes match, "
            f"sorted: " + (f"{missing[0]} is missing" if missing else f"{extra[0]} should not be there" if extra
                           else "sort them") + " (the buffers of BatchNorm count too: use model.state_dict())")


LOAD = Exercise("load_backbone", names=("load_backbone",), forbidden=(
    "tinymed.transfer.load_pretrained",), checks=(
    Check("the backbone's weights are the pretrained ones", 2, run=loaded, judge=backbone_loaded(False)),
    Check("the new head keeps its own weights", 1, run=loaded, judge=head_kept),
    Check("returns the keys it loaded", 1, run=loaded, judge=keys_returned),
    Check("BatchNorm running statistics loaded too", 1, visibility="hidden", run=loaded, judge=backbone_loaded(True)),
))

# -- freezing -----------------------------------------------------------------------------------


def requires_grad(model):
    return {name: bool(p.requires_grad) for name, p in model.named_parameters()}


def frozen_pattern(n):
    model = SimpleCNN(seed=3)
    frozen = {f"features.{i}." for i in range(n)}
    return {name: not any(name.startswith(f) for f in frozen) for name, _ in model.named_parameters()}


def freezing(ns, n):
    model = SimpleCNN(seed=3)
    ns["freeze_shallow"](model, n)
    return requires_grad(model)


def pattern_right(n):
    def judge(got):
        expected = frozen_pattern(n)
        for name, trains in expected.items():
            if got.get(name) != trains:
                return (f"after freeze_shallow(model, {n}), {name} {'requires' if got.get(name) else 'does not require'} "
                        f"grad, but it should {'train' if trains else 'be frozen'}: freeze the first {n} children of "
                        f"model.features (model.features[:{n}]) and nothing else")
        return None
    return judge


def training_step(ns):
    """One SGD step on a random batch after freeze_shallow(model, 4): the weights before and after."""
    model = SimpleCNN(seed=3)
    ns["freeze_shallow"](model, 4)
    before = {name: np.array(p.data) for name, p in model.named_parameters()}
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    x, y = random(60, (4, 1, 8, 8), np.float32), np.array([[1.0], [0.0], [1.0], [0.0]])
    F.binary_cross_entropy_with_logits(model(tm.Tensor(x)), y).backward()
    optimizer.step()
    return {name: [before[name], np.array(p.data)] for name, p in model.named_parameters()}


def frozen_still(got):
    for name, trains in frozen_pattern(4).items():
        moved = not np.array_equal(*got[name])
        if moved != trains:
            return (f"{name} {'moved' if moved else 'did not move'} in an SGD step after freeze_shallow(model, 4); "
                    f"a frozen weight must stay put and a trainable one move")
    return None


FREEZE = Exercise("freeze", names=("freeze_shallow",), forbidden=(
    "tinymed.transfer.freeze_to", "tinymed.nn.Module.freeze", "tinymed.nn.Module.unfreeze"), checks=(
    Check("the first n layers frozen, the rest trainable", 2, run=lambda ns: freezing(ns, 4), judge=pattern_right(4)),
    Check("frozen weights do not move in a training step", 1, run=training_step, judge=frozen_still),
    Check("edge cases: n = 0 and n = 12", 1, visibility="after_due_date",
          run=lambda ns: [freezing(ns, 0), freezing(ns, 12)],
          judge=lambda got: pattern_right(0)(got[0]) or pattern_right(12)(got[1])),
))

# -- parameter groups ---------------------------------------------------------------------------


def groups(ns, freeze=0):
    model = SimpleCNN(seed=4)
    for layer in list(model.features)[:freeze]:
        for p in layer.parameters():
            p.requires_grad = False
    names = {id(p): name for name, p in model.named_parameters()}
    result = ns["param_groups"](model, 0.01, 0.1)
    return [[float(g["lr"]), [names.get(id(p), "?") for p in g["params"]]] for g in result]


def groups_right(freeze):
    def judge(got):
        model = SimpleCNN(seed=4)
        frozen = tuple(f"features.{i}." for i in range(freeze))
        trainable = [n for n, _ in model.named_parameters() if not n.startswith(frozen)]
        expected = [[0.01, [n for n in trainable if not n.startswith("classifier.")]],
                    [0.1, [n for n in trainable if n.startswith("classifier.")]]]
        context = "param_groups(model, lr=0.01, head_lr=0.1)" + (f" with features.0 .. {freeze - 1} frozen" if freeze else "")
        if len(got) != 2:
            return f"{context} should give two groups (body, head), got {len(got)}"
        for (lr, names), (want_lr, want), part in zip(got, expected, ("body", "head")):
            if lr != want_lr:
                return f"the {part} group has lr={lr}, but should have {want_lr} ({context})"
            if sorted(names) != sorted(want):
                extra, missing = sorted(set(names) - set(want)), sorted(set(want) - set(names))
                return (f"the {part} group's parameters are wrong ({context}): "
                        + (f"{extra[0]} should not be in it" if extra else f"{missing[0]} is missing")
                        + (" (leave frozen parameters out)" if extra and freeze else ""))
        return None
    return judge


def sgd_step(ns):
    model = SimpleCNN(seed=4)
    optimizer = optim.SGD(ns["param_groups"](model, 0.01, 0.1), lr=0.01)
    x, y = random(61, (2, 1, 8, 8), np.float32), np.array([[1.0], [0.0]])
    F.binary_cross_entropy_with_logits(model(tm.Tensor(x)), y).backward()
    head, body = model.classifier.weight, model.features[0].weight
    before = [np.array(head.data), np.array(body.data)]
    grads = [np.asarray(head.grad), np.asarray(body.grad)]
    optimizer.step()
    return [before, grads, [np.array(head.data), np.array(body.data)]]


def step_right(got):
    (head0, body0), (dhead, dbody), (head1, body1) = got
    context = "SGD on param_groups(model, 0.01, 0.1), float32 weights"
    return (close("the head's step", head1 - head0, -0.1 * dhead, context, rtol=1e-3, atol=1e-7)
            or close("the body's step", body1 - body0, -0.01 * dbody, context, rtol=1e-3, atol=1e-7))


GROUPS = Exercise("param_groups", names=("param_groups",), forbidden=("tinymed.transfer.param_groups",), checks=(
    Check("two groups: the body at lr, the head at head_lr", 1, run=groups, judge=groups_right(0)),
    Check("frozen parameters left out", 1, run=lambda ns: groups(ns, freeze=2), judge=groups_right(2)),
    Check("an SGD step moves the head by head_lr * grad", 1, visibility="hidden", run=sgd_step, judge=step_right),
))

ASSIGNMENT = Assignment(
    name="transfer", title="Transfer learning", tutorial="05_transfer_learning.ipynb",
    exercises=(LOAD, FREEZE, GROUPS), notebook=notebook_path(__name__))
