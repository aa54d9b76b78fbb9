"""Plausible wrong answers to chapter 2 (the LN model and the Poisson loss) and their points."""

from tests.course.wrong_answers import WrongAnswer

CHAPTER = "02_ln_poisson"

_LN_INIT = """# ch2_ln_model
class LNModel(nn.Module):
    def __init__(self, input_height, input_width, n_neurons, momentum=0.1, init_std=1e-3, gamma=0.0):
        super().__init__()
        self.init_std = init_std
        self.gamma = gamma
        self.bn = nn.BatchNorm2d(1, momentum=momentum, affine=False)
        self.linear = nn.Linear(input_height * input_width, n_neurons)
        self.initialize()

    def initialize(self, std=None):
        std = self.init_std if std is None else std
        nn.init.normal_(self.linear.weight, std=std)
        nn.init.zeros_(self.linear.bias)
"""

WRONG_ANSWERS = [
    WrongAnswer(
        grade_id="ch2_ln_model",
        why="no output nonlinearity (a linear model)",
        source=_LN_INIT
        + """
    def forward(self, images):
        return self.linear(self.bn(images).flatten(1))

    def regularizer(self):
        return self.gamma * self.linear.weight.abs().sum()
""",
        expected={"ch2_ln_forward_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_ln_model",
        why="ELU without the + 1 (negative predictions)",
        source=_LN_INIT
        + """
    def forward(self, images):
        return F.elu(self.linear(self.bn(images).flatten(1)))

    def regularizer(self):
        return self.gamma * self.linear.weight.abs().sum()
""",
        expected={"ch2_ln_forward_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_ln_model",
        why="skips the batch norm (raw pixels into the linear layer)",
        source=_LN_INIT
        + """
    def forward(self, images):
        return F.elu(self.linear(images.flatten(1))) + 1

    def regularizer(self):
        return self.gamma * self.linear.weight.abs().sum()
""",
        expected={"ch2_ln_forward_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_ln_model",
        why="an L2 penalty instead of L1",
        source=_LN_INIT
        + """
    def forward(self, images):
        return F.elu(self.linear(self.bn(images).flatten(1))) + 1

    def regularizer(self):
        return self.gamma * (self.linear.weight**2).sum()
""",
        expected={"ch2_ln_init_regularizer_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_ln_model",
        why="subclasses the reference fens.models.LNModel",
        source="""# ch2_ln_model
class LNModel(fens.models.LNModel):
    pass
""",
        expected={"ch2_ln_forward_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_poisson_loss",
        why="the log of zero (no eps)",
        source="""# ch2_poisson_loss
def poisson_loss(output, target, eps=1e-8):
    return (output - target * torch.log(output)).sum()
""",
        expected={"ch2_poisson_loss_zero_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_poisson_loss",
        why="sign flipped (the log-likelihood, maximised instead of minimised)",
        source="""# ch2_poisson_loss
def poisson_loss(output, target, eps=1e-8):
    return (target * torch.log(output + eps) - output).sum()
""",
        expected={"ch2_poisson_loss_tests": 0, "ch2_poisson_loss_zero_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_poisson_loss",
        why="a mean instead of a sum",
        source="""# ch2_poisson_loss
def poisson_loss(output, target, eps=1e-8):
    return (output - target * torch.log(output + eps)).mean()
""",
        expected={"ch2_poisson_loss_tests": 0, "ch2_poisson_loss_zero_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_poisson_loss",
        why="calls torch's PoissonNLLLoss instead of writing the formula",
        source="""# ch2_poisson_loss
def poisson_loss(output, target, eps=1e-8):
    return nn.PoissonNLLLoss(log_input=False, reduction="sum", eps=eps)(output, target)
""",
        expected={"ch2_poisson_loss_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_correlation",
        why="correlates across neurons (per trial), the transposed axis",
        source="""# ch2_correlation
def per_neuron_correlation(actual, predicted):
    a = actual - actual.mean(axis=1, keepdims=True)
    p = predicted - predicted.mean(axis=1, keepdims=True)
    return (a * p).sum(axis=1) / np.sqrt((a**2).sum(axis=1) * (p**2).sum(axis=1))
""",
        expected={"ch2_correlation_tests": 0, "ch2_correlation_constant_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_correlation",
        why="right formula, but NaN for constant neurons",
        source="""# ch2_correlation
def per_neuron_correlation(actual, predicted):
    a = actual - actual.mean(axis=0)
    p = predicted - predicted.mean(axis=0)
    return (a * p).sum(axis=0) / np.sqrt((a**2).sum(axis=0) * (p**2).sum(axis=0))
""",
        expected={"ch2_correlation_constant_tests": 0},
    ),
    WrongAnswer(
        grade_id="ch2_correlation",
        why="forgets to subtract the means (cosine similarity)",
        source="""# ch2_correlation
def per_neuron_correlation(actual, predicted):
    den = np.sqrt((actual**2).sum(axis=0) * (predicted**2).sum(axis=0))
    return np.divide((actual * predicted).sum(axis=0), den, out=np.zeros(actual.shape[1]), where=den > 0)
""",
        expected={"ch2_correlation_tests": 0, "ch2_correlation_constant_tests": 0},
    ),
]
