"""Where fold-batched CNN training spends its time on the CPU (issue 15): a PyTorch replica of
one training step of dpwear's batched CNN (`models::classifiers::batched_cnn`: grouped
channels-last convolutions with M groups, per-model dropout masks interleaved with the models'
channels, batched matmuls for the dense layers), profiled with torch.profiler, and the
convolution alone (forward + backward) per model, grouped against one model at a time.

Run with any Python that has torch, e.g. the bench-only venv of bench/dgan_vs_gretel.sh:
    bench/.venv-gretel/bin/python bench/fold_batch_profile.py [MODELS] [THREADS]
(defaults 15 and 2). Prints the profiler's table (self CPU time per op over 2 steps) and the
per-model convolution times. Random weights and inputs: only the shapes matter here.
"""
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

M = int(sys.argv[1]) if len(sys.argv) > 1 else 15
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
B, C, H, W = 50, 64, 6, 210


def conv(x, w, b, groups):
    """Grouped (1, 3) 'same' convolution on channels-last (B, H, W, groups·c_in)."""
    y = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w, b, padding=(0, 1), groups=groups)
    return y.permute(0, 2, 3, 1).contiguous()


def pool(x):
    """Max over pairs along the width, as dpwear's max_pool_pairs."""
    s = list(x.shape)
    half = s[2] // 2
    pairs = x.narrow(2, 0, 2 * half).reshape(s[0], s[1], half, 2, s[3])
    with torch.no_grad():
        second = (pairs.select(3, 1) > pairs.select(3, 0)).long().unsqueeze(3)
    return pairs.gather(3, second).squeeze(3)


def dropout(x):
    """Per-model masks in the single model's (B, H, W, 64) layout, multiplied in through the
    interleaved (model, channel) layout of the activations."""
    s = x.shape
    masks = (torch.rand(M, s[0], s[1], s[2], C) > 0.3).float() / 0.7
    return (x.view(s[0], s[1], s[2], M, C) * masks.permute(1, 2, 3, 0, 4)).reshape(s)


conv_w = [torch.randn(M * C, 1, 1, 3, requires_grad=True)]
conv_w += [torch.randn(M * C, C, 1, 3, requires_grad=True) for _ in range(3)]
conv_b = [torch.zeros(M * C, requires_grad=True) for _ in range(4)]
dense_w = [
    (torch.randn(M, 128, C * H * 52) * 0.01).requires_grad_(),
    torch.randn(M, 64, 128, requires_grad=True),
    torch.randn(M, 2, 64, requires_grad=True),
]
x_in = torch.randn(M, B, H, W)


def step():
    h = x_in.permute(1, 2, 3, 0).contiguous()
    h = dropout(conv(h, conv_w[0], conv_b[0], M).relu())
    h = dropout(conv(h, conv_w[1], conv_b[1], M).relu())
    h = dropout(pool(conv(h, conv_w[2], conv_b[2], M).relu()))
    h = dropout(conv(h, conv_w[3], conv_b[3], M).relu())
    h = dropout(pool(h))
    h = h.view(B, H, 52, M, C).permute(3, 0, 4, 1, 2).reshape(M, B, -1)
    for w in dense_w:
        h = h.matmul(w.transpose(1, 2))
    h.sum().backward()


step()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(2):
        step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=22))


def per_model_ms(models, f, reps=5):
    f()
    f()
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps * 1000 / models


w1 = torch.randn(C, C, 1, 3, requires_grad=True)
x1 = torch.randn(B, C, H, W).to(memory_format=torch.channels_last).requires_grad_()
wg = torch.randn(M * C, C, 1, 3, requires_grad=True)
xg = torch.randn(B, M * C, H, W).to(memory_format=torch.channels_last).requires_grad_()
single = per_model_ms(
    1, lambda: torch.nn.functional.conv2d(x1, w1, padding=(0, 1)).sum().backward()
)
grouped = per_model_ms(
    M, lambda: torch.nn.functional.conv2d(xg, wg, padding=(0, 1), groups=M).sum().backward()
)
print(f"conv 64→64 at width {W}, forward + backward, per model: one model {single:.1f} ms, "
      f"{M} grouped {grouped:.1f} ms ({grouped / single:.2f}×)")
