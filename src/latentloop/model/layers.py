"""Building blocks shared by every preset: init, RMSNorm, SwiGLU, RoPE, the two token mixers, blocks.

Conventions of the HRM / TRM reference code, which these layers reproduce:
- weights are kept in fp32 and cast to the activation dtype at each use ("casted linear");
- RMSNorm has no scale and is computed in fp32;
- blocks are post-norm: h <- norm(h + mix(h)); h <- norm(h + SwiGLU(h));
- linear layers use LeCun init from a truncated normal clipped at +-2 sigma with corrected std.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def trunc_normal_(tensor: torch.Tensor, std: float = 1.0, bound: float = 2.0) -> torch.Tensor:
    """Fill `tensor` from N(0, std^2) truncated to +-bound standard deviations, with the std
    corrected so the *truncated* distribution has standard deviation `std` (JAX's convention)."""
    with torch.no_grad():
        if std == 0:
            return tensor.zero_()
        # Variance of a standard normal truncated to [-bound, bound].
        mass = math.erf(bound / math.sqrt(2))
        pdf = math.exp(-0.5 * bound**2) / math.sqrt(2 * math.pi)
        var = 1 - 2 * bound * pdf / mass
        scale = std / math.sqrt(var)
        # Inverse-CDF sampling: u ~ U(erf(-b/sqrt2), erf(b/sqrt2)), z = sqrt2 * erfinv(u).
        tensor.uniform_(-mass, mass).erfinv_().mul_(math.sqrt(2) * scale)
        return tensor.clamp_(-bound * scale, bound * scale)


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) over the last axis, in fp32, no learned scale."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.square().mean(-1, keepdim=True) + eps)).to(x.dtype)


class _Linear(torch.autograd.Function):
    """y = x W^T + b, whose weight gradient puts the narrower of W's two axes first.

    CPU bf16 matmul kernels split the long inner axis (batch x positions) of a weight gradient across threads
    when its output is tall and thin (g^T x = [512, 37] in the demo's token mixer, from 8,192 rows), so a
    run's result depended on the thread count. Computed as (x^T g)^T, output [37, 512], the same sum is split
    the same way on 1 and 2 threads; a wide-first W (the mixer's down projection, [37, 256]) keeps g^T x for
    the same reason. The training step's rate is unchanged (benchmarks/README.md).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1])
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            x2 = x.reshape(-1, x.shape[-1])
            grad_w = g2.t() @ x2 if weight.shape[0] <= weight.shape[1] else (x2.t() @ g2).t()
        grad_b = g2.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear with the thread-count-independent weight gradient of `_Linear`."""
    return _Linear.apply(x, weight, bias)


class Linear(nn.Module):
    """y = x W^T (+ b) with an fp32 master weight cast to x's dtype; LeCun truncated-normal init."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_(torch.empty(out_features, in_features), 1 / math.sqrt(in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return linear(x, self.weight.to(x.dtype), bias)


def swiglu_width(dim: int, expansion: float) -> int:
    """The references' inner width: round(expansion * dim * 2/3), rounded up to a multiple of 256."""
    inner = round(expansion * dim * 2 / 3)
    return -(-inner // 256) * 256


class SwiGLU(nn.Module):
    """down(silu(gate) * up), with gate and up computed by one fused projection [gate | up]."""

    def __init__(self, dim: int, expansion: float) -> None:
        super().__init__()
        inner = swiglu_width(dim, expansion)
        self.gate_up = Linear(dim, 2 * inner)
        self.down = Linear(inner, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


def rope_tables(head_dim: int, length: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables [length, head_dim] in the split-halves (rotate-half) convention."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x [B, S, heads, d] by position: x cos + rotate_half(x) sin, computed in fp32."""
    xf = x.float()
    half = xf.shape[-1] // 2
    rotated = torch.cat([-xf[..., half:], xf[..., :half]], dim=-1)
    cos, sin = cos[:, None, :], sin[:, None, :]  # [S, 1, d] broadcast over heads
    return (xf * cos + rotated * sin).to(x.dtype)


class AttentionMixer(nn.Module):
    """h <- norm(h + o(SDPA(rope(q), rope(k), v))): bidirectional multi-head attention, no bias.

    q, k and v each have `num_heads` heads of width `head_dim` (0 = dim // num_heads); their concatenation
    (num_heads * head_dim, which may be narrower than D, e.g. 12 x 42 = 504 on D = 512) is projected back to D.
    """

    def __init__(self, dim: int, num_heads: int, eps: float, head_dim: int = 0) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.eps = num_heads, head_dim or dim // num_heads, eps
        width = num_heads * self.head_dim
        self.qkv = Linear(dim, 3 * width)
        self.out = Linear(width, dim)

    def forward(self, h: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        B, S, _ = h.shape
        qkv = self.qkv(h).view(B, S, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.unbind(dim=2)  # each [B, S, heads, head_dim]
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        attn = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        attn = attn.transpose(1, 2).reshape(B, S, self.num_heads * self.head_dim)
        return rms_norm(h + self.out(attn), self.eps)


class TokenMLPMixer(nn.Module):
    """TRM's attention-free mixer: a SwiGLU over the sequence axis, shared across channels.

    h [B, S, D] is transposed to [B, D, S]; h <- norm(h + SwiGLU_S(h)) with the norm taken over the
    *sequence* axis (separately per channel); then transposed back.

    With `pad_to` > 1 the sequence axis of the two matmuls is zero-padded to a multiple of it (37 -> 64
    positions, say): CPU matmul kernels are several times slower on such a short odd axis. The padded
    input columns meet zero weight columns and the padded outputs are dropped, so the result is the
    same up to the matmul kernels' own rounding; parameters and checkpoints keep the real length.
    """

    def __init__(self, seq_len: int, expansion: float, eps: float, pad_to: int = 1) -> None:
        super().__init__()
        self.eps = eps
        self.mlp = SwiGLU(seq_len, expansion)
        self.pad = -seq_len % pad_to

    def forward(self, h: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        B, S, D = h.shape
        ht = h.transpose(1, 2)  # [B, D, S]
        # One [B*D, S] matrix for the matmuls: compiled without gradient, the transposed view went to a batched
        # matmul at half the rate of one mm (benchmarks/README.md).
        mixed = self._mix(ht.reshape(B * D, S)).view(B, D, S)
        return rms_norm(ht + mixed, self.eps).transpose(1, 2)

    def _mix(self, ht: torch.Tensor) -> torch.Tensor:
        """SwiGLU over the last axis of the rows `ht` [N, S]."""
        if not self.pad:
            return self.mlp(ht)
        gate_up, down = self.mlp.gate_up.weight, self.mlp.down.weight  # [2E, S], [S, E]
        x = F.pad(ht, (0, self.pad))  # [N, S + pad]
        gate, up = linear(x, F.pad(gate_up, (0, self.pad)).to(x.dtype)).chunk(2, dim=-1)
        out = linear(F.silu(gate) * up, F.pad(down, (0, 0, 0, self.pad)).to(x.dtype))  # [N, S + pad]
        return out[..., : ht.shape[-1]]


class Block(nn.Module):
    """Post-norm block: h <- mixer(h) (which applies its own residual and norm); h <- norm(h + SwiGLU(h))."""

    def __init__(self, mixer: nn.Module, dim: int, expansion: float, eps: float) -> None:
        super().__init__()
        self.mixer = mixer
        self.mlp = SwiGLU(dim, expansion)
        self.eps = eps

    def forward(self, h: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        h = self.mixer(h, rope)
        return rms_norm(h + self.mlp(h), self.eps)
