"""Download and unpack the real mouse V1 data set of Lurz et al. (ICLR 2021).

The data set (one scan, ``static20457-5-9-preproc0``: 5993 trials x 5335 neurons) comes as one
zip file of about 1 GB that holds ``Lurz2020/static20457-5-9-preproc0/{data,meta}/...``.
:func:`download_lurz2020` fetches it with the standard library only, resumes a broken transfer,
checks size and CRCs, and unpacks it so that an interrupted run never leaves a half-written
data set folder behind. Calling it again once the data set is there costs no network access.

Lurz, K.-K., Bashiri, M., Willeke, K., Jagadish, A. K., Wang, E., Walker, E. Y., Cadena, S. A.,
Muhammad, T., Cobos, E., Tolias, A. S., Ecker, A. S. & Sinz, F. H. (2021). Generalization in
data-driven models of primary visual cortex. ICLR 2021.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from tqdm.auto import tqdm

from fens.dataset.errors import DatasetError
from fens.utility.checks import check_int, check_number

LURZ2020_URL = (
    "https://onedrive.live.com/download?cid=06D44059794C5B46"
    "&resid=6D44059794C5B46%21121992&authkey=AHJVfxtvAASasjQ"
)
"""Where the FENS 2022 summer-school notebook downloads the Lurz et al. (2021) zip from."""

LURZ2020_FOLDER = "Lurz2020"
"""Top folder inside the zip; also the stem of the zip's file name in ``dest``."""

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_IGNORED_TOP_FOLDERS = {"__MACOSX"}  # resource forks that macOS's zip tool adds


def download_lurz2020(
    dest: str | Path = ".",
    url: str = LURZ2020_URL,
    *,
    expected_size: int | None = None,
    keep_zip: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
    chunk_size: int = 1 << 20,
    retries: int = 3,
    retry_wait: float = 1.0,
) -> Path:
    """Download the Lurz et al. (2021) data set into ``dest`` and return its folder.

    Steps, each skipped when its result is already on disk:

    1. If ``dest/Lurz2020`` already holds the data set (a folder with ``data/`` and ``meta/``),
       return it at once, without any network access.
    2. Unless ``dest/Lurz2020.zip`` exists, download it into ``dest/Lurz2020.zip.part``. An
       existing ``.part`` file is resumed with an HTTP ``Range: bytes=N-`` request; a server
       that answers with the whole file (status 200) is read again from byte 0. A connection
       that breaks off is retried ``retries`` times, resuming each time, after waiting
       ``retry_wait``, then twice that, and so on (seconds). The finished file must have the
       size the server announced (``Content-Length`` or the total of ``Content-Range``) and
       ``expected_size`` when given; only then is it renamed to ``Lurz2020.zip``.
    3. Check every member's CRC (:meth:`zipfile.ZipFile.testzip`), refuse members with absolute
       paths or ``..``, unpack into a temporary folder inside ``dest`` and move the zip's top
       folder (the one that holds the data set folder) into place as ``dest/Lurz2020`` with
       one rename.
    4. Delete the zip unless ``keep_zip`` (it is about 1 GB, and the unpacked folder holds the
       same data).

    What is left behind after a failure: nothing, except the ``.part`` file of a download that
    broke off (or whose server could not be reached on a resume), which the next call resumes
    from. A zip that fails its checks (size, CRC, unsafe member, no data set folder inside) is
    deleted, so that the next call downloads it afresh.

    Args:
        dest: folder to download and unpack into (created if missing).
        url: address of the zip; the default is the one the FENS notebook uses.
        expected_size: size of the zip in bytes, checked in addition to the server's figure.
        keep_zip: keep ``dest/Lurz2020.zip`` after a successful unpack.
        progress: show tqdm progress bars (bytes downloaded, files unpacked).
        timeout: seconds a single network operation (connect, read) may take.
        chunk_size: bytes read from the network at a time.
        retries: how many times a broken-off transfer is resumed before giving up.
        retry_wait: seconds to wait before the first retry; doubled for each further one.

    Returns:
        The data set folder, ``dest/Lurz2020/static20457-5-9-preproc0`` for the real zip:
        the one folder in the unpacked tree that holds both ``data/`` and ``meta/``.

    Raises:
        ValueError: an argument is out of range (the message names it and shows the value).
        DatasetError: the server cannot be reached or answers with an error (the message names
            the URL and HTTP status), the transfer keeps breaking off, the size is wrong, the zip
            is corrupt or unsafe, or it holds no data set folder.
    """
    check_int("expected_size", expected_size, optional=True)
    check_number("timeout", timeout, minimum=0, exclusive_minimum=True)
    check_int("chunk_size", chunk_size)
    check_int("retries", retries, minimum=0)
    check_number("retry_wait", retry_wait, minimum=0)
    dest = Path(dest)
    root = dest / LURZ2020_FOLDER
    if root.exists():
        found = _find_dataset_folder(root)
        if found is None:
            raise DatasetError(
                f"{root} exists but holds no folder with both data/ and meta/; "
                "move it away and call download_lurz2020 again"
            )
        return found

    dest.mkdir(parents=True, exist_ok=True)
    zip_path = dest / f"{LURZ2020_FOLDER}.zip"
    if not zip_path.exists():
        _download(
            url,
            zip_path,
            expected_size=expected_size,
            progress=progress,
            timeout=timeout,
            chunk_size=chunk_size,
            retries=retries,
            retry_wait=retry_wait,
        )
    dataset = _unpack(zip_path, dest, progress=progress)
    if not keep_zip:
        zip_path.unlink()
    return dataset


def _download(
    url: str,
    zip_path: Path,
    *,
    expected_size: int | None,
    progress: bool,
    timeout: float,
    chunk_size: int,
    retries: int,
    retry_wait: float,
) -> None:
    """Download ``url`` into ``zip_path`` through ``zip_path.part``, resuming broken transfers."""
    part = zip_path.with_name(zip_path.name + ".part")
    total = None
    for attempt in range(retries + 1):
        if attempt > 0:
            time.sleep(retry_wait * 2 ** (attempt - 1))
        finished, announced = _fetch(
            url, part, progress=progress, timeout=timeout, chunk_size=chunk_size
        )
        total = announced if announced is not None else total
        if not finished:
            continue
        size = part.stat().st_size
        for name, wanted in (("announced", total), ("expected_size is", expected_size)):
            if wanted is not None and size != wanted:
                part.unlink()
                raise DatasetError(
                    f"{url} sent {size} bytes but {name} {wanted}; the download was deleted"
                )
        os.replace(part, zip_path)
        return
    size = part.stat().st_size if part.exists() else 0
    raise DatasetError(
        f"the download of {url} broke off {retries + 1} times; {size} of "
        f"{total if total is not None else 'an unknown number of'} bytes came. The partial "
        f"file {part} is kept: calling download_lurz2020 again resumes from it"
    )


def _fetch(
    url: str, part: Path, *, progress: bool, timeout: float, chunk_size: int
) -> tuple[bool, int | None]:
    """Make one request for the bytes of ``url`` that ``part`` lacks and append them to it.

    Returns:
        ``(finished, total)``: whether the transfer ran to its end (``False``: it broke off,
        or ``part`` had to be discarded, and another request should resume), and the full
        size of the file in bytes as the server announced it (``None`` if it did not).
    """
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "fens (Python urllib)"}
    if have > 0:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have > 0:  # our part is longer than the file: start over
            part.unlink()
            return False, None
        raise DatasetError(f"cannot download {url}: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise DatasetError(f"cannot reach {url}: {error.reason}") from error
    except (OSError, http.client.HTTPException):  # dropped before the status line came
        return False, None

    with response:
        if response.status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
            if match is None or int(match[1]) != have:  # not the part we asked for
                part.unlink(missing_ok=True)
                return False, None
            start = have
            total = None if match[3] == "*" else int(match[3])
        elif response.status == 200:
            start = 0  # the server ignores Range (or we asked for none): from the beginning
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        else:
            raise DatasetError(f"cannot download {url}: unexpected HTTP {response.status}")

        with (
            open(part, "ab" if start > 0 else "wb") as file,
            tqdm(
                total=total,
                initial=start,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            try:
                while chunk := response.read(chunk_size):
                    file.write(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException):
                return False, total  # the connection dropped: resume
    # urllib ends a body cut short by the server without an error: compare with the total.
    return total is None or part.stat().st_size >= total, total


class _UnusableZip(Exception):
    """The zip failed a check; the message says which."""


def _unpack(zip_path: Path, dest: Path, *, progress: bool) -> Path:
    """Check ``zip_path`` and unpack it into ``dest`` with one final rename.

    A zip that fails a check (CRC, unsafe member, no data set folder) is deleted.

    Returns:
        The data set folder (the folder holding ``data/`` and ``meta/``) in its final place.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return _check_and_extract(archive, dest, progress=progress)
    except (_UnusableZip, zipfile.BadZipFile, EOFError, zlib.error) as error:
        zip_path.unlink()
        raise DatasetError(
            f"{zip_path} is unusable ({error}); it was deleted, so the next call downloads it"
        ) from error


def _check_and_extract(archive: zipfile.ZipFile, dest: Path, *, progress: bool) -> Path:
    """Test every member, unpack into a staging folder in ``dest``, rename the top folder.

    The zip's top folder (the one the data set folder is in) becomes ``dest/Lurz2020``
    whatever its name in the zip, so that the next call finds the data set there.
    """
    bad_member = archive.testzip()
    if bad_member is not None:
        raise _UnusableZip(f"member {bad_member!r} fails its CRC check")
    for member in archive.namelist():
        if _is_unsafe(member):
            raise _UnusableZip(f"member {member!r} would be written outside {dest}")

    staging = Path(tempfile.mkdtemp(prefix=f".{LURZ2020_FOLDER}-unpacking-", dir=dest))
    try:
        members = archive.infolist()
        for member in tqdm(members, desc="unpacking", unit="file", disable=not progress):
            archive.extract(member, staging)
        dataset = _find_dataset_folder(staging)
        if dataset is None or dataset == staging:
            raise _UnusableZip("no folder inside it holds both data/ and meta/")
        top, *inner = dataset.relative_to(staging).parts  # Lurz2020, static20457-5-9-preproc0
        os.rename(staging / top, dest / LURZ2020_FOLDER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest.joinpath(LURZ2020_FOLDER, *inner)


def _is_unsafe(member: str) -> bool:
    """Whether a zip member name is absolute or climbs out of the folder with ``..``."""
    posix = PurePosixPath(member.replace("\\", "/"))
    return posix.is_absolute() or bool(PureWindowsPath(member).drive) or ".." in posix.parts


def _find_dataset_folder(root: Path) -> Path | None:
    """The one folder under ``root`` (``root`` included) that holds both ``data/`` and ``meta/``.

    Folders macOS adds to zips (``__MACOSX``) are skipped. Returns ``None`` if there is none;
    raises :class:`DatasetError` if there are several, as the choice would be a guess.
    """
    found = []
    for folder, subfolders, _ in os.walk(root):
        if {"data", "meta"} <= set(subfolders):
            found.append(Path(folder))
            subfolders.clear()  # a data set's own files hold no further data sets
        else:
            subfolders[:] = [name for name in subfolders if name not in _IGNORED_TOP_FOLDERS]
    if len(found) > 1:
        raise DatasetError(
            f"{root} holds {len(found)} folders with data/ and meta/, expected one: "
            + ", ".join(str(path) for path in sorted(found))
        )
    return found[0] if found else None
