"""fens.utility.deprecation: old names and old positions keep working, with a warning."""

import inspect
import warnings

import pytest

from fens.utility.deprecation import deprecated_arguments


@deprecated_arguments(renamed={"neuron_ids": "neuron_indices"}, positional=("neuron_indices",))
def generate(model, *, neuron_indices=None, iterations=10):
    """Stands in for a function whose arguments became keyword-only and were renamed."""
    return model, neuron_indices, iterations


def test_the_new_spelling_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert generate("m", neuron_indices=[3], iterations=2) == ("m", [3], 2)


def test_an_old_keyword_is_handed_on_with_a_warning_naming_the_new_one():
    with pytest.warns(
        DeprecationWarning, match=r"generate\(neuron_ids=...\) is deprecated; write neuron_indices="
    ) as record:
        assert generate("m", neuron_ids=[3, 5]) == ("m", [3, 5], 10)
    assert len(record) == 1
    assert record[0].filename == __file__  # it points at the caller's line, not at fens


def test_an_old_position_is_handed_on_by_keyword_with_a_warning():
    with pytest.warns(
        DeprecationWarning, match=r"passing neuron_indices to generate\(\) by position"
    ) as record:
        assert generate("m", [3]) == ("m", [3], 10)
    assert "write neuron_indices=..." in str(record[0].message)
    assert record[0].filename == __file__


def test_old_and_new_together_and_too_many_positions_are_errors():
    with pytest.raises(TypeError, match="got both neuron_indices= and its old name neuron_ids="):
        generate("m", neuron_ids=[1], neuron_indices=[2])
    with pytest.raises(TypeError, match="multiple values for argument 'neuron_indices'"):
        with pytest.warns(DeprecationWarning):
            generate("m", [1], neuron_indices=[2])
    with pytest.raises(TypeError, match=r"takes 1 positional arguments but 3 were given"):
        generate("m", [1], 5)


@deprecated_arguments(renamed={"dataloader": "dataloaders"})
def train(model, dataloaders=None):
    return model, dataloaders


def test_an_old_keyword_beside_its_new_name_given_by_position_is_an_error():
    with pytest.warns(DeprecationWarning, match="write dataloaders="):
        assert train("m", dataloader="d") == ("m", "d")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any warning
        with pytest.raises(TypeError, match="got both dataloaders= and its old name dataloader="):
            train("m", "d", dataloader="d")


def test_an_unknown_keyword_still_fails_as_usual():
    with pytest.raises(TypeError, match="unexpected keyword argument 'neuron'"):
        generate("m", neuron=[1])


def test_the_wrapper_keeps_the_name_docstring_and_signature():
    assert generate.__name__ == "generate"
    assert "Stands in" in generate.__doc__
    assert list(inspect.signature(generate).parameters) == ["model", "neuron_indices", "iterations"]


def test_methods_count_self_as_positional():
    class Model:
        @deprecated_arguments(positional=("iterations",))
        def run(self, image, *, iterations=1):
            return image, iterations

    with pytest.warns(DeprecationWarning, match=r"Model.run\(\) by position"):
        assert Model().run("x", 4) == ("x", 4)
