"""PyTorch's `torch.utils` names that tinymed has: `utils.data` (datasets, samplers, a DataLoader
that yields Tensors), so that `torch.utils.data.DataLoader` runs after `import tinymed as torch`."""
from tinymed.utils import data

__all__ = ["data"]
