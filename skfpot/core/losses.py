"""Kantorovich dual with the envelope-theorem gradient, and the two maps."""

from __future__ import annotations

import torch
from torch import Tensor

from skfpot.core.fixed_point import FixedPointResult, solve_c_transform
from skfpot.core.potentials import MLPPotential

__all__ = ["backward_map", "convexity_violation", "dual_loss", "forward_map"]


def _mean(v: Tensor, weight: Tensor | None) -> Tensor:
    return v.mean() if weight is None else (v * weight).sum() / weight.sum()


def dual_loss(
    potential: MLPPotential,
    x: Tensor,
    y: Tensor,
    x_hat: Tensor,
    *,
    x_classes: Tensor | None = None,
    y_classes: Tensor | None = None,
    x_weight: Tensor | None = None,
    y_weight: Tensor | None = None,
) -> Tensor:
    """Negative dual objective ``−(E_μ φ(X) + E_ν φ^c(Y))``.

    ``x_hat`` is the (detached) solution of the c-transform at ``y``. By the
    envelope theorem, ``∇_θ φ^c(y) = −∇_θ φ(x̂)`` with ``x̂`` held fixed, so
    back-propagating this loss gives the exact dual gradient at the fixed point
    with two forward/backward passes of φ and no graph through the solver.

    ``x_weight`` and ``y_weight`` are optional per-sample weights of the two
    expectations (the class weights of a class-conditional problem).

    Parameters
    ----------
    potential : MLPPotential
        The potential φ.
    x : Tensor of shape (n, d)
        Source minibatch.
    y : Tensor of shape (m, d)
        Target minibatch.
    x_hat : Tensor of shape (m, d)
        The c-transform solutions ``x*(y)`` (detached here).
    x_classes, y_classes : Tensor of shape (n,) and (m,), optional
        Class indices of the rows (class-conditional potentials).
    x_weight, y_weight : Tensor of shape (n,) and (m,), optional
        Per-sample weights of the two means.

    Returns
    -------
    loss : Tensor of shape ()
        The negative dual objective; its gradient reaches φ's weights only.

    Examples
    --------
    >>> import torch
    >>> from skfpot.core import MLPPotential, backward_map, dual_loss
    >>> _ = torch.manual_seed(0)
    >>> potential = MLPPotential(2, (8,))
    >>> x, y = torch.randn(16, 2), torch.randn(16, 2) + 1.0
    >>> loss = dual_loss(potential, x, y, backward_map(potential, y).x)
    >>> loss.backward()
    >>> loss.ndim, potential.linear.grad.shape
    (0, torch.Size([1, 2]))
    """
    phi_x, phi_c = dual_values(potential, x, y, x_hat, x_classes, y_classes)
    return -(_mean(phi_x, x_weight) + _mean(phi_c, y_weight))


def dual_values(
    potential: MLPPotential,
    x: Tensor,
    y: Tensor,
    x_hat: Tensor,
    x_classes: Tensor | None = None,
    y_classes: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-row ``φ(x_i)`` and ``φ^c(y_j)`` (with ``x̂`` detached), the terms
    whose means :func:`dual_loss` negates."""
    x_hat = x_hat.detach()
    phi_x = potential(x, x_classes)
    phi_c = 0.5 * ((x_hat - y) ** 2).sum(-1) - potential(x_hat, y_classes)
    return phi_x, phi_c


def convexity_violation(
    potential: MLPPotential, x: Tensor, classes: Tensor | None = None
) -> Tensor:
    """Mean squared violation of the monotonicity of ``∇ψ`` on secants of ``x``.

    ``ψ = ½|x|² − φ`` is convex exactly when its gradient (the forward map) is
    monotone: ``⟨∇ψ(a) − ∇ψ(b), a − b⟩ ≥ 0`` for all ``a, b``. Each row ``a``
    of ``x`` is paired with a point ``b`` on the segment towards another row
    (the rows rolled by one, at fractions spread over (0, 1], so short and long
    secants are both checked); the normalised secant curvature
    ``m = ⟨∇ψ(a) − ∇ψ(b), a − b⟩ / |a − b|²`` enters as ``mean(relu(−m)²)``.
    Differentiable in φ's weights (the input gradient is closed-form); the
    estimators add it to the training loss, weighted by
    ``convexity_penalty``.

    Parameters
    ----------
    potential : MLPPotential
        The potential φ.
    x : Tensor of shape (n, d)
        Points (in random order: neighbours in ``x`` are the secants' partners;
        a single row has no partner, and gives 0).
    classes : Tensor of shape (n,), optional
        Class indices of the rows; both ends of a secant use the class of ``a``.

    Returns
    -------
    violation : Tensor of shape ()
        Zero when ``∇ψ`` is monotone on every secant, positive otherwise.

    Examples
    --------
    At initialisation ``ψ = ½|x|²``, which is convex:

    >>> import torch
    >>> from skfpot.core import MLPPotential, convexity_violation
    >>> potential = MLPPotential(2, (8,))
    >>> convexity_violation(potential, torch.randn(32, 2)).item()
    0.0
    """
    n = x.shape[0]
    frac = torch.arange(1, n + 1, dtype=x.dtype, device=x.device) / n
    b = x + frac[:, None] * (x.roll(1, 0) - x)
    _, grad_a = potential.value_and_grad(x, classes)
    _, grad_b = potential.value_and_grad(b, classes)
    diff = b - x
    # ∇ψ = x − ∇φ, so ∇ψ(a) − ∇ψ(b) = (a − b) − (∇φ(a) − ∇φ(b))
    dpsi = -diff - (grad_a - grad_b)
    m = (dpsi * -diff).sum(-1) / (diff * diff).sum(-1).clamp_min(1e-12)
    return torch.relu(-m).square().mean()


@torch.no_grad()
def forward_map(
    potential: MLPPotential, x: Tensor, classes: Tensor | None = None
) -> Tensor:
    """``T(x) = x − ∇φ(x)``, the map from the source to the target.

    Parameters
    ----------
    potential : MLPPotential
        The potential φ.
    x : Tensor of shape (n, d)
        Source points.
    classes : Tensor of shape (n,), optional
        Class index of every row (class-conditional potentials).

    Returns
    -------
    Tensor of shape (n, d)
        Their images ``T(x)``.

    Examples
    --------
    A new potential is the identity map (φ = 0 at initialisation):

    >>> import torch
    >>> from skfpot.core import MLPPotential, forward_map
    >>> forward_map(MLPPotential(2, (8,)), torch.tensor([[1.0, 2.0]]))
    tensor([[1., 2.]])
    """
    return x - potential.value_and_grad(x, classes)[1]


@torch.no_grad()
def backward_map(
    potential: MLPPotential,
    y: Tensor,
    classes: Tensor | None = None,
    *,
    x0: Tensor | None = None,
    **solver_options,
) -> FixedPointResult:
    """``S(y) = argmin_x ½|x − y|² − φ(x)``, the map from the target back.

    The solve starts from the inverse of the potential's affine part (or
    ``x0``) and is preconditioned by the inverse of its quadratic part;
    ``solver_options`` go to :func:`~skfpot.core.solve_c_transform`.

    Parameters
    ----------
    potential : MLPPotential
        The potential φ.
    y : Tensor of shape (n, d)
        Target points.
    classes : Tensor of shape (n,), optional
        Class index of every row (class-conditional potentials).
    x0 : Tensor of shape (n, d), optional
        Starting points (for instance a previous solution); rows with a NaN
        or infinite entry start, like every row without ``x0``, from the
        inverse of the potential's affine part.
    **solver_options
        ``method``, ``memory``, ``step_size``, ``tol``, ``max_iter``,
        ``inverse_hessian``.

    Returns
    -------
    FixedPointResult
        ``result.x`` holds ``S(y)``.

    Examples
    --------
    With the quadratic part ``A = 2 I`` the forward map is ``T(x) = 2x``, so
    ``S(y) = y / 2``:

    >>> import torch
    >>> from skfpot.core import MLPPotential, backward_map
    >>> potential = MLPPotential(2, (8,))
    >>> with torch.no_grad():
    ...     _ = potential.quad_factor.mul_(2**0.5)
    >>> y = torch.tensor([[2.0, 4.0]])
    >>> result = backward_map(potential, y)
    >>> torch.allclose(result.x, y / 2, atol=1e-4), bool(result.converged.all())
    (True, True)
    """
    p = potential.preconditioner()
    p = p[0] if classes is None else p[classes]
    if x0 is None:  # reuse the inverse: no second d×d solve per step
        x0 = potential.affine_inverse(y, classes, inverse=p)
    else:  # rows without a usable previous solution start from the inverse too
        fresh = ~torch.isfinite(x0).all(-1)
        if fresh.any():
            x0 = x0.clone()
            x0[fresh] = potential.affine_inverse(
                y[fresh],
                None if classes is None else classes[fresh],
                inverse=p if p.dim() == 2 else p[fresh],
            )

    def grad_fn(xa: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
        return potential.value_and_grad(xa, None if classes is None else classes[rows])

    return solve_c_transform(grad_fn, y, x0=x0, preconditioner=p, **solver_options)
