"""The 2022 notebook's calls into fens, copied as they are, on the tiny simulated preset.

COURSE.md ("The API the seed's code uses") and the seed notebook
(``seed/Deep-Learning-in-Neuroscience.txt``) must keep working unchanged. Only the data differ:
the tiny preset (150 neurons) stands in for the recording, so neuron counts and indices are
scaled down, and the MEI iterations are fewer. ``device='cuda'`` stays as the notebook writes
it: on a machine without a GPU it falls back to the CPU with a warning.
"""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr

N_NEURONS = 150  # the notebook's 5335

pytestmark = pytest.mark.filterwarnings(
    # device='cuda' on a CPU-only machine, and the 2022 spellings the notebook uses
    # (train_model(dataloader=...)): both warn, neither may fail.
    "ignore::fens.utility.device.DeviceFallbackWarning",
    "ignore::DeprecationWarning",
)


@pytest.fixture(scope="module")
def dataloaders(tiny_dataset):
    from fens.dataset import load_dataset

    dataloaders = load_dataset(path=str(tiny_dataset), batch_size=60)
    return dataloaders


@pytest.fixture(scope="module")
def lurz_models(dataloaders):
    from fens.models import build_lurz2020_model

    # configuration for the model. Values are taken from the paper.
    model_config = {
        "init_mu_range": 0.55,
        "init_sigma": 0.4,
        "input_kern": 15,
        "hidden_kern": 13,
        "gamma_input": 1.0,
        "grid_mean_predictor": {
            "type": "cortex",
            "input_dimensions": 2,
            "hidden_layers": 0,
            "hidden_features": 0,
            "final_tanh": False,
        },
        "gamma_readout": 2.439,
    }
    sota_cnn_model = build_lurz2020_model(**model_config, dataloaders=dataloaders, seed=1234)

    linear_model_config = dict(model_config)  # copy the config
    linear_model_config["linear"] = True  # set linear to True to make it a LN model!
    sota_ln_model = build_lurz2020_model(**linear_model_config, dataloaders=dataloaders, seed=1234)
    return sota_cnn_model, sota_ln_model


def test_the_data_calls(dataloaders):
    train_loader = dataloaders["train"]
    assert len(train_loader.sampler) == 200
    images, responses = next(iter(train_loader))
    assert images.shape == (60, 1, 36, 64)
    assert responses.shape == (60, N_NEURONS)
    assert len(dataloaders["validation"].sampler) == 40
    assert len(dataloaders["test"].sampler) == 55

    # Access to the dataset object that underlies all dataloaders
    dataset = dataloaders["test"].dataset
    # get trials that are marked as "test" set
    test_trials = np.where(dataset.trial_info.tiers == "test")[0]
    # get information about the presented image for ALL trials
    image_ids = dataset.trial_info.frame_image_id
    # find IDs of all unique images presented during test trials
    unique_test_images = np.unique(image_ids[test_trials])
    assert len(unique_test_images) == 10

    repeated_image_responses = []
    for unique_test_image_id in unique_test_images:
        repeated_image_trials = test_trials[image_ids[test_trials] == unique_test_image_id]
        responses = np.stack([dataset[trial][1].cpu().numpy() for trial in repeated_image_trials])
        repeated_image_responses.append((unique_test_image_id, responses))
    assert sum(len(r) for _, r in repeated_image_responses) == 55
    assert all(r.shape[1] == N_NEURONS for _, r in repeated_image_responses)

    input_mean = dataset.statistics.images.all.mean
    input_std = dataset.statistics.images.all.std
    pixels = dataset.images.numpy()  # the statistics are those of the trials' pixels
    np.testing.assert_allclose(input_mean, pixels.mean(), rtol=1e-4)
    np.testing.assert_allclose(input_std, pixels.std(), rtol=1e-4)


def test_train_an_ln_model_and_measure_it(dataloaders):
    from fens.models import Linear  # the reference for the notebook's own class
    from fens.trainers import train_model

    torch.manual_seed(0)
    ln_model = Linear(input_height=64, input_width=36, n_neurons=N_NEURONS, gamma=0.1)
    score, output, model_state = train_model(model=ln_model, dataloader=dataloaders, device="cuda")
    assert np.isfinite(score)
    assert set(model_state) == set(ln_model.state_dict())

    from fens.utility import measures

    # here we evaluate the performance of the model on the test set
    actual_responses, model_responses = measures.model_predictions(
        ln_model, dataloaders["test"], device="cuda"
    )
    assert actual_responses.shape == model_responses.shape == (55, N_NEURONS)

    # compute correlation on test set
    ln_test_correlations = measures.get_correlations(
        ln_model, dataloaders["test"], device="cuda", per_neuron=True
    )
    mean_corr = np.mean(ln_test_correlations)
    assert "mean = {:.3f}".format(mean_corr)  # noqa: UP032 (the notebook's own formatting)
    # Against scipy, neuron by neuron, from the predictions the notebook plots.
    expected = [
        pearsonr(actual_responses[:, i], model_responses[:, i])[0] for i in range(N_NEURONS)
    ]
    np.testing.assert_allclose(ln_test_correlations, np.nan_to_num(expected), atol=1e-4)
    assert mean_corr > 0.05  # it learned something from 200 trials


def test_the_cnn_and_the_sota_models_are_measured(dataloaders, lurz_models, tmp_path):
    from fens.models import CNN
    from fens.utility import measures

    cnn_model = CNN(input_height=64, input_width=36, n_neurons=N_NEURONS)
    cnn_test_correlations = measures.get_correlations(
        cnn_model, dataloaders["test"], device="cuda", per_neuron=True
    )
    assert cnn_test_correlations.shape == (N_NEURONS,)

    sota_cnn_model, sota_ln_model = lurz_models
    torch.save(sota_cnn_model.state_dict(), tmp_path / "sota_cnn_model_state.pt")
    state_dict = torch.load(tmp_path / "sota_cnn_model_state.pt")
    sota_cnn_model.load_state_dict(state_dict)
    for model in (sota_cnn_model, sota_ln_model):
        correlations = measures.get_correlations(
            model, dataloaders["test"], device="cuda", per_neuron=True
        )
        assert correlations.shape == (N_NEURONS,) and np.isfinite(correlations).all()


def test_gradient_receptive_fields_and_meis(dataloaders, lurz_models):
    from fens.analysis import generate_grad_rf, generate_mei

    sota_cnn_model, sota_ln_model = lurz_models
    dataset = dataloaders["test"].dataset
    # choose input mean as starting point
    input_mean = dataset.statistics.images.all.mean
    input_std = dataset.statistics.images.all.std
    # select neuron to compute RFs
    neuron_idx = 1

    # generate a gradient receptive field from the sota_model and the sota_ln_model
    input_image = np.zeros((36, 64)) + input_mean
    grad_rf_sota_cnn = generate_grad_rf(
        sota_cnn_model, neuron_idx=neuron_idx, input_image=input_image
    )
    grad_rf_sota_ln = generate_grad_rf(
        sota_ln_model, neuron_idx=neuron_idx, input_image=input_image
    )
    assert grad_rf_sota_cnn.shape == grad_rf_sota_ln.shape == (36, 64)
    # Against torch's autograd, as the notebook's own generate_grad_rf computes it.
    x = torch.tensor(input_image[None, None], dtype=torch.float, requires_grad=True)
    sota_ln_model(x)[:, neuron_idx].backward()
    np.testing.assert_allclose(grad_rf_sota_ln, x.grad.numpy().squeeze(), rtol=1e-4, atol=1e-9)

    np.random.seed(0)
    iterations = 20  # the notebook's 2000
    activation_sota_cnn, mei_sota_cnn = generate_mei(
        sota_cnn_model,
        input_image=np.random.normal(input_mean, 0.1, (36, 64)),
        neuron_idx=neuron_idx,
        iterations=iterations,
        mean_constr=input_mean,
        std_constr=input_std / 10,
        lr=100,
    )
    assert len(activation_sota_cnn) == iterations and mei_sota_cnn.shape == (36, 64)
    np.testing.assert_allclose(mei_sota_cnn.mean(), input_mean, rtol=1e-3)
    np.testing.assert_allclose(mei_sota_cnn.std(), input_std / 10, rtol=1e-2)


def test_mei_cross_activation(dataloaders, lurz_models):
    from fens.analysis import generate_mei

    sota_cnn_model, _ = lurz_models
    dataset = dataloaders["test"].dataset
    input_mean = dataset.statistics.images.all.mean
    input_std = dataset.statistics.images.all.std
    np.random.seed(0)

    # pick random 5 neurons
    neuron_idx_ls = [1, 48, 109, 120, 140]  # the notebook's [1, 48, 1092, 2008, 4029]
    meis = []
    for i in neuron_idx_ls:
        _, mei = generate_mei(
            sota_cnn_model,
            input_image=np.random.normal(input_mean, input_std / 10, (36, 64)),
            neuron_idx=i,
            iterations=5,  # the notebook's 500
            mean_constr=input_mean,
            std_constr=input_std / 10,
            disable_progress_bar=True,
        )
        meis.append(mei)
    meis = torch.tensor(np.stack(meis))[:, None, ...]
    # run MEIs through the network (the notebook's meis.cuda(): here the CPU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        activations = sota_cnn_model(meis).cpu().detach().numpy().squeeze()[:, neuron_idx_ls]
    # normalize activation by the heighest activation for each neuron
    activations = activations / activations.max(axis=0, keepdims=True)
    assert activations.shape == (5, 5) and np.isfinite(activations).all()
