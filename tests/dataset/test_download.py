"""Tests of download_lurz2020 against a loopback HTTP server (127.0.0.1 only, no network).

The server serves a small zip with the real data set's layout and can be told to misbehave:
drop the connection, ignore Range, answer 404, lie about Content-Length.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from fens.dataset.download import LURZ2020_URL, download_lurz2020
from fens.dataset.errors import DatasetError

SCAN = "Lurz2020/static20457-5-9-preproc0"


def fake_dataset_files(seed: int = 0) -> dict[str, bytes]:
    """Member name -> bytes of a tiny data set in the Lurz 2020 layout (3 trials, 4 neurons)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for trial in range(3):
        arrays[f"data/images/{trial}.npy"] = rng.uniform(0, 255, (1, 36, 64))
        arrays[f"data/responses/{trial}.npy"] = rng.gamma(1.0, 1.0, 4)
    arrays["meta/trials/tiers.npy"] = np.array(["train", "validation", "test"])
    arrays["meta/neurons/unit_ids.npy"] = np.arange(1, 5)
    files = {}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        files[f"{SCAN}/{name}"] = buffer.getvalue()
    files[f"{SCAN}/config.json"] = b'{"links": {}}'
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@dataclass
class Behaviour:
    """What the loopback server does; the tests change it, the server records what it got."""

    body: bytes = b""
    drop_first_after: int | None = None  # send only this many bytes on the first request
    ignore_range: bool = False  # answer 200 with the whole file even to a Range request
    status: int = 200  # anything else: answer with this error status
    length_offset: int = 0  # added to the true Content-Length (a lying server)
    requests: list[dict[str, str]] = field(default_factory=list)  # headers of each request


class Handler(BaseHTTPRequestHandler):
    behaviour: Behaviour  # set on a subclass per server

    def do_GET(self) -> None:
        behaviour = self.behaviour
        behaviour.requests.append(dict(self.headers.items()))
        if behaviour.status != 200:
            self.send_error(behaviour.status)
            return
        body, start = behaviour.body, 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not behaviour.ignore_range:
            start = int(match[1])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start + behaviour.length_offset))
        self.end_headers()
        end = len(body)
        if behaviour.drop_first_after is not None and len(behaviour.requests) == 1:
            end = behaviour.drop_first_after
        self.wfile.write(body[start:end])  # HTTP/1.0: the server closes the connection after

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    """A threaded HTTP server on 127.0.0.1 (free port); yields its zip URL and its behaviour."""
    behaviour = Behaviour(body=zip_bytes(fake_dataset_files()))
    handler = type("BoundHandler", (Handler,), {"behaviour": behaviour})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/dataset.zip", behaviour
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def download(dest: Path, url: str, **kwargs) -> Path:
    kwargs = {"progress": False, "timeout": 5.0, "chunk_size": 4096, "retry_wait": 0.0} | kwargs
    return download_lurz2020(dest, url, **kwargs)


def assert_dataset_equals(folder: Path, files: dict[str, bytes]) -> None:
    on_disk = {
        f"{SCAN}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }
    assert on_disk == files


def test_url_is_the_one_in_the_seed_notebook() -> None:
    assert LURZ2020_URL.startswith("https://onedrive.live.com/download?cid=06D44059794C5B46")
    assert LURZ2020_URL.endswith("&resid=6D44059794C5B46%21121992&authkey=AHJVfxtvAASasjQ")


def test_fresh_download_unpacks_byte_for_byte(tmp_path, server) -> None:
    url, behaviour = server
    folder = download(tmp_path, url)
    assert folder == tmp_path / SCAN
    assert_dataset_equals(folder, fake_dataset_files())
    assert "Range" not in behaviour.requests[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Lurz2020"]  # zip deleted, no temp


def test_keep_zip_keeps_the_downloaded_zip(tmp_path, server) -> None:
    url, behaviour = server
    download(tmp_path, url, keep_zip=True)
    assert (tmp_path / "Lurz2020.zip").read_bytes() == behaviour.body


def test_resumes_after_a_dropped_connection(tmp_path, server) -> None:
    url, behaviour = server
    dropped_at = 20_000
    assert dropped_at < len(behaviour.body) // 2
    behaviour.drop_first_after = dropped_at
    folder = download(tmp_path, url)
    assert len(behaviour.requests) == 2
    assert behaviour.requests[1]["Range"] == f"bytes={dropped_at}-"
    assert_dataset_equals(folder, fake_dataset_files())


def test_a_later_call_resumes_the_kept_part_file(tmp_path, server) -> None:
    url, behaviour = server
    behaviour.drop_first_after = 12_345
    with pytest.raises(DatasetError, match=r"broke off 1 times; 12345 of \d+ bytes") as error:
        download(tmp_path, url, retries=0)
    assert url in str(error.value)
    part = tmp_path / "Lurz2020.zip.part"
    assert sorted(tmp_path.iterdir()) == [part]
    assert part.read_bytes() == behaviour.body[:12_345]

    folder = download(tmp_path, url)
    assert behaviour.requests[-1]["Range"] == "bytes=12345-"
    assert_dataset_equals(folder, fake_dataset_files())
    assert not part.exists()


def test_server_without_range_support_starts_over(tmp_path, server) -> None:
    url, behaviour = server
    behaviour.drop_first_after = 20_000
    behaviour.ignore_range = True
    folder = download(tmp_path, url)
    assert behaviour.requests[1]["Range"] == "bytes=20000-"  # asked, but got the whole file
    assert_dataset_equals(folder, fake_dataset_files())


def test_part_longer_than_the_file_is_discarded(tmp_path, server) -> None:
    url, behaviour = server
    (tmp_path / "Lurz2020.zip.part").write_bytes(b"x" * (len(behaviour.body) + 10))
    folder = download(tmp_path, url)
    assert [r.get("Range") for r in behaviour.requests] == [
        f"bytes={len(behaviour.body) + 10}-",
        None,
    ]
    assert_dataset_equals(folder, fake_dataset_files())


def test_http_error_names_url_and_status_and_leaves_nothing(tmp_path, server) -> None:
    url, behaviour = server
    behaviour.status = 404
    with pytest.raises(DatasetError, match="404") as error:
        download(tmp_path, url)
    assert url in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_names_url(tmp_path) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed_port_url = f"http://127.0.0.1:{probe.getsockname()[1]}/dataset.zip"
    with pytest.raises(DatasetError, match="cannot reach") as error:
        download(tmp_path, closed_port_url)
    assert closed_port_url in str(error.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncate", "File is not a zip file"),  # the central directory at the end is lost
        ("flip_byte", "data/images/1.npy' fails its CRC check"),  # found before unpacking
    ],
)
def test_corrupt_zip_is_rejected_and_deleted(tmp_path, server, damage, reason) -> None:
    url, behaviour = server
    body = bytearray(behaviour.body)
    if damage == "truncate":
        del body[-200:]
    else:
        body[len(body) // 3] ^= 0xFF  # inside the stored bytes of the second image
    behaviour.body = bytes(body)
    with pytest.raises(DatasetError, match=f"Lurz2020.zip is unusable .*{reason}"):
        download(tmp_path, url)
    assert list(tmp_path.iterdir()) == []


def test_size_other_than_expected_is_rejected(tmp_path, server) -> None:
    url, behaviour = server
    with pytest.raises(DatasetError, match=f"sent {len(behaviour.body)} bytes but expected_size"):
        download(tmp_path, url, expected_size=len(behaviour.body) + 1)
    assert list(tmp_path.iterdir()) == []


def test_content_length_too_small_is_caught_by_expected_size(tmp_path, server) -> None:
    url, behaviour = server
    behaviour.length_offset = -100  # the client stops reading 100 bytes early
    with pytest.raises(DatasetError, match=f"sent {len(behaviour.body) - 100} bytes but expected"):
        download(tmp_path, url, expected_size=len(behaviour.body))
    assert list(tmp_path.iterdir()) == []


def test_content_length_too_large_fails_after_retries(tmp_path, server) -> None:
    url, behaviour = server
    behaviour.length_offset = 100  # the body always ends 100 bytes short of the promise
    with pytest.raises(DatasetError, match=f"broke off 3 times; .* of {len(behaviour.body) + 100}"):
        download(tmp_path, url, retries=2)
    assert len(behaviour.requests) == 3
    assert not (tmp_path / "Lurz2020").exists()
    assert not (tmp_path / "Lurz2020.zip").exists()


def test_present_dataset_makes_no_request(tmp_path, server) -> None:
    url, behaviour = server
    first = download(tmp_path, url)
    second = download(tmp_path, url)
    assert second == first
    assert len(behaviour.requests) == 1


def test_present_zip_is_unpacked_without_request(tmp_path, server) -> None:
    url, behaviour = server
    (tmp_path / "Lurz2020.zip").write_bytes(behaviour.body)
    folder = download(tmp_path, url)
    assert behaviour.requests == []
    assert_dataset_equals(folder, fake_dataset_files())


@pytest.mark.parametrize("evil_name", ["../evil.npy", "/tmp/evil.npy", "Lurz2020/../../evil.npy"])
def test_zip_slip_member_is_rejected(tmp_path, server, evil_name) -> None:
    url, behaviour = server
    files = fake_dataset_files() | {evil_name: b"evil"}
    behaviour.body = zip_bytes(files)
    assert evil_name in zipfile.ZipFile(io.BytesIO(behaviour.body)).namelist()
    dest = tmp_path / "dest"
    with pytest.raises(DatasetError, match="would be written outside"):
        download(dest, url)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "evil.npy").exists()


def test_dataset_folder_is_found_whatever_the_top_folder_is_called(tmp_path, server) -> None:
    url, behaviour = server
    files = {name.replace("Lurz2020/", "renamed/"): b for name, b in fake_dataset_files().items()}
    resource_forks = {f"__MACOSX/{name}": b"fork" for name in files}  # also has data/ and meta/
    behaviour.body = zip_bytes(files | resource_forks)
    folder = download(tmp_path, url)
    assert folder == tmp_path / SCAN
    assert_dataset_equals(folder, fake_dataset_files())
    assert download(tmp_path, url) == folder
    assert len(behaviour.requests) == 1


def test_zip_without_data_and_meta_is_rejected(tmp_path, server) -> None:
    url, behaviour = server
    files = {
        name: content for name, content in fake_dataset_files().items() if "/meta/" not in name
    }
    behaviour.body = zip_bytes(files)
    with pytest.raises(DatasetError, match="holds both data/ and meta/"):
        download(tmp_path, url)
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_without_dataset_is_an_error_before_any_request(tmp_path, server) -> None:
    url, behaviour = server
    (tmp_path / "Lurz2020" / "something").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds no folder with both data/ and meta/"):
        download(tmp_path, url)
    assert behaviour.requests == []


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("timeout", 0, "timeout must be a positive number, got 0"),
        ("timeout", float("nan"), "timeout must be a positive number, got nan"),
        ("chunk_size", 0, "chunk_size must be a positive integer, got 0"),
        ("retries", -1, "retries must be an integer >= 0, got -1"),
        ("retry_wait", -0.5, "retry_wait must be a number >= 0, got -0.5"),
        ("expected_size", 1.5, "expected_size must be a positive integer or None, got 1.5"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    tmp_path, server, argument, value, message
) -> None:
    url, behaviour = server
    with pytest.raises(ValueError, match=re.escape(message)):
        download_lurz2020(tmp_path, url, progress=False, **{argument: value})
    assert behaviour.requests == [] and list(tmp_path.iterdir()) == []
