"""Plausible wrong answers to chapter 1 (the data) and the points each earns."""

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "01_data"

WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch1_show_image",
        why="imshow's defaults: viridis, stretched to the image's own range",
        source="""# ch1_show_image
def show_image(image, ax=None, title=None):
    ax = plt.gca() if ax is None else ax
    shown = ax.imshow(image[0])
    if title is not None:
        ax.set_title(title)
    return shown
""",
        expected={"ch1_show_image_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_show_image",
        why="transposed image (width as rows)",
        source="""# ch1_show_image
def show_image(image, ax=None, title=None):
    ax = plt.gca() if ax is None else ax
    shown = ax.imshow(image[0].T, cmap="gray", vmin=0, vmax=255)
    if title is not None:
        ax.set_title(title)
    return shown
""",
        expected={"ch1_show_image_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_show_image",
        why="grey but stretched to the image's own min and max",
        source="""# ch1_show_image
def show_image(image, ax=None, title=None):
    ax = plt.gca() if ax is None else ax
    shown = ax.imshow(image[0], cmap="gray", vmin=image.min(), vmax=image.max())
    if title is not None:
        ax.set_title(title)
    return shown
""",
        expected={"ch1_show_image_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_count_neurons",
        why="counts pixels of the image, not neurons",
        source="""# ch1_count_neurons
n_neurons = trial_image.size
""",
        expected={"ch1_n_neurons_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_fraction_responding",
        why="a count of neurons instead of a fraction",
        source="""# ch1_fraction_responding
def fraction_responding(responses, threshold):
    return int(np.sum(np.asarray(responses) > threshold))
""",
        expected={"ch1_fraction_responding_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_repeat_stats",
        why="NumPy's default ddof=0 for the spread",
        source="""# ch1_repeat_stats
def repeat_mean_and_std(repeated):
    means = np.stack([r.mean(axis=0) for r in repeated])
    stds = np.stack([r.std(axis=0) for r in repeated])
    return means, stds
""",
        expected={"ch1_repeat_std_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_repeat_stats",
        why="averages over neurons instead of repeats",
        source="""# ch1_repeat_stats
def repeat_mean_and_std(repeated):
    means = np.stack([r.mean(axis=1) for r in repeated])
    stds = np.stack([r.std(axis=1, ddof=1) for r in repeated])
    return means, stds
""",
        expected={"ch1_repeat_mean_tests": 0, "ch1_repeat_std_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch1_repeat_stats",
        why="variance instead of standard deviation",
        source="""# ch1_repeat_stats
def repeat_mean_and_std(repeated):
    means = np.stack([r.mean(axis=0) for r in repeated])
    stds = np.stack([r.var(axis=0, ddof=1) for r in repeated])
    return means, stds
""",
        expected={"ch1_repeat_std_tests": 0},
    ),
]
