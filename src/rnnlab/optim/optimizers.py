"""SGD (with momentum), Adam, AdamW, RMSprop and Adagrad, with PyTorch's update rules, on flat buffers.

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


def _check_weight_decay(weight_decay) -> float:
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) or not weight_decay >= 0.0:
        raise ConfigError(f"weight_decay should be a number >= 0, got {weight_decay!r}")
    return float(weight_decay)


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (eps > 0 and math.isfinite(eps)):
        raise ConfigError(f"eps should be a positive number, got {eps!r}")
    return float(eps)


def _check_momentum(momentum) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
        raise ConfigError(f"momentum should be in [0, 1), got {momentum!r}")
    return float(momentum)


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
        self.momentum = _check_momentum(momentum)
        self.weight_decay = _check_weight_decay(weight_decay)
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
    ``weight_decay`` adds ``weight_decay * p`` to the gradient first (L2; :class:`AdamW` decouples it).
    State: ``m`` and ``v``, each shaped like the module's flat parameters.
    """

    decoupled = False  # AdamW: the decay shrinks the parameters instead of entering the moments

    def __init__(self, module, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(module, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ConfigError(f"betas should be in [0, 1), got {betas!r}")
        self.betas = (float(b1), float(b2))
        self.eps = _check_eps(eps)
        self.weight_decay = _check_weight_decay(weight_decay)
        self._m = np.zeros_like(self._params)
        self._v = np.zeros_like(self._params)
        self._tmp = np.empty_like(self._params)
        self._tmp2 = np.empty_like(self._params) if self.weight_decay and not self.decoupled else None

    def step(self) -> None:
        """Update the parameters in place from their gradients."""
        p, g = self._buffers()
        b1, b2 = self.betas
        m, v, tmp = self._m, self._v, self._tmp
        if self.weight_decay and self.decoupled:
            p *= 1.0 - self.lr * self.weight_decay
        elif self.weight_decay:
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


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), exactly as ``torch.optim.AdamW``.

    Each step first shrinks the parameters, ``p *= 1 - lr * weight_decay``, then takes Adam's step
    on the plain gradient: the decay does not pass through the moments, so it is the same for every
    parameter whatever its gradients' scale. Defaults as PyTorch's (``weight_decay`` 0.01).
    """

    decoupled = True

    def __init__(self, module, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(module, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e; char-rnn's optimizer), exactly as ``torch.optim.RMSprop``.

    ``s = alpha s + (1 - alpha) g^2``; the denominator is ``sqrt(s) + eps``, or with
    ``centered`` ``sqrt(s - a^2) + eps`` where ``a = alpha a + (1 - alpha) g`` (the gradient's
    running mean: its running variance normalises instead). Then ``p -= lr * g / denominator``,
    or with ``momentum`` ``b = momentum b + g / denominator`` and ``p -= lr * b``.
    ``weight_decay`` adds ``weight_decay * p`` to the gradient first. State: ``square_avg``,
    ``grad_avg`` (centered) and ``momentum_buffer`` (momentum), shaped like the flat parameters.
    """

    def __init__(self, module, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(module, lr)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha < 1.0:
            raise ConfigError(f"alpha (the squared gradient's smoothing) should be in [0, 1), got {alpha!r}")
        if not isinstance(centered, bool):
            raise ConfigError(f"centered should be True or False, got {centered!r}")
        self.alpha = float(alpha)
        self.eps = _check_eps(eps)
        self.weight_decay = _check_weight_decay(weight_decay)
        self.momentum = _check_momentum(momentum)
        self.centered = centered
        self._square_avg = np.zeros_like(self._params)
        self._grad_avg = np.zeros_like(self._params) if centered else None
        self._buffer = np.zeros_like(self._params) if self.momentum else None
        self._tmp = np.empty_like(self._params)
        self._tmp2 = np.empty_like(self._params) if self.weight_decay else None

    def step(self) -> None:
        """Update the parameters in place from their gradients."""
        p, g = self._buffers()
        a, s, tmp = self.alpha, self._square_avg, self._tmp
        if self.weight_decay:
            g = np.multiply(p, self.weight_decay, out=self._tmp2)
            g += self._grads
        s *= a
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - a
        s += tmp
        if self._grad_avg is not None:
            ga = self._grad_avg
            np.subtract(g, ga, out=tmp)  # torch: ga.lerp_(g, 1 - alpha)
            tmp *= 1.0 - a
            ga += tmp
            np.multiply(ga, ga, out=tmp)
            np.subtract(s, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)  # g / denominator
        if self._buffer is not None:
            self._buffer *= self.momentum
            self._buffer += tmp
            tmp = np.multiply(self._buffer, self.lr, out=tmp)
        else:
            tmp *= self.lr
        p -= tmp
        self.steps += 1

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(alpha=self.alpha, eps=self.eps, weight_decay=self.weight_decay, momentum=self.momentum,
                     centered=self.centered, square_avg=self._square_avg.copy())
        if self._grad_avg is not None:
            state["grad_avg"] = self._grad_avg.copy()
        if self._buffer is not None:
            state["momentum_buffer"] = self._buffer.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        _copy_buffer(self._square_avg, state["square_avg"], "square_avg")
        if self._grad_avg is not None:
            _copy_buffer(self._grad_avg, state["grad_avg"], "grad_avg")
        if self._buffer is not None:
            _copy_buffer(self._buffer, state["momentum_buffer"], "momentum_buffer")


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer; min-char-rnn's optimizer), exactly as ``torch.optim.Adagrad``.

    ``s += g^2``; ``p -= lr_t * g / (sqrt(s) + eps)`` with ``lr_t = lr / (1 + (t - 1) lr_decay)``
    at step t. ``s`` starts at ``initial_accumulator_value``; ``weight_decay`` adds
    ``weight_decay * p`` to the gradient first. State: ``sum``, shaped like the flat parameters.
    """

    def __init__(self, module, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(module, lr)
        for name, value in (("lr_decay", lr_decay), ("initial_accumulator_value", initial_accumulator_value)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0.0:
                raise ConfigError(f"{name} should be a number >= 0, got {value!r}")
        self.lr_decay = float(lr_decay)
        self.weight_decay = _check_weight_decay(weight_decay)
        self.eps = _check_eps(eps)
        self._sum = np.full_like(self._params, initial_accumulator_value)
        self._tmp = np.empty_like(self._params)
        self._tmp2 = np.empty_like(self._params) if self.weight_decay else None

    def step(self) -> None:
        """Update the parameters in place from their gradients."""
        p, g = self._buffers()
        if self.weight_decay:
            g = np.multiply(p, self.weight_decay, out=self._tmp2)
            g += self._grads
        self.steps += 1
        lr = self.lr / (1.0 + (self.steps - 1) * self.lr_decay)
        tmp = np.multiply(g, g, out=self._tmp)
        self._sum += tmp
        np.sqrt(self._sum, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.update(lr_decay=self.lr_decay, weight_decay=self.weight_decay, eps=self.eps, sum=self._sum.copy())
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        _copy_buffer(self._sum, state["sum"], "sum")


OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad}
WITH_MOMENTUM = ("sgd", "rmsprop")


def make_optimizer(name: str, module, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> Optimizer:
    """Build an optimizer by name (a key of ``OPTIMIZERS``), with its other settings PyTorch's defaults.

    ``momentum`` applies to "sgd" and "rmsprop" only; ``weight_decay`` is an L2 term in the gradient,
    except for "adamw", where it is decoupled.
    """
    check_optimizer_choice(name, momentum)
    if name in WITH_MOMENTUM:
        return OPTIMIZERS[name](module, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return OPTIMIZERS[name](module, lr=lr, weight_decay=weight_decay)


def check_optimizer_choice(name: str, momentum: float = 0.0) -> None:
    """Raise ConfigError unless ``name`` is an optimizer's and ``momentum`` (when not 0) applies to it."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer should be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    if momentum and name not in WITH_MOMENTUM:
        raise ConfigError(f"momentum applies to the {' and '.join(WITH_MOMENTUM)} optimizers only, not {name}")
