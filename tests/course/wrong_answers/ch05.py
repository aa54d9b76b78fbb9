"""Plausible wrong answers to chapter 5 (opening the models up) and the points each earns."""

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "05_opening_up"

WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch5_grad_rf",
        why="the gradient of all neurons' summed response, not of the one neuron",
        source="""# ch5_grad_rf
def gradient_rf(model, neuron_index, image):
    model.eval()
    model_device = next(model.parameters()).device
    x = torch.tensor(image, dtype=torch.float32, device=model_device)[None, None]
    x.requires_grad_(True)
    model(x).sum().backward()
    return x.grad[0, 0].cpu().numpy()
""",
        expected={"ch5_grad_rf_tests": 0, "ch5_grad_rf_eval_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_grad_rf",
        why="forgets model.eval(): batch norm and dropout act as in training",
        source="""# ch5_grad_rf
def gradient_rf(model, neuron_index, image):
    model_device = next(model.parameters()).device
    x = torch.tensor(image, dtype=torch.float32, device=model_device)[None, None]
    x.requires_grad_(True)
    model(x)[0, neuron_index].backward()
    return x.grad[0, 0].cpu().numpy()
""",
        expected={"ch5_grad_rf_eval_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_grad_rf",
        why="returns the image tensor's data instead of its gradient",
        source="""# ch5_grad_rf
def gradient_rf(model, neuron_index, image):
    model.eval()
    model_device = next(model.parameters()).device
    x = torch.tensor(image, dtype=torch.float32, device=model_device)[None, None]
    x.requires_grad_(True)
    model(x)[0, neuron_index].backward()
    return x.data[0, 0].cpu().numpy()
""",
        expected={"ch5_grad_rf_tests": 0, "ch5_grad_rf_eval_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_grad_rf",
        why="hands the work to fens.analysis.generate_grad_rf",
        source="""# ch5_grad_rf
def gradient_rf(model, neuron_index, image):
    return fens.analysis.generate_grad_rf(model, neuron_index, image)
""",
        expected={"ch5_grad_rf_tests": 0, "ch5_grad_rf_eval_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_constrain",
        why="one mean and standard deviation for the whole batch, not per image",
        source="""# ch5_constrain
def constrain(images, mean, std):
    centered = images - images.mean()
    return centered / centered.pow(2).mean().sqrt() * std + mean
""",
        expected={"ch5_constrain_tests": 0, "ch5_constrain_gradient_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_constrain",
        why="forgets to add the mean back",
        source="""# ch5_constrain
def constrain(images, mean, std):
    centered = images - images.mean(dim=(1, 2, 3), keepdim=True)
    return centered / centered.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt() * std
""",
        expected={"ch5_constrain_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_constrain",
        why="torch's default unbiased standard deviation (1/(n-1)), as the 2022 notebook",
        source="""# ch5_constrain
def constrain(images, mean, std):
    centered = images - images.mean(dim=(1, 2, 3), keepdim=True)
    return centered / images.std(dim=(1, 2, 3), keepdim=True) * std + mean
""",
        expected={"ch5_constrain_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_constrain",
        why="computes in NumPy: right values, but no gradient flows to the free image",
        source="""# ch5_constrain
def constrain(images, mean, std):
    x = images.detach().cpu().numpy()
    flat = x.reshape(len(x), -1)
    flat = (flat - flat.mean(axis=1, keepdims=True)) / flat.std(axis=1, keepdims=True)
    return torch.as_tensor((flat * std + mean).reshape(x.shape), dtype=images.dtype)
""",
        expected={"ch5_constrain_gradient_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_constrain",
        why="hands the work to fens' own constraint",
        source="""# ch5_constrain
from fens.analysis.mei import _constrain


def constrain(images, mean, std):
    return _constrain(images, mean, std)
""",
        expected={"ch5_constrain_tests": 0, "ch5_constrain_gradient_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_normalize_cross",
        why="divides each row (MEI) instead of each column (neuron): a transpose",
        source="""# ch5_normalize_cross
def normalize_by_own_mei(activations):
    activations = np.asarray(activations, dtype=np.float64)
    return activations / np.diag(activations)[:, None]
""",
        expected={"ch5_normalize_cross_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_normalize_cross",
        why="divides each column by its maximum, as the 2022 notebook's plot did",
        source="""# ch5_normalize_cross
def normalize_by_own_mei(activations):
    return activations / activations.max(axis=0, keepdims=True)
""",
        expected={"ch5_normalize_cross_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch5_normalize_cross",
        why="divides in place, changing the caller's matrix",
        source="""# ch5_normalize_cross
def normalize_by_own_mei(activations):
    activations /= np.diag(activations).copy()[None, :]
    return activations
""",
        expected={"ch5_normalize_cross_tests": 0},
    ),
]
