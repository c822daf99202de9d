"""Data sets: synthetic chest X-ray phantoms and "shapes" pre-training data (drawn in
`tinymed.synthetic`, `tinymed.synthetic_findings` and `tinymed.synthetic_shapes`), real chest
X-rays shipped with the package (`load_pneumonia`), MedMNIST .npz files, a CSV + image-folder
loader, and a patient-level split with its leakage check.

Plain NumPy, no autograd. Images come out as float32 arrays (N, C, H, W) with values in [0, 1],
labels as int64.
"""
import csv
import hashlib
import os
import zipfile

import numpy as np

from tinymed import validate
from tinymed.random import get_generator
from tinymed.synthetic import make_chest_xrays
from tinymed.synthetic_findings import FINDINGS, make_chest_findings
from tinymed.synthetic_shapes import SHAPE_CLASSES, make_shapes

__all__ = [
    "FINDINGS", "SHAPE_CLASSES", "has_leakage", "imbalanced_subset", "load_image_csv", "load_medmnist",
    "load_pneumonia", "make_chest_findings", "make_chest_xrays", "make_shapes", "patient_split",
    "pneumonia_path",
]

REALDATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realdata")
PNEUMONIA_FILE = "pneumoniamnist_balanced.npz"
MEDMNIST_RECORD = "https://zenodo.org/records/10519652"


# ----------------------------------------------------------------------------------------------
# MedMNIST files, and the real X-rays shipped with tinymed

def _known_md5():
    """File name -> MD5 sum: MedMNIST's published sums (from its medmnist/info.py) and the
    shipped file's, read from the md5sum-format lists in tinymed/realdata."""
    sums = {}
    for listing in ("medmnist_md5sums.txt", PNEUMONIA_FILE + ".md5"):
        with open(os.path.join(REALDATA, listing)) as file:
            for line in file:
                if line.strip() and not line.startswith("#"):
                    md5, file_name = line.split()
                    sums[file_name] = md5
    return sums


_VERIFIED = set()  # (real path, size, mtime) of files whose MD5 matched: a large file is hashed once


def _check_md5(path, name):
    """When the file's name is a known one, its MD5 must be the published one."""
    base = os.path.basename(path)
    expected = _known_md5().get(base)
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if expected is None or key in _VERIFIED:
        return
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        fix = ("reinstall tinymed (pip install --force-reinstall tinymed)" if base == PNEUMONIA_FILE
               else f"download it again from {MEDMNIST_RECORD}/files/{base}?download=1")
        raise ValueError(f"{name}: its MD5 sum is {digest.hexdigest()} but {base}'s published sum "
                         f"is {expected}: the file is damaged or incomplete (an interrupted "
                         f"download?); {fix}")
    _VERIFIED.add(key)


def _missing_file(path, name):
    base = os.path.basename(path)
    where = (f"{MEDMNIST_RECORD}/files/{base}?download=1" if base in _known_md5()
             else f"{MEDMNIST_RECORD} (e.g. pneumoniamnist.npz)")
    return FileNotFoundError(
        f"{name}: no such file. MedMNIST files are downloaded from {where}, or by "
        f"`pip install medmnist` (into ~/.medmnist); tinymed ships real chest X-rays offline: "
        f"datasets.load_pneumonia()")


def load_medmnist(path, split="train"):
    """Load one split of a MedMNIST .npz file.

    The layout is MedMNIST's: ``{split}_images`` uint8 (N, H, W) or (N, H, W, 3) and
    ``{split}_labels`` integers (N, 1) or (N, C), splits "train", "val", "test". The file is
    read with ``allow_pickle=False``, so loading it can never run code. When the file's name is
    one MedMNIST publishes (``pneumoniamnist.npz``, ``chestmnist_64.npz``, ...), its MD5 sum
    must be the published one (a damaged download is refused, not half read); a missing file's
    message says where to download it.

    Returns:
        images (N, 1, H, W) or (N, 3, H, W) float32 = uint8 / 255, channels first as PyTorch's
        (MedMNIST's own loader gives PIL images); labels int64, (N,) when the file has (N, 1)
        (one task: binary or multi-class), (N, C) otherwise (multi-label, e.g. ChestMNIST).
    """
    name = f"load_medmnist: {path}"
    if not os.path.isfile(path):
        raise _missing_file(path, name)
    _check_md5(path, name)
    unreadable = (ValueError, OSError, EOFError, zipfile.BadZipFile)
    try:
        archive = np.load(path, allow_pickle=False)
    except unreadable as error:
        # NumPy takes any file it does not recognise for a pickle and suggests unpickling it
        why = "neither .npz nor .npy" if "pickle" in str(error) else str(error)
        raise ValueError(f"{name}: not a readable .npz file ({why})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{name}: not an .npz archive but a single {type(archive).__name__}")
    with archive:
        wanted = (f"{split}_images", f"{split}_labels")
        present = [key for key in wanted if key in archive.files]
        if len(present) == 1:
            missing = wanted[1 - wanted.index(present[0])]
            raise ValueError(f"{name}: has {present[0]} but no {missing}; a MedMNIST file holds "
                             f"both for every split (its entries: {sorted(archive.files)})")
        if not present:
            splits = sorted({k.rsplit("_", 1)[0] for k in archive.files
                             if k.endswith(("_images", "_labels"))})
            raise ValueError(f"{name}: split {split!r} is not in the file; its splits are {splits}")
        try:
            images, labels = archive[wanted[0]], archive[wanted[1]]
        except unreadable as error:
            if "allow_pickle" in str(error):
                raise ValueError(f"{name}: holds pickled objects, "
                                 "which tinymed never loads") from None
            raise ValueError(f"{name}: not a readable .npz file ({error})") from None
    for key, value in zip(wanted, (images, labels)):
        if not isinstance(value, np.ndarray):  # NumPy hands back a member without .npy header as bytes
            raise ValueError(f"{name}: entry {key} is not a NumPy array (no .npy header); "
                             f"the file is not a MedMNIST file or is damaged")
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or images.shape[3:] not in ((), (3,)):
        raise ValueError(f"{name}: {split}_images must be uint8 (N, H, W) or (N, H, W, 3), "
                         f"got {images.dtype} {images.shape}")
    if labels.ndim != 2 or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise ValueError(f"{name}: {split}_labels must be integers (N, 1) or (N, C), "
                         f"got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{name}: {len(images)} {split}_images but {len(labels)} {split}_labels")
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    labels = labels.astype(np.int64)
    return images.astype(np.float32) / 255, labels[:, 0] if labels.shape[1] == 1 else labels


def pneumonia_path():
    """The path of the real chest X-rays shipped with tinymed (see tinymed/realdata/README.md)."""
    return os.path.join(REALDATA, PNEUMONIA_FILE)


def imbalanced_subset(labels, prevalence, seed=None):
    """Indices (ascending) of a subset of a 0/1 labelled set with the given prevalence: the
    class that is too frequent is subsampled at random, the other kept whole. Too many
    positives: keep every negative and round(prevalence * n_neg / (1 - prevalence)) positives,
    at least one; too many negatives: the mirror image.

    labels: (N,) of 0/1 with both classes; prevalence: strictly between 0 and 1;
    seed: int, numpy.random.Generator or None (the library's default Generator).
    """
    name = "imbalanced_subset"
    y = validate.labels(labels, f"{name}: labels")
    if y.ndim != 1 or not np.isin(y, (0, 1)).all() or len(np.unique(y)) != 2:
        raise ValueError(f"{name}: labels must be (N,) of 0 and 1 with both classes, got shape "
                         f"{y.shape} and values {np.unique(y)[:6].tolist()}")
    prevalence = validate.real(prevalence, f"{name}: prevalence", above=0, below=1)
    rng = get_generator(seed, name=f"{name}: seed")
    negatives, positives = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    if y.mean() > prevalence:
        wanted = max(1, round(prevalence * len(negatives) / (1 - prevalence)))
        keep = np.r_[negatives, rng.choice(positives, wanted, replace=False)]
    else:
        wanted = max(1, round((1 - prevalence) * len(positives) / prevalence))
        keep = np.r_[positives, rng.choice(negatives, min(wanted, len(negatives)), replace=False)]
    return np.sort(keep)


def load_pneumonia(split="train", prevalence=None, seed=0):
    """Real paediatric chest X-rays, shipped with tinymed: PneumoniaMNIST (MedMNIST v2, Yang et
    al., Scientific Data 2023; from Kermany et al., Cell 2018; CC BY 4.0), a class-balanced
    subset of 3,166 images at 28x28 (train 2,428, val 270, test 468; half with pneumonia).
    Its MD5 sum is checked on every load; no network is needed.

    Args:
        split: "train", "val" or "test".
        prevalence: None keeps the split as it is (50% pneumonia); a number strictly between 0
            and 1 keeps a random subset at that prevalence (``imbalanced_subset``), e.g. 0.05 for
            a screening-like training set.
        seed: the subset's seed (int, Generator, or None for the library's default Generator).

    Returns:
        images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64 (1 = pneumonia).
    """
    split = validate.one_of(split, "load_pneumonia: split", ("train", "val", "test"))
    images, labels = load_medmnist(pneumonia_path(), split)
    if prevalence is None:
        return images, labels
    keep = imbalanced_subset(labels, prevalence, seed)
    return images[keep], labels[keep]


# ----------------------------------------------------------------------------------------------
# A CSV file and a folder of images

def _image_path(image_dir, file_name, where):
    """The file ``file_name`` names inside ``image_dir``; refused when it resolves outside
    (``../x.png``, an absolute path elsewhere, a symbolic link pointing out)."""
    folder = os.path.realpath(image_dir)
    path = os.path.realpath(os.path.join(folder, file_name))
    if os.path.commonpath([folder, path]) != folder:
        raise ValueError(f"{where}: the image {file_name!r} resolves to {path}, outside "
                         f"image_dir {folder}; image paths must stay inside image_dir")
    return path


def _read_grey(path, where):
    """One image file as grey levels (H, W) in [0, 1]: RGB averaged, alpha dropped."""
    validate.existing_file(path, where, "image file")
    import matplotlib.image  # here, not at the top: importing matplotlib takes a while
    # PNG (8 or 16 bits) comes back as float32 in [0, 1]; other formats, read through Pillow
    # (which matplotlib requires), as their integers
    try:
        pixels = matplotlib.image.imread(path)
    except (SyntaxError, OSError, ValueError) as error:  # Pillow's "not a PNG file", and the rest
        raise ValueError(f"{where}: {path} is not an image tinymed can read ({error})") from None
    if pixels.dtype.kind in "ui":
        pixels = pixels / np.float32(np.iinfo(pixels.dtype).max)
    if pixels.ndim == 3:
        pixels = pixels[..., 0] if pixels.shape[2] == 2 else pixels[..., :3].mean(axis=2)
    return pixels.astype(np.float32)


def _area_weights(n_in, n_out):
    """(n_out, n_in) area-averaging matrix: output pixel i covers the input interval
    [i n_in / n_out, (i + 1) n_in / n_out); its row holds the overlap of that interval with each
    input pixel [j, j + 1), divided by the interval's width, so every row sums to 1."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    j = np.arange(n_in)
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    return np.clip(overlap, 0, None) / (n_in / n_out)


def load_image_csv(csv_path, image_dir, image_column="Image", label_columns=None,
                   patient_column="PatientId", image_size=32):
    """Load the images and 0/1 labels listed in a CSV file, the layout of ChestX-ray14's course
    versions: one row per image, a file-name column, one 0/1 column per label, a patient column.

    Images are read with matplotlib (PNG needs nothing more; JPEG and others go through Pillow,
    which matplotlib requires), turned to grey (RGB averaged, alpha dropped; 16-bit PNG scaled
    by 1/65535) and resized to ``image_size`` x ``image_size`` by area averaging: each output
    pixel is the mean of the input area it covers (a non-square image is stretched).

    Args:
        csv_path: the CSV file, with a header row; read with the csv module.
        image_dir: the folder the file names in ``image_column`` are relative to.
        label_columns: the label columns, in order; None means every column except the image
            and patient columns.
        image_size: S >= 1.

    Returns:
        images (N, 1, S, S) float32 in [0, 1], labels (N, L) int64 of 0/1, and patient_ids (N,)
        as the CSV's strings (for ``patient_split``).
    """
    name = "load_image_csv"
    image_size = validate.integer(image_size, f"{name}: image_size", min=1)
    if isinstance(label_columns, str):
        raise TypeError(f"{name}: label_columns must be a list of column names or None, "
                        f"got the string {label_columns!r}")
    csv_path = validate.existing_file(csv_path, name, "csv_path")
    with open(csv_path, newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    if label_columns is None:
        label_columns = [c for c in columns if c not in (image_column, patient_column)]
    label_columns = list(label_columns)
    missing = [c for c in (image_column, patient_column, *label_columns) if c not in columns]
    if missing:
        raise ValueError(f"{name}: {csv_path} has no column(s) {missing}; "
                         f"its columns are {columns}")
    if not label_columns or not rows:
        raise ValueError(f"{name}: {csv_path} has {len(rows)} rows and label columns "
                         f"{label_columns}; expected at least one of each")
    labels = np.empty((len(rows), len(label_columns)), dtype=np.int64)
    for i, row in enumerate(rows):
        for j, column in enumerate(label_columns):
            value = (row[column] or "").strip()
            if value not in ("0", "1", "0.0", "1.0"):
                raise ValueError(f"{name}: {csv_path} data row {i + 1}, column {column!r} holds "
                                 f"{value!r}; labels must be 0 or 1")
            labels[i, j] = float(value)
    images = np.empty((len(rows), 1, image_size, image_size), dtype=np.float32)
    for i, row in enumerate(rows):
        where = f"{name}: {csv_path} data row {i + 1}"
        grey = _read_grey(_image_path(image_dir, row[image_column] or "", where), where)
        images[i, 0] = (_area_weights(grey.shape[0], image_size) @ grey
                        @ _area_weights(grey.shape[1], image_size).T)
    return images, labels, np.array([row[patient_column] for row in rows])


# ----------------------------------------------------------------------------------------------
# Splitting by patient

def patient_split(patient_ids, fractions=(0.8, 0.1, 0.1), seed=None):
    """Split example indices into parts that share no patient (a group split).

    The fractions are of patients, not of images, as in scikit-learn's GroupShuffleSplit: the
    distinct ids are shuffled (seeded) and cut at round(cumsum(fractions) * n_patients); each
    part takes every image of its patients. When patients have different numbers of images, the
    parts' image fractions differ from ``fractions``; a part is empty when its share of patients
    rounds to zero.

    Args:
        patient_ids: (N,) one id per example (ints or strings).
        fractions: positive numbers summing to 1 (within 1e-6), one per part.
        seed: int, numpy.random.Generator or None (the library's default Generator).

    Returns:
        a tuple of int64 index arrays, one per fraction, each ascending; together they hold every
        index 0..N-1 exactly once.
    """
    name = "patient_split"
    ids = np.asarray(patient_ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError(f"{name}: patient_ids must be a non-empty 1-D sequence, "
                         f"got shape {ids.shape}")
    if not isinstance(fractions, (tuple, list)) or not fractions:
        raise TypeError(f"{name}: fractions must be a non-empty tuple of numbers, "
                        f"got {fractions!r}")
    for f in fractions:
        validate.probability(f, f"{name}: fractions entry")
    if min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"{name}: fractions must be positive and sum to 1, got {fractions} "
                         f"(sum {sum(fractions)})")
    rng = get_generator(seed, name=f"{name}: seed")
    patients, patient_of = np.unique(ids, return_inverse=True)
    order = rng.permutation(len(patients))
    cuts = np.round(np.cumsum(fractions) * len(patients)).astype(int)
    part_of = np.empty(len(patients), dtype=np.int64)
    for part, (start, stop) in enumerate(zip([0, *cuts[:-1]], [*cuts[:-1], len(patients)])):
        part_of[order[start:stop]] = part
    return tuple(np.flatnonzero(part_of[patient_of] == k) for k in range(len(fractions)))


def has_leakage(ids_a, ids_b):
    """True when some patient id appears in both ``ids_a`` and ``ids_b`` (any shapes)."""
    a, b = (set(np.asarray(ids).ravel().tolist()) for ids in (ids_a, ids_b))
    return not a.isdisjoint(b)
