"""Learning-rate schedules: set each parameter group's "lr" from its starting lr and the epoch.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = optim.CosineAnnealingLR(opt, T_max=10)
    for epoch in range(10):
        train.fit(model, loss_fn, opt, loader)   # one epoch of optimizer steps
        schedule.step()                          # then the next epoch's lr
"""
import math

import numpy as np

class _LRScheduler:
    """Base of the schedules: `step()` once per epoch, after the epoch's optimizer steps.

    Each group's lr is a closed-form function of that group's starting lr (`base_lrs`) and
    `last_epoch` (0 right after construction, +1 per `step()`). PyTorch computes the same values
    by chaining multiplications; the two agree up to rounding.
    """

    def __init__(self, optimizer):
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise TypeError(
                f"{type(self).__name__}: optimizer must be an optimizer (with param_groups), got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def _lr(self, base_lr, epoch):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self._lr(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The lr of each group, as set by the last `step()`."""
        return list(self._last_lr)

    def state_dict(self):
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)


def _positive_int(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


class StepLR(_LRScheduler):
    """Decay each group's lr by `gamma` every `step_size` epochs: lr = base_lr * gamma**(epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _positive_int(step_size, "step_size", "StepLR")
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(_LRScheduler):
    """Cosine from base_lr down to eta_min over T_max epochs (SGDR without restarts)::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Past T_max the cosine continues (the lr climbs back), as PyTorch's does.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


class LinearLR(_LRScheduler):
    """Linear warm-up (or decay) of a factor from `start_factor` to `end_factor` over `total_iters`
    epochs, then constant, as `torch.optim.lr_scheduler.LinearLR`::

        lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        if not 0.0 < start_factor <= 1.0 or not 0.0 <= end_factor <= 1.0:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got "
                f"start_factor={start_factor}, end_factor={end_factor}"
            )
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _positive_int(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer)

    def _lr(self, base_lr, epoch):
        fraction = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)
