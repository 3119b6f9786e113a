#!/usr/bin/python3
"""Train the built-in lenet5-adder architecture on MNIST, as a test fixture
for the quant package (accuracy of quantization on real data).

Run with Debian's Python, which has torch:

    /usr/bin/python3 quant/testdata/train_lenet5.py [EPOCHS]

It reads MNIST from GoMNIST's data/ folder in the Go module cache and
writes lenet5_mnist.pth (torch.save zip format, float32, the PyTorch key
names of model/specs/lenet5-adder.json) next to this script. The committed
file was made with 5 epochs (about 4 minutes on 2 cores): 99.18% top-1 on
the MNIST test set, in PyTorch and in addergen's float64 reference alike.

The adder layers use the AdderNet paper's gradients: full-precision
dY/dF = X - F, HardTanh(F - X) for dY/dX, and the adaptive learning-rate
scaling eta*sqrt(k)/||dF|| of the adder weights' gradient.
"""

import gzip
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(2)
torch.manual_seed(1)


def mnist_dir():
    cache = subprocess.check_output(["go", "env", "GOMODCACHE"], text=True).strip()
    return os.path.join(cache, "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data")


def idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    magic = int.from_bytes(b[:4], "big")
    nd = magic & 0xFF
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


class AdderFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xcol, w):  # xcol [N, R, L], w [O, R]
        ctx.save_for_backward(xcol, w)
        # -sum_r |x - w| as an L1 distance: [N, L, O] -> [N, O, L]
        return -torch.cdist(xcol.transpose(1, 2), w.unsqueeze(0), p=1).transpose(1, 2)

    @staticmethod
    def backward(ctx, g):  # g [N, O, L]
        xcol, w = ctx.saved_tensors
        # dY/dF = X - F (full precision): sum_{n,l} (x - w) g
        gw = torch.einsum("nrl,nol->or", xcol, g) - w * g.sum((0, 2)).unsqueeze(1)
        # dY/dX = HardTanh(F - X)
        gx = (w.unsqueeze(0).unsqueeze(3) - xcol.unsqueeze(1)).clamp_(-1, 1).mul_(g.unsqueeze(2)).sum(1)
        # adaptive learning rate (paper eq. 13), eta = 0.2
        gw = gw * (0.2 * np.sqrt(gw.numel()) / (gw.norm() + 1e-12))
        return gx, gw


class Adder2d(nn.Module):
    def __init__(self, cin, cout, k, padding=0):
        super().__init__()
        self.k, self.p = k, padding
        self.adder = nn.Parameter(nn.init.normal_(torch.empty(cout, cin, k, k)))

    def forward(self, x):
        n, c, h, w = x.shape
        oh, ow = h + 2 * self.p - self.k + 1, w + 2 * self.p - self.k + 1
        xcol = F.unfold(x, self.k, padding=self.p)
        y = AdderFn.apply(xcol, self.adder.view(self.adder.shape[0], -1))
        return y.view(n, -1, oh, ow)


class LeNet(nn.Module):
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


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    d = mnist_dir()
    xtr = torch.tensor(idx(os.path.join(d, "train-images-idx3-ubyte.gz")), dtype=torch.float32).unsqueeze(1) / 255
    ytr = torch.tensor(idx(os.path.join(d, "train-labels-idx1-ubyte.gz")), dtype=torch.long)
    xte = torch.tensor(idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")), dtype=torch.float32).unsqueeze(1) / 255
    yte = torch.tensor(idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")), dtype=torch.long)
    net = LeNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    bs = 128
    steps = epochs * (len(xtr) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=steps)
    step = 0
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(len(xtr) // bs):
            idxs = perm[i * bs:(i + 1) * bs]
            loss = F.cross_entropy(net(xtr[idxs]), ytr[idxs])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 100 == 0:
                print(f"epoch {ep} step {step}/{steps} loss {loss.item():.4f}", flush=True)
        net.eval()
        with torch.no_grad():
            correct = sum((net(xte[j:j + 1000]).argmax(1) == yte[j:j + 1000]).sum().item() for j in range(0, len(xte), 1000))
        print(f"epoch {ep}: test top-1 {correct / 100:.2f}%", flush=True)
    torch.save(net.state_dict(), os.path.join(HERE, "lenet5_mnist.pth"))


if __name__ == "__main__":
    main()
