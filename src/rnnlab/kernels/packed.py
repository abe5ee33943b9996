"""The fused kernels' per-step matrix products: weights packed once per sequence, a register tile.

A recurrent step multiplies a few rows (N, about 32) by the same weights at every step:
``(N, K) @ (K, M)`` with K the hidden size and M = G*H. BLAS packs the weights into its own
layout again on every call, and at these shapes that costs: NumPy's OpenBLAS reached 71-72 GFLOP/s
on the LSTM's (32, H) by (H, 4H) at hidden 64, 256 and 512 on one core of this project's AMD EPYC
(Zen 3), where the tile below, on weights packed once, reached 85 at hidden 64 and 93 at 256 and
512 (2026-12-06, medians of 300 calls).

The weights are packed into **panels** of :func:`panel_width` columns (two SIMD vectors), each
panel's K rows stored one after the other (:func:`pack_columns`): a (panels, K, PANEL) array, zero
beyond the last real column. A product then runs a **register tile** over every panel: ``ROWS``
rows of the left matrix by one panel, 2 * ROWS vector accumulators, at each k one broadcast per
row and two vector loads of the panel (fewer rows for the last few). The tile is written in LLVM's
vector IR through numba's ``intrinsic`` (``<8 x float>`` where the machine has AVX, 16 wide with
AVX-512, 4 with SSE or NEON): numba's own loops over the same arithmetic did not keep the
accumulators in registers (a hand-written product measured 8-35 GFLOP/s against OpenBLAS's 107-111
in an earlier session).

Results differ from BLAS's in the last bits only (the sum over k runs in another order).
"""

from __future__ import annotations

import os

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rnnlab.errors import ConfigError

# no "nnan": a NaN must survive
JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract", "nsz", "arcp"}}


def vector_bytes() -> int:
    """The width of the SIMD registers the tiles use, in bytes: this machine's (64 with AVX-512, 32 with
    AVX, else 16), or ``RNNLAB_VECTOR_BYTES`` (16, 32 or 64; the tests check every width on one
    machine with it, LLVM splitting or joining the vectors the machine lacks)."""
    chosen = os.environ.get("RNNLAB_VECTOR_BYTES", "").strip()
    if chosen:
        if chosen not in ("16", "32", "64"):
            raise ConfigError(f"RNNLAB_VECTOR_BYTES should be 16, 32 or 64, got {chosen!r}")
        return int(chosen)
    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        return 64
    return 32 if features.get("avx") else 16


VECTOR_BYTES = vector_bytes()
ROWS = 6  # a tile's rows: 12 accumulators, 2 panel vectors and a broadcast fill 15 of AVX2's 16 registers
ROW_BLOCK = 48  # rows per block of a long product: the scratch of a cut-short panel stays small


def panel_width(dtype, vector_bytes: int = VECTOR_BYTES) -> int:
    """Columns per panel for ``dtype``: two SIMD vectors (16 float32 with AVX, 8 float64)."""
    return 2 * vector_bytes // np.dtype(dtype).itemsize


def pack_columns(w: np.ndarray, width: int | None = None) -> np.ndarray:
    """Weights (K, M) as panels: (ceil(M / width), K, width), panel p holding columns
    ``[p * width, (p + 1) * width)``, zeros past M. width: :func:`panel_width` of w's dtype."""
    K, M = w.shape
    width = panel_width(w.dtype) if width is None else width
    panels = -(-M // width)
    out = np.zeros((panels, K, width), w.dtype)
    full = M // width
    out[:full] = w[:, : full * width].reshape(K, full, width).transpose(1, 0, 2)
    if full < panels:
        out[full, :, : M - full * width] = w[:, full * width :]
    return out


class TileEmitter:
    """Writes one register tile's LLVM IR (see :func:`tile_intrinsic`): the loop over k, then the stores."""

    def __init__(self, context, builder, dtype, vector_bytes: int):
        self.builder = builder
        self.intp = context.get_value_type(types.intp)
        self.width = vector_bytes * 8 // dtype.bitwidth
        self.align = dtype.bitwidth // 8
        self.vec = ir.VectorType(context.get_value_type(dtype), self.width)
        self.zero = ir.Constant(self.vec, [0.0] * self.width)
        suffix = f"v{self.width}f{dtype.bitwidth}"  # fmuladd: one FMA where the machine has one
        self.muladd = cgutils.get_or_insert_function(builder.module, ir.FunctionType(self.vec, [self.vec] * 3),
                                                     f"llvm.fmuladd.{suffix}")

    def const(self, value: int):
        return ir.Constant(self.intp, value)

    def vector_at(self, pointer, offset):
        return self.builder.bitcast(self.builder.gep(pointer, [offset]), self.vec.as_pointer())

    def broadcast(self, x):
        """x in every lane."""
        b, vec = self.builder, self.vec
        lane0 = b.insert_element(ir.Constant(vec, None), x, ir.Constant(ir.IntType(32), 0))
        return b.shuffle_vector(lane0, ir.Constant(vec, None), ir.Constant(ir.VectorType(ir.IntType(32),
                                                                                         self.width), [0] * self.width))

    def emit(self, rows: int, pa, lda, pb, pc, ldc, k) -> None:
        """The tile: accumulators in registers over k, then each row's two vectors stored."""
        b = self.builder
        entry = b.block
        loop, done = b.append_basic_block("tile_k"), b.append_basic_block("tile_done")
        b.cbranch(b.icmp_signed(">", k, self.const(0)), loop, done)
        b.position_at_end(loop)
        i = b.phi(self.intp)
        acc = [[b.phi(self.vec) for _ in range(2)] for _ in range(rows)]
        panel_row = b.gep(pb, [b.mul(i, self.const(2 * self.width))])
        bv = [b.load(self.vector_at(panel_row, self.const(v * self.width)), align=self.align) for v in range(2)]
        new = []
        for r in range(rows):
            xv = self.broadcast(b.load(b.gep(pa, [b.add(b.mul(self.const(r), lda), i)])))
            new.append([b.call(self.muladd, [xv, bv[v], acc[r][v]]) for v in range(2)])
        i_next = b.add(i, self.const(1))
        end = b.block
        i.add_incoming(self.const(0), entry)
        i.add_incoming(i_next, end)
        for r in range(rows):
            for v in range(2):
                acc[r][v].add_incoming(self.zero, entry)
                acc[r][v].add_incoming(new[r][v], end)
        b.cbranch(b.icmp_signed("<", i_next, k), loop, done)
        b.position_at_end(done)
        totals = [[b.phi(self.vec) for _ in range(2)] for _ in range(rows)]  # every phi first, as LLVM asks
        for r in range(rows):
            for v in range(2):
                totals[r][v].add_incoming(self.zero, entry)
                totals[r][v].add_incoming(new[r][v], end)
                at = b.add(b.mul(self.const(r), ldc), self.const(v * self.width))
                b.store(totals[r][v], self.vector_at(pc, at), align=self.align)


@intrinsic
def data_pointer(typingctx, array):
    """The address of a C-contiguous array's first element, as a typed pointer (what a product takes)."""
    if not (isinstance(array, types.Array) and array.layout == "C"):
        return None

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(array.dtype)(array), codegen


def tile_intrinsic(rows: int):
    """The register tile of ``rows`` rows as a numba intrinsic::

        tile(a, a_off, lda, b, b_off, c, c_off, ldc, k)

    writes ``c[c_off + r * ldc + j] = sum_i a[a_off + r * lda + i] * b[b_off + i * PANEL + j]``
    for r < rows, j < PANEL, i < k (a, b, c: pointers to one float dtype; offsets in elements)."""

    @intrinsic
    def tile(typingctx, a, a_off, lda, b, b_off, c, c_off, ldc, k):
        if not all(isinstance(t, types.CPointer) and t.dtype == a.dtype for t in (a, b, c)):
            return None
        sig = types.void(a, types.intp, types.intp, b, types.intp, c, types.intp, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            pa, a_off, lda, pb, b_off, pc, c_off, ldc, k = args
            emitter = TileEmitter(context, builder, signature.args[0].dtype, VECTOR_BYTES)
            a, b, c = (builder.gep(pointer, [offset]) for pointer, offset in ((pa, a_off), (pb, b_off), (pc, c_off)))
            emitter.emit(rows, a, lda, b, c, ldc, k)
            return context.get_dummy_value()

        return sig, codegen

    return tile


T1, T2, T3, T4, T5, T6 = (tile_intrinsic(r) for r in range(1, ROWS + 1))


@numba.njit(**JIT)
def panel(a, a_off, lda, n, k, b, b_off, c, c_off, ldc):
    """Rows ``[0, n)`` of the product by one panel: tiles of 6 rows, the last 7 to 9 as 4 + 3 to 5 (a
    tile of 4 rows keeps both FMA units busy, one of 1 to 3 rows does not: 32 rows run as 6, 6,
    6, 6, 4, 4 instead of 6 x 5 and 2)."""
    r = 0
    while n - r >= 10 or n - r == 6:
        T6(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)
        r += 6
    if n - r >= 7:
        T4(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)
        r += 4
    rest = n - r
    if rest == 1:
        T1(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)
    elif rest == 2:
        T2(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)
    elif rest == 3:
        T3(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)
    elif rest == 4:
        T4(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)
    elif rest == 5:
        T5(a, a_off + r * lda, lda, b, b_off, c, c_off + r * ldc, ldc, k)


def product(a, a_off, lda, n, k, b, panels, width, c, c_off, ldc, cols, scratch):
    """``c[c_off + r * ldc + j] = sum_i a[a_off + r * lda + i] * W[i, j]`` for r < n and j < cols, W (k, M)
    packed in b (:func:`pack_columns`: ``panels`` panels of ``width`` columns), cols <= M; pointers,
    offsets in elements; scratch: room for ROW_BLOCK x width, used when cols ends inside a panel."""
    full = min(panels, cols // width)
    rest = cols - full * width
    for r0 in range(0, n, ROW_BLOCK):  # a block of rows stays in cache while every panel passes
        m = min(ROW_BLOCK, n - r0)
        for p in range(full + (rest > 0)):
            # the last panel may reach past cols: through the scratch, so nothing past cols is written
            last = p == full
            out, at, ld = (scratch, 0, width) if last else (c, c_off + r0 * ldc + p * width, ldc)
            panel(a, a_off + r0 * lda, lda, m, k, b, p * k * width, out, at, ld)
            if last:
                for r in range(m):
                    row = c_off + (r0 + r) * ldc + full * width
                    for j in range(rest):
                        c[row + j] = scratch[r * width + j]


def product_signature(dtype):
    pointer, size = types.CPointer(numba.from_dtype(np.dtype(dtype))), types.intp
    return types.void(pointer, size, size, size, size, pointer, size, size, pointer, size, size, size, pointer)


# compiled once per dtype as C functions (numba.cfunc), which the loops call through their address
# (:func:`multiply`): as a numba function the product would be compiled into every loop again,
# which made compiling them several times slower (44 s against 17 s for every kernel and dtype here)
C_PRODUCTS = {np.dtype(dtype): numba.cfunc(product_signature(dtype), **JIT)(product)
              for dtype in (np.float32, np.float64)}
PRODUCTS = {dtype: function.address for dtype, function in C_PRODUCTS.items()}  # what the loops take


@intrinsic
def call_product(typingctx, address, a, a_off, lda, n, k, b, panels, width, c, c_off, ldc, cols, scratch):
    """Call the C function at ``address`` (a :data:`PRODUCTS` entry) with :func:`product`'s arguments.
    An address, not the function itself, so that the loops take a plain integer: numba types a
    function argument anew at every call (about 35 µs a call, as much as a small layer's step)."""
    sig = types.void(types.intp, a, *(types.intp,) * 4, b, types.intp, types.intp, c, *(types.intp,) * 3, scratch)

    def codegen(context, builder, signature, args):
        function_type = ir.FunctionType(ir.VoidType(), [context.get_value_type(t) for t in signature.args[1:]])
        builder.call(builder.inttoptr(args[0], function_type.as_pointer()), args[1:])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(**JIT)
def multiply(product, a, a_off, lda, n, k, b, c, c_off, ldc, cols):
    """``c[c_off + r * ldc + j] = sum_i a[a_off + r * lda + i] * W[i, j]`` for r < n, j < cols: W (k, M)
    packed in b (:func:`pack_columns`), a and c C-contiguous arrays of b's dtype (offsets in
    elements), product the :data:`PRODUCTS` entry (an address) of that dtype."""
    width = b.shape[2]
    scratch = np.empty(ROW_BLOCK * width if cols % width else 1, b.dtype)
    call_product(product, data_pointer(a), a_off, lda, n, k, data_pointer(b), b.shape[0], width, data_pointer(c),
                 c_off, ldc, cols, data_pointer(scratch))


@numba.njit(**JIT)
def rows_product(product, a, b, c, r0, r1):
    """Rows ``[r0, r1)`` of ``c = a @ W``: a (M, K) and c (M, P) C-contiguous, W (K, P) packed in b."""
    K, P = a.shape[1], c.shape[1]
    multiply(product, a, r0 * K, K, r1 - r0, K, b, c, r0 * P, P, P)
