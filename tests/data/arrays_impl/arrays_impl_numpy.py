"""Users' NumPy code for array cases: a linear layer y = x @ W.T + b and its backward
passes, right and wrong, as the tests of array implementations import them."""

import numpy as np


def linear(x, W, b):
    return x @ W.T + b


def linear_backward(x, W, b, g):
    return {"x": g @ W, "W": g.T @ x, "b": g.sum(axis=0)}


def linear_backward_no_transpose(x, W, b, g):
    return {"x": g @ W, "W": x.T @ g, "b": g.sum(axis=0)}  # dW is (g.T @ x).T


def linear_backward_tuple(x, W, b, g):
    return (g.T @ x, g @ W)  # in wrt order: W, x


def linear_backward32(x, W, b, g):
    x, W, g = x.astype(np.float32), W.astype(np.float32), g.astype(np.float32)
    return {"x": g @ W, "W": g.T @ x, "b": g.sum(axis=0)}


def linear_backward_raising(x, W, b, g):
    raise ValueError(f"cannot multiply {g.shape} by {W.shape}")


def linear_backward_nan(x, W, b, g):
    dx = g @ W
    dx[0, 1] = np.nan
    return {"x": dx, "W": g.T @ x, "b": g.sum(axis=0)}


def linear_backward_number(x, W, b, g):
    return 0.0


def linear_backward_list(x, W, b, g):
    return {"x": g @ W, "W": "g.T @ x", "b": g.sum(axis=0)}


def mse(W, x, y):
    r = W @ x - y
    return float(r @ r) / len(y)


def mse_gradient(W, x, y):
    r = W @ x - y
    return {"W": 2 * np.outer(r, x) / len(y), "x": 2 * W.T @ r / len(y)}


def mse_gradient_half(W, x, y):
    r = W @ x - y
    return {"W": np.outer(r, x) / len(y), "x": 2 * W.T @ r / len(y)}


def scaled_gradient(W, x, y, s):
    r = W @ x - y
    return {"W": s * 2 * np.outer(r, x) / len(y), "s": float(r @ r) / len(y)}
