"""Tensor's shape methods: reshape/view, flatten, squeeze/unsqueeze, transpose/permute/.T,
expand, repeat, clone, split/chunk, gather, indexing and iteration, and the sizes.

Each is a front for a Function in `tinymed.ops_shape` (the rearrangement and its inverse), with
its arguments checked first (`tensor_checks`). Copied onto Tensor by `tensor_methods`. Where
PyTorch and NumPy differ:
- `t.transpose(0, 1)`: exactly two axes swap them (PyTorch). No axes reverse them all (as
  `.T`), and a tuple or three or more axes are a full permutation (NumPy, tinymed 0.1);
  `permute(*dims)` is PyTorch's name for that.
- `t.size` is the number of elements, an int (NumPy's meaning, tinymed 0.1's); called,
  `t.size()` / `t.size(0)`, it gives the shape or one size (PyTorch's). Both read naturally.
- `view` is reshape: NumPy decides whether it copies (values and gradients are the same).
"""
import math

import numpy as np

from tinymed import tensor_checks as check
from tinymed import validate
from tinymed.autograd import Tensor
from tinymed.ops import Clone, Expand, GetItem, Repeat, Reshape, Transpose


class Size(int):
    """`t.size`: the number of elements, an int (NumPy's `a.size`), that called gives the shape
    (PyTorch's `t.size()`) or one size (`t.size(0)`, `t.size(-1)`)."""

    def __new__(cls, shape):
        self = super().__new__(cls, math.prod(shape))
        self.shape = shape
        return self

    def __call__(self, dim=None):
        """The shape, or the size along `dim`."""
        if dim is None:
            return self.shape
        return self.shape[check.one_axis("size", "dim", dim, len(self.shape))]


class ShapeMethods:
    """Tensor's shape methods."""

    def reshape(self, *shape):
        """The same values in a new shape: t.reshape(2, 3) or t.reshape((2, 3)); one -1 is
        inferred from the others."""
        return _reshape("reshape", self, check.shape_args(shape))

    def view(self, *shape):
        """PyTorch's name for reshape (here it may copy; NumPy decides, the values are the same)."""
        return _reshape("view", self, check.shape_args(shape))

    def flatten(self, start_dim=0, end_dim=-1, *, start_axis=None):
        """Axes start_dim..end_dim merged into one: (N, C, H, W).flatten(1) -> (N, C*H*W).
        `start_axis=` is tinymed 0.1's name for start_dim."""
        name, start = check.either("flatten", "start_dim", start_dim if start_dim != 0 else None, "start_axis", start_axis)
        start = check.one_axis("flatten", name, start or 0, self.ndim)
        end = check.one_axis("flatten", "end_dim", end_dim, self.ndim)
        if end < start:
            raise ValueError(f"flatten: end_dim {end_dim} comes before start_dim {start} for shape {self.shape}")
        return Reshape.apply(self, shape=self.shape[:start] + (-1,) + self.shape[end + 1:])

    def ravel(self):
        """The values as one axis (reshape(-1))."""
        return Reshape.apply(self, shape=(-1,))

    def unsqueeze(self, dim):
        """A new axis of length 1 at `dim` (-1: last): (3,).unsqueeze(0) -> (1, 3)."""
        dim = check.one_axis("unsqueeze", "dim", dim, self.ndim + 1)
        return Reshape.apply(self, shape=self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        """Axes of length 1 removed: all of them, or only `dim` (left alone if its size is not 1,
        as PyTorch)."""
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            dim = check.one_axis("squeeze", "dim", dim, self.ndim)
            shape = self.shape[:dim] + self.shape[dim + 1:] if self.shape[dim] == 1 else self.shape
        return Reshape.apply(self, shape=shape)

    def transpose(self, *dims):
        """Two axes swapped: t.transpose(0, 1) (PyTorch). With no axes, all axes reversed (.T);
        with a tuple, or three or more axes, a full permutation (NumPy; see `permute`)."""
        if len(dims) == 2 and all(check.is_int(d) for d in dims):
            a, b = (check.one_axis("transpose", "dim", d, self.ndim) for d in dims)
            order = list(range(self.ndim))
            order[a], order[b] = b, a
            return Transpose.apply(self, axes=tuple(order))
        if not dims:
            return Transpose.apply(self, axes=None)
        return Transpose.apply(self, axes=check.permutation("transpose", self, check.shape_args(dims)))

    def permute(self, *dims):
        """The axes in a new order: (N, H, W, C).permute(0, 3, 1, 2) -> (N, C, H, W)."""
        return Transpose.apply(self, axes=check.permutation("permute", self, check.shape_args(dims)))

    def t(self):
        """The transpose of a matrix (at most 2-d, as PyTorch's t())."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {self.shape}; use "
                             f"transpose(dim0, dim1) or permute")
        return Transpose.apply(self, axes=None)

    @property
    def T(self):
        """The axes reversed (the transpose of a matrix)."""
        return Transpose.apply(self, axes=None)

    def expand(self, *sizes):
        """Repeated along axes of length 1 (and new leading axes) without copying, to `sizes`
        (-1 keeps a size): (3, 1).expand(3, 4) -> (3, 4). Gradient: the sum over the copies."""
        sizes = check.shape_args(sizes)
        validate.shape(tuple(n for n in sizes if n != -1), "expand: sizes")
        extra = len(sizes) - self.ndim
        target = tuple(self.shape[i - extra] if n == -1 and i >= extra else n for i, n in enumerate(sizes))
        if extra < 0 or -1 in target or not check.broadcasts_to(self.shape, target):
            raise ValueError(f"expand: a tensor of shape {self.shape} cannot be expanded to {tuple(sizes)}: "
                             f"only axes of size 1 (and new leading axes) can grow")
        return Expand.apply(self, shape=target)

    def expand_as(self, other):
        """self expanded to other's shape."""
        return self.expand(*np.shape(other))

    def repeat(self, *repeats):
        """Copies tiled along each axis (PyTorch's repeat, NumPy's tile): (2, 3).repeat(2, 1) ->
        (4, 3). Gives at least as many counts as axes."""
        repeats = validate.shape(check.shape_args(repeats), "repeat: repeats")
        if len(repeats) < self.ndim:
            raise ValueError(f"repeat: give a count for each of the {self.ndim} axes of shape {self.shape}, "
                             f"got {repeats}")
        return Repeat.apply(self, reps=repeats)

    def clone(self):
        """A copy with its own memory, in the graph (the gradient flows through)."""
        return Clone.apply(self)

    def split(self, split_size_or_sections, dim=0):
        """Pieces along `dim`: an int gives pieces of that size (the last may be smaller), a list
        gives those sizes. Each piece is an indexing of self (GetItem)."""
        dim = check.one_axis("split", "dim", dim, self.ndim)
        n = self.shape[dim]
        if check.is_int(split_size_or_sections):
            size = validate.integer(split_size_or_sections, "split: split_size", min=1)
            sizes = [min(size, n - start) for start in range(0, n, size)]
        else:
            sizes = list(validate.shape(split_size_or_sections, "split: sections"))
            if sum(sizes) != n:
                raise ValueError(f"split: sections {sizes} add up to {sum(sizes)}, but axis {dim} has size {n}")
        starts = np.cumsum([0] + sizes)
        before = (slice(None),) * dim
        return tuple(GetItem.apply(self, index=before + (slice(s, s + k),)) for s, k in zip(starts, sizes))

    def chunk(self, chunks, dim=0):
        """At most `chunks` pieces of equal size along `dim` (the last may be smaller)."""
        chunks = validate.integer(chunks, "chunk: chunks", min=1)
        n = self.shape[check.one_axis("chunk", "dim", dim, self.ndim)]
        return self.split(max(1, -(-n // chunks)), dim)

    def gather(self, dim, index):
        """Elements picked along `dim` by an int64 `index` (torch.gather): for dim=1,
        out[i, j] = self[i, index[i, j]]. Composed of GetItem (repeated picks add up)."""
        dim = check.one_axis("gather", "dim", dim, self.ndim)
        index = np.asarray(index)
        if not check.is_int(index.dtype.type(0)) or index.ndim != self.ndim:
            raise TypeError(f"gather: index must be an integer tensor with {self.ndim} dims, got "
                            f"{index.dtype} of shape {index.shape}")
        return GetItem.apply(self, index=_along(dim, index))

    def __getitem__(self, index):
        """self[index]: ints, slices, None, ..., and integer or bool arrays/tensors (NumPy's
        rules); repeated integer picks add up their gradients."""
        return GetItem.apply(self, index=_index(index))

    def __iter__(self):
        """The sub-tensors along the first axis (t[0], t[1], ...)."""
        return (self[i] for i in range(len(self)))

    @property
    def size(self):
        """The number of elements (an int, as NumPy); call it for the shape (PyTorch)."""
        return Size(self.shape)

    def numel(self):
        """The number of elements."""
        return math.prod(self.shape)

    def dim(self):
        """The number of axes (PyTorch's name for ndim)."""
        return self.ndim


def _reshape(name, x, shape):
    try:
        return Reshape.apply(x, shape=shape)
    except (ValueError, TypeError):
        check.new_shape(name, x, shape)
        raise


def _along(dim, index):
    """The NumPy index that picks index[i, j, ...] along `dim` and i, j, ... along the others."""
    grid = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grid[dim] = index
    return tuple(grid)


def _index(index):
    """Tensors inside an index become their arrays (tm tensors can index tm tensors)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    return index.numpy() if isinstance(index, Tensor) else index
