"""A Jupyter kernel in an operating-system sandbox, for executing a student's notebook.

Only the kernel runs inside; the notebook (with the hidden tests) stays with the grader, which
drives the kernel over ZeroMQ's ``ipc`` transport (sockets are files in a per-kernel runtime
folder, bound into the sandbox; TCP on loopback does not cross a network namespace).

The kernelspec written by :func:`write_kernelspec` starts ``python -m fens.grading.sandbox``
on the grader's side, which replaces itself with

    prlimit --as --cpu --fsize --nofile [--nproc] -- bwrap --unshare-all --uid 65534 ... \\
        python -m ipykernel_launcher -f CONNECTION_FILE

bubblewrap (Debian's ``bubblewrap``) gives the kernel new user, mount, PID, network, IPC, UTS
and cgroup namespaces: it runs as ``nobody``, sees read-only the system's ``/usr``, a few files
of ``/etc``, the Python installation, the ``fens`` package and the course's data folder, and
nothing else of the machine (no course folder: no sources, no gradebook, no other student's
work); it writes only a size-limited tmpfs (its working folder and ``/tmp``), reaches no
network, and sees only its own processes. ``prlimit`` bounds its address space, CPU seconds,
the size of a file it writes and its open files; a process cap comes from a ``pids`` cgroup
where the machine lets the grader make one (:func:`pids_cgroup`), and from ``RLIMIT_NPROC``
where the sandbox's processes are not the grader's own user. The grader adds a wall clock per
submission and a byte cap on each cell's output (:mod:`fens.grading.execute`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

KERNEL_NAME = "fens-sandbox"
NOBODY = 65534
# What Python, numpy, torch and matplotlib read of /etc (not passwd, group or shadow: the
# machine's users are none of a kernel's business; USER is set for getpass).
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "mime.types",
    "ssl/certs",
    "nsswitch.conf",
)
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# The environment a kernel gets: nothing of the grader's but these.
PASSED_ENV = ("LANG", "LC_ALL", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "FENS_DATA")


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use.

    Attributes:
        memory_bytes: address space of each process (RLIMIT_AS): a memory hog gets MemoryError.
        cpu_seconds: CPU time of each process (RLIMIT_CPU): SIGXCPU, then SIGKILL.
        file_bytes: the largest file it may write (RLIMIT_FSIZE).
        scratch_bytes: the size of its writable tmpfs (working folder and /tmp).
        processes: processes and threads it may run at once (pids cgroup / RLIMIT_NPROC).
        open_files: file descriptors (RLIMIT_NOFILE).
        cell_output_bytes: what one cell may print before the grader drops the rest.
        submission_seconds: wall clock for the whole notebook; cells after it are not run.
        cell_seconds: wall clock for one cell (nbgrader's ``Execute.timeout``).
    """

    memory_bytes: int = 8 * 2**30
    cpu_seconds: int = 1800
    file_bytes: int = 256 * 2**20
    scratch_bytes: int = 1 * 2**30
    processes: int = 256
    open_files: int = 1024
    cell_output_bytes: int = 1 * 2**20
    submission_seconds: int = 600
    cell_seconds: int = 300


def available() -> str | None:
    """None when sandboxed kernels can start here, else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    if shutil.which("prlimit") is None:
        return "prlimit is not installed (Debian: util-linux)"
    return None


def readable_paths(extra: tuple[Path, ...] = ()) -> list[Path]:
    """What a kernel must read besides the system: the Python installation, the virtual
    environment, the ``fens`` package (an editable install lives in the checkout) and the
    course's data and loader cache folders (when they exist)."""
    import fens
    from fens.course import data_dir
    from fens.dataset.filetree import default_cache_dir

    paths = [
        Path(sys.base_prefix).resolve(),
        Path(sys.prefix).resolve(),
        Path(fens.__file__).resolve().parent,
        data_dir(),
        default_cache_dir().resolve(),
        *extra,
    ]
    unique: list[Path] = []
    for path in paths:
        if path.exists() and path not in unique:
            unique.append(path)
    return unique


def write_kernelspec(
    folder: Path, *, limits: Limits, readable: list[Path], env: dict[str, str]
) -> Path:
    """Write the sandboxed kernelspec into ``folder/kernels/fens-sandbox`` (put ``folder`` on
    ``JUPYTER_PATH``). ``env``: variables the kernel gets besides :data:`PASSED_ENV`."""
    spec_dir = folder / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "limits": asdict(limits),
        "readable": [str(p) for p in readable],
        "env": env,
        "cgroup": pids_cgroup_root(),
    }
    (spec_dir / "sandbox.json").write_text(json.dumps(settings, indent=1))
    spec = {
        "argv": [
            sys.executable,
            "-m",
            "fens.grading.sandbox",
            str(spec_dir / "sandbox.json"),
            "{connection_file}",
        ],
        "display_name": "Python 3 (fens grading sandbox)",
        "language": "python",
        "interrupt_mode": "signal",
        "env": {},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def pids_cgroup_root() -> str | None:
    """A cgroup folder under which the grader may make one ``pids`` group per kernel, or None.

    RLIMIT_NPROC does not bind processes of the machine's root user (as bubblewrap's are when
    the grader runs as root), so a fork bomb is capped by a ``pids.max`` where cgroups allow.
    """
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if (base / "cgroup.procs").is_file() and os.access(base, os.W_OK):
            if base.name == "pids" or "pids" in _read(base / "cgroup.subtree_control"):
                return str(base)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def bwrap_command(
    connection_file: Path, *, readable: list[str], env: dict[str, str], limits: Limits
) -> list[str]:
    """The ``bwrap`` command line that runs an ipykernel on ``connection_file`` in the sandbox."""
    runtime = str(connection_file.parent)
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    cmd += ["--uid", str(NOBODY), "--gid", str(NOBODY), "--cap-drop", "ALL"]
    for name in SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            cmd += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            cmd += ["--ro-bind", str(host), str(host)]
    for name in ETC_FILES:
        cmd += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    cmd += ["--size", str(limits.scratch_bytes), "--tmpfs", "/tmp"]
    for path in readable:
        cmd += ["--ro-bind", path, path]
    cmd += ["--bind", runtime, runtime]
    # The sandbox's root (where bwrap made the mount points) read-only: /tmp is all it writes.
    cmd += ["--remount-ro", "/"]
    cmd += ["--clearenv", "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin"]
    cmd += ["--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib"]
    cmd += ["--setenv", "USER", "nobody", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    for name in PASSED_ENV:
        if name in os.environ:
            cmd += ["--setenv", name, os.environ[name]]
    for name, value in env.items():
        cmd += ["--setenv", name, value]
    cmd += ["--unsetenv", "JPY_PARENT_PID", "--chdir", "/tmp"]
    cmd += [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection_file)]
    cmd += ["--HistoryManager.hist_file=:memory:"]
    return cmd


def prlimit_command(limits: Limits) -> list[str]:
    return [
        "prlimit",
        f"--as={limits.memory_bytes}",
        f"--cpu={limits.cpu_seconds}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        f"--nproc={limits.processes}",
        "--core=0",
        "--",
    ]


def _enter_cgroup(root: str | None, processes: int) -> None:
    """Move this process (and so the kernel it becomes) into a fresh pids cgroup."""
    if root is None:
        return
    group = Path(root) / f"fens-grade-{os.getpid()}"
    try:
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(processes))
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return  # no cgroup: RLIMIT_NPROC and the wall clock remain


def remove_cgroups(root: str | None, pids: list[int]) -> None:
    """Remove the (empty) pids cgroups of finished kernels started by launchers ``pids``."""
    if root is None:
        return
    for pid in pids:
        try:
            (Path(root) / f"fens-grade-{pid}").rmdir()
        except OSError:
            pass


def main(argv: list[str]) -> None:
    """The kernelspec's command: ``python -m fens.grading.sandbox SETTINGS CONNECTION_FILE``."""
    settings = json.loads(Path(argv[0]).read_text())
    limits = Limits(**settings["limits"])
    connection_file = Path(argv[1]).resolve()
    _enter_cgroup(settings["cgroup"], limits.processes)
    cmd = prlimit_command(limits) + bwrap_command(
        connection_file, readable=settings["readable"], env=settings["env"], limits=limits
    )
    sys.stdout.flush()
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
