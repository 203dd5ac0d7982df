"""The modified GoogLeNet: geometry, size and cost against the Inception v1 table."""

import numpy as np
import pytest

from brainmets.network.model import WeightedSigmoidCrossEntropy, build_model, forward_flops

# Szegedy et al. 2015, Table 1, written out here independently of the model
# code: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, and the
# module's output depth.
INCEPTION_V1 = [
    ("3a", 64, 96, 128, 16, 32, 32, 256),
    ("3b", 128, 128, 192, 32, 96, 64, 480),
    ("4a", 192, 96, 208, 16, 48, 64, 512),
    ("4b", 160, 112, 224, 24, 64, 64, 512),
    ("4c", 128, 128, 256, 24, 64, 64, 512),
    ("4d", 112, 144, 288, 32, 64, 64, 528),
    ("4e", 256, 160, 320, 32, 128, 128, 832),
    ("5a", 256, 160, 320, 32, 128, 128, 832),
    ("5b", 384, 192, 384, 48, 128, 128, 1024),
]


def expected_parameters(channels: int) -> int:
    def conv_bn(k, cin, cout):  # bias-free kernel + BN gamma, beta, mean, variance
        return k * k * cin * cout + 4 * cout

    n = conv_bn(7, channels, 64) + conv_bn(1, 64, 64) + conv_bn(3, 64, 192)
    depth = 192
    for _, b1, r3, b3, r5, b5, pp, out in INCEPTION_V1:
        n += conv_bn(1, depth, b1) + conv_bn(1, depth, r3) + conv_bn(3, r3, b3)
        n += conv_bn(1, depth, r5) + conv_bn(5, r5, b5) + conv_bn(1, depth, pp)
        assert b1 + b3 + b5 + pp == out
        depth = out
    return n + 8 * 8 * depth * 1 + 1  # transposed conv to one logit, with bias


@pytest.fixture(scope="module")
def full_width():
    return build_model(channels=28, width=1.0, input_size=256)


def test_parameter_count_matches_inception_v1_table(full_width):
    assert full_width.count_params() == expected_parameters(28)


def test_module_depths_follow_the_table(full_width):
    for name, *_, out in INCEPTION_V1:
        assert full_width.get_layer(f"inception_{name}_concat").output.shape[-1] == out


def test_output_equals_input_and_downsampling_is_4x(full_width):
    assert full_width.output.shape == (None, 256, 256, 1)
    assert full_width.get_layer("conv1_7x7").output.shape[1:3] == (256, 256)  # stride 1
    assert full_width.get_layer("inception_3a_concat").output.shape[1:3] == (128, 128)
    assert full_width.get_layer("inception_4e_concat").output.shape[1:3] == (128, 128)  # pool 3 removed
    assert full_width.get_layer("inception_5b_concat").output.shape[1:3] == (64, 64)  # 4x in all
    pools = [l.name for l in full_width.layers if l.__class__.__name__ == "MaxPooling2D" and l.strides == (2, 2)]
    assert pools == ["pool2", "pool4"]
    batch_norms = sum(l.__class__.__name__ == "BatchNormalization" for l in full_width.layers)
    convs = sum(l.__class__.__name__ == "Conv2D" for l in full_width.layers)
    assert batch_norms == convs == 3 + 6 * 9


def test_forward_cost_of_a_full_slice(full_width):
    # About 157 GFLOP for a 256x256x28 slice at full width.
    assert forward_flops(full_width) == pytest.approx(157.4e9, rel=0.01)


def test_narrow_model_runs_on_any_multiple_of_four():
    model = build_model(channels=28, width=0.0625)
    x = np.random.default_rng(0).random((2, 48, 40, 28)).astype("float32")
    assert model.predict_on_batch(x).shape == (2, 48, 40, 1)
    assert model.count_params() < expected_parameters(28) / 100


def test_weighted_loss_matches_formula():
    logits = np.array([[-2.0, 0.5, 3.0, -0.1]], "float32").reshape(1, 2, 2, 1)
    labels = np.array([[1, 0, 1, 0]], "float32").reshape(1, 2, 2, 1)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = np.mean(-(10 * labels * np.log(p) + (1 - labels) * np.log(1 - p)))
    got = float(WeightedSigmoidCrossEntropy(10.0)(labels, logits))
    assert got == pytest.approx(expected, rel=1e-5)
