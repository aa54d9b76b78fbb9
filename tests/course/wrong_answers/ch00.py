"""Plausible wrong answers to chapter 0 (set-up) and the points each earns."""

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "00_setup"

WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch0_choose_device",
        why="hard-coded 'cuda', as the 2022 notebook did",
        source="""# ch0_choose_device
def choose_device(requested: str | None = None) -> torch.device:
    return torch.device("cuda")
""",
        expected={"ch0_choose_device_tests": 0, "ch0_device_warning_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_choose_device",
        why="falls back to the CPU silently (a print, no warning)",
        source="""# ch0_choose_device
def choose_device(requested: str | None = None) -> torch.device:
    if requested == "cpu" or not torch.cuda.is_available():
        if requested == "cuda":
            print("no GPU, using the CPU")
        return torch.device("cpu")
    return torch.device("cuda")
""",
        expected={"ch0_device_warning_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_choose_device",
        why="returns a string, not a torch.device",
        source="""# ch0_choose_device
def choose_device(requested: str | None = None) -> torch.device:
    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        warnings.warn("no GPU: using the CPU")
    return "cpu"
""",
        expected={"ch0_choose_device_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_choose_device",
        why="hands the work to fens' resolve_device",
        source="""# ch0_choose_device
from fens.utility.device import resolve_device


def choose_device(requested: str | None = None) -> torch.device:
    return resolve_device(requested)
""",
        expected={"ch0_choose_device_tests": 0, "ch0_device_warning_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_load_trial",
        why="image and responses swapped",
        source="""# ch0_load_trial
def load_trial(path, trial):
    path = Path(path)
    image = np.load(path / "data" / "images" / f"{trial}.npy")
    responses = np.load(path / "data" / "responses" / f"{trial}.npy")
    return responses, image
""",
        expected={"ch0_load_trial_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_load_trial",
        why="squeezes the image to (36, 64), not its shape on disk",
        source="""# ch0_load_trial
def load_trial(path, trial):
    path = Path(path)
    image = np.load(path / "data" / "images" / f"{trial}.npy").squeeze()
    responses = np.load(path / "data" / "responses" / f"{trial}.npy")
    return image, responses
""",
        expected={"ch0_load_trial_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_load_trial",
        why="string concatenation that only works for a str path without its last slash",
        source="""# ch0_load_trial
def load_trial(path, trial):
    image = np.load(path + "/data/images/" + str(trial) + ".npy")
    responses = np.load(path + "/data/responses/" + str(trial) + ".npy")
    return image, responses
""",
        expected={"ch0_load_trial_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch0_trials_per_tier",
        why="counts distinct images, not trials",
        source="""# ch0_trials_per_tier
def trials_per_tier(path):
    trials = Path(path) / "meta" / "trials"
    tiers = np.load(trials / "tiers.npy")
    image_ids = np.load(trials / "frame_image_id.npy")
    return {str(t): len(np.unique(image_ids[tiers == t])) for t in np.unique(tiers)}
""",
        expected={"ch0_trials_per_tier_tests": 0},
    ),
]
