"""
=====================================
Transport map between two 2-D samples
=====================================

This example learns the optimal transport map from a standard Gaussian sample
to a curved, banana-shaped sample with :class:`~skfpot.FixedPointOT`, then
draws the map as arrows from ``x`` to ``T(x)`` on top of the level sets of the
learned convex potential ``ψ(x) = ½|x|² − φ(x)``, whose gradient is the map
(Brenier's theorem).
"""

# %%
# Two unpaired samples
# --------------------
# The source ``X`` is a standard Gaussian. The target ``Y`` bends a Gaussian
# into a banana. The two samples are drawn independently: no row of ``Y`` is
# the image of a row of ``X``, and the estimator never treats them as pairs.
import matplotlib.pyplot as plt
import numpy as np
import torch

from skfpot import FixedPointOT

rng = np.random.default_rng(0)


def sample_banana(n, rng):
    z = rng.normal(size=(n, 2))
    return np.column_stack([1.5 * z[:, 0], 0.5 * z[:, 1] + 0.6 * z[:, 0] ** 2 - 1.0])


X = rng.normal(size=(4000, 2))
Y = sample_banana(4000, rng)

# %%
# Fit the map
# -----------
# A small potential (two hidden layers of 64 units) and 1000 optimizer steps
# are enough in two dimensions; the defaults are sized for harder problems.
est = FixedPointOT(hidden_layer_sizes=(64, 64), max_iter=1000, random_state=0)
est.fit(X, Y)

# Fresh samples, not seen during training.
X_test = rng.normal(size=(2000, 2))
Y_test = sample_banana(2000, rng)
T_test = est.transform(X_test)
print(f"optimizer steps: {est.n_iter_}")
print(f"held-out dual estimate of W2²/2: {est.score(X_test, Y_test):.3f}")
print(
    f"target mean {Y_test.mean(axis=0).round(2)}, T(X) mean {T_test.mean(0).round(2)}"
)
print(f"target std  {Y_test.std(axis=0).round(2)}, T(X) std  {T_test.std(0).round(2)}")

# %%
# The potential in the user's coordinates
# ---------------------------------------
# The fitted network ``est.module_`` works in standardised units: both samples
# are centred and divided by one common scale before training. Written back in
# the user's units, the convex potential is
# ``ψ(x) = x · mean_target_ + scale_² ψ_std((x − mean_source_) / scale_)``,
# and ``T = ∇ψ``.


def potential_psi(est, Z):
    """Evaluate the learned convex potential ψ at the rows of Z."""
    z_std = (Z - est.mean_source_) / est.scale_
    with torch.no_grad():
        psi_std = est.module_.psi(torch.as_tensor(z_std, dtype=torch.float32))
    return Z @ est.mean_target_ + est.scale_**2 * psi_std.numpy().astype(np.float64)


xx, yy = np.meshgrid(np.linspace(-3.5, 3.5, 200), np.linspace(-3.5, 3.5, 200))
grid = np.column_stack([xx.ravel(), yy.ravel()])
psi = potential_psi(est, grid).reshape(xx.shape)

# %%
# Plot the samples, the map and the pushed-forward sample
# -------------------------------------------------------
# Left: the two training samples. Middle: arrows from ``x`` to ``T(x)`` for a
# few source points, over the level sets of ``ψ``; the level sets are closed
# convex curves, as Brenier's theorem requires of the optimal potential.
# Right: fresh source points mapped by ``T`` against a fresh target sample.
fig, axes = plt.subplots(
    1, 3, figsize=(15, 5.4), sharex=True, sharey=True, layout="constrained"
)

ax = axes[0]
ax.scatter(*X[:1500].T, s=4, alpha=0.5, label="source X (Gaussian)")
ax.scatter(*Y[:1500].T, s=4, alpha=0.5, label="target Y (banana)")
ax.set_title("Training samples (unpaired)")

ax = axes[1]
levels = np.quantile(psi, np.linspace(0.0, 0.9, 13))
cs = ax.contourf(xx, yy, psi, levels=levels, cmap="Greys", alpha=0.5, extend="max")
ax.contour(xx, yy, psi, levels=levels, colors="grey", linewidths=0.6)
fig.colorbar(cs, ax=ax, shrink=0.8, label="learned potential ψ(x)")
start = X_test[:80]
end = est.transform(start)
ax.quiver(
    *start.T,
    *(end - start).T,
    angles="xy",
    scale_units="xy",
    scale=1,
    width=0.003,
    color="tab:red",
    alpha=0.8,
)
ax.scatter(*start.T, s=10, color="tab:blue", zorder=3, label="x (source)")
ax.scatter(*end.T, s=10, color="tab:orange", zorder=3, label="T(x)")
ax.set_title("Arrows x → T(x) over level sets of ψ")

ax = axes[2]
ax.scatter(*Y_test.T, s=4, alpha=0.4, color="tab:orange", label="fresh target Y")
ax.scatter(*T_test.T, s=4, alpha=0.4, color="tab:green", label="T(X), fresh X")
ax.set_title("Pushed-forward source vs target")

for ax in axes:
    ax.set_xlabel("$x_1$")
    ax.legend(loc="lower left", fontsize=8, markerscale=2)
    ax.set_aspect("equal")
axes[0].set_ylabel("$x_2$")
axes[0].set_xlim(-3.5, 3.5)
axes[0].set_ylim(-3.5, 3.5)
fig.suptitle("FixedPointOT: standard Gaussian → banana")
plt.show()

# %%
# Training diagnostics
# --------------------
# ``loss_curve_`` holds the negative dual on each training minibatch and
# ``fixed_point_n_evals_`` the mean number of gradient evaluations of the
# potential per sample in the inner fixed-point solve of each step. The solve
# cost is the main cost of training; it stays small and flat once the potential
# has settled.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
axes[0].plot(est.loss_curve_, lw=0.7)
axes[0].set_xlabel("optimizer step")
axes[0].set_ylabel("negative dual (standardised units)")
axes[0].set_title("Training loss")
axes[1].plot(est.fixed_point_n_evals_, lw=0.7, color="tab:purple")
axes[1].set_xlabel("optimizer step")
axes[1].set_ylabel("∇φ evaluations per sample")
axes[1].set_title("Cost of the inner fixed-point solve")
plt.show()
