"""The paper's network: 2.5D records, the modified GoogLeNet, training,
inference. Keras 3 code, so the model runs under the TensorFlow, JAX or
PyTorch backend; records are read and batches made without TensorFlow."""

import os

# TensorFlow's C++ start-up chatter (CPU features, missing CUDA) is not news.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
