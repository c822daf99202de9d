"""Learning-rate schedules: set each parameter group's "lr" from its starting lr and the epoch.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = optim.CosineAnnealingLR(opt, T_max=10)
    for epoch in range(10):
        train.fit(model, loss_fn, opt, loader)   # one epoch of optimizer steps
        schedule.step()                          # then the next epoch's lr

Most schedules are a formula of the epoch (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
LinearLR, LambdaLR); OneCycleLR is a formula of the batch (call `step()` after every optimizer
step); ReduceLROnPlateau watches a validation metric, `step(val_loss)`, and cuts the lr when it
stops improving.
"""
import bisect
import math

from tinymed import validate

__all__ = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "LambdaLR",
           "OneCycleLR", "ReduceLROnPlateau"]


class _Scheduler:
    """What every schedule shares: the optimizer it drives, `get_last_lr()` and a state dict."""

    _not_saved = ("optimizer",)  # what state_dict leaves out (and load_state_dict keeps)

    def __init__(self, optimizer):
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise TypeError(
                f"{type(self).__name__}: optimizer must be an optimizer (with param_groups), got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer

    def _per_group(self, value, name, check):
        """One value for every group, or a list of one per group (PyTorch's `max_lr`, `min_lr`)."""
        n = len(self.optimizer.param_groups)
        values = list(value) if isinstance(value, (list, tuple)) else [value] * n
        if len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries but the optimizer has {n} parameter groups")
        return [check(v, name) for v in values]

    def get_last_lr(self):
        """The lr of each group, as set by the last `step()`."""
        return list(self._last_lr)

    def state_dict(self):
        """The schedule's position and settings (numbers and lists): `tm.save` can write it."""
        return {k: v for k, v in vars(self).items() if k not in self._not_saved}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


class _LRScheduler(_Scheduler):
    """Base of the formula schedules: `step()` once per epoch, after the epoch's optimizer steps.

    Each group's lr is a closed-form function of that group's starting lr (`base_lrs`) and
    `last_epoch` (0 right after construction, +1 per `step()`). PyTorch computes the same values
    by chaining multiplications; the two agree up to rounding.
    """

    def __init__(self, optimizer):
        super().__init__(optimizer)
        self._start()

    def _start(self):
        """Take each group's lr as its base_lr and set the lrs of epoch 0."""
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def _lr(self, base_lr, epoch):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self._lr(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class StepLR(_LRScheduler):
    """Decay each group's lr by `gamma` every `step_size` epochs: lr = base_lr * gamma**(epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = validate.integer(step_size, "StepLR: step_size", min=1)
        self.gamma = validate.positive(gamma, "StepLR: gamma")
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(_LRScheduler):
    """Decay by `gamma` at each of the `milestones` (epochs): lr = base_lr * gamma**(number of
    milestones <= epoch). A milestone listed twice decays twice, as PyTorch's."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        if not isinstance(milestones, (list, tuple, range)):
            raise TypeError(f"MultiStepLR: milestones must be a list of epochs, e.g. [30, 80], got {milestones!r}")
        self.milestones = sorted(validate.integer(m, f"MultiStepLR: milestones[{i}]", min=0)
                                 for i, m in enumerate(milestones))
        self.gamma = validate.positive(gamma, "MultiStepLR: gamma")
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(_LRScheduler):
    """Decay by `gamma` every epoch: lr = base_lr * gamma**epoch."""

    def __init__(self, optimizer, gamma):
        self.gamma = validate.positive(gamma, "ExponentialLR: gamma")
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(_LRScheduler):
    """Cosine from base_lr down to eta_min over T_max epochs (SGDR without restarts)::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Past T_max the cosine continues (the lr climbs back), as PyTorch's does.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = validate.integer(T_max, "CosineAnnealingLR: T_max", min=1)
        self.eta_min = validate.non_negative(eta_min, "CosineAnnealingLR: eta_min")
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


class LinearLR(_LRScheduler):
    """Linear warm-up (or decay) of a factor from `start_factor` to `end_factor` over `total_iters`
    epochs, then constant, as `torch.optim.lr_scheduler.LinearLR`::

        lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.start_factor = validate.real(start_factor, "LinearLR: start_factor", above=0, max=1)
        self.end_factor = validate.probability(end_factor, "LinearLR: end_factor")
        self.total_iters = validate.integer(total_iters, "LinearLR: total_iters", min=1)
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        fraction = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


class LambdaLR(_LRScheduler):
    """lr = base_lr * lr_lambda(epoch), with one function for every group or a list of one per
    group. The functions are not part of `state_dict()` (as PyTorch's, which keeps only callable
    objects' attributes): pass them again when resuming."""

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda):
        _Scheduler.__init__(self, optimizer)
        self.lr_lambdas = self._per_group(lr_lambda, "LambdaLR: lr_lambda", _function)
        self._start()

    def step(self):
        self.last_epoch += 1
        for group, base_lr, factor in zip(self.optimizer.param_groups, self.base_lrs, self.lr_lambdas):
            value = factor(self.last_epoch)
            group["lr"] = base_lr * validate.real(value, f"LambdaLR: lr_lambda({self.last_epoch})")
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


def _function(value, name):
    if not callable(value):
        raise TypeError(f"{name} must be a function of the epoch, e.g. lambda epoch: 0.95 ** epoch, got {value!r}")
    return value


class OneCycleLR(_LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped after every batch, as PyTorch's.

    The lr rises from max_lr / div_factor to `max_lr` over the first `pct_start` of the
    `total_steps` (= epochs * steps_per_epoch), then anneals to max_lr / (div_factor *
    final_div_factor) by the last step; with `three_phase=True` it first comes back down to the
    start before the final anneal. Each piece follows a half cosine, start -> end::

        lr = end + (start - end) * (1 + cos(pi * pct)) / 2        (anneal_strategy="cos")
        lr = start + (end - start) * pct                          (anneal_strategy="linear")

    With `cycle_momentum=True` (PyTorch's default) the momentum (SGD, RMSprop) or beta1 (Adam)
    moves the other way, max_momentum -> base_momentum -> max_momentum: less momentum while the
    lr is large. Stepping past `total_steps` is an error, as in PyTorch.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
        _Scheduler.__init__(self, optimizer)
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        self.pct_start = validate.real(pct_start, "OneCycleLR: pct_start", above=0, below=1)
        self.anneal_strategy = validate.one_of(anneal_strategy, "OneCycleLR: anneal_strategy", ("cos", "linear"))
        self.div_factor = validate.positive(div_factor, "OneCycleLR: div_factor")
        self.final_div_factor = validate.positive(final_div_factor, "OneCycleLR: final_div_factor")
        self.three_phase = validate.boolean(three_phase, "OneCycleLR: three_phase")
        self.cycle_momentum = validate.boolean(cycle_momentum, "OneCycleLR: cycle_momentum")
        max_lrs = self._per_group(max_lr, "OneCycleLR: max_lr", validate.positive)
        if self.cycle_momentum:
            self.momentum_key = _momentum_key(optimizer)
            self.base_momentums = self._per_group(base_momentum, "OneCycleLR: base_momentum", validate.probability)
            self.max_momentums = self._per_group(max_momentum, "OneCycleLR: max_momentum", validate.probability)
        # The phases: (last step, lr at its start and end as multiples of the initial lr, momentum
        # at its start and end: "max" or "base").
        peak, floor, n = self.div_factor, 1.0 / self.final_div_factor, self.total_steps
        if self.three_phase:
            self.phases = [(self.pct_start * n - 1, 1.0, peak, "max", "base"),
                           (2 * self.pct_start * n - 2, peak, 1.0, "base", "max"),
                           (n - 1, 1.0, floor, "max", "max")]
        else:
            self.phases = [(self.pct_start * n - 1, 1.0, peak, "max", "base"), (n - 1, peak, floor, "base", "max")]
        for group, lr in zip(optimizer.param_groups, max_lrs):
            group["lr"] = lr / self.div_factor
        self._start()

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _position(self, step):
        """(phase index, fraction of that phase done) at batch `step`."""
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}; "
                             f"make total_steps (or epochs * steps_per_epoch) cover the whole run")
        start = 0.0
        for i, (end, *_) in enumerate(self.phases):
            if step <= end or i == len(self.phases) - 1:
                return i, (step - start) / (end - start)
            start = end

    def _lr(self, base_lr, epoch):
        phase, pct = self._position(epoch)
        _, start, end, _, _ = self.phases[phase]
        return self._anneal(base_lr * start, base_lr * end, pct)

    def step(self):
        super().step()
        if not self.cycle_momentum:
            return
        phase, pct = self._position(self.last_epoch)
        start, end = self.phases[phase][3:]
        for group, base, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
            value = {"base": base, "max": high}
            momentum = self._anneal(value[start], value[end], pct)
            if self.momentum_key == "betas":
                group["betas"] = (momentum, group["betas"][1])
            else:
                group["momentum"] = momentum


def _total_steps(total_steps, epochs, steps_per_epoch):
    if total_steps is not None:
        return validate.integer(total_steps, "OneCycleLR: total_steps", min=1)
    if epochs is None or steps_per_epoch is None:
        raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch (e.g. len(loader))")
    return (validate.integer(epochs, "OneCycleLR: epochs", min=1)
            * validate.integer(steps_per_epoch, "OneCycleLR: steps_per_epoch", min=1))


def _momentum_key(optimizer):
    """The option OneCycleLR cycles: "betas" (beta1, Adam) or "momentum" (SGD, RMSprop)."""
    defaults = getattr(optimizer, "defaults", {})
    for key in ("betas", "momentum"):
        if key in defaults:
            return key
    raise ValueError(f"OneCycleLR: {type(optimizer).__name__} has no momentum or betas to cycle; "
                     f"pass cycle_momentum=False")


class ReduceLROnPlateau(_Scheduler):
    """Cut every group's lr by `factor` when a metric has not improved for `patience` epochs.

        schedule = optim.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
        for epoch in range(50):
            train.fit(model, loss_fn, opt, loader)
            schedule.step(val_loss)

    As PyTorch's: a value is an improvement when it beats the best so far by more than
    `threshold`, relatively (`threshold_mode="rel"`: below best * (1 - threshold) in mode "min",
    above best * (1 + threshold) in mode "max") or absolutely ("abs": best -/+ threshold). After
    more than `patience` epochs without one, lr = max(lr * factor, min_lr), then `cooldown`
    epochs pass before bad epochs count again. A change smaller than `eps` is not made.
    Unlike PyTorch, a NaN or infinite metric is an error (training has diverged), not a bad epoch.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        super().__init__(optimizer)
        self.mode = validate.one_of(mode, "ReduceLROnPlateau: mode", ("min", "max"))
        self.factor = validate.real(factor, "ReduceLROnPlateau: factor", above=0, below=1)
        self.patience = validate.integer(patience, "ReduceLROnPlateau: patience", min=0)
        self.threshold = validate.non_negative(threshold, "ReduceLROnPlateau: threshold")
        self.threshold_mode = validate.one_of(threshold_mode, "ReduceLROnPlateau: threshold_mode", ("rel", "abs"))
        self.cooldown = validate.integer(cooldown, "ReduceLROnPlateau: cooldown", min=0)
        self.min_lrs = self._per_group(min_lr, "ReduceLROnPlateau: min_lr", validate.non_negative)
        self.eps = validate.non_negative(eps, "ReduceLROnPlateau: eps")
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, value):
        sign = 1.0 if self.mode == "min" else -1.0  # in mode "max", compare -value with -best
        if self.threshold_mode == "rel":
            return sign * value < sign * self.best * (1.0 - sign * self.threshold)
        return sign * value < sign * self.best - self.threshold

    def step(self, metrics):
        """Record this epoch's metric (a number or a one-element Tensor, e.g. the validation loss)."""
        value = metrics.item() if hasattr(metrics, "item") else metrics
        value = validate.real(value, "ReduceLROnPlateau.step: metrics")
        self.last_epoch += 1
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]
