"""Fits a small two-layer network to a noisy curve with plain kiln ops.

Gradients are written out by hand (kiln's autodiff comes with the transforms work), so this
shows the lazy graph, matmul, elementwise math and reductions doing real work.
"""

import math
import time

import kiln.core as mx


def main():
    n, hidden = 2048, 32
    # Data: y = sin(3x) + 0.5x on [-1, 1] plus deterministic "noise".
    x = mx.linspace(-1.0, 1.0, n).reshape(n, 1)
    noise = 0.05 * mx.sin(mx.arange(n, dtype=mx.float32) * 12.9898).reshape(n, 1)
    y = mx.sin(3.0 * x) + 0.5 * x + noise

    # Parameters, initialized deterministically.
    w1 = 1.5 * mx.cos(mx.arange(hidden, dtype=mx.float32) * 1.7).reshape(1, hidden)
    b1 = 0.5 * mx.sin(mx.arange(hidden, dtype=mx.float32) * 2.3)
    w2 = 0.1 * mx.cos(mx.arange(hidden, dtype=mx.float32) * 0.7).reshape(hidden, 1)
    b2 = mx.zeros((1,))

    lr = 0.1
    start = time.perf_counter()
    for step in range(1501):
        # Forward: tanh hidden layer, linear output, mean squared error.
        h_pre = x @ w1 + b1
        h = mx.tanh(h_pre)
        pred = h @ w2 + b2
        err = pred - y
        loss = mx.mean(err * err)

        # Backward by hand.
        d_pred = (2.0 / n) * err
        d_w2 = h.T @ d_pred
        d_b2 = mx.sum(d_pred, axis=0)
        d_h = d_pred @ w2.T
        d_pre = d_h * (1.0 - h * h)
        d_w1 = x.T @ d_pre
        d_b1 = mx.sum(d_pre, axis=0)

        w1, b1 = w1 - lr * d_w1, b1 - lr * d_b1
        w2, b2 = w2 - lr * d_w2, b2 - lr * d_b2
        mx.eval(w1, b1, w2, b2, loss)
        if step % 300 == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}")
    elapsed = time.perf_counter() - start

    test_x = mx.array([[-0.75], [0.0], [0.5]])
    test_pred = mx.tanh(test_x @ w1 + b1) @ w2 + b2
    print(f"trained {step} steps in {elapsed:.2f} s on {mx.default_device()}")
    for xi, pi in zip(test_x.tolist(), test_pred.tolist()):
        target = math.sin(3 * xi[0]) + 0.5 * xi[0]
        print(f"f({xi[0]:+.2f}) = {pi[0]:+.4f}   (target {target:+.4f})")


if __name__ == "__main__":
    main()
