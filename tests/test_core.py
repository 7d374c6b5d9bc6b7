"""The pure-torch core: potentials, fixed-point solver, envelope gradient."""

import ast
import math
import pathlib

import pytest
import torch

from skfpot.core import (
    SOLVERS,
    MLPPotential,
    backward_map,
    convexity_violation,
    dual_loss,
    forward_map,
    solve_c_transform,
)
from skfpot.core.losses import dual_values

CORE = pathlib.Path(__file__).parents[1] / "skfpot" / "core"


def _perturbed(d=4, n_classes=1, conditioning="film", activation="silu", seed=0):
    torch.manual_seed(seed)
    pot = MLPPotential(
        d,
        (16, 16),
        n_classes=n_classes,
        conditioning=conditioning,
        activation=activation,
    )
    with torch.no_grad():  # move away from the identity initialisation
        pot.out.normal_(0.0, 0.05)
        pot.quad_factor.add_(0.05 * torch.randn_like(pot.quad_factor))
        pot.linear.normal_(0.0, 0.2)
        if pot.film_scale is not None:
            for p in pot.film_scale:
                p.add_(0.2 * torch.randn_like(p))
    return pot


def test_core_imports_only_torch_and_stdlib():
    import sys

    allowed = {"torch", "skfpot", "__future__"} | set(sys.stdlib_module_names)
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}"
                if top == "skfpot":
                    assert name.startswith("skfpot.core"), f"{path.name}: {name}"


def test_identity_initialisation():
    pot = MLPPotential(3, (8, 8))
    x = torch.randn(10, 3)
    torch.testing.assert_close(forward_map(pot, x), x)
    torch.testing.assert_close(backward_map(pot, x).x, x)


@pytest.mark.parametrize("activation", ["silu", "softplus", "tanh"])
@pytest.mark.parametrize(
    "n_classes, conditioning", [(1, "film"), (3, "film"), (3, "embedding")]
)
def test_closed_form_gradient_matches_autograd(activation, n_classes, conditioning):
    pot = _perturbed(5, n_classes, conditioning, activation)
    x = torch.randn(7, 5, requires_grad=True)
    k = None if n_classes == 1 else torch.arange(7) % n_classes
    phi = pot(x, k)
    (grad,) = torch.autograd.grad(phi.sum(), x)
    with torch.no_grad():  # the solvers' path (fused activation backward)
        phi2, grad2 = pot.value_and_grad(x, k)
    torch.testing.assert_close(phi2, phi)
    torch.testing.assert_close(grad2, grad, atol=1e-5, rtol=1e-4)
    # with a graph (convexity penalty): the composite form, differentiable again
    phi3, grad3 = pot.value_and_grad(x, k)
    torch.testing.assert_close(grad3, grad2, atol=1e-6, rtol=1e-5)
    (hvp,) = torch.autograd.grad(grad3.sum(), x)
    assert torch.isfinite(hvp).all() and hvp.abs().sum() > 0


def _quadratic(d, seed):
    """φ(x) = ½xᵀMx + cᵀx with M ≺ I: the prox is x* = (I − M)⁻¹(y + c)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    eig = torch.linspace(-2.0, 0.8, d, dtype=torch.float64)  # I − M in [0.2, 3]
    m = q @ torch.diag(eig) @ q.T
    c = torch.randn(d, generator=g, dtype=torch.float64)

    def grad_fn(x, rows):
        return 0.5 * ((x @ m) * x).sum(-1) + x @ c, x @ m + c

    return grad_fn, m, c


@pytest.mark.parametrize(
    "method, max_iter", [("lbfgs", 60), ("bfgs", 60), ("damped", 400)]
)
def test_solver_finds_prox_of_quadratic(method, max_iter):
    d = 6
    grad_fn, m, c = _quadratic(d, 0)
    y = torch.randn(40, d, dtype=torch.float64)
    exact = torch.linalg.solve(torch.eye(d, dtype=torch.float64) - m, (y + c).T).T
    res = solve_c_transform(
        grad_fn,
        y,
        method=method,
        tol=1e-10,
        max_iter=max_iter,
        step_size=0.3 if method == "damped" else 1.0,
    )
    assert bool(res.converged.all())
    torch.testing.assert_close(res.x, exact, atol=1e-8, rtol=0)
    r = res.x - y - grad_fn(res.x, None)[1]
    torch.testing.assert_close(res.residual, r.norm(dim=-1) / math.sqrt(d))
    value = 0.5 * ((res.x - y) ** 2).sum(-1) - grad_fn(res.x, None)[0]
    torch.testing.assert_close(res.value, value)
    assert res.n_evals.tolist() == (res.n_iter + 1).tolist()


def test_lbfgs_needs_fewer_evaluations_than_damped():
    grad_fn, _, _ = _quadratic(8, 1)
    y = torch.randn(30, 8, dtype=torch.float64)
    lb = solve_c_transform(grad_fn, y, method="lbfgs", tol=1e-8, max_iter=500)
    dp = solve_c_transform(
        grad_fn, y, method="damped", tol=1e-8, max_iter=500, step_size=0.3
    )
    assert lb.n_evals.double().mean() * 3 < dp.n_evals.double().mean()


@pytest.mark.parametrize("block_elements", [2**22, 2 * 3 * 4])
@pytest.mark.parametrize("rows", [[1, 2, 3, 4], [0, 1, 4], [0]])
@pytest.mark.parametrize("shared_p", [True, False])
def test_two_loop_matches_dense_lbfgs_matrix(
    shared_p, rows, block_elements, monkeypatch
):
    """The ring-buffer two-loop (which skips slots no row has filled) equals
    the dense L-BFGS inverse Hessian built oldest to newest from γP, for rows
    with no, a partial, a wrapped-around and a dropped history, in one block
    of rows or several."""
    from skfpot.core import fixed_point

    monkeypatch.setattr(fixed_point, "_TWO_LOOP_BLOCK_ELEMENTS", block_elements)

    gen = torch.Generator().manual_seed(0)
    n, m, d = 5, 4, 3
    s = torch.randn(n, m, d, generator=gen, dtype=torch.float64)
    a = torch.randn(n, d, d, generator=gen, dtype=torch.float64)
    yv = s + 0.3 * torch.einsum("nde,nme->nmd", a, s)  # sᵀy > 0 for most
    rho = 1.0 / (s * yv).sum(-1)
    head = torch.tensor([0, 2, 6, 9, 3])  # none, partial, wrapped twice, dropped
    for i, h in enumerate(head.tolist()):
        rho[i, min(h, m) :] = 0.0  # never written
    rho[4] = 0.0  # dropped history
    gamma = torch.rand(n, generator=gen, dtype=torch.float64) + 0.5
    b = torch.randn(n, d, d, generator=gen, dtype=torch.float64)
    spd = b @ b.transpose(1, 2) + torch.eye(d, dtype=torch.float64)
    p = spd[0] if shared_p else spd
    idx = torch.tensor(rows)  # the rows' longest history sets the slots visited
    r = torch.randn(len(idx), d, generator=gen, dtype=torch.float64)

    got = fixed_point._two_loop(
        r, (s, yv, rho, head), idx, gamma[idx], p[idx] if p.dim() == 3 else p
    )
    eye = torch.eye(d, dtype=torch.float64)
    for out, ri, i in zip(got, r, idx.tolist(), strict=True):
        h = gamma[i] * (p if p.dim() == 2 else p[i])
        stored = min(int(head[i]), m)
        for age in reversed(range(stored)):  # oldest to newest
            slot = (int(head[i]) - 1 - age) % m
            if rho[i, slot] == 0:
                continue
            v = eye - rho[i, slot] * torch.outer(yv[i, slot], s[i, slot])
            h = v.T @ h @ v + rho[i, slot] * torch.outer(s[i, slot], s[i, slot])
        torch.testing.assert_close(out, -(h @ ri))


def test_bfgs_update_matches_textbook_formula():
    """The batched rank-two update equals (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ row by
    row, stays symmetric and satisfies the secant equation H⁺y = s."""
    from skfpot.core import fixed_point

    gen = torch.Generator().manual_seed(0)
    n, d = 6, 5
    b = torch.randn(n, d, d, generator=gen, dtype=torch.float64)
    h = b @ b.transpose(1, 2) + torch.eye(d, dtype=torch.float64)
    s = torch.randn(n, d, generator=gen, dtype=torch.float64)
    a = torch.randn(n, d, d, generator=gen, dtype=torch.float64)
    yv = s + 0.3 * torch.einsum("nde,ne->nd", a, s)
    sy = (s * yv).sum(-1)
    got = fixed_point._bfgs_update(h, s, yv, sy)
    eye = torch.eye(d, dtype=torch.float64)
    for i in range(n):
        rho = 1.0 / sy[i]
        v = eye - rho * torch.outer(yv[i], s[i])
        want = v.T @ h[i] @ v + rho * torch.outer(s[i], s[i])
        torch.testing.assert_close(got[i], want)
    torch.testing.assert_close(got, got.transpose(1, 2))
    torch.testing.assert_close(torch.einsum("nde,ne->nd", got, yv), s)


def test_bfgs_curvature_is_row_major_whatever_the_preconditioner_layout():
    """The dense estimates are stored row-major (the batched products run
    faster so) even from a column-major ``P``, as ``torch.linalg.inv``
    returns it, and give the same solution as from a row-major one."""
    d = 5
    grad_fn, m, _ = _quadratic(d, 2)
    p = torch.linalg.inv(torch.eye(d, dtype=torch.float64) - 0.5 * m)
    assert not p.is_contiguous()  # LAPACK's layout
    y = torch.randn(20, d, dtype=torch.float64)
    opts = dict(method="bfgs", tol=1e-10, max_iter=60)
    res = solve_c_transform(grad_fn, y, preconditioner=p, **opts)
    assert res.inverse_hessian.is_contiguous()
    assert bool(res.converged.all())
    same = solve_c_transform(grad_fn, y, preconditioner=p.contiguous(), **opts)
    torch.testing.assert_close(res.x, same.x, atol=1e-12, rtol=0)


def test_preconditioner_makes_quadratic_exact_in_one_step():
    d = 5
    grad_fn, m, c = _quadratic(d, 2)
    p = torch.linalg.inv(torch.eye(d, dtype=torch.float64) - m)
    y = torch.randn(20, d, dtype=torch.float64)
    res = solve_c_transform(grad_fn, y, preconditioner=p, tol=1e-10, max_iter=5)
    assert res.n_iter.max().item() == 1


def test_bfgs_returns_curvature_that_a_later_solve_reuses():
    d = 6
    grad_fn, m, c = _quadratic(d, 4)
    eye = torch.eye(d, dtype=torch.float64)
    y = torch.randn(25, d, dtype=torch.float64)
    first = solve_c_transform(grad_fn, y, method="bfgs", tol=1e-10, max_iter=60)
    assert first.inverse_hessian.shape == (25, d, d)
    assert solve_c_transform(grad_fn, y, tol=1e-10).inverse_hessian is None
    # the exact inverse Hessian of the inner objective makes one step exact
    exact = torch.linalg.inv(eye - m).expand(25, d, d)
    res = solve_c_transform(
        grad_fn, y, method="bfgs", inverse_hessian=exact, tol=1e-10, max_iter=5
    )
    assert res.n_iter.max().item() == 1
    # a new target solved with the curvature of the first solve: fewer steps
    y2 = y + 0.5 * torch.randn(25, d, dtype=torch.float64)
    cold = solve_c_transform(grad_fn, y2, method="bfgs", tol=1e-10, max_iter=60)
    warm = solve_c_transform(
        grad_fn,
        y2,
        method="bfgs",
        inverse_hessian=first.inverse_hessian,
        tol=1e-10,
        max_iter=60,
    )
    assert bool(warm.converged.all())
    assert warm.n_evals.double().mean() < 0.6 * cold.n_evals.double().mean()
    # rows with a non-finite estimate start from the preconditioner (here I)
    h0 = exact.clone()
    h0[::2, 0, 0] = float("nan")
    mixed = solve_c_transform(
        grad_fn, y, method="bfgs", inverse_hessian=h0, tol=1e-10, max_iter=60
    )
    assert mixed.n_evals[::2].tolist() == first.n_evals[::2].tolist()
    assert (mixed.n_iter[1::2] == 1).all()
    with pytest.raises(ValueError, match="method='bfgs' only"):
        solve_c_transform(grad_fn, y, inverse_hessian=exact)


def test_safeguard_keeps_unbounded_problem_finite():
    # φ(x) = |x|² makes ½|x − y|² − φ unbounded below: a plain fixed-point
    # iteration x ← y + 2x blows up; the safeguarded solve stays finite and
    # reports non-convergence.
    def grad_fn(x, rows):
        return (x * x).sum(-1), 2.0 * x

    y = torch.randn(10, 3)
    for method in SOLVERS:
        res = solve_c_transform(grad_fn, y, method=method, max_iter=50)
        assert torch.isfinite(res.x).all()
        assert not bool(res.converged.any())


def test_warm_start_at_solution_stops_immediately():
    grad_fn, m, c = _quadratic(4, 3)
    y = torch.randn(8, 4, dtype=torch.float64)
    exact = torch.linalg.solve(torch.eye(4, dtype=torch.float64) - m, (y + c).T).T
    res = solve_c_transform(grad_fn, y, x0=exact, tol=1e-8)
    assert res.n_iter.max().item() == 0


@pytest.mark.parametrize("bad", [dict(method="newton"), dict(max_iter=-1)])
def test_solver_rejects_bad_options(bad):
    grad_fn, _, _ = _quadratic(3, 0)
    with pytest.raises(ValueError, match="method must be one of|max_iter, tol"):
        solve_c_transform(grad_fn, torch.zeros(2, 3, dtype=torch.float64), **bad)


def test_envelope_gradient_matches_finite_differences():
    """d/dθ of the dual with the exact c-transform equals the envelope gradient."""
    torch.manual_seed(0)
    pot = _perturbed(3).double()
    x = torch.randn(32, 3, dtype=torch.float64)
    y = torch.randn(32, 3, dtype=torch.float64) + 0.5

    def dual():
        with torch.no_grad():
            res = backward_map(pot, y, tol=1e-12, max_iter=500)
        assert bool(res.converged.all())
        return -dual_loss(pot, x, y, res.x), res.x

    value, x_hat = dual()
    pot.zero_grad()
    (-value).backward()
    grads = {n: p.grad.clone() for n, p in pot.named_parameters()}
    eps = 1e-6
    for name in ["out", "linear", "layers.0.bias"]:
        p = dict(pot.named_parameters())[name]
        direction = torch.randn_like(p)
        with torch.no_grad():
            p.add_(eps * direction)
            plus = dual()[0].item()
            p.sub_(2 * eps * direction)
            minus = dual()[0].item()
            p.add_(eps * direction)
        fd = (plus - minus) / (2 * eps)
        analytic = -(grads[name] * direction).sum().item()
        assert fd == pytest.approx(analytic, rel=1e-5, abs=1e-8), name


def _nonconvex(d=2, seed=0):
    """A potential whose ψ has strongly negative curvature in places."""
    torch.manual_seed(seed)
    pot = MLPPotential(d, (16,), activation="tanh")
    with torch.no_grad():
        pot.quad_factor.mul_(0.3)
        pot.out.normal_(0.0, 1.0)
    return pot


def test_convexity_violation_matches_autograd_secants():
    pot = _nonconvex().double()
    x = 2.0 * torch.randn(64, 2, dtype=torch.float64)
    n = len(x)
    b = x + (torch.arange(1, n + 1, dtype=x.dtype) / n)[:, None] * (x.roll(1, 0) - x)

    def grad_psi(z):  # independent of the closed-form gradient
        z = z.clone().requires_grad_(True)
        return torch.autograd.grad(pot.psi(z).sum(), z)[0]

    m = ((grad_psi(x) - grad_psi(b)) * (x - b)).sum(-1) / ((x - b) ** 2).sum(-1)
    expected = torch.relu(-m).square().mean()
    assert expected > 1e-3  # the example is non-convex
    torch.testing.assert_close(convexity_violation(pot, x), expected)


def test_convexity_violation_is_zero_for_convex_psi():
    x = torch.randn(128, 3)
    assert convexity_violation(MLPPotential(3, (8,)), x) == 0  # ψ = ½|x|²
    quadratic = MLPPotential(3, ())
    with torch.no_grad():
        quadratic.quad_factor.copy_(torch.randn(1, 3, 3))
    assert convexity_violation(quadratic, x) == 0  # ψ = ½|Lᵀx|² + bᵀx


def test_convexity_violation_gradient_reduces_it():
    pot = _nonconvex(seed=1)
    x = 2.0 * torch.randn(256, 2)
    before = convexity_violation(pot, x).item()
    opt = torch.optim.SGD(pot.parameters(), lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        convexity_violation(pot, x).backward()
        opt.step()
    assert convexity_violation(pot, x).item() < 0.5 * before


def test_backward_inverts_forward():
    pot = _perturbed(4, seed=1)
    x = torch.randn(50, 4)
    res = backward_map(pot, forward_map(pot, x), tol=1e-6, max_iter=200)
    assert bool(res.converged.all())
    torch.testing.assert_close(res.x, x, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(activation="relu"), "activation must be one of"),
        (dict(conditioning="concat"), "conditioning must be one of"),
        (dict(n_classes=0), "n_features and n_classes must be positive"),
    ],
)
def test_potential_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPPotential(2, (4,), **kwargs)


def test_potential_without_hidden_layers_is_quadratic():
    pot = MLPPotential(2, ())
    assert pot.out is None
    x = torch.randn(4, 2)
    torch.testing.assert_close(forward_map(pot, x), x)


@pytest.mark.parametrize("missing", [float("nan"), float("inf")])
def test_backward_map_nan_start_rows_use_the_affine_inverse(missing):
    from skfpot.core import backward_map

    torch.manual_seed(0)
    potential = MLPPotential(3, (8,))
    y = torch.randn(6, 3)
    cold = backward_map(potential, y, tol=1e-6)
    x0 = cold.x.clone()
    x0[::2, 1] = missing  # half the rows have no (usable) previous solution
    warm = backward_map(potential, y, x0=x0, tol=1e-6)
    torch.testing.assert_close(warm.x, cold.x, atol=1e-5, rtol=0)
    assert not torch.isfinite(x0[::2, 1]).any()  # the caller's x0 is not modified
    assert (warm.n_evals[1::2] == 1).all()  # solved rows need no iteration


@pytest.mark.parametrize("method", SOLVERS)
def test_residual_is_the_per_coordinate_rms_before_convergence(method):
    """The reported residual is |x − y − ∇φ(x)|₂ / √d exactly, also for
    rows still far from converged (the convergence test's tolerance hid a
    residual off by √d)."""
    d = 6
    m = 0.5 * torch.eye(d, dtype=torch.float64)

    def grad_fn(x, rows):
        return 0.5 * (x @ m * x).sum(-1), x @ m

    y = torch.randn(
        20, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    res = solve_c_transform(grad_fn, y, method=method, max_iter=1, step_size=0.5)
    r = res.x - y - grad_fn(res.x, None)[1]
    assert (res.residual > 1e-3).all()
    torch.testing.assert_close(
        res.residual, r.norm(dim=-1) / math.sqrt(d), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("method", SOLVERS)
def test_safeguard_gives_up_once_the_step_underflows(method):
    """A potential that is NaN away from the start rejects every trial: the
    safeguard halves the step until it falls below 1e-10 of the first
    (2**-34), then stops the row where it is, unconverged."""
    y = torch.randn(
        4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )

    def grad_fn(x, rows):
        ok = (x == y[rows]).all(-1)
        nan = torch.tensor(math.nan, dtype=x.dtype)
        return torch.where(
            ok, torch.zeros(len(x), dtype=x.dtype), nan
        ), torch.ones_like(x)

    res = solve_c_transform(grad_fn, y, method=method, max_iter=100)
    assert res.n_iter.tolist() == [34] * 4
    assert torch.equal(res.x, y) and not res.converged.any()


def test_dual_loss_weights_are_normalised():
    """L02: the weighted expectations are Σ w v / Σ w, not Σ w v / n."""
    torch.manual_seed(0)
    potential = MLPPotential(2, (8,))
    with torch.no_grad():
        potential.out.normal_()
        potential.linear.normal_()
    x, y = torch.randn(16, 2), torch.randn(12, 2) + 1.0
    x_hat = backward_map(potential, y).x
    wx, wy = torch.rand(16) + 0.5, torch.rand(12) + 0.5
    phi_x, phi_c = dual_values(potential, x, y, x_hat)
    expected = -((phi_x * wx).sum() / wx.sum() + (phi_c * wy).sum() / wy.sum())
    loss = dual_loss(potential, x, y, x_hat, x_weight=wx, y_weight=wy)
    torch.testing.assert_close(loss, expected)
    scaled = dual_loss(potential, x, y, x_hat, x_weight=3 * wx, y_weight=3 * wy)
    torch.testing.assert_close(scaled, loss)


@pytest.mark.parametrize("n_classes, conditioning", [(1, "film"), (3, "embedding")])
def test_potential_from_a_generator_of_its_own(n_classes, conditioning):
    """A generator seeded with s gives the weights of torch.manual_seed(s)
    followed by the plain constructor, leaves the global generator alone,
    and dtype and device place every parameter and buffer."""
    kwargs = dict(n_classes=n_classes, conditioning=conditioning)
    torch.manual_seed(5)
    plain = MLPPotential(3, (16, 8), **kwargs).state_dict()
    state = torch.get_rng_state()
    own = MLPPotential(
        3, (16, 8), generator=torch.Generator().manual_seed(5), **kwargs
    ).state_dict()
    assert torch.equal(torch.get_rng_state(), state)
    assert plain.keys() == own.keys()
    assert all(torch.equal(plain[k], own[k]) for k in plain)
    double = MLPPotential(3, (16, 8), dtype=torch.float64, device="cpu", **kwargs)
    assert all(v.dtype == torch.float64 for v in double.state_dict().values())
    assert all(v.device.type == "cpu" for v in double.state_dict().values())


def _ten_rows_with_exact_curvature(d=4):
    """:func:`_quadratic`'s problem, ten rows of ``y`` and the exact inverse
    Hessian of the inner objective."""
    grad_fn, m, _ = _quadratic(d, 0)
    y = torch.randn(
        10, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    exact = torch.linalg.inv(torch.eye(d, dtype=torch.float64) - m)
    return grad_fn, y, exact


def test_step_size_zero_is_refused():
    grad_fn, y, _ = _ten_rows_with_exact_curvature(3)
    with pytest.raises(ValueError, match="step_size > 0"):
        solve_c_transform(grad_fn, y, step_size=0.0)


def test_inverse_hessian_of_another_float_dtype_is_cast():
    grad_fn, y, exact = _ten_rows_with_exact_curvature()
    h0 = exact.to(torch.float32).expand(10, 4, 4).contiguous()
    res = solve_c_transform(
        grad_fn, y, method="bfgs", inverse_hessian=h0, tol=1e-6, max_iter=20
    )
    assert bool(res.converged.all())
    assert res.inverse_hessian.dtype == torch.float64


def test_inverse_hessian_rows_with_an_infinite_entry_start_from_p():
    grad_fn, y, exact = _ten_rows_with_exact_curvature()
    h0 = exact.expand(10, 4, 4).clone()
    h0[::2, 0, 0] = float("inf")  # non-finite, yet a "descent" direction
    plain = solve_c_transform(grad_fn, y, method="bfgs", tol=1e-10, max_iter=60)
    res = solve_c_transform(
        grad_fn, y, method="bfgs", inverse_hessian=h0, tol=1e-10, max_iter=60
    )
    assert bool(res.converged.all())
    assert res.n_iter[::2].tolist() == plain.n_iter[::2].tolist()
    assert (res.n_iter[1::2] == 1).all()


def test_backtracking_rejects_a_step_that_raises_the_inner_objective():
    # inner objective ½ a |x − x*|² with a = 2.0001: the unit damped step
    # overshoots to the mirror point, raising f by 0.02 %; the Armijo test
    # must reject it (halve the step), else the iterates oscillate outwards
    a = 2.0001

    def grad_fn(x, rows):  # φ(x) = (1 − a) |x|² / 2, so I − ∇²φ = a I
        return 0.5 * (1 - a) * (x * x).sum(-1), (1 - a) * x

    y = torch.tensor([[1.0, -2.0], [0.5, 0.25]], dtype=torch.float64)
    res = solve_c_transform(
        grad_fn, y, method="damped", step_size=1.0, tol=1e-8, max_iter=60
    )
    assert bool(res.converged.all())
    torch.testing.assert_close(res.x, y / a)


def test_lbfgs_scaling_is_measured_in_the_preconditioners_metric():
    # with P = c I the seed γ P of every L-BFGS step is (sᵀy / yᵀy) I
    # whatever c: a scaled identity preconditioner costs no extra steps
    torch.manual_seed(0)
    d = 6
    a = torch.randn(d, d, dtype=torch.float64)
    inner = torch.eye(d, dtype=torch.float64) + a @ a.T / d
    m = torch.eye(d, dtype=torch.float64) - inner

    def grad_fn(x, rows):
        return 0.5 * ((x @ m) * x).sum(-1), x @ m

    y = torch.randn(50, d, dtype=torch.float64)
    opts = dict(method="lbfgs", tol=1e-10, max_iter=200)
    plain = solve_c_transform(grad_fn, y, **opts)
    scaled = solve_c_transform(
        grad_fn, y, preconditioner=0.1 * torch.eye(d, dtype=torch.float64), **opts
    )
    assert bool(plain.converged.all()) and bool(scaled.converged.all())
    assert scaled.n_iter.sum() <= 1.5 * plain.n_iter.sum()


# Tests of a fourth mutation audit (2026-12-08): each failed with one
# surviving mutant of core/fixed_point.py.
def _zero_potential(x, rows):
    """φ = 0: the fixed point of x = y + ∇φ(x) is y, the residual x − y."""
    return torch.zeros(len(x), dtype=x.dtype), torch.zeros_like(x)


# --------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [dict(memory=-1), dict(tol=-1e-6)])
def test_solver_rejects_negative_memory_and_tolerance(bad):
    """F01 / F02: ``memory < 0`` and ``tol < 0`` are refused (the message
    says so); without the check a negative memory silently ran as 1 and a
    negative tolerance spent max_iter on every row and never converged."""
    grad_fn, _, _ = _quadratic(3, 0)
    y = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="max_iter, tol and memory must be >= 0"):
        solve_c_transform(grad_fn, y, **bad)


@pytest.mark.parametrize("method", SOLVERS)
def test_max_iter_zero_evaluates_the_start_only(method):
    """F03: ``max_iter=0`` is allowed (">= 0") and returns the start with its
    residual and value, after one evaluation and no iteration."""
    grad_fn, _, _ = _quadratic(3, 0)
    y = torch.randn(
        5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    x0 = y + 0.5
    res = solve_c_transform(grad_fn, y, x0=x0, method=method, max_iter=0)
    assert torch.equal(res.x, x0)
    assert res.n_iter.tolist() == [0] * 5 and res.n_evals.tolist() == [1] * 5
    phi, grad = grad_fn(x0, None)
    torch.testing.assert_close(res.residual, (x0 - y - grad).norm(dim=-1) / 3**0.5)
    torch.testing.assert_close(res.value, 0.5 * ((x0 - y) ** 2).sum(-1) - phi)
    assert not res.converged.any()


# ------------------------------------------------------ convergence test
@pytest.mark.parametrize("method", SOLVERS)
def test_a_residual_equal_to_tol_has_converged(method):
    """F07 / F08: a sample stops, converged, once ``residual <= tol``, equality
    included (the documented test). With φ = 0 and d = 1 the start's
    residual |x0 − y| = 0.5 is exact; tol = 0.5 and, at the exact solution,
    tol = 0 must both stop at once."""
    y = torch.tensor([[1.0], [-2.0]], dtype=torch.float64)
    res = solve_c_transform(_zero_potential, y, x0=y + 0.5, method=method, tol=0.5)
    assert res.residual.tolist() == [0.5, 0.5]
    assert res.converged.all() and res.n_iter.tolist() == [0, 0]
    exact = solve_c_transform(_zero_potential, y, x0=y, method=method, tol=0.0)
    assert exact.converged.all() and exact.n_iter.tolist() == [0, 0]


# --------------------------------------------------------------- safeguards
@pytest.mark.parametrize("method", SOLVERS)
def test_a_start_with_an_infinite_residual_is_given_up_at_once(method):
    """F09: a row whose gradient at the start overflows (infinite residual)
    cannot be improved by any trial step; the solve gives it up without
    iterating (n_evals 1), instead of halving the step 34 times for
    nothing. Other rows are solved as usual."""
    y = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)

    def grad_fn(x, rows):
        phi = -0.25 * (x * x).sum(-1)
        grad = -0.5 * x
        overflow = (rows == 0) & (x == y[rows]).all(-1)  # row 0's start only
        return phi, torch.where(overflow[:, None], math.inf, grad)

    res = solve_c_transform(grad_fn, y, method=method, tol=1e-8, max_iter=100)
    assert res.n_iter[0].item() == 0 and res.n_evals[0].item() == 1
    assert not res.converged[0] and torch.equal(res.x[0], y[0])
    assert res.converged[1]
    torch.testing.assert_close(res.x[1], y[1] / 1.5)


@pytest.mark.parametrize("method", SOLVERS)
def test_a_trial_point_with_a_non_finite_gradient_is_rejected(method):
    """F14: a trial point where φ is finite but ∇φ is not (an overflowing
    gradient) must be rejected like one with a non-finite value: the step is
    halved and the solve goes on to the solution. Accepting it ended the
    solve there, unconverged, with a NaN residual."""
    # inner objective ½(x − 1)² + ½x², minimiser 0.5; the preconditioned
    # first step (P = 0.8) lands at 0.2 (f: 0.5 -> 0.34, accepted by Armijo)
    # where the gradient is NaN; the halved step lands at 0.6
    y = torch.tensor([[1.0]], dtype=torch.float64)

    def grad_fn(x, rows):
        grad = torch.where(x < 0.25, math.nan, -x)
        return -0.5 * (x * x).sum(-1), grad

    p = torch.tensor([[0.8]], dtype=torch.float64)
    res = solve_c_transform(
        grad_fn, y, method=method, preconditioner=p, tol=1e-8, max_iter=100
    )
    assert res.converged.all()
    assert torch.isfinite(res.residual).all()
    torch.testing.assert_close(res.x, torch.tensor([[0.5]], dtype=torch.float64))


@pytest.mark.parametrize("step_size", [0.25, 4.0])
def test_safeguard_gives_up_relative_to_the_first_step(step_size):
    """F16: the safeguard stops a row once its step falls below 1e-10 of the
    *first* step (34 halvings whatever ``step_size``), not below 1e-10 in
    absolute terms (tests/test_core.py checks step_size=1 only, where the
    two coincide)."""
    y = torch.randn(
        4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )

    def grad_fn(x, rows):  # NaN anywhere but at the start: every trial fails
        ok = (x == y[rows]).all(-1)
        nan = torch.tensor(math.nan, dtype=x.dtype)
        return torch.where(
            ok, torch.zeros(len(x), dtype=x.dtype), nan
        ), torch.ones_like(x)

    res = solve_c_transform(
        grad_fn, y, method="damped", step_size=step_size, max_iter=100
    )
    assert res.n_iter.tolist() == [34] * 4
    assert torch.equal(res.x, y) and not res.converged.any()


def test_a_degenerate_carried_curvature_falls_back_to_p():
    """F19: a carried inverse-Hessian estimate that gives no descent (all
    zeros, as a float16 cache of tiny curvature rounds to; slope exactly 0)
    is replaced by P, so the row solves as from scratch. Kept, its zero
    direction never moved the row (max_iter iterations, unconverged)."""
    grad_fn, m, c = _quadratic(4, 0)
    y = torch.randn(
        6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    exact = torch.linalg.solve(torch.eye(4, dtype=torch.float64) - m, (y + c).T).T
    h0 = torch.zeros(6, 4, 4, dtype=torch.float64)
    plain = solve_c_transform(grad_fn, y, method="bfgs", tol=1e-10, max_iter=60)
    res = solve_c_transform(
        grad_fn, y, method="bfgs", inverse_hessian=h0, tol=1e-10, max_iter=60
    )
    assert res.converged.all()
    torch.testing.assert_close(res.x, exact, atol=1e-8, rtol=0)
    assert res.n_iter.tolist() == plain.n_iter.tolist()


def test_backtracking_tolerates_absolute_rounding_of_the_potential():
    """F21: the Armijo test's slack has an absolute floor (``+ 1.0``), so a
    float32 potential whose value carries rounding of its own terms (here
    φ = (10 + q) − 10: an absolute error of about 1e-6, as a network's sum
    of larger terms has) still converges near a small objective. Without
    the floor every late trial was rejected and the damped solve failed."""

    def grad_fn(x, rows):
        q = 0.25 * (x * x).sum(-1)
        return (10.0 + q) - 10.0, 0.5 * x  # x* = 2y

    y = 1e-2 * torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    res = solve_c_transform(grad_fn, y, method="damped", tol=1e-6, max_iter=100)
    assert res.converged.all()
    torch.testing.assert_close(res.x, 2 * y, atol=1e-5, rtol=0)


def test_relative_curvature_threshold_keeps_near_orthogonal_secants_out():
    """F17: a secant pair is kept only when sᵀy > 1e-8 |s| |y|, not merely
    > 0. Inner objective ½a u₁² + huber(u₂) (u = x − y), started deep in the
    Huber's linear part with u₁ = 1e-9: the first step's y is nearly
    orthogonal to its s (sᵀy / |s||y| ≈ 1e-9); kept, its ρ ≈ 1e19 threw the
    next iterate to |x| ≈ 1e19, where the float64 slack swallowed the
    Armijo test and the residual of the linear part looked converged."""
    a = 0.5
    y = torch.tensor([[0.3, -0.2], [1.0, 2.0]], dtype=torch.float64)

    def grad_fn(x, rows):  # φ = ½|u|² − f(u), so ∇f = x − y − ∇φ
        u = x - y[rows]
        t = u[:, 1]
        huber = torch.where(t.abs() <= 1, 0.5 * t**2, t.abs() - 0.5)
        f = 0.5 * a * u[:, 0] ** 2 + huber
        grad_f = torch.stack((a * u[:, 0], t.clamp(-1, 1)), -1)
        return 0.5 * (u * u).sum(-1) - f, u - grad_f

    x0 = y + torch.tensor([1e-9, 20.0], dtype=torch.float64)
    for method in ("lbfgs", "bfgs"):
        res = solve_c_transform(grad_fn, y, x0=x0, method=method, tol=1e-8)
        assert res.converged.all(), method
        torch.testing.assert_close(res.x, y, atol=1e-8, rtol=0)
