#!/usr/bin/env python3
"""PyTorch side of `make bench-compare` (scripts/bench-compare.sh).

Times, on every core of this machine, the float forward of LeNet-5 (the
lenet5-adder built-in spec) and ResNet-20 (the official AdderNet layout) in
two ways:

  official  the official AdderNet adder layer: unfold, subtract, abs, sum
            (adder.py of huawei-noah/AdderNet, forward only)
  cdist     the same L1 distances with torch.cdist(p=1)

Weights are random (the time does not depend on their values). Batches
match sim's benchmarks: LeNet 256 MNIST-shaped images, ResNet-20 8
CIFAR-shaped images. Prints one line per (net, mode): `torch-<mode> <net>
<images/s>`, the median of --count timed runs after one warm-up run.

Exits 3 with a message on stderr when torch is not installed (PyTorch is
optional; Debian's package is python3-torch).
"""

import argparse
import os
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("bench_torch: torch is not installed (Debian: apt-get install python3-torch); PyTorch rows skipped", file=sys.stderr)
    sys.exit(3)


class Adder2d(nn.Module):
    """The AdderNet L1 layer, Y = -sum |X - W| over the unfolded input."""

    mode = "official"

    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        super().__init__()
        self.stride, self.padding, self.kernel = stride, padding, kernel
        self.adder = nn.Parameter(torch.randn(cout, cin, kernel, kernel))

    def forward(self, x):
        n, _, h, w = x.shape
        cout = self.adder.shape[0]
        ho = (h - self.kernel + 2 * self.padding) // self.stride + 1
        wo = (w - self.kernel + 2 * self.padding) // self.stride + 1
        x_col = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # [N, R, L]
        w_col = self.adder.view(cout, -1)  # [Cout, R]
        if Adder2d.mode == "cdist":
            pix = x_col.permute(0, 2, 1).reshape(-1, x_col.size(1))  # [N*L, R]
            out = -torch.cdist(pix, w_col, p=1)  # [N*L, Cout]
            return out.view(n, ho, wo, cout).permute(0, 3, 1, 2).contiguous()
        x_col = x_col.permute(1, 2, 0).contiguous().view(x_col.size(1), -1)  # [R, L*N]
        out = -(w_col.unsqueeze(2) - x_col.unsqueeze(0)).abs().sum(1)  # [Cout, L*N]
        return out.view(cout, ho, wo, n).permute(3, 0, 1, 2).contiguous()


class LeNet5Adder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = Adder2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = Adder2d(16, 120, 5)
        self.bn3 = nn.BatchNorm2d(120)
        self.fc2 = Adder2d(120, 84, 1)
        self.bn4 = nn.BatchNorm2d(84)
        self.fc3 = nn.Conv2d(84, 10, 1, bias=False)
        self.bn5 = nn.BatchNorm2d(10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.relu(self.bn3(self.fc1(x)))
        x = F.relu(self.bn4(self.fc2(x)))
        return self.bn5(self.fc3(x)).flatten(1)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = Adder2d(inplanes, planes, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = Adder2d(planes, planes, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


class ResNet20(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._make_layer(16, 3)
        self.layer2 = self._make_layer(32, 3, stride=2)
        self.layer3 = self._make_layer(64, 3, stride=2)
        self.avgpool = nn.AvgPool2d(8, stride=1)
        self.fc = nn.Conv2d(64, num_classes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(Adder2d(self.inplanes, planes, 1, stride=stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.avgpool(self.layer3(self.layer2(self.layer1(x))))
        return self.bn2(self.fc(x)).flatten(1)


def images_per_s(model, x, count, min_time=1.0):
    """Median over count timed runs (each repeats the forward for at least
    min_time seconds) of images per second."""
    with torch.no_grad():
        model(x)  # warm-up
        rates = []
        for _ in range(count):
            n, t0 = 0, time.perf_counter()
            while True:
                model(x)
                n += 1
                dt = time.perf_counter() - t0
                if dt >= min_time:
                    break
            rates.append(n * x.shape[0] / dt)
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    nets = [("LeNet", LeNet5Adder(), torch.rand(256, 1, 28, 28)), ("ResNet-20", ResNet20(), torch.randn(8, 3, 32, 32))]
    for mode in ("official", "cdist"):
        Adder2d.mode = mode
        for name, model, x in nets:
            model.eval()
            print(f"torch-{mode} {name} {images_per_s(model, x, args.count):.1f}", flush=True)


if __name__ == "__main__":
    main()
