"""Reading a data set in the file-tree format of Lurz et al. (ICLR 2021).

The format (one folder per recording, e.g. ``static20457-5-9-preproc0``)::

    data/images/{i}.npy          (1, height, width)   one file per trial i = 0 .. T-1
    data/responses/{i}.npy       (neurons,)
    data/behavior/{i}.npy        (3,)                 optional
    data/pupil_center/{i}.npy    (2,)                 optional
    meta/trials/{field}.npy      (T, ...)             tiers, frame_image_id, ...
    meta/neurons/{field}.npy     (neurons, ...)       unit_ids, cell_motor_coordinates, ...
    meta/statistics/{key}/{all,stimulus_frame}/{mean,std,min,max,median}.npy

Reading thousands of tiny ``.npy`` files is slow, so every data key is read once into one
contiguous array and kept in an on-disk cache *outside* the data set folder (by default
``~/.cache/fens``, or ``$FENS_CACHE_DIR``), keyed by a fingerprint of the files' names, sizes and
modification times. Nothing is ever written into the data set folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from fens.dataset.errors import DatasetError

TIERS = ("train", "validation", "test")
REQUIRED_TRIAL_FIELDS = ("tiers", "frame_image_id")
REQUIRED_NEURON_FIELDS = ("unit_ids", "cell_motor_coordinates")
CACHE_VERSION = "1"


class Namespace(SimpleNamespace):
    """A namespace that also answers ``ns["key"]`` and iterates over its keys.

    Used for ``trial_info``, ``neurons`` and the nested ``statistics`` so that both the seed's
    attribute style (``statistics.images.all.mean``) and neuralpredictors' item style
    (``statistics["images"]["all"]["mean"]``) work.
    """

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(f"{key!r} (available: {sorted(vars(self))})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(vars(self))

    def __contains__(self, key: object) -> bool:
        return key in vars(self)

    def keys(self) -> list[str]:
        return list(vars(self))

    def __repr__(self) -> str:
        """A table of the fields, their shapes and dtypes (no values): one screen even for the
        nested ``statistics``, whose sibling arrays of one shape share a row."""
        rows = [("field", "shape", "dtype"), *_summary_rows(self, prefix="")]
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        lines = [
            f"  {name:<{widths[0]}}  {shape:<{widths[1]}}  {dtype}" for name, shape, dtype in rows
        ]
        header = f"Namespace of {_count_leaves(self)} arrays (read one as .name or ['name']):"
        return "\n".join([header, *lines])


def _describe(value: Any) -> tuple[str, str]:
    """``(shape, dtype)`` of an array, or ``('', type name)`` of anything else."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return str(tuple(value.shape)), str(value.dtype)
    return "", type(value).__name__


def _count_leaves(node: Namespace) -> int:
    return sum(_count_leaves(v) if isinstance(v, Namespace) else 1 for v in vars(node).values())


def _summary_rows(node: Namespace, prefix: str) -> list[tuple[str, str, str]]:
    """One row per field; in a nested namespace whose arrays all share shape and dtype
    (``statistics.images.all``), one row for all of them: ``images.all.{max,mean,...}``."""
    leaves = {name: v for name, v in vars(node).items() if not isinstance(v, Namespace)}
    kinds = {_describe(v) for v in leaves.values()}
    if prefix and len(leaves) > 1 and len(kinds) == 1:
        rows = [(f"{prefix}{{{','.join(leaves)}}}", *kinds.pop())]
    else:
        rows = [(prefix + name, *_describe(v)) for name, v in leaves.items()]
    for name, value in vars(node).items():
        if isinstance(value, Namespace):
            rows.extend(_summary_rows(value, prefix=f"{prefix}{name}."))
    return rows


def _load_npy(path: Path) -> np.ndarray:
    """``np.load`` that turns every failure into a DatasetError naming the file."""
    if not path.is_file():
        raise DatasetError(f"missing file {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error


def require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"missing {what} folder {path}")
    return path


def read_fields(folder: Path, required: tuple[str, ...], length: int | None = None) -> Namespace:
    """Read every ``{field}.npy`` of a meta folder into a :class:`Namespace`.

    Args:
        folder: e.g. ``meta/trials`` or ``meta/neurons``.
        required: fields that must be present.
        length: if given, every field must have this many entries along its first axis.
    """
    require_dir(folder, "meta")
    fields = {p.stem: _load_npy(p) for p in sorted(folder.glob("*.npy"))}
    missing = [name for name in required if name not in fields]
    if missing:
        raise DatasetError(f"missing {', '.join(f'{name}.npy' for name in missing)} in {folder}")
    if length is None:
        length = len(fields[required[0]])
    for name, values in fields.items():
        if values.ndim == 0 or len(values) != length:
            raise DatasetError(
                f"expected {length} entries in {folder / (name + '.npy')}, got shape {values.shape}"
            )
    return Namespace(**fields)


def read_statistics(folder: Path) -> Namespace:
    """Read the nested ``meta/statistics`` folder into nested namespaces of arrays."""
    require_dir(folder, "statistics")
    tree: dict[str, Any] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            tree[entry.name] = read_statistics(entry)
        elif entry.suffix == ".npy":
            tree[entry.stem] = _load_npy(entry)
    return Namespace(**tree)


def check_tiers(tiers: np.ndarray, path: Path) -> None:
    """Every tier label must be known and every split non-empty."""
    labels = set(np.unique(tiers.astype(str)).tolist())
    unknown = sorted(labels - set(TIERS))
    if unknown:
        raise DatasetError(f"unknown tier labels {unknown} in {path} (expected only {list(TIERS)})")
    empty = [tier for tier in TIERS if tier not in labels]
    if empty:
        raise DatasetError(f"no trials in the {' / '.join(empty)} split(s) in {path}")


def _trial_files(folder: Path, n_trials: int) -> list[Path]:
    """The files ``0.npy .. {n_trials-1}.npy`` of a data key, checked to exist and nothing else."""
    require_dir(folder, "data")
    names = {entry.name for entry in os.scandir(folder) if entry.name.endswith(".npy")}
    if len(names) != n_trials:
        raise DatasetError(
            f"{folder} holds {len(names)} trial files but meta/trials/tiers.npy lists "
            f"{n_trials} trials"
        )
    expected = {f"{i}.npy" for i in range(n_trials)}
    if names != expected:
        odd = sorted(names - expected)[:5]
        raise DatasetError(
            f"unexpected trial files {odd} in {folder} (expected 0.npy .. {n_trials - 1}.npy)"
        )
    return [folder / f"{i}.npy" for i in range(n_trials)]


def fingerprint(path: Path, keys: tuple[str, ...]) -> str:
    """A hash of the data set's location, file names, sizes and modification times.

    Changes whenever any data or meta file is added, removed, or rewritten, which is what
    invalidates the cache. It reads no file contents, so it takes milliseconds.
    """
    digest = hashlib.sha256(f"{CACHE_VERSION}|{path.resolve()}".encode())
    folders = [path / "data" / key for key in keys] + [path / "meta"]
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                stat = os.stat(os.path.join(root, name))
                digest.update(f"{root}/{name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def default_cache_dir() -> Path:
    """``$FENS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/fens`` or ``~/.cache/fens``."""
    if "FENS_CACHE_DIR" in os.environ:
        return Path(os.environ["FENS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fens"


def _read_trials(files: list[Path], key: str, progress: bool) -> np.ndarray:
    """Stack one data key's trial files into ``(trials, *shape)`` float32, checking each."""
    first = _load_npy(files[0])
    out = np.empty((len(files), *first.shape), dtype=np.float32)
    for i, file in enumerate(tqdm(files, desc=f"reading {key}", disable=not progress, leave=False)):
        values = first if i == 0 else _load_npy(file)
        if values.shape != first.shape:
            raise DatasetError(
                f"expected {key} of shape {first.shape} (as in {files[0].name}), "
                f"got {values.shape} in {file}"
            )
        if values.dtype.kind not in "fiub":
            raise DatasetError(f"expected numeric {key}, got dtype {values.dtype} in {file}")
        out[i] = values
    return out


def _save_atomic(array: np.ndarray, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".npy.tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.save(f, array)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_data(
    path: Path,
    keys: tuple[str, ...],
    n_trials: int,
    cache_dir: Path | None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Read each data key of all trials into one ``(trials, *shape)`` float32 array.

    Args:
        path: the data set folder.
        keys: data keys under ``data/`` (e.g. ``("images", "responses")``).
        n_trials: number of trials listed in ``meta/trials``.
        cache_dir: where to keep the stacked arrays (``None``: no cache). Must not lie inside
            the data set folder.
        progress: show a progress bar while reading trial files.
    """
    cached: Path | None = None
    if cache_dir is not None:
        if cache_dir.resolve().is_relative_to(path.resolve()):
            raise DatasetError(
                f"the cache folder {cache_dir} must not lie inside the data set {path}"
            )
        cached = cache_dir / fingerprint(path, keys)

    arrays = {}
    for key in keys:
        if cached is not None and (cached / f"{key}.npy").is_file():
            arrays[key] = np.load(cached / f"{key}.npy")
            continue
        files = _trial_files(path / "data" / key, n_trials)
        arrays[key] = _read_trials(files, key, progress)
        if cached is not None:
            try:
                _save_atomic(arrays[key], cached / f"{key}.npy")
            except OSError as error:
                warnings.warn(f"could not write the cache {cached}: {error}", stacklevel=3)
    return arrays


def check_finite(values: np.ndarray, key: str, folder: Path) -> None:
    """Raise if any trial of ``values`` (trials, ...) holds NaN or inf, naming the first files."""
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        trials = np.flatnonzero(bad)
        shown = ", ".join(f"{t}.npy" for t in trials[:5])
        raise DatasetError(
            f"{key} hold NaN or inf in {len(trials)} trial(s) in {folder} (first: {shown})"
        )
