"""The modified GoogLeNet (Inception v1) of Grovik et al., in Keras 3.

Changes from Szegedy et al. (2015), as the paper describes them:

* the first 7x7 convolution has stride 1 (not 2);
* the first and third max-pool are removed, so only pool 2 (after the stem)
  and pool 4 (between inception 4e and 5a) remain: 4x downsampling, not 32x;
* batch normalization after every convolution;
* average pool, dropout and the fully connected classifier are replaced by
  one 8x8 transposed convolution with stride 4 to a single logit channel,
  so the output has the input's height and width.

Only backend-neutral ``keras`` and ``keras.ops`` are used.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

# Inception v1 table (Szegedy et al. 2015, Table 1): #1x1, #3x3 reduce, #3x3,
# #5x5 reduce, #5x5, pool proj.
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
STEM = {"conv1": 64, "conv2_reduce": 64, "conv2": 192}
DOWNSAMPLING = 4
OUTPUT_KERNEL = 8


def scaled(channels: int, width: float) -> int:
    """Channels of a layer under the width multiplier (at least one)."""
    return max(1, int(round(channels * width)))


def _l2(l2):
    return keras.regularizers.L2(l2) if l2 else None


def _conv_bn(x, filters, kernel, name, l2, bn, strides=1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, kernel_regularizer=_l2(l2), name=name)(x)
    x = layers.BatchNormalization(**bn, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _inception(x, name, spec, width, l2, bn):
    b1, r3, b3, r5, b5, pp = (scaled(c, width) for c in spec)
    p = f"inception_{name}"
    branch1 = _conv_bn(x, b1, 1, f"{p}_1x1", l2, bn)
    branch3 = _conv_bn(_conv_bn(x, r3, 1, f"{p}_3x3_reduce", l2, bn), b3, 3, f"{p}_3x3", l2, bn)
    branch5 = _conv_bn(_conv_bn(x, r5, 1, f"{p}_5x5_reduce", l2, bn), b5, 5, f"{p}_5x5", l2, bn)
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{p}_pool")(x)
    branch_pool = _conv_bn(pooled, pp, 1, f"{p}_pool_proj", l2, bn)
    return layers.Concatenate(name=f"{p}_concat")([branch1, branch3, branch5, branch_pool])


# The one layer that sees the input channels (fine-tuning on fewer sequences
# keeps its weights of those).
FIRST_LAYER = "conv1_7x7"


def build_model(
    channels: int = 28, width: float = 1.0, l2: float = 1e-5, input_size: int | None = None, bn_momentum: float = 0.9, synchronized_bn: bool = False
) -> keras.Model:
    """The network: (batch, H, W, channels) images -> (batch, H, W, 1) logits.

    H and W must be multiples of 4; ``input_size`` fixes them (for counting
    FLOPs), otherwise any size is accepted. ``bn_momentum`` is the batch
    norm running-average momentum (the paper does not give it; 0.9 lets the
    running statistics settle within a short training). ``synchronized_bn``
    computes batch statistics over all replicas' examples (several GPUs).
    """
    m = {"momentum": bn_momentum, "synchronized": synchronized_bn}
    inputs = keras.Input((input_size, input_size, channels), name="slices")
    x = _conv_bn(inputs, scaled(STEM["conv1"], width), 7, FIRST_LAYER, l2, m)  # stride 1
    # (max-pool 1 removed)
    x = _conv_bn(x, scaled(STEM["conv2_reduce"], width), 1, "conv2_3x3_reduce", l2, m)
    x = _conv_bn(x, scaled(STEM["conv2"], width), 3, "conv2_3x3", l2, m)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    x = _inception(x, "3a", INCEPTION["3a"], width, l2, m)
    x = _inception(x, "3b", INCEPTION["3b"], width, l2, m)
    # (max-pool 3 removed)
    for name in ("4a", "4b", "4c", "4d", "4e"):
        x = _inception(x, name, INCEPTION[name], width, l2, m)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool4")(x)
    x = _inception(x, "5a", INCEPTION["5a"], width, l2, m)
    x = _inception(x, "5b", INCEPTION["5b"], width, l2, m)
    # float32 logits even under a mixed-precision policy.
    logits = layers.Conv2DTranspose(
        1, OUTPUT_KERNEL, strides=DOWNSAMPLING, padding="same", kernel_regularizer=_l2(l2), name="logits", dtype="float32"
    )(x)
    return keras.Model(inputs, logits, name="grovik_googlenet")


def forward_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of every convolution for one example; the model must
    be built with a fixed ``input_size``. Pooling, BN and ReLU are not counted."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            _, h, w, cin = layer.input.shape
            total += 2 * h * w * math.prod(layer.kernel_size) * cin * layer.filters
        elif isinstance(layer, layers.Conv2D):
            _, h, w, cout = layer.output.shape
            cin = layer.input.shape[-1]
            total += 2 * h * w * math.prod(layer.kernel_size) * cin * cout
    return int(total)


@keras.saving.register_keras_serializable(package="brainmets")
class WeightedSigmoidCrossEntropy(keras.losses.Loss):
    """Sigmoid cross-entropy on logits with lesion voxels weighted
    ``positive_weight`` times (the paper: 10)."""

    def __init__(self, positive_weight: float = 10.0, name="weighted_sigmoid_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.positive_weight = float(positive_weight)

    def call(self, y_true, y_pred):
        logits = ops.cast(y_pred, "float32")
        y = ops.cast(y_true, "float32")
        return -(self.positive_weight * y * ops.log_sigmoid(logits) + (1.0 - y) * ops.log_sigmoid(-logits))

    def get_config(self):
        return {**super().get_config(), "positive_weight": self.positive_weight}


@keras.saving.register_keras_serializable(package="brainmets")
class VoxelDice(keras.metrics.Metric):
    """Dice of all voxels seen (2TP / (2TP + FP + FN)) at probability 0.5."""

    def __init__(self, name="dice", **kwargs):
        super().__init__(name=name, **kwargs)
        self.tp = self.add_variable((), initializer="zeros", name="tp")
        self.fp = self.add_variable((), initializer="zeros", name="fp")
        self.fn = self.add_variable((), initializer="zeros", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = ops.cast(y_true, "float32") > 0.5
        pred = ops.cast(y_pred, "float32") > 0.0  # logit 0 = probability 0.5
        self.tp.assign_add(ops.sum(ops.cast(truth & pred, "float32")))
        self.fp.assign_add(ops.sum(ops.cast(~truth & pred, "float32")))
        self.fn.assign_add(ops.sum(ops.cast(truth & ~pred, "float32")))

    def result(self):
        return ops.divide_no_nan(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn)

    def reset_state(self):
        for v in (self.tp, self.fp, self.fn):
            v.assign(0.0)


def compile_model(model: keras.Model, settings: dict) -> keras.Model:
    """Adam and the weighted loss with the paper's (configurable) values."""
    optimizer = keras.optimizers.Adam(
        learning_rate=settings["learning_rate"], beta_1=settings["beta_1"], beta_2=settings["beta_2"]
    )
    model.compile(
        optimizer=optimizer,
        loss=WeightedSigmoidCrossEntropy(settings["positive_weight"]),
        metrics=[VoxelDice()],
        # Tiny smoke runs: tracing the step as a graph takes longer than they train.
        run_eagerly=settings.get("run_eagerly", False),
    )
    return model
