#!/usr/bin/python3
"""Make the PyTorch reference fixtures of addergen's model package.

Run with Debian's Python, which has torch (the pyenv python3 does not):

    /usr/bin/python3 model/testdata/make_fixtures.py

It writes, next to this script:

  lenet5_zip.pth          lenet5-adder weights, torch.save zip format
  lenet5_input.npy        2 random MNIST-shaped inputs (float32, values in [0,1))
  lenet5_ref.npz          every layer's output (float32), keyed by spec layer name
  lenet5_logits.npy       final logits (float64)

  tiny_zip.pth            tiny.json weights, zip format, with a transposed
                          (non-contiguous) tensor and one with a storage offset
  tiny_legacy.pth         same, legacy (non-zip) format
  tiny.npz                same as numpy arrays (numpy.savez)
  tiny.safetensors        same as safetensors (F32, I64 for num_batches_tracked)
  tiny_module.pth         the whole pickled nn.Module (zip format)
  tiny_module_legacy.pth  the whole pickled nn.Module (legacy format)
  tiny_ckpt.pth           {"epoch": 3, "state_dict": {"module." + key: ...}}
  tiny_input.npy, tiny_ref.npz, tiny_logits.npy
  cyclic.pth              a dict whose "state_dict" entry is itself (must be
                          rejected, not recursed into forever)

  resnet20_input.npy      4 random CIFAR-shaped inputs (float32)
  resnet20_ref.npz        avgpool output (float32) of the official checkpoint
  resnet20_logits.npy     logits of the official checkpoint (float64)

The ResNet-20 outputs need the official checkpoint ResNet20-AdderNet.pth,
found in shared/models/ in a parent folder; it is read, never copied.

All reference outputs are computed in float64 (model.double()) from the
float32 weights that the weight files hold.
"""

import collections
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class Adder2d(nn.Module):
    """The L1 adder layer of the official AdderNet adder.py (forward only):
    Y = -sum |X - W| over the unfolded (zero-padded) input, plus an optional
    bias "b" added after."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, bias=False):
        super().__init__()
        self.stride, self.padding, self.kernel = stride, padding, kernel
        self.adder = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = bias
        if bias:
            self.b = nn.Parameter(torch.rand(cout))

    def forward(self, x):
        n, _, h, w = x.shape
        cout = self.adder.shape[0]
        ho = (h - self.kernel + 2 * self.padding) // self.stride + 1
        wo = (w - self.kernel + 2 * self.padding) // self.stride + 1
        x_col = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # [N, R, L]
        x_col = x_col.permute(1, 2, 0).contiguous().view(x_col.size(1), -1)  # [R, L*N]
        w_col = self.adder.view(cout, -1)  # [Cout, R]
        out = -(w_col.unsqueeze(2) - x_col.unsqueeze(0)).abs().sum(1)  # [Cout, L*N]
        out = out.view(cout, ho, wo, n).permute(3, 0, 1, 2).contiguous()
        if self.bias:
            out = out + self.b.view(1, -1, 1, 1)
        return out


class LeNet5Adder(nn.Module):
    """The lenet5-adder built-in spec."""

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

    def forward_all(self, x):
        o = collections.OrderedDict()
        o["conv1"] = x = self.conv1(x)
        o["bn1"] = x = self.bn1(x)
        o["relu1"] = x = F.relu(x)
        o["pool1"] = x = F.max_pool2d(x, 2)
        o["conv2"] = x = self.conv2(x)
        o["bn2"] = x = self.bn2(x)
        o["relu2"] = x = F.relu(x)
        o["pool2"] = x = F.max_pool2d(x, 2)
        o["fc1"] = x = self.fc1(x)
        o["bn3"] = x = self.bn3(x)
        o["relu3"] = x = F.relu(x)
        o["fc2"] = x = self.fc2(x)
        o["bn4"] = x = self.bn4(x)
        o["relu4"] = x = F.relu(x)
        o["fc3"] = x = self.fc3(x)
        o["bn5"] = x = self.bn5(x)
        o["flatten"] = x.view(x.size(0), -1)
        return o

    def forward(self, x):
        return self.forward_all(x)["flatten"]


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = Adder2d(4, 8, 3, stride=2, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(8, eps=1e-3)
        self.conv2 = Adder2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.downsample = nn.Sequential(Adder2d(4, 8, 1, stride=2), nn.BatchNorm2d(8))


class TinyNet(nn.Module):
    """The testdata/tiny.json spec."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(4)
        self.block = Block()
        self.fc1 = nn.Linear(32, 16)
        self.classifier = nn.Linear(16, 5, bias=False)

    def forward_all(self, x):
        o = collections.OrderedDict()
        b = self.block
        o["conv1"] = x = self.conv1(x)
        o["bn1"] = x = self.bn1(x)
        o["relu1"] = r = F.relu(x)
        o["block.conv1"] = x = b.conv1(r)
        o["block.bn1"] = x = b.bn1(x)
        o["block.relu1"] = x = F.relu(x)
        o["block.conv2"] = x = b.conv2(x)
        o["block.bn2"] = x = b.bn2(x)
        o["block.downsample.0"] = d = b.downsample[0](r)
        o["block.downsample.1"] = d = b.downsample[1](d)
        o["block.add"] = x = x + d
        o["block.relu2"] = x = F.relu(x)
        o["pool1"] = x = F.max_pool2d(x, 3, stride=1)
        o["pool2"] = x = F.avg_pool2d(x, 2)
        o["flatten"] = x = x.view(x.size(0), -1)
        o["fc1"] = x = self.fc1(x)
        o["relu3"] = x = F.relu(x)
        o["fc2"] = self.classifier(x)
        return o

    def forward(self, x):
        return self.forward_all(x)["fc2"]


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
    """ResNet-20 AdderNet with the layout and state_dict keys of the
    official resnet20.py."""

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

    def forward_all(self, x):
        o = collections.OrderedDict()
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        o["avgpool"] = x = self.avgpool(x)
        x = self.bn2(self.fc(x))
        o["flatten"] = x.view(x.size(0), -1)
        return o


def randomize_bn(model, gen, batches):
    """Give every BatchNorm non-trivial running statistics (accumulated
    from real forwards in train mode) and random affine parameters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for x in batches:
            model(x)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_var.mul_(0.8 + 0.4 * torch.rand(c, generator=gen))
                m.running_mean.add_(0.1 * m.running_var.sqrt() * torch.randn(c, generator=gen))
    model.eval()


def reference(model, x):
    """Every named output of model on x, computed in float64."""
    m = model.double().eval()
    with torch.no_grad():
        outs = m.forward_all(x.double())
    model.float()
    return outs


def save_outputs(prefix, outs, final):
    np.savez_compressed(os.path.join(HERE, prefix + "_ref.npz"),
                        **{k: v.numpy().astype(np.float32) for k, v in outs.items()})
    np.save(os.path.join(HERE, prefix + "_logits.npy"), outs[final].numpy().astype(np.float64))


def write_safetensors(path, sd):
    """The safetensors format: 8-byte little-endian header length, JSON
    header, raw little-endian data (the safetensors package is not
    installed here)."""
    names = sorted(sd)
    header, blobs, off = {}, [], 0
    for k in names:
        a = sd[k].detach().contiguous().numpy()
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.float64): "F64"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def strided_state_dict(model):
    """The model's state_dict with fc1.weight stored as a transposed
    (non-contiguous) view and fc1.bias as a view at a storage offset, to
    exercise the loaders' stride and offset handling."""
    sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    sd["fc1.weight"] = sd["fc1.weight"].t().contiguous().t()
    assert not sd["fc1.weight"].is_contiguous()
    big = torch.cat([torch.zeros(5), sd["fc1.bias"]])
    sd["fc1.bias"] = big[5:]
    assert sd["fc1.bias"].storage_offset() == 5
    return sd


def find_checkpoint():
    d = HERE
    while True:
        p = os.path.join(d, "shared", "models", "ResNet20-AdderNet.pth")
        if os.path.exists(p):
            return p
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def main():
    torch.manual_seed(20200101)
    gen = torch.Generator().manual_seed(7)

    # LeNet-5 adder.
    lenet = LeNet5Adder()
    randomize_bn(lenet, gen, [torch.rand(64, 1, 28, 28, generator=gen) for _ in range(2)])
    torch.save(lenet.state_dict(), os.path.join(HERE, "lenet5_zip.pth"))
    x = torch.rand(2, 1, 28, 28, generator=gen)
    np.save(os.path.join(HERE, "lenet5_input.npy"), x.numpy())
    save_outputs("lenet5", reference(lenet, x), "flatten")

    # Tiny residual net, in every weight format.
    tiny = TinyNet()
    randomize_bn(tiny, gen, [torch.randn(32, 3, 12, 12, generator=gen) for _ in range(2)])
    sd = strided_state_dict(tiny)
    torch.save(sd, os.path.join(HERE, "tiny_zip.pth"))
    torch.save(sd, os.path.join(HERE, "tiny_legacy.pth"), _use_new_zipfile_serialization=False)
    np.savez(os.path.join(HERE, "tiny.npz"), **{k: v.contiguous().numpy() for k, v in sd.items()})
    write_safetensors(os.path.join(HERE, "tiny.safetensors"), sd)
    torch.save(tiny, os.path.join(HERE, "tiny_module.pth"))
    torch.save(tiny, os.path.join(HERE, "tiny_module_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 3, "state_dict": collections.OrderedDict(("module." + k, v) for k, v in tiny.state_dict().items())},
               os.path.join(HERE, "tiny_ckpt.pth"))
    cyclic = {}
    cyclic["state_dict"] = cyclic
    torch.save(cyclic, os.path.join(HERE, "cyclic.pth"))
    x = torch.randn(3, 3, 12, 12, generator=gen)
    np.save(os.path.join(HERE, "tiny_input.npy"), x.numpy())
    save_outputs("tiny", reference(tiny, x), "fc2")

    # The official ResNet-20 checkpoint.
    ckpt = find_checkpoint()
    if ckpt is None:
        print("ResNet20-AdderNet.pth not found; ResNet-20 fixtures not written", file=sys.stderr)
        return
    state = torch.load(ckpt, map_location="cpu")
    assert len(state) == 132, len(state)
    state = collections.OrderedDict((k[len("module."):], v) for k, v in state.items())
    net = ResNet20()
    net.load_state_dict(state, strict=True)
    x = torch.randn(4, 3, 32, 32, generator=gen)
    np.save(os.path.join(HERE, "resnet20_input.npy"), x.numpy())
    outs = reference(net, x)
    np.savez_compressed(os.path.join(HERE, "resnet20_ref.npz"), avgpool=outs["avgpool"].numpy().astype(np.float32))
    np.save(os.path.join(HERE, "resnet20_logits.npy"), outs["flatten"].numpy())
    print("resnet20 logits:", outs["flatten"].numpy()[0])


if __name__ == "__main__":
    main()
