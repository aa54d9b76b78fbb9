"""Plausible wrong answers to chapter 6 (in-silico experiments) and the points each earns."""

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "06_insilico_projects"

_GRATING_SIGNATURE = """# ch6_grating
def make_grating(orientation, spatial_frequency, phase=0.0, *, shape=(36, 64), mean=127.5,
                 contrast=1.0):
    height, width = shape
"""

WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch6_grating",
        why="y axis pointing up (the sign of the row term): passes the visible tests only",
        source=_GRATING_SIGNATURE
        + """    y, x = np.mgrid[0:height, 0:width]
    u = (x - (width - 1) / 2) * np.cos(orientation) - (y - (height - 1) / 2) * np.sin(orientation)
    return mean * (1 + contrast * np.cos(2 * np.pi * spatial_frequency * u + phase))
""",
        expected={"ch6_grating_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_grating",
        why="spatial frequency taken as radians per pixel (no 2 pi)",
        source=_GRATING_SIGNATURE
        + """    y, x = np.mgrid[0:height, 0:width]
    u = (x - (width - 1) / 2) * np.cos(orientation) + (y - (height - 1) / 2) * np.sin(orientation)
    return mean * (1 + contrast * np.cos(spatial_frequency * u + phase))
""",
        expected={"ch6_grating_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_grating",
        why="phase measured from the top-left corner, not the image centre",
        source=_GRATING_SIGNATURE
        + """    y, x = np.mgrid[0:height, 0:width]
    u = x * np.cos(orientation) + y * np.sin(orientation)
    return mean * (1 + contrast * np.cos(2 * np.pi * spatial_frequency * u + phase))
""",
        expected={"ch6_grating_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_grating",
        why="transposed: (width, height) instead of (height, width)",
        source=_GRATING_SIGNATURE
        + """    x, y = np.mgrid[0:width, 0:height]
    u = (x - (width - 1) / 2) * np.cos(orientation) + (y - (height - 1) / 2) * np.sin(orientation)
    return mean * (1 + contrast * np.cos(2 * np.pi * spatial_frequency * u + phase))
""",
        expected={"ch6_grating_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_grating",
        why="hands the work to fens.analysis.grating",
        source=_GRATING_SIGNATURE
        + """    return fens.analysis.grating(orientation, spatial_frequency, phase, shape=shape,
                                 mean=mean, contrast=contrast)
""",
        expected={"ch6_grating_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_preferred_orientation",
        why="the angle not doubled: exp(i theta) treats 0 and 180 degrees as opposite",
        source="""# ch6_preferred_orientation
def preferred_orientation(responses, orientations):
    resultant = (np.asarray(responses) * np.exp(1j * np.asarray(orientations))).sum(axis=-1)
    return np.mod(np.angle(resultant), np.pi)
""",
        expected={"ch6_preferred_orientation_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_preferred_orientation",
        why="the doubled angle not halved again",
        source="""# ch6_preferred_orientation
def preferred_orientation(responses, orientations):
    resultant = (np.asarray(responses) * np.exp(2j * np.asarray(orientations))).sum(axis=-1)
    return np.mod(np.angle(resultant), np.pi)
""",
        expected={"ch6_preferred_orientation_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_preferred_orientation",
        why="the sampled orientation with the largest response, not the vector average",
        source="""# ch6_preferred_orientation
def preferred_orientation(responses, orientations):
    return np.asarray(orientations)[np.argmax(responses, axis=-1)]
""",
        expected={"ch6_preferred_orientation_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_preferred_orientation",
        why="not wrapped into [0, pi): angle / 2 lies in (-pi/2, pi/2]",
        source="""# ch6_preferred_orientation
def preferred_orientation(responses, orientations):
    resultant = (np.asarray(responses) * np.exp(2j * np.asarray(orientations))).sum(axis=-1)
    return np.angle(resultant) / 2
""",
        expected={"ch6_preferred_orientation_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_preferred_orientation",
        why="hands the work to fens.analysis.preferred_orientation",
        source="""# ch6_preferred_orientation
from fens.analysis import preferred_orientation as reference


def preferred_orientation(responses, orientations):
    return reference(responses, orientations)
""",
        expected={"ch6_preferred_orientation_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_osi",
        why="the angle not doubled: a flat curve does not come out untuned",
        source="""# ch6_osi
def orientation_selectivity_index(responses, orientations):
    r = np.asarray(responses, dtype=np.float64)
    return np.abs((r * np.exp(1j * np.asarray(orientations))).sum(axis=-1)) / r.sum(axis=-1)
""",
        expected={"ch6_osi_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_osi",
        why="not divided by the summed response",
        source="""# ch6_osi
def orientation_selectivity_index(responses, orientations):
    r = np.asarray(responses, dtype=np.float64)
    return np.abs((r * np.exp(2j * np.asarray(orientations))).sum(axis=-1))
""",
        expected={"ch6_osi_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_osi",
        why="circular variance itself, not 1 - circular variance",
        source="""# ch6_osi
def orientation_selectivity_index(responses, orientations):
    r = np.asarray(responses, dtype=np.float64)
    return 1 - np.abs((r * np.exp(2j * np.asarray(orientations))).sum(axis=-1)) / r.sum(axis=-1)
""",
        expected={"ch6_osi_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_osi",
        why="the older (R_pref - R_orth) / (R_pref + R_orth), not the circular measure",
        source="""# ch6_osi
def orientation_selectivity_index(responses, orientations):
    r = np.asarray(responses, dtype=np.float64)
    n = r.shape[-1]
    best = r.argmax(axis=-1)
    pref = np.take_along_axis(r, best[..., None], axis=-1)[..., 0]
    orth = np.take_along_axis(r, ((best + n // 2) % n)[..., None], axis=-1)[..., 0]
    return (pref - orth) / (pref + orth)
""",
        expected={"ch6_osi_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch6_osi",
        why="sums over every axis: one number for a whole batch of curves",
        source="""# ch6_osi
def orientation_selectivity_index(responses, orientations):
    r = np.asarray(responses, dtype=np.float64)
    return np.abs((r * np.exp(2j * np.asarray(orientations))).sum()) / r.sum()
""",
        expected={"ch6_osi_tests": 0},
    ),
]
