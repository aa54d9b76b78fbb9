"""Data sets in the file-tree format of Lurz et al. (ICLR 2021), real or simulated.

>>> from fens.dataset import load_dataset
>>> dataloaders = load_dataset(path="Lurz2020/static20457-5-9-preproc0", batch_size=60)
>>> images, responses = next(iter(dataloaders["train"]))   # (60, 1, 36, 64), (60, 5335)
"""

from fens.dataset.download import LURZ2020_URL, download_lurz2020
from fens.dataset.errors import DatasetError
from fens.dataset.loaders import (
    RepeatsBatchSampler,
    SubsetSequentialSampler,
    TrialLoader,
    load_dataset,
)
from fens.dataset.static import Sample, StaticImageSet

__all__ = [
    "LURZ2020_URL",
    "DatasetError",
    "RepeatsBatchSampler",
    "Sample",
    "StaticImageSet",
    "SubsetSequentialSampler",
    "TrialLoader",
    "download_lurz2020",
    "load_dataset",
]
