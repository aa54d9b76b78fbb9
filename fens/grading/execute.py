"""nbgrader's ``Execute`` step, hardened for students' notebooks.

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in ``Autograde``: the kernel is the
sandboxed one (:mod:`fens.grading.sandbox`) over ``ipc`` sockets, and around the cells it adds

- a wall clock for the whole submission: cells after it are not run (scored zero, named);
- a byte cap on what a cell prints while it runs (the grader's memory stays bounded);
- a dead or unresponsive kernel (``os._exit``, a segfault, ``kill -9 -1``, SIGINT ignored in an
  endless loop) ends the run there: the cells after it score zero, the cells before keep theirs;
- integrity probes. Hidden tests run in the student's kernel, so a student's cell can patch
  what the tests use (``numpy.testing.assert_allclose``, ``torch.allclose``, builtins, IPython's
  error reporting, a tracer...). Before the first cell the grader records, from outside, the
  identity of each of those objects (:data:`WATCHED`); after every cell it asks again and also
  raises an error with a fresh random token, which must come back as an error. A changed object
  or a swallowed error marks the kernel as tampered from that cell on: every test cell after it
  scores zero, and the report names what changed.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors.execute import Execute
from traitlets import Dict, Integer, Unicode

from fens.grading.sandbox import KERNEL_NAME

# Callables and hooks a test relies on, by dotted path; "ipython." is the kernel's shell. A
# module other than numpy is watched from the first probe that finds it imported (the
# chapters import torch in their first cell; importing it for the probe costs seconds).
WATCHED = (
    "numpy.testing.assert_allclose",
    "numpy.testing.assert_array_equal",
    "numpy.testing.assert_array_almost_equal",
    "numpy.testing.assert_almost_equal",
    "numpy.testing.assert_equal",
    "numpy.allclose",
    "numpy.isclose",
    "numpy.array_equal",
    "numpy.all",
    "numpy.any",
    "numpy.isfinite",
    "numpy.ndarray.__eq__",
    "torch.allclose",
    "torch.equal",
    "torch.isclose",
    "torch.testing.assert_close",
    "torch.Tensor.__eq__",
    "math.isclose",
    "operator.eq",
    "builtins.isinstance",
    "builtins.abs",
    "builtins.all",
    "builtins.any",
    "builtins.len",
    "builtins.float",
    "builtins.int",
    "builtins.round",
    "builtins.type",
    "builtins.__import__",
    "builtins.AssertionError",
    "builtins.Exception",
    "sys.excepthook",
    "sys.gettrace",
    "sys.getprofile",
    "ipython.run_cell",
    "ipython.run_cell_async",
    "ipython.run_ast_nodes",
    "ipython.run_code",
    "ipython.showtraceback",
    "ipython.transform_cell",
    "ipython.kernel.do_execute",
)

NOT_LOADED = "not loaded"
# Prints {name: signature}: the object's id and, for Python functions, its code's id; for
# hooks whose presence matters (tracer, profiler, input/AST transformers), what is installed.
_PROBE = """\
def __fens_probe(token):
    import importlib, sys
    def sig(obj):
        obj = getattr(obj, '__func__', obj)
        code = getattr(obj, '__code__', None)
        return [id(obj), id(code) if code is not None else 0]
    out = {}
    parts_of = lambda name: name.split('.')
    for path in %(watched)r:
        head, _, attr = path.rpartition('.')
        try:
            if head == 'ipython':
                obj = get_ipython()
            elif head.startswith('ipython.'):
                obj = get_ipython()
                for part in head.split('.')[1:]:
                    obj = getattr(obj, part)
            elif parts_of(head)[0] not in sys.modules and parts_of(head)[0] != 'numpy':
                out[path] = 'not loaded'
                continue
            else:
                parts = head.split('.')
                for cut in range(len(parts), 0, -1):
                    try:
                        obj = importlib.import_module('.'.join(parts[:cut]))
                        break
                    except ImportError:
                        continue
                for part in parts[cut:]:
                    obj = getattr(obj, part)
            out[path] = sig(getattr(obj, attr))
        except Exception as error:
            out[path] = repr(type(error))
    shell = get_ipython()
    out['tracer'] = repr(sys.gettrace()) + repr(sys.getprofile())
    out['input transformers'] = [id(t) for t in shell.input_transformers_post] + [
        id(t) for t in shell.input_transformer_manager.cleanup_transforms] + [
        id(t) for t in shell.input_transformer_manager.line_transforms]
    out['AST transformers'] = [id(t) for t in shell.ast_transformers]
    print(token + __import__('json').dumps(out) + token)
__fens_probe(%(token)r)
del __fens_probe
raise RuntimeError(%(token)r)
"""


UNIX_SOCKET_PATH_BYTES = 107  # sun_path of struct sockaddr_un on Linux, less its final NUL


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file and ``ipc`` sockets live in a fresh runtime
    folder (bound into the sandbox)."""

    runtime_root = Unicode("").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import tempfile

        runtime = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.runtime_root or None))
        self.transport = "ipc"
        self.connection_file = str(runtime / "kernel.json")
        self.ip = str(runtime / "ipc")
        longest = len(os.fsencode(self.ip)) + len("-65535")  # ZeroMQ appends "-<port>"
        if longest > UNIX_SOCKET_PATH_BYTES:
            raise ValueError(
                f"the kernel's ipc sockets {self.ip}-N would be {longest} bytes long, more than "
                f"a UNIX socket's {UNIX_SOCKET_PATH_BYTES}: give a shorter runtime_root"
            )


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandboxed kernel, a submission wall clock, an output cap
    and integrity probes (see the module's docstring). ``incidents`` (in the notebook's
    metadata ``fens_grading``) records what was cut off and why, per cell."""

    submission_timeout = Integer(600, help="seconds for the whole notebook").tag(config=True)
    cell_output_bytes = Integer(2**20, help="bytes one cell may print").tag(config=True)
    probe_timeout = Integer(10, help="seconds a probe may take").tag(config=True)
    kernel_env = Dict({}).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        self.kernel_name = KERNEL_NAME
        # After an interrupted cell the kernel may never say "idle": the probe that follows
        # tells a stuck kernel from a recovered one.
        self.raise_on_iopub_timeout = False

    # -- the run --------------------------------------------------------------------------
    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.kernel_name = KERNEL_NAME
        self.shutdown_kernel = "immediate"
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.incidents: list[dict[str, Any]] = []
        self._output_bytes = 0
        deadline = time.monotonic() + self.submission_timeout
        stopped: str | None = None
        with self.setup_kernel():
            assert self.kc is not None
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            baseline, _ = self._probe()
            tampered: str | None = None if baseline is not None else "the first probe failed"
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if stopped is None and time.monotonic() > deadline:
                    stopped = f"the submission's time limit ({self.submission_timeout} s) ran out"
                    self._incident(index, "time limit", stopped)
                if stopped is not None:
                    self._not_run(cell, stopped)
                    continue
                if tampered is not None and _is_test(cell):
                    self._spoiled(cell, tampered)
                    continue
                self.timeout = max(1, min(self.timeout, int(deadline - time.monotonic()) + 1))
                self._output_bytes = 0
                try:
                    self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    stopped = f"the kernel died in cell {index} ({_name(cell)})"
                    self._incident(index, "kernel died", stopped)
                    self._not_run(cell, stopped)
                    continue
                except CellTimeoutError:
                    stopped = f"cell {index} ({_name(cell)}) ran past {self.timeout} s"
                    self._incident(index, "timeout", stopped)
                    self._not_run(cell, stopped)
                    continue
                if _raised(cell, "MemoryError"):
                    self._incident(index, "memory limit", f"cell {index} ran out of memory")
                if _raised(cell, "CellTimeoutError"):
                    self._incident(index, "timeout", f"cell {index} ran past {self.timeout} s")
                if self._output_bytes > self.cell_output_bytes:
                    self._incident(index, "output flood", f"printed {self._output_bytes} bytes")
                if tampered is None:
                    now, why = self._probe()
                    if now is None:
                        stopped = f"the kernel stopped answering after cell {index} ({why})"
                        self._incident(index, "unresponsive kernel", stopped)
                        continue
                    for key, value in now.items():  # a module first imported: its baseline
                        if baseline.get(key) == NOT_LOADED:
                            baseline[key] = value
                    changed = _changed(baseline, now)
                    if changed:
                        tampered = f"cell {index} ({_name(cell)}) tampered with the grading: "
                        tampered += _describe(changed, now)
                        self._incident(index, "tampering", tampered)
            cpu = _tree_cpu_seconds(getattr(self.km.provisioner, "pid", None))
        self.set_widgets_metadata()
        self.nb.metadata["fens_grading"] = {"incidents": self.incidents, "kernel_cpu_seconds": cpu}
        return self.nb, self.resources

    # -- the output cap -------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {})))
        self._output_bytes += size
        if self._output_bytes > self.cell_output_bytes:
            if self._output_bytes - size <= self.cell_output_bytes:
                note = f"[fens grade: output cut after {self.cell_output_bytes} bytes]\n"
                outs.append(NotebookNode(output_type="stream", name="stderr", text=note))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- probes ---------------------------------------------------------------------------
    def _probe(self) -> tuple[dict | None, str]:
        """Run the integrity probe; (signatures, '') or (None, why it failed)."""
        return run_sync(self._async_probe)()

    async def _async_probe(self) -> tuple[dict | None, str]:
        import asyncio

        assert self.kc is not None
        token = "fens" + secrets.token_hex(16)
        code = _PROBE % {"watched": WATCHED, "token": token}
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        text, error = [], None
        end = time.monotonic() + self.probe_timeout
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    return None, "no answer to the grader's probe"
                msg = await asyncio.wait_for(self.kc.iopub_channel.get_msg(), left)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "stream" and sum(map(len, text)) < 2**20:
                    text.append(msg["content"]["text"])
                elif kind == "error":
                    error = msg["content"].get("evalue")
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    return None, "no answer to the grader's probe"
                reply = await asyncio.wait_for(self.kc.shell_channel.get_msg(), left)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except (asyncio.TimeoutError, TimeoutError):
            return None, "no answer to the grader's probe"
        if not await self.kc.is_alive():
            return None, "the kernel died"
        joined = "".join(text)
        parts = joined.split(token)
        if reply["content"].get("status") != "error" or error != token:
            return {"errors reported": "no"}, ""
        if len(parts) < 3:
            return {"probe output": "missing"}, ""
        try:
            found = json.loads(parts[1])
        except ValueError:
            return {"probe output": "garbled"}, ""
        found["errors reported"] = "yes"
        return found, ""

    # -- marking cells --------------------------------------------------------------------
    def _incident(self, index: int, kind: str, detail: str) -> None:
        self.log.warning("%s: %s", kind, detail)
        self.incidents.append({"cell": index, "kind": kind, "detail": detail})

    def _not_run(self, cell: NotebookNode, why: str) -> None:
        cell.outputs = [_error("NotRunError", f"not run: {why}")]

    def _spoiled(self, cell: NotebookNode, why: str) -> None:
        cell.outputs = [_error("TamperingError", f"not graded: {why}")]


def _tree_cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants, read
    from ``/proc`` by the grader (the sandboxed kernel is killed at the end, unreaped by its
    launcher, so its time never reaches the grader's own ``getrusage``). 0 where unknown."""
    if pid is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / ticks


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[evalue])


def _is_test(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def _name(cell: NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id") or cell.source.split("\n", 1)[0][:40]


def _raised(cell: NotebookNode, ename: str) -> bool:
    return any(o.get("ename") == ename for o in cell.get("outputs", []))


def _describe(changed: list[str], now: dict) -> str:
    if now.get("errors reported") != "yes":
        return "errors raised in the kernel no longer reach the grader"
    shown = ", ".join(f"{name} replaced" for name in changed[:5])
    return shown + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")


def _changed(baseline: dict, now: dict) -> list[str]:
    keys = sorted(set(baseline) | set(now))
    return [key for key in keys if baseline.get(key) != now.get(key)]
