"""Times gretel-synthetics' DGAN (PyTorch) on the reference's DoppelGANger configuration
(spec §3.2.2) over the reference's 1,083 sliding WESAD windows (60 s x 7 channels incl. the
label, all continuous), on CPU with a fixed thread count. Prints one JSON line.

Run by bench/dgan_vs_gretel.sh inside the bench-only venv bench/.venv-gretel.
Usage: python bench/gretel_dgan_epochs.py WINDOWS_NPY EPOCHS THREADS
"""
import json
import sys
import time

import numpy as np
import torch
from gretel_synthetics.timeseries_dgan.config import DGANConfig, Normalization, OutputType
from gretel_synthetics.timeseries_dgan.dgan import DGAN

path, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
np.random.seed(0)
x = np.load(path).astype(np.float32)  # (1083, 60, 7)
config = DGANConfig(
    max_sequence_len=60,
    sample_len=60,
    feature_noise_dim=10,
    attribute_noise_dim=10,
    feature_num_layers=1,
    feature_num_units=100,
    attribute_num_layers=3,
    attribute_num_units=100,
    normalization=Normalization.ZERO_ONE,
    apply_feature_scaling=False,
    apply_example_scaling=False,
    use_attribute_discriminator=False,
    forget_bias=False,
    gradient_penalty_coef=10.0,
    attribute_gradient_penalty_coef=10.0,
    attribute_loss_coef=1.0,
    generator_learning_rate=1e-4,
    generator_beta1=0.5,
    discriminator_learning_rate=1e-4,
    discriminator_beta1=0.5,
    batch_size=min(1000, x.shape[0]),
    epochs=epochs,
    discriminator_rounds=1,
    generator_rounds=1,
    cuda=False,
    mixed_precision_training=False,
)
model = DGAN(config)
t0 = time.perf_counter()
model.train_numpy(
    features=x,
    feature_types=[OutputType.CONTINUOUS] * x.shape[2],
)
wall = time.perf_counter() - t0
print(json.dumps({
    "impl": "gretel-synthetics DGAN",
    "version": __import__("importlib.metadata").metadata.version("gretel-synthetics"),
    "torch": torch.__version__,
    "threads": threads,
    "epochs": epochs,
    "windows": int(x.shape[0]),
    "wall_s": wall,
    "s_per_epoch": wall / epochs,
}))
