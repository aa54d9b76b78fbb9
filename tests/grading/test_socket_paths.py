"""The sandboxed kernel's ipc sockets are files: their paths must fit a UNIX socket address."""

import pytest

from fens.grading.execute import UNIX_SOCKET_PATH_BYTES, SandboxKernelManager


def test_a_runtime_folder_too_deep_for_a_socket_is_refused_with_a_reason(tmp_path):
    deep = tmp_path / ("student_" + "x" * UNIX_SOCKET_PATH_BYTES)
    deep.mkdir()
    with pytest.raises(ValueError, match="more than a UNIX socket's 107"):
        SandboxKernelManager(runtime_root=str(deep))


def test_the_default_runtime_folder_fits(tmp_path):
    manager = SandboxKernelManager()
    assert len(manager.ip.encode()) + len("-65535") <= UNIX_SOCKET_PATH_BYTES
