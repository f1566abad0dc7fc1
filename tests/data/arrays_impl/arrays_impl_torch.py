"""Users' PyTorch code for array cases: custom autograd Functions whose backward passes
diffcheck runs, right and wrong, and a plain function of tensors."""

import numpy as np
import torch


class Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z):
        out = torch.tanh(z)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out**2)


class TanhForgetful(torch.autograd.Function):
    """The backward pass forgets the factor 2 of tanh(2 z)."""

    @staticmethod
    def forward(ctx, z):
        out = torch.tanh(2 * z)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (1 - out**2)


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W.T + b

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved_tensors
        return g @ W, g.T @ x, g.sum(dim=0)


class LinearSingle(torch.autograd.Function):
    """A backward pass computed in float32 (torch casts the result back to float64)."""

    @staticmethod
    def forward(ctx, x, W, b):
        ctx.save_for_backward(x, W)
        return x @ W.T + b

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved_tensors
        x, W, g = x.float(), W.float(), g.float()
        return g @ W, g.T @ x, g.sum(dim=0)


class LinearRaising(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        return x @ W.T + b

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("backward of Linear is not written yet")


def mse(W, x, y):
    return ((W @ x - y) ** 2).mean()


def mse_detached(W, x, y):
    return torch.as_tensor(((W @ x - y) ** 2).mean().item())


def tanh_layer_numpy(x, W, b):  # NumPy code in a module that also uses torch
    return np.tanh(x @ W.T + b)
