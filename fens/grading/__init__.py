"""Autograding the course's chapters safely: release, collect, check, run (``fens grade``).

A thin layer over nbgrader 0.9 (its converters, preprocessors and gradebook), adding what a
class of real submissions needs: cells matched by their grade-id comment when a notebook lost
its metadata (:mod:`.check`), every student's kernel in an operating-system sandbox
(:mod:`.sandbox`), probes that catch a kernel whose checks were tampered with
(:mod:`.execute`), feedback without the hidden tests' code (:mod:`.feedback`) and a grade table
(:mod:`.run`). ``book/instructors.md`` is the instructors' guide.
"""
