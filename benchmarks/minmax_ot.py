"""Two-network adversarial (min–max) neural OT baseline: the [MM] solver.

This is the minimax solver of Makkuva, Taghvaei, Oh & Lee, "Optimal transport
mapping via input convex neural networks" (ICML 2020), in the form that
Korotin, Li, Genevay, Solomon, Filippov & Burnaev, "Do Neural Optimal Transport
Solvers Work? A Continuous Wasserstein-2 Benchmark" (NeurIPS 2021) evaluate as
[MM] on the Mix3toMix10 benchmark. It is implemented here from the reference
code of the benchmark (github.com/iamalexkorotin/Wasserstein2Benchmark):
``notebooks/MM_test_hd_benchmark.ipynb`` (training loop and hyper-parameters),
``src/icnn.py`` (``DenseICNN``), ``src/tools.py`` (``train_identity_map``) and
``src/metrics.py`` (``score_fitted_maps``). Makkuva's own code
(github.com/AmirTag/OT-ICNN, ``High_dim_experiments/*.py``) was read for the
original form (ICNNs, weight clipping of ``f``, a negative-weight penalty for
``g``, batch 60, Adam 1e-4 with betas (0.5, 0.99), 10–25 inner steps); the
defaults below are Korotin's, whose [MM] numbers we reproduce.

Problem. Two potentials ``f`` (``D`` in Korotin's code) and ``g`` (``D_conj``):

    min_f max_g  E_μ[f(X)] + E_ν[⟨Y, ∇g(Y)⟩ − f(∇g(Y))]

``∇f`` is the forward map μ → ν and ``∇g ≈ (∇f)⁻¹`` the inverse map ν → μ
(Korotin scores ``D.push(X)`` against ``T*(X)`` and ``D_conj.push(Y)`` against
``X``). Each outer step:

1. one Adam step on ``f`` for ``mean f(X) − mean f(∇g(Y).detach())``;
2. ``inner_steps`` Adam steps on ``g``, each on a fresh target batch, for
   ``mean f(∇g(Y)) − mean ⟨∇g(Y), Y⟩`` (this differentiates through the input
   gradient ``∇g``: a double backward pass).

Reference settings for Mix3toMix10 (all dimensions): ``DenseICNN`` with hidden
sizes ``[max(2d, 64), max(2d, 64), max(d, 32)]``, rank-1 quadratic skip layers,
CELU, strong convexity 1e-4, all weights initialised N(0, 0.1²); both networks
pre-trained to the identity map (``∇f(x) ≈ x`` on N(0, 3²I), batch 1024, Adam
1e-3, until MSE < 1e-3 or 5000 steps) and ``g`` copied from ``f``; Adam with
lr 1e-3 (default betas) for both; batch 1024; 15 inner steps; 50 001 outer
steps. For [MM] the convexity of the networks is **not** enforced
(``CONVEX = False`` in the notebook; ``True`` is their [MMv2]); ``convex=True``
here clamps the weights of the ``z``-path to be non-negative after every step,
as [MMv2] and Makkuva's ``f`` do.

Differences from the reference, all deliberate: batches are drawn uniformly
(with replacement) from fixed training samples ``X``, ``Y`` rather than from
fresh draws of the samplers (the benchmark's rule: every method sees the same
data); the outer step computes ``∇g(Y)`` without keeping its graph (the
reference builds it and then detaches it, same values); the quadratic layers
use one matrix product (same function and parameter layout, so Korotin's
``state_dict`` files load). Korotin keeps the checkpoint of the best L2-UVP
seen over training (evaluated every 100 steps); ``fit_minmax`` returns the last
weights and the history, so both the final and the best-seen value can be
reported (the latter selects on the test points, an optimistic choice).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "DenseICNN",
    "MinMaxResult",
    "default_hidden_sizes",
    "fit_minmax",
    "forward_map",
    "inverse_map",
    "make_uvp_eval",
    "pretrain_identity",
]


def default_hidden_sizes(d: int) -> tuple[int, int, int]:
    """Korotin et al.'s DenseICNN widths for Mix3toMix10 in dimension ``d``."""
    return (max(2 * d, 64), max(2 * d, 64), max(d, 32))


class DenseICNN(nn.Module):
    """Dense input-convex network with rank-``r`` quadratic skip connections.

    ``z₀ = q₀(x)``; ``zₗ = celu(Wₗ zₗ₋₁ + qₗ(x))``; ``out = w·z_L + ½ s |x|²``
    with ``qₗ(x)_o = Σ_r (Σ_k x_k Q[k, r, o])² + (Aₗ x + bₗ)_o``. The function
    is convex in ``x`` when the ``W`` and ``w`` weights are non-negative
    (:meth:`convexify`). Parameter names and shapes follow Korotin's
    ``src/icnn.py``.
    """

    def __init__(
        self,
        dim: int,
        hidden_sizes: Sequence[int] = (64, 64, 32),
        *,
        rank: int = 1,
        strong_convexity: float = 1e-4,
        weights_init_std: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.rank = rank
        self.strong_convexity = strong_convexity
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.quadratic_layers = nn.ModuleList(
            _ConvexQuadratic(dim, h, rank) for h in self.hidden_sizes
        )
        self.convex_layers = nn.ModuleList(
            nn.Linear(a, b, bias=False)
            for a, b in zip(self.hidden_sizes[:-1], self.hidden_sizes[1:], strict=True)
        )
        self.final_layer = nn.Linear(self.hidden_sizes[-1], 1, bias=False)
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0.0, weights_init_std)

    def forward(self, x: Tensor) -> Tensor:
        """Potential values, shape ``(n, 1)``."""
        z = self.quadratic_layers[0](x)
        pairs = zip(self.quadratic_layers[1:], self.convex_layers, strict=True)
        for quad, lin in pairs:
            z = torch.celu(lin(z) + quad(x))
        square = (x * x).sum(1, keepdim=True)
        return self.final_layer(z) + 0.5 * self.strong_convexity * square

    def push(self, x: Tensor, create_graph: bool = True) -> Tensor:
        """Input gradient ``∇ψ(x)`` (the map); keeps the graph when asked."""
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            out = self.forward(x)
            (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
        return grad

    @torch.no_grad()
    def convexify(self) -> None:
        """Clamp the ``z``-path weights to be non-negative (makes ψ convex)."""
        for layer in self.convex_layers:
            layer.weight.clamp_(min=0.0)
        self.final_layer.weight.clamp_(min=0.0)


class _ConvexQuadratic(nn.Module):
    """``Σ_r (xᵀQ[:, r, o])² + (A x + b)_o`` (Korotin's ``ConvexQuadratic``)."""

    def __init__(self, in_features: int, out_features: int, rank: int) -> None:
        super().__init__()
        self.rank = rank
        self.out_features = out_features
        self.quadratic_decomposed = nn.Parameter(
            torch.empty(in_features, rank, out_features)
        )
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))

    def forward(self, x: Tensor) -> Tensor:
        q = x @ self.quadratic_decomposed.reshape(x.shape[1], -1)
        quad = q.reshape(len(x), self.rank, self.out_features).square().sum(1)
        return quad + nn.functional.linear(x, self.weight, self.bias)


def pretrain_identity(
    net: DenseICNN,
    *,
    generator: torch.Generator,
    batch_size: int = 1024,
    max_iter: int = 5000,
    lr: float = 1e-3,
    tol: float = 1e-3,
    blow: float = 3.0,
    convex: bool = False,
) -> tuple[float, int]:
    """Fit ``∇net(x) ≈ x`` on N(0, blow² I) (Korotin's ``train_identity_map``).

    Returns the last mean squared error and the number of steps taken.
    """
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-10)
    loss = float("nan")
    steps = 0
    while steps < max_iter:
        steps += 1
        x = blow * torch.randn(batch_size, net.dim, generator=generator)
        x.requires_grad_(True)
        err = nn.functional.mse_loss(net.push(x), x.detach())
        opt.zero_grad()
        err.backward()
        opt.step()
        if convex:
            net.convexify()
        loss = err.item()
        if loss < tol:
            break
    return loss, steps


@torch.no_grad()
def _no_grad_push(net: DenseICNN, A: np.ndarray, chunk: int = 8192) -> np.ndarray:
    out = np.empty(A.shape, dtype=np.float64)
    for i in range(0, len(A), chunk):
        a = torch.as_tensor(A[i : i + chunk], dtype=torch.float32)
        out[i : i + chunk] = net.push(a, create_graph=False).numpy()
    return out


def forward_map(f: DenseICNN, X: np.ndarray) -> np.ndarray:
    """The learned forward map ``∇f`` (μ → ν) on source points ``X``."""
    return _no_grad_push(f, np.asarray(X))


def inverse_map(g: DenseICNN, Y: np.ndarray) -> np.ndarray:
    """The learned inverse map ``∇g`` (ν → μ) on target points ``Y``."""
    return _no_grad_push(g, np.asarray(Y))


def make_uvp_eval(
    X_test: np.ndarray, Y_test: np.ndarray
) -> Callable[[DenseICNN, DenseICNN], tuple[float, float]]:
    """``eval_fn(f, g) -> (uvp_fwd, uvp_inv)`` on paired test points.

    ``Y_test = T*(X_test)``; forward: ``∇f(X_test)`` against ``Y_test``,
    inverse: ``∇g(Y_test)`` against ``X_test`` (L2-UVP in percent).
    """
    from skfpot.metrics import l2_uvp

    def eval_fn(f: DenseICNN, g: DenseICNN) -> tuple[float, float]:
        fwd = l2_uvp(Y_test, forward_map(f, X_test))
        inv = l2_uvp(X_test, inverse_map(g, Y_test))
        return fwd, inv

    return eval_fn


@dataclass
class MinMaxResult:
    """Trained networks and training record of :func:`fit_minmax`.

    ``history`` holds one dict per evaluation: ``step`` (outer steps done),
    ``seconds`` (wall time of training so far, pre-training included,
    evaluation excluded), ``uvp_fwd``, ``uvp_inv`` and ``w2`` (the minibatch
    estimate of ½W₂² of the last outer step; NaN at step 0).
    """

    f: DenseICNN
    g: DenseICNN
    history: list[dict] = field(default_factory=list)
    n_steps: int = 0
    train_seconds: float = 0.0
    pretrain_seconds: float = 0.0
    pretrain_mse: float = float("nan")
    pretrain_steps: int = 0
    stopped_by: str = "max_steps"

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Forward map ``∇f`` (μ → ν)."""
        return forward_map(self.f, X)

    def inverse(self, Y: np.ndarray) -> np.ndarray:
        """Inverse map ``∇g`` (ν → μ)."""
        return inverse_map(self.g, Y)


def fit_minmax(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    hidden_sizes: Sequence[int] | None = None,
    batch_size: int = 1024,
    max_steps: int = 50_000,
    inner_steps: int = 15,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    rank: int = 1,
    strong_convexity: float = 1e-4,
    convex: bool = False,
    pretrain: bool = True,
    seed: int = 0,
    eval_fn: Callable[[DenseICNN, DenseICNN], tuple[float, float]] | None = None,
    eval_every: int = 100,
    time_limit: float | None = None,
    target_uvp: float | None = None,
    verbose: bool = False,
) -> MinMaxResult:
    """Train the [MM] min–max solver on unpaired samples ``X`` (μ) and ``Y`` (ν).

    Parameters
    ----------
    X, Y : ndarray of shape (n, d) and (m, d)
        Source and target training samples; minibatches are drawn uniformly
        with replacement from them (one ``X`` and ``1 + inner_steps`` ``Y``
        batches per outer step).
    hidden_sizes : sequence of int, default=None
        DenseICNN widths; ``None`` uses :func:`default_hidden_sizes`.
    batch_size, max_steps, inner_steps, lr, betas, rank, strong_convexity
        Korotin's [MM] defaults: 1024, 50 000, 15, 1e-3, Adam's defaults, 1,
        1e-4.
    convex : bool, default=False
        Clamp negative ``z``-path weights after each step ([MMv2]).
    pretrain : bool, default=True
        Pre-train ``f`` to the identity map and copy it into ``g``.
    seed : int
        Seeds the initialisation, the pre-training draws and the minibatches.
    eval_fn : callable, default=None
        ``eval_fn(f, g) -> (uvp_fwd, uvp_inv)``, called after pre-training and
        every ``eval_every`` outer steps (its time is not counted).
    time_limit : float, default=None
        Stop once the training time (evaluation excluded) exceeds this.
    target_uvp : float, default=None
        Stop at the first evaluation whose forward L2-UVP is at most this.
    verbose : bool
        Print a line per evaluation.

    Returns
    -------
    MinMaxResult
    """
    d = X.shape[1]
    sizes = tuple(hidden_sizes) if hidden_sizes is not None else default_hidden_sizes(d)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        f = DenseICNN(d, sizes, rank=rank, strong_convexity=strong_convexity)
    # no float32 copy of the samples: each minibatch is gathered from the
    # caller's arrays, as FixedPointOT does (a copy, 4 (n + m) d bytes, 8 MiB
    # at n = m = 2**17 and d = 8, counted against this baseline in the
    # memory race until 2026-12-07)
    xs, ys = np.asarray(X), np.asarray(Y)
    result = MinMaxResult(f=f, g=f)

    clock = 0.0  # training seconds, evaluation excluded
    t0 = time.perf_counter()
    if pretrain:
        result.pretrain_mse, result.pretrain_steps = pretrain_identity(
            f, generator=gen, convex=convex
        )
    g = copy.deepcopy(f)
    result.g = g
    opt_f = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=betas)
    clock += time.perf_counter() - t0
    result.pretrain_seconds = clock

    def batch(data: np.ndarray) -> Tensor:
        rows = torch.randint(len(data), (batch_size,), generator=gen).numpy()
        return torch.as_tensor(data[rows], dtype=torch.float32)

    def evaluate(step: int, w2: float) -> bool:
        row = {"step": step, "seconds": clock, "w2": w2}
        if eval_fn is not None:
            row["uvp_fwd"], row["uvp_inv"] = eval_fn(f, g)
        result.history.append(row)
        if verbose:
            print(
                f"step {step:6d}  {clock:8.1f} s  fwd {row.get('uvp_fwd', np.nan):8.3f}"
                f"  inv {row.get('uvp_inv', np.nan):8.3f}  w2 {w2:.4f}",
                flush=True,
            )
        return target_uvp is not None and row.get("uvp_fwd", np.inf) <= target_uvp

    if evaluate(0, float("nan")):
        result.stopped_by = "target_uvp"
        result.train_seconds = clock
        return result

    w2 = float("nan")
    step = 0
    for step in range(1, max_steps + 1):
        t0 = time.perf_counter()
        # --- outer step on f: min E f(X) − E f(∇g(Y)) ---------------------
        x, y = batch(xs), batch(ys)
        for p in g.parameters():
            p.requires_grad_(False)
        y_inv = g.push(y, create_graph=False).detach()
        loss_f = f(x).mean() - f(y_inv).mean()
        opt_f.zero_grad(set_to_none=True)
        loss_f.backward()
        opt_f.step()
        if convex:
            f.convexify()
        for p in g.parameters():
            p.requires_grad_(True)
        with torch.no_grad():  # ½W₂² = ½E|X|² + ½E|Y|² − E f(X) − E f*(Y)
            w2 = (
                -loss_f.item()
                + 0.5 * (x**2).sum(1).mean().item()
                + 0.5 * (y**2).sum(1).mean().item()
                - (y_inv * y).sum(1).mean().item()
            )
        # --- inner steps on g: max E ⟨∇g(Y), Y⟩ − f(∇g(Y)) -----------------
        for p in f.parameters():
            p.requires_grad_(False)
        for _ in range(inner_steps):
            y = batch(ys).requires_grad_(True)
            y_push = g.push(y, create_graph=True)
            loss_g = (f(y_push).squeeze(1) - (y_push * y).sum(1)).mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            if convex:
                g.convexify()
        for p in f.parameters():
            p.requires_grad_(True)
        clock += time.perf_counter() - t0

        if not np.isfinite(w2):
            result.stopped_by = "diverged"
            break
        if step % eval_every == 0 or step == max_steps:
            if evaluate(step, w2):
                result.stopped_by = "target_uvp"
                break
        if time_limit is not None and clock >= time_limit:
            result.stopped_by = "time_limit"
            if step % eval_every:
                evaluate(step, w2)
            break
    result.n_steps = step
    result.train_seconds = clock
    return result
