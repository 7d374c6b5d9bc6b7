"""Neural potentials φ for the quadratic-cost Kantorovich dual.

The potential is written through its convex conjugate partner
``ψ(x) = ½|x|² − φ(x)``, whose gradient is the forward transport map::

    ψ(x; k) = ½ |L_kᵀ x|² + b_kᵀ x + h(x; k)
    φ(x; k) = ½ |x|² − ψ(x; k)
    T(x; k) = x − ∇φ(x; k) = ∇ψ(x; k) = L_k L_kᵀ x + b_k + ∇h(x; k)

``A_k = L_k L_kᵀ`` is an optional learned quadratic part (positive semi-definite
by construction) and ``h`` a smooth multilayer perceptron. ``L_k = I``, ``b_k = 0``
and a zero output layer make both maps start at the identity. Class conditioning
(``n_classes > 1``) uses one quadratic part per class and either a class
embedding added to the first hidden layer or FiLM (a per-class scale and shift of
every hidden layer).

The input gradient is computed in closed form (one extra matrix product per
layer, no autograd graph), because it is evaluated at every step of every
fixed-point solve.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "CONDITIONINGS", "MLPPotential"]


def _silu_grad(z: Tensor) -> Tensor:
    s = torch.sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _softplus_grad(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def _tanh_grad(z: Tensor) -> Tensor:
    return 1.0 - torch.tanh(z) ** 2


#: name -> (activation, derivative, fused backward): the fused backward
#: ``(g, z) -> g · σ'(z)`` is aten's one-pass kernel (or None), used where no
#: graph is built, as it has no double backward
ACTIVATIONS = {
    "silu": (nn.functional.silu, _silu_grad, torch.ops.aten.silu_backward),
    "softplus": (
        nn.functional.softplus,
        _softplus_grad,
        lambda g, z: torch.ops.aten.softplus_backward(g, z, 1.0, 20.0),
    ),
    "tanh": (torch.tanh, _tanh_grad, None),
}

CONDITIONINGS = ("embedding", "film")


def _uninitialised_linear(n_in: int, n_out: int, kw: dict) -> nn.Linear:
    """An ``nn.Linear`` whose parameters are allocated but not drawn (built
    on the meta device, which draws nothing, then given real tensors:
    ``skip_init``'s ``to_empty`` goes through torch's Python references,
    whose first use imports sympy, about 30 MiB)."""
    layer = nn.Linear(n_in, n_out, device="meta")
    layer.weight = nn.Parameter(torch.empty(n_out, n_in, **kw))
    layer.bias = nn.Parameter(torch.empty(n_out, **kw))
    return layer


class MLPPotential(nn.Module):
    """Potential φ(x; k) = ½|x|² − ½|L_kᵀx|² − b_kᵀx − h(x; k).

    Parameters
    ----------
    n_features : int
        Dimension ``d`` of the data.
    hidden_layer_sizes : sequence of int, default=(256, 256, 256)
        Widths of the hidden layers of ``h``. An empty sequence drops ``h``.
    activation : {"silu", "softplus", "tanh"}, default="silu"
        Smooth activation of ``h``.
    quadratic : bool, default=True
        Learn the quadratic and linear part ``(L_k, b_k)``; when False,
        ``L_k = I`` and ``b_k = 0`` are fixed.
    n_classes : int, default=1
        Number of classes ``k`` (1 for an unconditional potential).
    conditioning : {"film", "embedding"}, default="film"
        How ``h`` sees the class when ``n_classes > 1``
        (``ClassConditionalFixedPointOT`` passes its own default,
        ``"embedding"``).
    generator : torch.Generator or None, default=None
        Draws the initial weights; None draws them from torch's global
        generator, as ``torch.nn`` layers do. A generator seeded with ``s``
        gives the weights that ``torch.manual_seed(s)`` followed by
        ``MLPPotential(...)`` gives, without touching the global generator.
    device, dtype : default=None
        Where and in which floating dtype the parameters are made, as for
        ``torch.nn`` layers (None: torch's defaults). ``generator`` must be
        on ``device``.

    Examples
    --------
    At initialisation ``L = I``, ``b = 0`` and ``h = 0``, so ``φ = 0``:

    >>> import torch
    >>> from skfpot.core import MLPPotential
    >>> potential = MLPPotential(3, (16, 16))
    >>> value, grad = potential.value_and_grad(torch.ones(2, 3))
    >>> value.tolist(), grad.abs().max().item()
    ([0.0, 0.0], 0.0)

    Initial weights from a generator of one's own, in float64:

    >>> g = torch.Generator().manual_seed(0)
    >>> potential = MLPPotential(3, (16,), generator=g, dtype=torch.float64)
    >>> potential.layers[0].weight.dtype
    torch.float64
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: tuple[int, ...] = (256, 256, 256),
        *,
        activation: str = "silu",
        quadratic: bool = True,
        n_classes: int = 1,
        conditioning: str = "film",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        if conditioning not in CONDITIONINGS:
            raise ValueError(
                f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}"
            )
        if n_features < 1 or n_classes < 1:
            raise ValueError("n_features and n_classes must be positive")
        self.n_features = n_features
        self.n_classes = n_classes
        self.activation = activation
        self.conditioning = conditioning
        self.quadratic = quadratic
        # explicit device and dtype: torch's defaults (which the caller may
        # have changed) apply only where these are None
        dtype = torch.get_default_dtype() if dtype is None else dtype
        device = torch.empty(0).device if device is None else torch.device(device)
        kw = dict(device=device, dtype=dtype)
        eye = torch.eye(n_features, **kw).expand(n_classes, n_features, n_features)
        if quadratic:
            self.quad_factor = nn.Parameter(eye.clone())
            self.linear = nn.Parameter(torch.zeros(n_classes, n_features, **kw))
        else:
            self.register_buffer("quad_factor", eye.clone())
            self.register_buffer("linear", torch.zeros(n_classes, n_features, **kw))

        sizes = [n_features, *hidden_layer_sizes]
        self.layers = nn.ModuleList(
            _uninitialised_linear(a, b, kw)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        with torch.no_grad():
            # the draws of nn.Linear's own initialisation come first (their
            # values are overwritten below), so that a seed gives the weights
            # it gave when the layers were built on the global generator
            for layer in self.layers:
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
            for layer in self.layers:
                # He-style scale for unit-variance input coordinates
                std = 1.0 / math.sqrt(layer.in_features)
                layer.weight.normal_(0.0, std, generator=generator)
                layer.weight.mul_(math.sqrt(2.0))
                layer.bias.zero_()
        n_hidden = len(hidden_layer_sizes)
        self.out = nn.Parameter(torch.zeros(sizes[-1], **kw)) if n_hidden else None
        self.film_scale = self.film_shift = self.embedding = None
        if n_classes > 1 and n_hidden:
            if conditioning == "film":
                self.film_scale = nn.ParameterList(
                    nn.Parameter(torch.ones(n_classes, w, **kw))
                    for w in hidden_layer_sizes
                )
                self.film_shift = nn.ParameterList(
                    nn.Parameter(torch.zeros(n_classes, w, **kw))
                    for w in hidden_layer_sizes
                )
            else:
                shape = (n_classes, hidden_layer_sizes[0])
                noise = torch.randn(shape, generator=generator, **kw)
                self.embedding = nn.Parameter(0.1 * noise)

    # ------------------------------------------------------------------ parts
    def quadratic_matrix(self) -> Tensor:
        """``A_k = L_k L_kᵀ`` for every class, shape ``(n_classes, d, d)``."""
        return self.quad_factor @ self.quad_factor.transpose(-1, -2)

    def affine_inverse(
        self,
        y: Tensor,
        classes: Tensor | None = None,
        *,
        inverse: Tensor | None = None,
    ) -> Tensor:
        """Solve ``A_k x + b_k = y``: the backward map of the quadratic part.

        It is the exact backward map when ``h`` is constant and the
        starting point of the fixed-point solves.

        Parameters
        ----------
        y : Tensor of shape (n, d)
            Points of the target domain.
        classes : Tensor of shape (n,) or None, default=None
            Class code (``torch.long``) of every row; None for class 0.
        inverse : Tensor of shape (n, d, d) or (d, d), default=None
            The row-wise (or shared) ``A_k⁻¹`` when the caller already has it;
            else :meth:`preconditioner` gives it.

        Returns
        -------
        x : Tensor of shape (n, d)
            ``A_k⁻¹ (y − b_k)``.
        """
        if inverse is None:
            inverse = self.preconditioner()
            inverse = inverse[0] if classes is None else inverse[classes]
        rhs = y - self._per_sample_vec(self.linear, classes)
        if inverse.dim() == 2:
            return rhs @ inverse.T
        return torch.einsum("nde,ne->nd", inverse, rhs)

    def preconditioner(self) -> Tensor:
        """``A_k⁻¹`` (regularised), shape ``(n_classes, d, d)``."""
        a = self._regularised(self.quadratic_matrix())
        return torch.linalg.inv(a)

    @staticmethod
    def _regularised(a: Tensor) -> Tensor:
        d = a.shape[-1]
        trace = a.diagonal(dim1=-2, dim2=-1).sum(-1) / d
        eye = torch.eye(d, dtype=a.dtype, device=a.device)
        return a + 1e-6 * (trace[..., None, None] + 1.0) * eye

    def _per_sample_vec(self, v: Tensor, classes: Tensor | None) -> Tensor:
        return v[0] if classes is None else v[classes]

    # ---------------------------------------------------------------- forward
    def _hidden(self, x: Tensor, classes: Tensor | None) -> tuple[Tensor, list]:
        """Run ``h`` and return its value and the saved pre-activations."""
        act = ACTIVATIONS[self.activation][0]
        pre = []
        z = x
        for i, layer in enumerate(self.layers):
            # nn.Linear's own forward, without the module call's overhead
            z = nn.functional.linear(z, layer.weight, layer.bias)
            if i == 0 and self.embedding is not None:
                z = z + self.embedding[self._class_index(classes, x)]
            if self.film_scale is not None:
                k = self._class_index(classes, x)
                z = self.film_scale[i][k] * z + self.film_shift[i][k]
            pre.append(z)
            z = act(z)
        return z @ self.out, pre

    @staticmethod
    def _class_index(classes: Tensor | None, x: Tensor) -> Tensor:
        if classes is None:
            return torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        return classes

    def psi(self, x: Tensor, classes: Tensor | None = None) -> Tensor:
        """``ψ(x; k) = ½|x|² − φ(x; k)``, whose gradient is the forward map.

        Parameters
        ----------
        x : Tensor of shape (n, d)
            Points, in the potential's dtype and device.
        classes : Tensor of shape (n,) or None, default=None
            Class code (``torch.long``, ``0 … n_classes − 1``) of every row;
            None for an unconditional potential (class 0).

        Returns
        -------
        psi : Tensor of shape (n,)
        """
        lx = self._lt_x(x, classes)
        lin = self._per_sample_vec(self.linear, classes)
        val = 0.5 * (lx * lx).sum(-1) + (x * lin).sum(-1)
        if self.out is not None:
            val = val + self._hidden(x, classes)[0]
        return val

    def _lt_x(self, x: Tensor, classes: Tensor | None) -> Tensor:
        if classes is None:
            return x @ self.quad_factor[0]
        return torch.einsum("nd,nde->ne", x, self.quad_factor[classes])

    def forward(self, x: Tensor, classes: Tensor | None = None) -> Tensor:
        """``φ(x; k)``, differentiable in the parameters.

        Parameters
        ----------
        x : Tensor of shape (n, d)
            Points, in the potential's dtype and device.
        classes : Tensor of shape (n,) or None, default=None
            Class code (``torch.long``, ``0 … n_classes − 1``) of every row;
            None for an unconditional potential (class 0).

        Returns
        -------
        phi : Tensor of shape (n,)
        """
        return 0.5 * (x * x).sum(-1) - self.psi(x, classes)

    def value_and_grad(
        self, x: Tensor, classes: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(φ(x; k), ∇ₓφ(x; k))`` in closed form, without autograd.

        Call it under :func:`torch.no_grad` in solvers; it builds no graph
        across calls.

        Parameters
        ----------
        x : Tensor of shape (n, d)
            Points, in the potential's dtype and device.
        classes : Tensor of shape (n,) or None, default=None
            Class code (``torch.long``, ``0 … n_classes − 1``) of every row;
            None for an unconditional potential (class 0).

        Returns
        -------
        phi : Tensor of shape (n,)
            ``φ(x; k)``.
        grad : Tensor of shape (n, d)
            ``∇ₓφ(x; k)``; ``x − grad`` is the forward map.
        """
        lx = self._lt_x(x, classes)
        lin = self._per_sample_vec(self.linear, classes)
        if classes is None:
            grad_psi = lx @ self.quad_factor[0].T
        else:
            grad_psi = torch.einsum("ne,nde->nd", lx, self.quad_factor[classes])
        grad_psi = grad_psi + lin
        psi = 0.5 * (lx * lx).sum(-1) + (x * lin).sum(-1)
        if self.out is not None:
            h, pre = self._hidden(x, classes)
            psi = psi + h
            grad_psi = grad_psi + self._hidden_grad(pre, classes, x)
        phi = 0.5 * (x * x).sum(-1) - psi
        return phi, x - grad_psi

    def _hidden_grad(self, pre: list, classes: Tensor | None, x: Tensor) -> Tensor:
        _, dact, fused = ACTIVATIONS[self.activation]
        if torch.is_grad_enabled():  # the composite form is differentiable
            fused = None  # twice (convexity penalty); the fused kernel is not
        g = self.out.expand_as(pre[-1])
        layers = list(self.layers)  # plain indexing, not ModuleList's
        for i in range(len(layers) - 1, -1, -1):
            g = g * dact(pre[i]) if fused is None else fused(g, pre[i])
            if self.film_scale is not None:
                g = g * self.film_scale[i][self._class_index(classes, x)]
            g = g @ layers[i].weight
        return g
