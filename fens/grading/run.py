"""``fens grade run``: autograde a chapter's submissions, write feedback and the grade table.

1. :func:`fens.grading.check.check` matches every submission's cells (restoring lost metadata).
2. Each submission is executed by nbgrader's ``Autograde`` in a process of its own, all cores
   busy, against a private copy of the gradebook and folders, its kernel in the sandbox
   (:class:`fens.grading.execute.SandboxedExecute`, ``FENS_GRADING=1``). A process that
   outlives the submission's wall clock is killed; its cells score zero, named.
3. One process then records every result in the course's gradebook, in turn, through nbgrader's
   ``Autograde`` without its execution step (``autograded/`` as nbgrader writes it).
4. Feedback (``feedback/STUDENT/CHAPTER/CHAPTER.html``, nbgrader's layout, so that its exchange
   can release it) from a copy of each autograded notebook without the hidden tests
   (:func:`fens.grading.feedback.sanitise`), and ``grades/CHAPTER.csv``.

Re-running grades everything again and gives the same table.
"""

from __future__ import annotations

import copy
import csv
import json
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from fens.grading.check import check, submissions
from fens.grading.course import Course, GradingError
from fens.grading.sandbox import Limits, available, readable_paths, write_kernelspec

CSV_COLUMNS = ("student", "grade_id", "points", "max_points", "reason")


@dataclass
class StudentResult:
    student: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of its grading process and its kernel (user + system)
    incidents: list[dict] = field(default_factory=list)
    error: str | None = None  # the grading process itself failed
    log: str = ""  # nbgrader's log of that failure


@dataclass
class RunReport:
    chapter: str
    seconds: float
    results: list[StudentResult]
    rows: list[dict]
    checks: list
    csv_path: Path

    def total(self, student: str) -> tuple[float, float]:
        rows = [r for r in self.rows if r["student"] == student]
        return sum(r["points"] for r in rows), sum(r["max_points"] for r in rows)


def run(
    course: Course,
    chapter: str,
    *,
    workers: int | None = None,
    limits: Limits | None = None,
    progress: bool = True,
) -> RunReport:
    """Grade every submission of ``chapter`` (see the module docstring). Returns the report;
    the table is in ``grades/CHAPTER.csv``."""
    limits = limits or Limits()
    reason = available()
    if reason is not None:
        raise GradingError(f"cannot grade in a sandbox: {reason}")
    start = time.perf_counter()
    _ensure_assignment(course, chapter)
    checks = check(course, chapter)
    students = sorted(submissions(course, chapter))
    workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix=f"fens-grade-{chapter}-") as tmp:
        tmp = Path(tmp)
        snapshot = tmp / "gradebook.db"
        _copy_db(_db_path(course), snapshot)
        env = {"FENS_GRADING": "1", "FENS_CACHE_DIR": str(_cache_dir())}
        from fens.course import data_dir, dataset_path

        env["FENS_DATA_DIR"] = str(data_dir())
        # The data set the chapters read is made (or downloaded) here, once: the kernels may
        # only read it, and a FENS_DATA folder outside data_dir() must be bound for them.
        data = dataset_path(progress=progress).resolve()
        readable = readable_paths(extra=(data,))
        write_kernelspec(tmp / "jupyter", limits=limits, readable=readable, env=env)
        jobs = [_Job(course.root, chapter, s, str(tmp), str(snapshot), limits) for s in students]
        results = _run_all(jobs, workers, limits, progress)
        for result in results:
            _record(course, chapter, result, tmp)
        rows = _rows(course, chapter, students, {r.student: r for r in results})
        _feedback(course, chapter, students, tmp)
    csv_path = course.grades_dir / f"{chapter}.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    logs = [f"== {r.student}\n{r.log}\n" for r in results if r.log]
    log_path = course.grades_dir / f"{chapter}.log"
    if logs:
        log_path.write_text("".join(logs))
    elif log_path.exists():
        log_path.unlink()
    seconds = time.perf_counter() - start
    return RunReport(chapter, seconds, results, rows, checks, csv_path)


# -- the gradebook --------------------------------------------------------------------------
def _db_path(course: Course) -> Path:
    url = course.db_url
    if not url.startswith("sqlite:///"):
        raise GradingError(f"fens grade needs an SQLite gradebook, got {url}")
    return Path(url[len("sqlite:///") :])


def _copy_db(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite gradebook (its backup API, not a file copy)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _ensure_assignment(course: Course, chapter: str) -> None:
    """The gradebook must know the chapter's cells: release it if it does not."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gb:
        try:
            gb.find_assignment(chapter)
            return
        except MissingEntry:
            pass
    from fens.grading.release import generate

    generate(course, chapter)


def _cache_dir() -> Path:
    from fens.dataset.filetree import default_cache_dir

    return default_cache_dir().resolve()


# -- one submission, in its own process -----------------------------------------------------
@dataclass(frozen=True)
class _Job:
    root: Path
    chapter: str
    student: str
    tmp: str
    snapshot: str
    limits: Limits

    @property
    def workdir(self) -> Path:
        return Path(self.tmp) / "students" / self.student

    @property
    def result_file(self) -> Path:
        return self.workdir / "result.json"

    def autograded(self) -> Path:
        return self.workdir / "autograded" / self.student / self.chapter / f"{self.chapter}.ipynb"


def _grade_one(job: _Job) -> None:
    """The body of one grading process: nbgrader's Autograde on a private copy of everything."""
    import logging

    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import IgnorePattern, LimitOutput

    from fens.grading.execute import SandboxedExecute
    from fens.grading.release import _start

    start = time.perf_counter()
    course = Course.load(job.root)
    work = job.workdir
    (work / "runtime").mkdir(parents=True, exist_ok=True)
    db = work / "gradebook.db"
    shutil.copy(job.snapshot, db)
    os.environ["JUPYTER_PATH"] = str(Path(job.tmp) / "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
    os.environ["FENS_GRADING"] = "1"
    config = copy.deepcopy(course.config)
    config.CourseDirectory.db_url = f"sqlite:///{db}"
    config.CourseDirectory.autograded_directory = str(work / "autograded")
    config.CourseDirectory.source_directory = str(course.folder("source"))
    config.CourseDirectory.submitted_directory = str(course.folder("submitted"))
    config.Autograde.autograde_preprocessors = [SandboxedExecute, IgnorePattern, LimitOutput]
    config.SandboxedExecute.timeout = job.limits.cell_seconds
    config.SandboxedExecute.submission_timeout = job.limits.submission_seconds
    config.SandboxedExecute.cell_output_bytes = job.limits.cell_output_bytes
    # ZeroMQ's ipc sockets are files whose paths must fit a UNIX socket address (107 bytes):
    # they go under a short folder of the system's temporary one, not under the work folder,
    # whose path grows with the student's id.
    kernels = Path(tempfile.mkdtemp(prefix="fens-kernels-"))
    config.SandboxKernelManager.runtime_root = str(kernels)
    converter = Autograde(
        coursedir=course.coursedir(config, assignment_id=job.chapter, student_id=job.student),
        config=config,
    )
    converter.force = True
    converter.log.setLevel(logging.ERROR)
    result = StudentResult(job.student)
    try:
        _start(converter, f"autograding {job.student}")
        nb = nbformat.read(job.autograded(), as_version=4)
        grading = nb.metadata.get("fens_grading", {})
        result.incidents = grading.get("incidents", [])
        result.cpu_seconds = grading.get("kernel_cpu_seconds", 0.0)
    except Exception as error:  # noqa: BLE001 (the parent records it; the others go on)
        result.log = f"{type(error).__name__}: {error}"
        result.error = f"grading failed ({type(error).__name__}: {str(error).splitlines()[0]})"
    finally:
        shutil.rmtree(kernels, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    result.cpu_seconds += _cpu_seconds()
    job.result_file.write_text(json.dumps(asdict(result)))


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_PRELOAD = (
    "fens.grading.run",
    "fens.grading.execute",
    "nbgrader.converters",
    "nbgrader.preprocessors",
)


def _run_all(jobs: list[_Job], workers: int, limits: Limits, progress: bool) -> list:
    """Run the jobs, ``workers`` processes at a time, each killed past its wall clock."""
    from tqdm.auto import tqdm

    context = multiprocessing.get_context("forkserver")
    # Each submission gets a fresh process forked from a server that has already imported
    # nbgrader and the grader (seconds per submission otherwise), never from this one.
    context.set_forkserver_preload(list(_PRELOAD))
    pending, running, done = list(jobs), {}, {}
    wall = limits.submission_seconds + 120  # nbgrader's own steps, the kernel's start
    bar = tqdm(total=len(jobs), desc="grading", unit="submission", disable=not progress)
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            job.workdir.mkdir(parents=True, exist_ok=True)
            process = context.Process(target=_grade_one, args=(job,), daemon=False)
            process.start()
            running[job.student] = (job, process, time.monotonic())
        time.sleep(0.05)
        for student, (job, process, started) in list(running.items()):
            late = time.monotonic() - started > wall
            if process.is_alive() and not late:
                continue
            if process.is_alive():
                process.kill()
            process.join()
            done[student] = _read_result(job, process, late, wall)
            del running[student]
            bar.update()
    bar.close()
    return [done[job.student] for job in jobs]


def _read_result(job: _Job, process, late: bool, wall: float) -> StudentResult:
    if job.result_file.is_file():
        return StudentResult(**json.loads(job.result_file.read_text()))
    why = f"killed after {wall:.0f} s" if late else f"exit status {process.exitcode}"
    return StudentResult(job.student, error=f"the grading process died ({why})")


# -- recording, in the course's gradebook ---------------------------------------------------
def _record(course: Course, chapter: str, result: StudentResult, tmp: Path) -> None:
    """Record one executed submission with nbgrader's Autograde, minus its execution."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from fens.grading.release import _start

    student = result.student
    job_dir = tmp / "students" / student
    executed = job_dir / "autograded" / student / chapter / f"{chapter}.ipynb"
    staged = tmp / "staged" / student / chapter
    staged.mkdir(parents=True, exist_ok=True)
    submitted = course.folder("submitted") / student / chapter
    if (submitted / "timestamp.txt").is_file():
        shutil.copy(submitted / "timestamp.txt", staged / "timestamp.txt")
    if result.error is None and executed.is_file():
        shutil.copy(executed, staged / f"{chapter}.ipynb")
    elif (submitted / f"{chapter}.ipynb").is_file():
        _write_not_run(submitted / f"{chapter}.ipynb", staged / f"{chapter}.ipynb", result.error)
    config = copy.deepcopy(course.config)
    config.CourseDirectory.submitted_directory = str(tmp / "staged")
    config.Autograde.sanitize_preprocessors = [
        DeduplicateIds,
        OverwriteKernelspec,
        OverwriteCells,
        CheckCellMetadata,
    ]
    config.Autograde.autograde_preprocessors = [
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    converter = Autograde(
        coursedir=course.coursedir(config, assignment_id=chapter, student_id=student),
        config=config,
    )
    converter.force = True
    import logging

    converter.log.setLevel(logging.ERROR)
    try:
        _start(converter, f"recording {student}")
    except GradingError as error:
        result.error = (result.error + "; " if result.error else "") + str(error).split("\n")[0]


def _write_not_run(source: Path, target: Path, why: str | None) -> None:
    """A submission whose grading process died: every test cell scores zero, saying why."""
    from fens.grading.execute import _error, _is_test

    try:
        nb = nbformat.read(source, as_version=4)
    except Exception:  # noqa: BLE001 (an unreadable notebook: nbgrader records it missing)
        return
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            if _is_test(cell):
                cell.outputs = [_error("NotRunError", f"not run: {why}")]
    nbformat.write(nb, target)


# -- the table and the feedback -------------------------------------------------------------
def _rows(course: Course, chapter: str, students: list[str], results: dict) -> list[dict]:
    from nbgrader.api import Gradebook, MissingEntry

    from fens.grading.feedback import cell_messages

    rows = []
    autograded = course.folder("autograded")
    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gb:
        for student in students:
            path = autograded / student / chapter / f"{chapter}.ipynb"
            cells = {}
            if path.is_file():
                nb = nbformat.read(path, as_version=4)
                cells = {
                    c.metadata["nbgrader"]["grade_id"]: c
                    for c in nb.cells
                    if "grade_id" in c.metadata.get("nbgrader", {})
                }
            try:
                submission = gb.find_submission_notebook(chapter, chapter, student)
            except MissingEntry:
                submission = None
            grades = submission.grades if submission is not None else []
            for grade in sorted(grades, key=lambda g: _order(g, cells)):
                points = float(grade.score or 0.0)
                maximum = float(grade.max_score)
                reason = ""
                if grade.needs_manual_grade:
                    reason = "to be graded by hand (formgrader)"
                elif points < maximum:
                    cell = cells.get(grade.name)
                    if cell is None:
                        reason = "cell missing from the submission"
                    else:
                        reason = "; ".join(cell_messages(cell)) or "no points"
                rows.append(
                    {
                        "student": student,
                        "grade_id": grade.name,
                        "points": points,
                        "max_points": maximum,
                        "reason": reason,
                    }
                )
            result = results.get(student)
            if result is not None and result.error and not grades:
                rows.append(
                    {
                        "student": student,
                        "grade_id": "",
                        "points": 0.0,
                        "max_points": 0.0,
                        "reason": result.error,
                    }
                )
    return rows


def _order(grade, cells: dict) -> tuple[int, str]:
    names = list(cells)
    return (names.index(grade.name) if grade.name in names else len(names), grade.name)


def _feedback(course: Course, chapter: str, students: list[str], tmp: Path) -> None:
    """nbgrader's feedback pages, made from copies of the autograded notebooks without the
    hidden tests (:func:`fens.grading.feedback.sanitise`)."""
    import logging

    from nbgrader.converters import GenerateFeedback

    from fens.grading.feedback import sanitise
    from fens.grading.release import _start

    staged = tmp / "feedback-source"
    autograded = course.folder("autograded")
    for student in students:
        path = autograded / student / chapter / f"{chapter}.ipynb"
        if not path.is_file():
            continue
        target = staged / student / chapter
        target.mkdir(parents=True, exist_ok=True)
        for extra in path.parent.iterdir():
            if extra.is_file() and extra.suffix != ".ipynb":
                shutil.copy(extra, target / extra.name)
        nbformat.write(sanitise(nbformat.read(path, as_version=4)), target / path.name)
    config = copy.deepcopy(course.config)
    config.CourseDirectory.autograded_directory = str(staged)
    config.HTMLExporter.template_name = "feedback"
    converter = GenerateFeedback(
        coursedir=course.coursedir(config, assignment_id=chapter, student_id="*"),
        config=config,
    )
    converter.force = True
    converter.log.setLevel(logging.ERROR)
    _start(converter, f"feedback for {chapter}")
