"""`Module.summary()`: the table of a model's layers, output shapes and parameter counts
(Keras's `model.summary()`, torchsummary's `summary(model, input_size)`). Formatting, not
learning: it lives apart from `Module` and uses only its public walks and hooks."""
import numpy as np

from tinymed.autograd import Tensor, get_default_dtype, no_grad


def summary_table(model, input_shape=None):
    """A table of the layers: name, type, output shape (when `input_shape` is given),
    parameter count and whether the parameters train; totals at the bottom.

    input_shape: the shape of ONE example without the batch axis, e.g. (1, 32, 32) for a
    one-channel 32x32 image (as Keras and torchsummary). A batch of one zero example is run
    through the model under no_grad in eval mode (the modes are restored afterwards), and each
    module's output is recorded by a forward hook; the shapes shown include that batch axis.
    The Params column counts the parameters a module owns itself, so the column sums to the
    total; a container's layers are listed below it, indented.
    """
    shapes = _output_shapes(model, input_shape) if input_shape is not None else None
    header = ["Layer", "Type"] + (["Output shape"] if shapes is not None else []) + ["Params", "Trainable"]
    rows = []
    for name, m in model.named_modules():
        own = [p for _, p in m.named_parameters(recurse=False)]
        count = sum(p.size for p in own)
        trainable = sum(p.size for p in own if p.requires_grad)
        status = "-" if not own else "yes" if trainable == count else "frozen" if trainable == 0 else "partly"
        row = ["  " * name.count(".") + (name or "(model)"), type(m).__name__]
        if shapes is not None:
            row.append(shapes.get(id(m), "-"))
        rows.append(row + [f"{count:,}" if own or next(m.children(), None) is None else "", status])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    params_column = len(header) - 2

    def fmt(row):
        cells = (c.rjust(w) if i == params_column else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
        return "  ".join(cells).rstrip()

    rule = "-" * len(fmt(header))
    params = list(model.parameters())
    total = sum(p.size for p in params)
    trainable = sum(p.size for p in params if p.requires_grad)
    lines = [fmt(header), rule] + [fmt(r) for r in rows] + [rule]
    lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}", f"Frozen params: {total - trainable:,}"]
    return "\n".join(lines)

def _output_shapes(model, input_shape):
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
    if not isinstance(shape, (tuple, list)) or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"summary: input_shape must be a tuple of positive ints (one example, no batch axis), got {input_shape!r}")
    first = next(model.parameters(), None)
    x = Tensor(np.zeros((1, *shape), dtype=get_default_dtype() if first is None else first.dtype))
    shapes, modes = {}, [(m, m.training) for m in model.modules()]

    def record(module, inputs, output):
        shapes[id(module)] = str(tuple(output.shape)) if isinstance(output, Tensor) else type(output).__name__

    handles = [m.register_forward_hook(record) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    return shapes
