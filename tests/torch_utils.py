"""Helpers for the PyTorch parity tests (torch is a test dependency only)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
# relative error bounds for parity with PyTorch (|a - b| / (|a| + |b|), L2 norms)
TOL = {np.float32: 1e-4, np.float64: 1e-9}


def tensor(a, dtype, grad=False):
    t = torch.tensor(np.asarray(a), dtype=TORCH_DTYPES[dtype])
    return t.requires_grad_(grad)


def copy_params(module, params: dict, dtype):
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(np.asarray(params[name], dtype=dtype)))


def torch_direction(layer, params, sfx, x, mask):
    """One layer-direction of an rnnlab recurrent layer over one sequence, written out in PyTorch from
    the equations: x (T, D); mask (1, P) multiplies h_{t-1} inside the recurrent product (recurrent
    dropout) or is None; ``layer.layer_norm`` normalises both products and the LSTM's cell state."""
    cell, H, P, dtype = layer.cell, layer.hidden_size, layer.output_size, x.dtype
    h, c = torch.zeros(1, P, dtype=dtype), torch.zeros(1, H, dtype=dtype)

    def norm(a, kind):
        return torch.nn.functional.layer_norm(a, a.shape[-1:], params[kind + sfx], params.get("ln_bias_c" + sfx)
                                              if kind == "ln_weight_c" else None, eps=1e-5)

    def biased(a, kind):
        return a + params[kind + sfx] if kind + sfx in params else a

    outs = []
    for t in range(x.shape[0]):
        gi = x[t : t + 1] @ params["weight_ih" + sfx].T
        gh = (h if mask is None else h * mask) @ params["weight_hh" + sfx].T
        if layer.layer_norm:
            gi, gh = norm(gi, "ln_weight_ih"), norm(gh, "ln_weight_hh")
        gi, gh = biased(gi, "bias_ih"), biased(gh, "bias_hh")
        if cell == "rnn":
            h = torch.tanh(gi + gh) if layer.nonlinearity == "tanh" else torch.relu(gi + gh)
        elif cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(norm(c, "ln_weight_c") if layer.layer_norm else c)
            if layer.proj_size:
                h = h @ params["weight_hr" + sfx].T
        else:
            (ir, iz, i_n), (hr, hz, hn) = gi.chunk(3, dim=1), gh.chunk(3, dim=1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(i_n + r * hn)
            h = (1 - z) * n + z * h  # the direct path reads h_{t-1} unmasked
        outs.append(h)
    return torch.cat(outs)


def torch_layer_loop(layer, params, x, lengths, masks=()):
    """An rnnlab recurrent layer's outputs, one sequence at a time over its own length (no padding to
    model), from :func:`torch_direction`: params, PyTorch tensors by name; x (N, T, D) batch first;
    masks: ``layer.recurrent_masks`` or empty. Yields each sequence's (length, Dn*P) output."""
    Dn, dtype = layer.num_directions, TORCH_DTYPES[layer.dtype.type]
    for s in range(x.shape[0]):
        inp = torch.tensor(x[s, : lengths[s]], dtype=dtype)
        for k in range(layer.num_layers):
            outs = []
            for d in range(Dn):
                sfx = f"_l{k}" + ("_reverse" if d else "")
                mask = torch.tensor(masks[k * Dn + d][s : s + 1], dtype=dtype) if masks else None
                o = torch_direction(layer, params, sfx, inp if d == 0 else inp.flip(0), mask)
                outs.append(o if d == 0 else o.flip(0))
            inp = torch.cat(outs, dim=1)
        yield inp


def assert_matches_torch_loop(layer, x, lengths, rng):
    """An rnnlab layer (training mode, any options :func:`torch_direction` models) against the PyTorch
    loop with the same weights and the same recurrent dropout masks: each sequence's outputs, and every
    parameter gradient from a random output gradient, within ``TOL`` of the layer's dtype."""
    from conftest import rel_error

    dtype = layer.dtype.type
    lengths = np.asarray(lengths)
    out, _ = layer.forward(x, lengths=lengths)
    g_out = rng.standard_normal(out.shape).astype(dtype)
    layer.backward(g_out)
    params = {k: tensor(v, dtype, grad=True) for k, v in layer.params.items()}
    loss = 0
    for s, seq_out in enumerate(torch_layer_loop(layer, params, x, lengths, layer.recurrent_masks)):
        np.testing.assert_allclose(seq_out.detach().numpy(), out[s, : lengths[s]], rtol=0, atol=TOL[dtype] * 10)
        loss = loss + (seq_out * tensor(g_out[s, : lengths[s]], dtype)).sum()
    loss.backward()
    for name, p in params.items():
        assert rel_error(layer.grads[name], p.grad.numpy()) < TOL[dtype], name
