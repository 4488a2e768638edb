import numpy as np
import pytest

from tdf.train.metrics import compute_metrics, topk_correct


def test_hand_computed_metrics():
    # 3 classes; 5 samples. Predictions: [0, 1, 1, 2, 0]; labels [0, 0, 1, 2, 2].
    scores = np.array([[.9, .05, .05], [.2, .7, .1], [.1, .8, .1], [.1, .1, .8], [.5, .1, .4]])
    labels = np.array([0, 0, 1, 2, 2])
    m = compute_metrics(scores, labels, ["a", "b", "c"], "test")
    assert m["top1"] == pytest.approx(3 / 5)
    assert m["per_class_accuracy"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert m["mean_class_accuracy"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    # top-2: sample 1 (true a: scores b .7, a .2) is in top-2; sample 4 (true c: .5, .4) is too.
    assert topk_correct(scores, labels, 2).tolist() == [True, True, True, True, True]
    assert m["top5"] == 1.0 and m["n"] == 5


def test_absent_class_is_null_and_excluded():
    scores = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    m = compute_metrics(scores, np.array([0, 0]), ["a", "b", "c"], "val")
    assert m["per_class_accuracy"] == {"a": 0.5, "b": None, "c": None}
    assert m["mean_class_accuracy"] == 0.5
    assert np.array(m["confusion_matrix"]).sum() == 2


def test_shape_mismatch():
    with pytest.raises(ValueError):
        compute_metrics(np.zeros((2, 2)), np.array([0, 1]), ["a", "b", "c"], "test")
