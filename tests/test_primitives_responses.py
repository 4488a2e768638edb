"""Motion primitives (first-layer filters as heatmaps and moving skeletons) and filter
responses (|X_l| per class, one PNG per class on a shared scale)."""

from __future__ import annotations

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from tdf.data.layout import GROUPS, JOINT_INDEX, group_mask
from tdf.diagnose.primitives import (dim_order, first_layer_filters, primitive_frames,
                                     primitive_heatmaps, rank_filters)
from tdf.diagnose.responses import (common_scale, filter_responses, plot_class_responses,
                                    response_layer)
from tdf.errors import BadInput
from tdf.models import build_ms_res_tcn, build_res_tcn


def _model(k=4, mean=None, filters=(6, 8)):
    return build_res_tcn(3, None, filters=filters, units_per_block=1, kernel_size=k,
                         mean_skeleton=mean)


def _skeleton_mean(seed=0):
    """A plausible mean: body 1 joints spread over ~1 unit, body 2 small non-zero."""
    rng = np.random.default_rng(seed)
    mean = np.zeros((2, 25, 3))
    mean[0] = rng.uniform(-0.5, 0.5, (25, 3))
    mean[0, :, 1] = np.linspace(-0.8, 0.8, 25)  # y spans 1.6
    mean[1] = rng.uniform(-0.05, 0.05, (25, 3))
    return mean.reshape(150)


# ----------------------------------------------------------------------------- primitives


def test_first_layer_filters_is_the_conv1_kernel():
    model = _model(k=5)
    got = first_layer_filters(model)
    assert got.shape == (5, 150, 6)
    np.testing.assert_array_equal(got, model.get_layer("conv1").get_weights()[0])
    ms = build_ms_res_tcn(3, group_mask(["hands"]), None, filters=(4, 8), units_per_block=1,
                          kernel_size=3)
    np.testing.assert_array_equal(first_layer_filters(ms, "ta"),
                                  ms.get_layer("ta_conv1").get_weights()[0])
    np.testing.assert_array_equal(first_layer_filters(ms, "main"),
                                  ms.get_layer("main_conv1").get_weights()[0])
    with pytest.raises(BadInput):
        first_layer_filters(ms)


def test_rank_filters_by_norm():
    kernel = np.zeros((2, 3, 4))
    kernel[0, 0] = [1.0, 3.0, 0.5, 3.0]   # norms 1, 3, 0.5, 3 → 1 and 3 tie (index order)
    np.testing.assert_array_equal(rank_filters(kernel), [1, 3, 0, 2])


def test_dim_order_groups_bodies_and_xyz():
    order, spans = dim_order()
    assert sorted(order.tolist()) == list(range(150))
    head, neck = JOINT_INDEX["Head"], JOINT_INDEX["Neck"]
    assert order[:6].tolist() == [3 * head, 3 * head + 1, 3 * head + 2,
                                  3 * neck, 3 * neck + 1, 3 * neck + 2]
    assert spans[0] == (0, 6, "head")
    assert [s[2] for s in spans[:len(GROUPS)]] == list(GROUPS)
    assert spans[len(GROUPS)] == (75, 81, "head (body 2)")
    assert order[75] == 75 + 3 * head
    for start, stop, label in spans:  # every span's dims belong to its group and body
        name = label.replace(" (body 2)", "")
        body = 1 if "body 2" in label else 0
        mask = group_mask(name).reshape(2, 75)[body]
        dims = order[start:stop] - 75 * body
        assert mask[dims].all() and mask.sum() == stop - start


def test_primitive_heatmaps_png_and_choice(tmp_path):
    model = _model(k=4, filters=(6, 8))
    kern, bias = model.get_layer("conv1").get_weights()
    scale = np.array([1.0, 0.1, 5.0, 0.2, 3.0, 0.3], np.float32)
    model.get_layer("conv1").set_weights([kern * scale, bias])
    shown = primitive_heatmaps(model, tmp_path / "p.png", max_filters=3)
    norms = np.linalg.norm((kern * scale).reshape(-1, 6), axis=0)
    assert shown == np.argsort(-norms)[:3].tolist()
    image = iio.imread(tmp_path / "p.png")
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 200
    every = primitive_heatmaps(model, tmp_path / "all.png", max_filters=50)
    assert sorted(every) == list(range(6))
    with pytest.raises(ValueError):
        primitive_heatmaps(model, tmp_path / "x.png", max_filters=0)


def test_primitive_frames_mean_plus_scaled_filter():
    mean = _skeleton_mean()
    model = _model(k=4, mean=mean)
    w = model.get_layer("conv1").get_weights()[0][:, :, 2].astype(np.float64)
    frames = primitive_frames(model, 2, scale=0.5, bodies=2)
    assert frames.shape == (4, 150)
    np.testing.assert_allclose(frames, mean[None] + 0.5 * w, rtol=1e-6, atol=1e-6)
    # Automatic scale: the largest filter value moves a coordinate by 1/4 of the extent (1.6).
    auto = primitive_frames(model, 2).astype(np.float64)
    moved = np.abs(auto[:, :75] - mean[None, :75]).max()
    np.testing.assert_allclose(moved, 0.25 * 1.6 * np.abs(w[:, :75]).max() / np.abs(w).max(),
                               rtol=1e-5)
    assert np.all(auto[:, 75:] == 0.0)  # bodies=1: body 2 absent
    with pytest.raises(BadInput, match="outside"):
        primitive_frames(model, 6)


def test_primitive_gif(tmp_path):
    pytest.importorskip("tdf.render")
    from tdf.diagnose.primitives import primitive_gif
    model = _model(k=4, mean=_skeleton_mean())
    primitive_gif(model, 1, tmp_path / "f1.gif")
    frames = iio.imread(tmp_path / "f1.gif", index=None)
    assert frames.ndim == 4 and len(frames) >= 4


# ----------------------------------------------------------------------------- responses


def test_filter_responses_are_abs_unit_outputs():
    model = _model(k=3, filters=(6, 8))
    x = np.random.default_rng(0).normal(size=(5, 11, 150)).astype(np.float32)
    got = filter_responses(model, x, "unit3", batch_size=2)
    want = np.abs(np.asarray(keras.Model(model.input, model.get_layer("unit3").output)(x)))
    assert got.shape == (5, 6, 8)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert np.all(got >= 0)
    np.testing.assert_allclose(filter_responses(model, x, 1), np.abs(np.asarray(
        keras.Model(model.input, model.get_layer("conv1").output)(x))), rtol=1e-5, atol=1e-6)


def test_response_layer_names_for_ms_streams():
    ms = build_ms_res_tcn(3, group_mask(["hands"]), None, filters=(4, 8), units_per_block=1)
    assert response_layer(ms, "unit2", "main") == "main_unit2_piped"
    assert response_layer(ms, "unit2", "ta") == "ta_unit2"
    assert response_layer(ms, 3, "ta") == "ta_unit3_piped"
    assert response_layer(ms, "conv1", "ta") == "ta_conv1"
    assert response_layer(ms, "main_unit2", "main") == "main_unit2"  # an explicit layer name
    with pytest.raises(BadInput, match="unknown layer"):
        response_layer(ms, "unit9", "main")


def test_common_scale_order_and_vmax():
    a = np.zeros((1, 2, 3))
    a[0, :, 2] = 4.0
    a[0, :, 0] = 1.0
    b = np.zeros((2, 2, 3))
    b[..., 1] = 2.0
    order, vmax = common_scale({"a": a, "b": b}, percentile=100)
    # mean per filter over 6 rows: f0 = 2/6, f1 = 8/6, f2 = 8/6 → f1, f2 (tie by index), f0
    np.testing.assert_array_equal(order, [1, 2, 0])
    assert vmax == 4.0
    with pytest.raises(ValueError):
        common_scale({})
    with pytest.raises(ValueError):
        common_scale({"a": a, "c": np.zeros((1, 2, 4))})
    with pytest.raises(ValueError):
        common_scale({"a": np.zeros((0, 2, 3))})


def test_plot_class_responses_shared_scale(tmp_path):
    """A weak class (all 1) and a strong one (all 10) on one scale: only the strong class
    reaches the top colour. Per-class scaling would paint both at the top colour."""
    weak = np.ones((3, 12, 8))
    strong = np.full((4, 12, 8), 10.0)
    paths = plot_class_responses({"read/ing": weak, "jump up": strong}, tmp_path / "resp",
                                 samples=2, layer="unit3")
    assert [p.name for p in paths] == ["read_ing.png", "jump_up.png"]
    top = np.array([252, 253, 191])  # magma(1.0)

    def top_pixels(path):
        img = iio.imread(path)[..., :3].astype(int)
        return int((np.abs(img - top).sum(axis=-1) < 12).sum())
    # The colour bar's top end has the top colour in both pictures; the heatmaps only in one.
    assert top_pixels(paths[1]) > top_pixels(paths[0]) + 2000
    with pytest.raises(ValueError):
        plot_class_responses({"a": weak}, tmp_path, samples=0)
