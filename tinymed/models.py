"""Two small image classifiers, each split into `features` (the convolutional body) and
`classifier` (the head), the split that transfer learning works with.

Why the split: a network trained on many general images learns, in its early layers, filters
for edges, blobs and textures that are useful for any image, X-rays included; its late layers
combine them into features specific to the task it was trained on. To reuse it on a small
medical data set, keep (`transfer.load_pretrained`) the features, replace the classifier with
one for the new classes, and either fine-tune everything or freeze the early children of
`features` (`transfer.freeze_to(model, n)`) and train only the rest.

Both output logits (N, num_classes), not probabilities: pair them with `nn.BCEWithLogitsLoss`
or `nn.WeightedBCELoss(from_logits=True)` (one output per label) or `nn.CrossEntropyLoss`
(one output per class). Both take `seed`, drawn from in construction order, so the same seed
builds the same network.
"""
from tinymed import validate
from tinymed.nn.activation import ReLU
from tinymed.nn.containers import Sequential
from tinymed.nn.layers import AvgPool2d, Conv2d, GlobalAvgPool2d, Linear, MaxPool2d
from tinymed.nn.module import Module
from tinymed.nn.normalization import BatchNorm2d
from tinymed.tensor_methods import concatenate
from tinymed.random import get_generator


def _check_images(model, x, min_size, why):
    """x must be a batch of images (N, C, H, W) at least min_size x min_size: the model knows
    how much its pools shrink them (the layers check the rest: channels, dtype)."""
    where = type(model).__name__
    validate.ndim(x, f"{where}: x", 4, "(N, C, H, W)")
    if x.shape[2] < min_size or x.shape[3] < min_size:
        channels_last = x.shape[3] in (1, 3) and x.shape[1] >= min_size
        hint = "; channels-last images (N, H, W, C)? use x.transpose(0, 3, 1, 2)" if channels_last else ""
        raise ValueError(
            f"{where}: images must be at least {min_size}x{min_size} pixels ({why}), "
            f"got x.shape={tuple(x.shape)}{hint}"
        )


# ---------------------------------------------------------------------------------------------
# SimpleCNN
# ---------------------------------------------------------------------------------------------


class SimpleCNN(Module):
    """Three conv blocks and a linear head: (N, in_channels, H, W) -> logits (N, num_classes).

    features (a Sequential of 12 layers; children "0" ... "11"):
        0  Conv2d(in_channels, 16, 3, padding=1)   (N, 16, H, W)         early: edges, blobs
        1  BatchNorm2d(16)   2  ReLU   3  MaxPool2d(2)   -> (N, 16, H/2, W/2)
        4  Conv2d(16, 32, 3, padding=1)            (N, 32, H/2, W/2)     middle: textures, parts
        5  BatchNorm2d(32)   6  ReLU   7  MaxPool2d(2)   -> (N, 32, H/4, W/4)
        8  Conv2d(32, 64, 3, padding=1)            (N, 64, H/4, W/4)     late: task-specific
        9  BatchNorm2d(64)  10  ReLU  11  GlobalAvgPool2d -> (N, 64)
    classifier: Linear(64, num_classes).

    The global average pool makes the head independent of the image size (any H, W >= 4).
    The state-dict keys and layouts are those of the same network written in PyTorch
    (`features.0.weight`, `features.1.running_mean`, ..., `classifier.weight`), so its weights,
    exported as NumPy arrays, load with strict=True.
    """

    def __init__(self, in_channels=1, num_classes=1, seed=None):
        super().__init__()
        in_channels = validate.integer(in_channels, "SimpleCNN: in_channels", min=1)
        num_classes = validate.integer(num_classes, "SimpleCNN: num_classes", min=1)
        rng = get_generator(seed)
        self.features = Sequential(
            Conv2d(in_channels, 16, 3, padding=1, seed=rng), BatchNorm2d(16), ReLU(), MaxPool2d(2),
            Conv2d(16, 32, 3, padding=1, seed=rng), BatchNorm2d(32), ReLU(), MaxPool2d(2),
            Conv2d(32, 64, 3, padding=1, seed=rng), BatchNorm2d(64), ReLU(), GlobalAvgPool2d(),
        )
        self.classifier = Linear(64, num_classes, seed=rng)

    def forward(self, x):
        _check_images(self, x, 4, "two 2x2 max-pools")
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------------------------
# MiniDenseNet
# ---------------------------------------------------------------------------------------------


class DenseLayer(Module):
    """BN-ReLU-Conv3x3 making `growth_rate` new feature maps, concatenated onto its input:
    (N, C, H, W) -> (N, C + growth_rate, H, W).

    Concatenating (instead of adding, as a ResNet does) lets every later layer see every
    earlier layer's maps directly, so each layer needs only a few new ones (the growth rate)
    and gradients reach the early layers by short paths. (DenseNet-121 puts a 1x1 "bottleneck"
    convolution to 4 * growth_rate channels before the 3x3; this small version leaves it out.)
    """

    def __init__(self, in_channels, growth_rate, seed=None):
        super().__init__()
        self.norm = BatchNorm2d(in_channels)
        self.relu = ReLU()
        # no bias: the BatchNorm of every later layer that reads these maps subtracts the mean
        self.conv = Conv2d(in_channels, growth_rate, 3, padding=1, bias=False, seed=seed)

    def forward(self, x):
        return concatenate([x, self.conv(self.relu(self.norm(x)))], axis=1)


class DenseBlock(Module):
    """`num_layers` DenseLayers in a row (children "layer1", "layer2", ...):
    (N, C, H, W) -> (N, C + num_layers * growth_rate, H, W); `out_channels` is that count."""

    def __init__(self, num_layers, in_channels, growth_rate, seed=None):
        super().__init__()
        rng = get_generator(seed)
        for i in range(num_layers):
            self.add_module(f"layer{i + 1}", DenseLayer(in_channels + i * growth_rate, growth_rate, seed=rng))
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x):
        for layer in self.children():
            x = layer(x)
        return x


class Transition(Module):
    """Between two dense blocks: BN-ReLU-Conv1x1 to `out_channels`, then AvgPool2d(2):
    (N, C, H, W) -> (N, out_channels, H // 2, W // 2). Without it the channels would keep
    growing and the image would never shrink."""

    def __init__(self, in_channels, out_channels, seed=None):
        super().__init__()
        self.norm = BatchNorm2d(in_channels)
        self.relu = ReLU()
        self.conv = Conv2d(in_channels, out_channels, 1, bias=False, seed=seed)
        self.pool = AvgPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(self.relu(self.norm(x))))


class MiniDenseNet(Module):
    """A small DenseNet in the spirit of DenseNet-121 (the network of CheXNet and of the chest
    X-ray course): (N, in_channels, H, W) -> logits (N, num_classes).

    features, a Sequential whose children are, in order:
        stem          Conv2d(in_channels, num_init_features, 3, padding=1)      (N, F0, H, W)
        block1        DenseBlock: + block_config[0] * growth_rate channels
        transition1   Transition: halve the channels and the image
        block2, transition2, ..., blockB   (B = len(block_config); no transition after the last)
        final         Sequential(BatchNorm2d, ReLU, GlobalAvgPool2d)                 (N, num_features)
    classifier: Linear(num_features, num_classes).

    With the defaults (F0 = 16, growth 8, blocks (2, 2, 2)) the channels go
    16 -> 32 -> 16 -> 32 -> 16 -> 32 and a 32x32 image shrinks to 16x16, then 8x8; 10,273
    parameters. DenseNet-121 is the same plan at scale: a 7x7 stride-2 stem and a max
    pool, blocks of (6, 12, 24, 16) bottleneck layers with growth 32, 1024 final channels.

    Early vs late: the stem and block1 see small patches of the full-resolution image and learn
    generic filters (edges, textures) worth keeping from pretraining; the later blocks see the
    whole image through the pools and learn combinations specific to the training task. So
    `transfer.freeze_to(model, 2)` freezes the stem and block1 and fine-tunes the rest.
    Initialisation: PyTorch's layer defaults (torchvision's DenseNet uses kaiming_normal_ for
    its convolutions instead).
    """

    def __init__(self, in_channels=1, num_classes=1, growth_rate=8, block_config=(2, 2, 2),
                 num_init_features=16, seed=None):
        super().__init__()
        where = "MiniDenseNet"
        in_channels = validate.integer(in_channels, f"{where}: in_channels", min=1)
        num_classes = validate.integer(num_classes, f"{where}: num_classes", min=1)
        growth_rate = validate.integer(growth_rate, f"{where}: growth_rate", min=1)
        channels = validate.integer(num_init_features, f"{where}: num_init_features", min=1)
        if not isinstance(block_config, (tuple, list)) or len(block_config) == 0:
            raise ValueError(f"{where}: block_config must be a non-empty tuple of layer counts, got {block_config!r}")
        block_config = tuple(validate.integer(n, f"{where}: each entry of block_config", min=1) for n in block_config)
        rng = get_generator(seed)

        children = {"stem": Conv2d(in_channels, channels, 3, padding=1, bias=False, seed=rng)}
        for i, num_layers in enumerate(block_config, start=1):
            block = DenseBlock(num_layers, channels, growth_rate, seed=rng)
            children[f"block{i}"] = block
            channels = block.out_channels
            if i < len(block_config):
                # DenseNet-BC's compression 0.5: keep half the channels
                children[f"transition{i}"] = Transition(channels, max(channels // 2, 1), seed=rng)
                channels = max(channels // 2, 1)
        children["final"] = Sequential(BatchNorm2d(channels), ReLU(), GlobalAvgPool2d())
        self.features = Sequential(children)
        self.num_features = channels
        self.classifier = Linear(channels, num_classes, seed=rng)
        self._min_size = 2 ** (len(block_config) - 1)

    def forward(self, x):
        _check_images(self, x, self._min_size, "each transition halves them")
        return self.classifier(self.features(x))
