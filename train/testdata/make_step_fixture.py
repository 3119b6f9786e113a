#!/usr/bin/python3
"""Make the PyTorch reference of addergen's training step (train package).

Run with Debian's Python, which has torch (the pyenv python3 does not):

    /usr/bin/python3 train/testdata/make_step_fixture.py

An independent PyTorch implementation of AdderNet's training rules
(Chen et al., CVPR 2020, and the official adder.py):

  * adder2d forward Y = -sum |X - F| over unfolded (zero-padded) patches,
    as a custom autograd Function whose backward is the paper's:
      dY/dF = X - F            (or sgn(X - F) for the "sign" variant)
      dY/dX = HT(F - X)        (or F - X unclipped for "nohardtanh")
    and whose filter gradient is rescaled by eta*sqrt(k)/||grad||_2 with
    eta = 0.2 (skipped for "noalr"), exactly as the official code
    (grad / norm.clamp(min=1e-12) * sqrt(numel) / 5);
  * batch norm in training mode (F.batch_norm, momentum 0.1);
  * softmax cross-entropy, mean over the batch;
  * torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4).

The net is step_spec.json (conv2d, batchnorm2d, relu, maxpool2d, adder2d,
add, avgpool2d, adder2d with bias, flatten, linear), all in float64. Two
SGD steps are taken on two batches of 6 samples.

Writes, next to this script:

  step_init.npz          initial state_dict (float64), spec keys
  step_x.npy             inputs [12, 2, 8, 8] float64 (batch s = rows 6s..6s+5)
  step_x.labels.npy      labels [12] int64
  step_after_<v>.npz     state_dict after the two steps, plus
                         "momentum.<key>" SGD momentum buffers and
                         "loss" [2], for v in full, sign, nohardtanh, noalr
"""

import math
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ETA = 0.2
LR, MOMENTUM, WD = 0.1, 0.9, 5e-4
BATCH, STEPS = 6, 2

VARIANTS = {
    "full": dict(sign=False, ht=True, alr=True),
    "sign": dict(sign=True, ht=True, alr=True),
    "nohardtanh": dict(sign=False, ht=False, alr=True),
    "noalr": dict(sign=False, ht=True, alr=False),
}


class AdderFn(torch.autograd.Function):
    """W_col [OC, R], X_col [R, L] -> -sum_r |X - W| [OC, L]."""

    @staticmethod
    def forward(ctx, W_col, X_col, sign, ht, alr):
        ctx.save_for_backward(W_col, X_col)
        ctx.rules = (sign, ht, alr)
        return -(W_col.unsqueeze(2) - X_col.unsqueeze(0)).abs().sum(1)

    @staticmethod
    def backward(ctx, g):
        W_col, X_col = ctx.saved_tensors
        sign, ht, alr = ctx.rules
        diff = X_col.unsqueeze(0) - W_col.unsqueeze(2)  # X - F, [OC, R, L]
        dF = diff.sign() if sign else diff
        grad_W = (dF * g.unsqueeze(1)).sum(2)
        if alr:
            grad_W = grad_W / grad_W.norm(p=2).clamp(min=1e-12) * math.sqrt(W_col.numel()) * ETA
        dX = (-diff).clamp(-1, 1) if ht else -diff  # HT(F - X) or F - X
        grad_X = (dX * g.unsqueeze(1)).sum(0)
        return grad_W, grad_X, None, None, None


def adder2d(X, W, b, padding, rules):
    n, _, h, w = X.shape
    oc, _, k, _ = W.shape
    ho, wo = h - k + 2 * padding + 1, w - k + 2 * padding + 1
    X_col = F.unfold(X, k, padding=padding)  # [n, R, L]
    X_col = X_col.permute(1, 2, 0).reshape(X_col.shape[1], -1)  # [R, L*n]
    out = AdderFn.apply(W.view(oc, -1), X_col, *rules)
    out = out.view(oc, ho, wo, n).permute(3, 0, 1, 2)
    if b is not None:
        out = out + b.view(1, -1, 1, 1)
    return out


def forward(p, x, rules):
    def bn(name, t):
        return F.batch_norm(t, p[name + ".running_mean"], p[name + ".running_var"],
                            p[name + ".weight"], p[name + ".bias"], training=True, momentum=0.1, eps=1e-5)

    h = F.conv2d(x, p["c1.weight"], p["c1.bias"], padding=1)
    h = F.max_pool2d(F.relu(bn("bn1", h)), 2)
    a = bn("bn2", adder2d(h, p["a1.adder"], None, 1, rules))
    h = F.avg_pool2d(F.relu(a + h), 2)
    h = F.relu(bn("bn3", adder2d(h, p["a2.adder"], p["a2.b"], 0, rules)))
    h = torch.flatten(h, 1)
    return F.linear(h, p["fc.weight"], p["fc.bias"])


def init_state(rng):
    def u(shape, fan_in):
        b = 1 / math.sqrt(fan_in)
        return rng.uniform(-b, b, shape)

    s = {
        "c1.weight": u((4, 2, 3, 3), 18), "c1.bias": u((4,), 18),
        "a1.adder": rng.normal(0, 1, (4, 4, 3, 3)),
        "a2.adder": rng.normal(0, 1, (6, 4, 2, 2)), "a2.b": rng.uniform(0, 1, (6,)),
        "fc.weight": u((3, 6), 6), "fc.bias": u((3,), 6),
    }
    for name, c in (("bn1", 4), ("bn2", 4), ("bn3", 6)):
        s[name + ".weight"] = rng.uniform(0.5, 1.5, (c,))
        s[name + ".bias"] = rng.uniform(-0.5, 0.5, (c,))
        s[name + ".running_mean"] = rng.normal(0, 0.1, (c,))
        s[name + ".running_var"] = rng.uniform(0.5, 1.5, (c,))
    return s


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20200614)
    init = init_state(rng)
    x = rng.normal(0.3, 1.2, (STEPS * BATCH, 2, 8, 8))
    y = rng.integers(0, 3, STEPS * BATCH).astype(np.int64)
    np.savez(os.path.join(HERE, "step_init.npz"), **init)
    np.save(os.path.join(HERE, "step_x.npy"), x)
    np.save(os.path.join(HERE, "step_x.labels.npy"), y)

    for vname, v in VARIANTS.items():
        rules = (v["sign"], v["ht"], v["alr"])
        p = {k: torch.tensor(a) for k, a in init.items()}
        trainable = [k for k in p if not k.endswith(("running_mean", "running_var"))]
        for k in trainable:
            p[k].requires_grad_(True)
        opt = torch.optim.SGD([p[k] for k in trainable], lr=LR, momentum=MOMENTUM, weight_decay=WD)
        losses = []
        for s in range(STEPS):
            xb = torch.tensor(x[s * BATCH:(s + 1) * BATCH])
            yb = torch.tensor(y[s * BATCH:(s + 1) * BATCH])
            opt.zero_grad()
            loss = F.cross_entropy(forward(p, xb, rules), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        out = {k: t.detach().numpy() for k, t in p.items()}
        for k in trainable:
            out["momentum." + k] = opt.state[p[k]]["momentum_buffer"].numpy()
        out["loss"] = np.array(losses)
        np.savez(os.path.join(HERE, "step_after_%s.npz" % vname), **out)
        print(vname, "losses", losses)


if __name__ == "__main__":
    main()
