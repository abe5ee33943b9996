"""SGD (with momentum) and Adam, with PyTorch's update rules, on flat buffers.

Usage::

    opt = Adam(model, lr=1e-3)
    model.zero_grad(); loss = model.train_batch(x, y); opt.step()
"""

from __future__ import annotations

import math

import numpy as np

from rnnlab.errors import ConfigError


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (lr > 0 and math.isfinite(lr)):
        raise ConfigError(f"learning rate should be a positive number, got {lr!r}")
    return float(lr)


def _copy_buffer(own: np.ndarray, value, name: str) -> None:
    value = np.asarray(value)
    if value.shape != own.shape:
        raise ConfigError(f"optimizer state {name!r} has shape {value.shape}, this model needs {own.shape}")
    if value.dtype.kind not in "fiu" or not np.isfinite(value).all():
        raise ConfigError(f"optimizer state {name!r} should hold finite numbers")
    own[...] = value


class Optimizer:
    """Base class: holds the module, the learning rate and the step counter."""

    def __init__(self, module, lr: float):
        self.module = module
        self.lr = _check_lr(lr)
        self.steps = 0
        self._params, self._grads = module.flat_parameters()

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        p, g = self.module.flat_parameters()
        if p is not self._params:  # an enclosing model re-laid the buffers out: follow it
            self._params, self._grads = p, g
        return p, g

    def zero_grad(self) -> None:
        """Zero the module's gradients."""
        self.module.zero_grad()

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict:
        """The optimizer's state: scalars and buffers (copies), enough to resume exactly."""
        return {"lr": self.lr, "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.lr = _check_lr(state["lr"])
        steps = state["steps"]
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ConfigError(f"optimizer state 'steps' should be a step count >= 0, got {steps!r}")
        self.steps = int(steps)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    ``v = momentum * v + g``; ``p -= lr * v`` (plain SGD when momentum is 0).
    ``weight_decay`` adds ``weight_decay * p`` to the gradient first.
    """

    def __init__(self, module, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(module, lr)
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"momentum should be in [0, 1), got {momentum!r}")
        if not weight_decay >= 0.0:
            raise ConfigError(f"weight_decay should be >= 0, got {weight_decay!r}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self._velocity = np.zeros_like(self._params) if self.momentum else None
        self._tmp = np.empty_like(self._params)

    def step(self) -> None:
        """Update the parameters in place from their gradients."""
        p, g = self._buffers()
        d = g
        if self.weight_decay:
            d = np.multiply(p, self.weight_decay, out=self._tmp)
            d += g
        if self._velocity is not None:
            v = self._velocity
            if self.steps == 0:
                v[...] = d
            else:
                v *= self.momentum
                v += d
            d = v
        if d is self._tmp:
            d *= self.lr
        else:
            d = np.multiply(d, self.lr, out=self._tmp)
        p -= d
        self.steps += 1

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(momentum=self.momentum, weight_decay=self.weight_decay)
        if self._velocity is not None:
            state["velocity"] = self._velocity.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if self._velocity is not None:
            _copy_buffer(self._velocity, state["velocity"], "velocity")


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly as ``torch.optim.Adam`` (no amsgrad).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    ``weight_decay`` adds ``weight_decay * p`` to the gradient first (L2, not AdamW).
    """

    def __init__(self, module, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(module, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ConfigError(f"betas should be in [0, 1), got {betas!r}")
        if not eps > 0:
            raise ConfigError(f"eps should be positive, got {eps!r}")
        if not weight_decay >= 0.0:
            raise ConfigError(f"weight_decay should be >= 0, got {weight_decay!r}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self._m = np.zeros_like(self._params)
        self._v = np.zeros_like(self._params)
        self._tmp = np.empty_like(self._params)
        self._tmp2 = np.empty_like(self._params) if self.weight_decay else None

    def step(self) -> None:
        """Update the parameters in place from their gradients."""
        p, g = self._buffers()
        b1, b2 = self.betas
        m, v, tmp = self._m, self._v, self._tmp
        if self.weight_decay:
            g = np.multiply(p, self.weight_decay, out=self._tmp2)
            g += self._grads
        self.steps += 1
        t = self.steps
        # m = b1 m + (1 - b1) g  (torch: m.lerp_(g, 1 - b1))
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        # v = b2 v + (1 - b2) g^2
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        # p -= step_size * m / (sqrt(v) / sqrt(bc2) + eps)
        step_size = self.lr / (1.0 - b1**t)
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2**t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p -= tmp

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(betas=list(self.betas), eps=self.eps, weight_decay=self.weight_decay,
                     m=self._m.copy(), v=self._v.copy())
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        _copy_buffer(self._m, state["m"], "m")
        _copy_buffer(self._v, state["v"], "v")


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, module, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> Optimizer:
    """Build an optimizer by name: "sgd" (``momentum`` applies) or "adam"."""
    if name == "sgd":
        return SGD(module, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        if momentum:
            raise ConfigError("momentum applies to sgd only; Adam has betas")
        return Adam(module, lr=lr, weight_decay=weight_decay)
    raise ConfigError(f"optimizer should be one of {', '.join(OPTIMIZERS)}, got {name!r}")
