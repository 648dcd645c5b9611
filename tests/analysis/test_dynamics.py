import numpy as np
import pytest

from mnemoscope.analysis.dynamics import cartography, forgetting_events, never_learned
from mnemoscope.studies.profiles.dynamics import image_scores


def test_forgetting_events_count_learned_then_forgotten_transitions():
    # 0 1 1 0 1 0 0 1: forgotten after epochs 3 and 5 -> 2 events; 0 -> 1 is learning, not counted
    sequence = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    assert forgetting_events(sequence) == 2
    assert forgetting_events(np.array([1, 1, 1])) == 0  # unforgettable
    assert forgetting_events(np.array([0, 0, 0])) == 0  # never learned: no event either
    assert forgetting_events(np.array([1])) == 0


def test_forgetting_events_reduce_only_the_epoch_axis():
    # [epoch=4, example=3]
    correct = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 1]])
    np.testing.assert_array_equal(forgetting_events(correct, axis=0), [2, 0, 1])
    np.testing.assert_array_equal(forgetting_events(correct.T, axis=1), [2, 0, 1])
    np.testing.assert_array_equal(never_learned(np.array([[0, 1], [0, 0]]), axis=0), [True, False])


def test_cartography_is_mean_population_sd_and_fraction_correct():
    probability = np.array([0.2, 0.4, 0.9, 0.5])
    correct = np.array([0, 0, 1, 1])
    confidence, variability, correctness = cartography(probability, correct)
    assert confidence == pytest.approx(0.5)
    assert variability == pytest.approx(np.sqrt((0.09 + 0.01 + 0.16 + 0.0) / 4))
    assert correctness == pytest.approx(0.5)


def test_cartography_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        cartography(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cartography(np.array([0.5, 1.5]), np.array([0, 1]))


def test_image_scores_drop_initialization_and_average_networks_and_views():
    # [N=2, E=4 (epoch 0 = init), M=1, X=2]
    views = np.zeros((2, 4, 1, 2), dtype=np.uint8)
    views[0, :, 0, 0] = [1, 0, 0, 1]  # recognized at initialization only: not forgotten
    views[1, :, 0, 0] = [0, 1, 0, 1]  # one event
    views[:, :, 0, 1] = [0, 1, 1, 1]
    probabilities = views.astype(np.float32) * 0.8 + 0.1
    scores = image_scores(views, probabilities)
    np.testing.assert_allclose(scores["forgetting_events"], [0.5, 0.0])
    np.testing.assert_allclose(scores["correctness"], [0.5, 1.0])
    np.testing.assert_allclose(scores["confidence"], [0.5, 0.9])
    np.testing.assert_allclose(scores["never_learned"], [0.0, 0.0])
    with pytest.raises(ValueError, match="after initialization"):
        image_scores(views[:, :1], probabilities[:, :1])


def test_first_learned_is_the_first_recognized_measurement_or_censored():
    from mnemoscope.analysis.dynamics import first_learned

    assert first_learned(np.array([0, 0, 1, 0, 1])) == 2
    assert first_learned(np.array([1, 0, 0])) == 0
    assert first_learned(np.array([0, 0, 0])) == 3  # never: one past the last measurement
    # [epoch=3, example=3]
    correct = np.array([[0, 1, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(first_learned(correct, axis=0), [1, 0, 3])
