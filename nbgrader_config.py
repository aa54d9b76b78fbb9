"""nbgrader's configuration for the course (read by ``nbgrader ...``, formgrader and ``fens grade``).

Folders, relative to this file (the repository root):

    solutions/CHAPTER/CHAPTER.ipynb   source: the instructors' notebooks (solutions, hidden tests)
    exercises/CHAPTER/CHAPTER.ipynb   release: what students get (``make exercises``; committed)
    submitted/STUDENT/CHAPTER/        what students handed in (``fens grade collect``)
    autograded/STUDENT/CHAPTER/       the executed, scored submissions (``fens grade run``)
    feedback/STUDENT/CHAPTER/         the students' feedback, without the hidden tests' code
    grades/CHAPTER.csv                one row per student and graded cell
    gradebook.db                      nbgrader's gradebook (SQLite)

Everything but ``solutions/`` and ``exercises/`` is git-ignored: it holds students' work.
"""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)

ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "fens-neural-system-identification"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'gradebook.db'}"
# Chapter folders hold the notebook and nothing a student needs besides it; the originals of
# submissions whose metadata `fens grade check` restored are kept in .original/ (not graded).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".original"]

# The student versions: a stub where the solution was, no outputs, graded cells locked.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.GenerateAssignment.create_assignment = True
c.LockCells.lock_grade_cells = True
c.LockCells.lock_readonly_cells = True

# Grading: a cell may take at most 5 minutes (a chapter runs in 3 on a 2-core CPU, and most
# cells in seconds under the grading switch); what a cell prints is cut to 1000 lines, a
# traceback to 100. `fens grade run` adds its own cuts (the sandbox's limits, a wall clock per
# submission, a byte cap on each cell's output while it runs): see fens/grading/sandbox.py.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
c.Execute.allow_errors = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# A student who deleted a test cell gets it back, after the answer cell before it.
c.OverwriteCells.add_missing_cells = True
c.Autograde.create_student = True
