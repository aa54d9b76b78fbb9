"""Plausible wrong answers to chapter 4 (the state-of-the-art model) and the points each earns."""

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "04_sota"

_ORACLE_HEAD = """# ch4_jackknife_oracle
def jackknife_oracle(repeated_responses):
"""

_PEARSON = """
    trials, others = np.concatenate(trials), np.concatenate(others)
    trials = (trials - trials.mean(axis=0)) / trials.std(axis=0)
    others = (others - others.mean(axis=0)) / others.std(axis=0)
    return (trials * others).mean(axis=0)
"""

_FEVE_HEAD = """# ch4_feve
def feve(repeated_responses, repeated_predictions):
    responses = [np.asarray(r, dtype=np.float64) for r in repeated_responses]
"""

WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch4_jackknife_oracle",
        why="the trial is not left out: correlated with the mean of all repeats",
        source=_ORACLE_HEAD
        + """    trials, others = [], []
    for responses in repeated_responses:
        responses = np.asarray(responses, dtype=np.float64)
        trials.append(responses)
        others.append(np.repeat(responses.mean(axis=0, keepdims=True), len(responses), axis=0))
"""
        + _PEARSON,
        expected={"ch4_jackknife_oracle_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch4_jackknife_oracle",
        why="divides the leave-one-out sum by n instead of n - 1 (wrong for ragged repeats)",
        source=_ORACLE_HEAD
        + """    trials, others = [], []
    for responses in repeated_responses:
        responses = np.asarray(responses, dtype=np.float64)
        trials.append(responses)
        others.append((responses.sum(axis=0) - responses) / len(responses))
"""
        + _PEARSON,
        expected={"ch4_jackknife_oracle_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch4_jackknife_oracle",
        why="one correlation per image, averaged over images, instead of pooling all trials",
        source=_ORACLE_HEAD
        + """    per_image = []
    for responses in repeated_responses:
        responses = np.asarray(responses, dtype=np.float64)
        others = (responses.sum(axis=0) - responses) / (len(responses) - 1)
        a = (responses - responses.mean(axis=0)) / (responses.std(axis=0) + 1e-12)
        b = (others - others.mean(axis=0)) / (others.std(axis=0) + 1e-12)
        per_image.append((a * b).mean(axis=0))
    return np.mean(per_image, axis=0)
""",
        expected={"ch4_jackknife_oracle_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch4_jackknife_oracle",
        why="hands the work to fens.measures.oracle_corr",
        source=_ORACLE_HEAD + "    return fens.measures.oracle_corr(repeated_responses)\n",
        expected={"ch4_jackknife_oracle_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch4_feve",
        why="the noise variance is not subtracted from the squared error",
        source=_FEVE_HEAD
        + """    noise_var = np.mean([r.var(axis=0, ddof=1) for r in responses], axis=0)
    total_var = np.concatenate(responses).var(axis=0, ddof=1)
    errors = [(r - np.asarray(p)) ** 2 for r, p in zip(responses, repeated_predictions)]
    mse = np.concatenate(errors).mean(axis=0)
    return 1 - mse / (total_var - noise_var)
""",
        expected={"ch4_feve_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch4_feve",
        why="variances with ddof=0 instead of ddof=1",
        source=_FEVE_HEAD
        + """    noise_var = np.mean([r.var(axis=0) for r in responses], axis=0)
    total_var = np.concatenate(responses).var(axis=0)
    errors = [(r - np.asarray(p)) ** 2 for r, p in zip(responses, repeated_predictions)]
    mse = np.concatenate(errors).mean(axis=0)
    return 1 - (mse - noise_var) / (total_var - noise_var)
""",
        expected={"ch4_feve_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch4_feve",
        why="the fraction of explainable variance (FEV) of the responses, ignoring the prediction",
        source=_FEVE_HEAD
        + """    noise_var = np.mean([r.var(axis=0, ddof=1) for r in responses], axis=0)
    total_var = np.concatenate(responses).var(axis=0, ddof=1)
    return (total_var - noise_var) / total_var
""",
        expected={"ch4_feve_tests": 0},
    ),
]
