"""FixedPointOT: accuracy on known answers, API contracts, bad input."""

import pickle
import re
import warnings
from types import SimpleNamespace

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from skorch.callbacks import BatchScoring, Callback, EpochScoring, LRScheduler

import skfpot
from skfpot import FixedPointOT
from skfpot._training import (
    TrainingDivergedError,
    TrainingMonitor,
    UnpairedBatches,
    UnpairedData,
)
from skfpot.core import FixedPointResult, MLPPotential
from skfpot.core.losses import forward_map
from skfpot.datasets import make_gaussian_pair
from skfpot.metrics import l2_uvp

FAST = dict(hidden_layer_sizes=(32, 32), max_iter=600, random_state=0)
TINY = dict(hidden_layer_sizes=(8,), max_iter=30, eval_interval=10, random_state=0)


@pytest.fixture(scope="module")
def gaussian4():
    # without early stopping: the tests below check the trained network's
    # map (with it, the fit may end at the Gaussian start, the plug-in map)
    problem = make_gaussian_pair(4, random_state=0)
    X, Y = problem.sample(2000, 1500, random_state=1)
    ot = FixedPointOT(**FAST, early_stopping=False).fit(X, Y)
    return problem, ot


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0


def test_learns_gaussian_map_both_ways(gaussian4):
    problem, ot = gaussian4
    Xe = problem.sample_source(4096, random_state=2)
    Ye = problem.forward_map(Xe)
    # measured 1.0 % forward and 1.6 % inverse with these settings
    assert l2_uvp(Ye, ot.transform(Xe)) < 2.0
    assert l2_uvp(Xe, ot.inverse_transform(Ye)) < 3.0


def test_round_trip_recovers_source(gaussian4):
    problem, ot = gaussian4
    Xe = problem.sample_source(2000, random_state=3)
    back = ot.inverse_transform(ot.transform(Xe))
    assert np.linalg.norm(back - Xe) / np.linalg.norm(Xe) < 1e-3


def test_held_out_dual_approaches_closed_form(gaussian4):
    problem, ot = gaussian4
    Xe, Ye = problem.sample(20000, random_state=4)
    half_w2 = 0.5 * problem.w2_squared
    score = ot.score(Xe, Ye)
    assert score == pytest.approx(half_w2, rel=0.03)


def test_fitted_diagnostics(gaussian4):
    _, ot = gaussian4
    assert ot.n_iter_ == len(ot.loss_curve_) == len(ot.fixed_point_n_evals_)
    assert len(ot.fixed_point_converged_) == ot.n_iter_
    assert 1.0 <= ot.fixed_point_n_evals_.mean() <= ot.fixed_point_max_iter + 1
    assert ot.fixed_point_converged_[-100:].mean() > 0.99
    assert ot.validation_scores_ is None and ot.start_validation_score_ is None
    assert ot.kept_start_ is False
    assert ot.n_features_in_ == 4
    # device="auto": CUDA where there is one (the suite also runs on a GPU)
    assert ot.device_.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert "valid_loss" not in ot.history_[-1]


def test_quadratic_part_off_still_learns():
    problem = make_gaussian_pair(2, random_state=0)
    X, Y = problem.sample(2000, random_state=1)
    ot = FixedPointOT(**{**FAST, "quadratic": "none"}).fit(X, Y)
    Xe = problem.sample_source(2000, random_state=2)
    # measured 2.7 %
    assert l2_uvp(problem.forward_map(Xe), ot.transform(Xe)) < 5.0


@pytest.mark.parametrize("solver", ["lbfgs", "bfgs", "damped"])
def test_translation_is_learned_by_every_solver(solver):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    Y = rng.normal(size=(300, 2)) + np.array([5.0, -3.0])
    ot = FixedPointOT(
        hidden_layer_sizes=(16,),
        max_iter=200,
        fixed_point_solver=solver,
        random_state=0,
    ).fit(X, Y)
    shift = ot.transform(X) - X
    np.testing.assert_allclose(shift.mean(0), [5.0, -3.0], atol=0.15)


@pytest.mark.w2bench
def test_convexity_penalty_keeps_psi_convex():
    """convexity_penalty=100 makes ψ = ½|x|² − φ markedly closer to convex on the
    training points of a non-Gaussian problem than training without it."""
    from skfpot.core import convexity_violation
    from skfpot.datasets import load_mix3tomix10

    X, Y = load_mix3tomix10(2).sample(2048, random_state=0)
    violation = {}
    for penalty in (0.0, 100.0):
        ot = FixedPointOT(
            hidden_layer_sizes=(32, 32),
            max_iter=400,
            early_stopping=False,
            convexity_penalty=penalty,
            random_state=0,
        ).fit(X, Y)
        Z = torch.as_tensor((X - ot.mean_source_) / ot.scale_, dtype=torch.float32)
        with torch.no_grad():
            violation[penalty] = convexity_violation(ot.module_, Z).item()
    assert violation[100.0] < 0.3 * violation[0.0]


@pytest.mark.w2bench
def test_convexity_penalty_rows_is_used():
    """A penalty on more rows than the batch uses the whole batch; on fewer
    rows it trains a different potential."""
    from skfpot.datasets import load_mix3tomix10

    X, Y = load_mix3tomix10(2).sample(1024, random_state=0)
    maps = [
        FixedPointOT(
            hidden_layer_sizes=(32, 32),
            max_iter=200,
            early_stopping=False,
            convexity_penalty=100.0,
            convexity_penalty_rows=rows,
            random_state=0,
        )
        .fit(X, Y)
        .transform(X[:20])
        for rows in (4, 10_000)
    ]
    assert np.all(np.isfinite(maps[1]))
    assert not np.allclose(maps[0], maps[1])


def test_scaling_map():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1000, 2))
    Y = 3.0 * rng.normal(size=(1000, 2))
    ot = FixedPointOT(hidden_layer_sizes=(16,), max_iter=300, random_state=0)
    ot.fit(X, Y)
    grid = np.array([[1.0, 0.0], [0.0, -1.0], [0.5, 0.5]])
    np.testing.assert_allclose(ot.transform(grid), 3.0 * grid, atol=0.25)


def test_deterministic_and_rng_untouched(data):
    X, Y = data
    # the legacy global generator is exactly what must stay untouched
    np.random.seed(123)  # noqa: NPY002
    torch.manual_seed(123)
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    torch_state = torch.get_rng_state().clone()
    a = FixedPointOT(**TINY).fit(X, Y).transform(X)
    b = FixedPointOT(**TINY).fit(X, Y).transform(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)
    c = FixedPointOT(**{**TINY, "random_state": 1}).fit(X, Y).transform(X)
    assert not np.allclose(a, c)


def test_fit_leaves_other_devices_generators_alone(data, monkeypatch):
    # fit seeds no generator of torch's, on any device
    calls = []
    for module, name in [
        (torch, "manual_seed"),
        (torch.random, "manual_seed"),
        (torch, "set_rng_state"),
        (torch, "set_default_dtype"),
        (torch.cuda, "manual_seed_all"),
        (torch.cuda, "manual_seed"),
        (torch.mps, "manual_seed"),
        (torch.xpu, "manual_seed_all"),
        (torch.mtia, "manual_seed_all"),
    ]:
        monkeypatch.setattr(module, name, lambda *a, n=name, **k: calls.append(n))
    X, Y = data
    FixedPointOT(**{**TINY, "device": "cpu"}).fit(X, Y)
    assert calls == []


def test_fit_builds_the_network_without_torch_global_state(data, monkeypatch):
    """The initial weights come from the fit's own generator, in float32 on
    the CPU explicitly: while fit builds the network, torch's global
    generator and default dtype stay the caller's (another thread drawing
    from them meanwhile sees its own stream), and the initial weights do not
    depend on them."""
    X, Y = data
    seen, built = [], []
    build = MLPPotential.__init__

    def spy(self, *args, **kwargs):
        seen.append((torch.get_default_dtype(), torch.get_rng_state()))
        build(self, *args, **kwargs)
        seen.append((torch.get_default_dtype(), torch.get_rng_state()))
        built.append({k: v.clone() for k, v in self.state_dict().items()})

    monkeypatch.setattr(MLPPotential, "__init__", spy)
    params = {**TINY, "max_iter": 1}
    FixedPointOT(**params).fit(X, Y)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(7)
        state = torch.get_rng_state()
        FixedPointOT(**params).fit(X, Y)
    finally:
        torch.set_default_dtype(old)
    assert len(seen) == 4 and len(built) == 2
    for dtype, rng_state in seen[2:]:
        assert dtype == torch.float64
        assert torch.equal(rng_state, state)
    assert built[0].keys() == built[1].keys()
    for key, value in built[1].items():
        assert value.dtype == torch.float32 and value.device.type == "cpu"
        assert torch.equal(value, built[0][key]), key


def test_refit_on_new_data(data):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    rng = np.random.default_rng(1)
    ot.fit(rng.normal(size=(40, 5)), rng.normal(size=(30, 5)))
    assert ot.n_features_in_ == 5
    assert ot.transform(rng.normal(size=(3, 5))).shape == (3, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_keeps_float_dtype(data, dtype):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X.astype(dtype), Y.astype(dtype))
    assert ot.transform(X.astype(dtype)).dtype == dtype
    assert ot.inverse_transform(Y.astype(dtype)).dtype == dtype


def test_integer_input_maps_to_float(data):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(np.round(X * 10).astype(int), Y)
    assert ot.transform(np.ones((2, 3), dtype=int)).dtype == np.float64


def test_pandas_output_and_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, Y = data
    cols = ["a", "b", "c"]
    ot = FixedPointOT(**TINY).set_output(transform="pandas")
    ot.fit(pd.DataFrame(X, columns=cols), pd.DataFrame(Y, columns=cols))
    out = ot.transform(pd.DataFrame(X, columns=cols))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == cols
    assert list(ot.get_feature_names_out()) == cols
    assert list(ot.feature_names_in_) == cols


def test_persistence_round_trips(data, tmp_path):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    expected = ot.transform(X)
    path = tmp_path / "ot.joblib"
    joblib.dump(ot, path)
    for restored in [pickle.loads(pickle.dumps(ot)), joblib.load(path)]:
        np.testing.assert_array_equal(restored.transform(X), expected)
        assert next(restored.module_.parameters()).device.type == "cpu"
    fresh = clone(ot)
    assert fresh.get_params() == ot.get_params()
    assert not hasattr(fresh, "module_")


@pytest.mark.parametrize("device", ["cuda", "mps", "xpu", "hpu", "privateuseone"])
def test_gpu_trained_model_loads_on_cpu(data, monkeypatch, device):
    """A model whose ``device_`` is an accelerator this machine lacks maps on
    the CPU (torch reports a missing device with several exception types)."""
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    expected = ot.transform(X), ot.inverse_transform(Y)
    ot.device_ = torch.device(device)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = pickle.loads(pickle.dumps(ot))
    try:
        torch.empty(0, device=device)
    except Exception:
        pass
    else:
        pytest.skip(f"this machine has {device}")
    np.testing.assert_array_equal(restored.transform(X), expected[0])
    np.testing.assert_array_equal(restored.inverse_transform(Y), expected[1])


# a tiny fit between Gaussians may keep its closed-form start (and warn)
@pytest.mark.filterwarnings("ignore:training did not improve the map:UserWarning")
def test_chunked_parallel_transform_matches_serial():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1
    ot = FixedPointOT(**TINY).fit(X, Y)
    big = rng.normal(size=(17000, 2))  # three chunks of 8192 rows
    serial = ot.transform(big)
    parallel = ot.set_params(n_jobs=2).transform(big)
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_allclose(
        ot.inverse_transform(serial[:9000]), big[:9000], atol=1e-3
    )


def test_early_stopping_anneals_then_stops(data, capsys):
    X, Y = data
    ot = FixedPointOT(
        hidden_layer_sizes=(8,),
        max_iter=5000,
        eval_interval=5,
        n_iter_no_change=2,
        tol=10.0,  # no evaluation counts as an improvement
        random_state=0,
        verbose=1,
    ).fit(X, Y)
    # plateau after the first evaluation + 2 without improvement, then a
    # 0.3 * max_iter = 1500 step annealing
    assert ot.n_iter_ == 15 + 1500
    assert "annealing the learning rate to zero over the last 1500" in (
        capsys.readouterr().out
    )
    no_es = FixedPointOT(**{**TINY, "early_stopping": False}).fit(X, Y)
    assert no_es.n_iter_ == TINY["max_iter"]
    assert no_es.validation_scores_ is None


def test_verbose_log_prints_every_evaluation(data, capsys):
    X, Y = data
    ot = FixedPointOT(
        **{**TINY, "max_iter": 600, "eval_interval": 200, "n_iter_no_change": 1},
        tol=10.0,  # plateau at once, then anneal: the loop ends by a callback
        verbose=1,
    ).fit(X, Y)
    out = capsys.readouterr().out
    # evaluations at 200 and 400 steps, then 200 annealing steps, ended by
    # the early-stopping callback after the third evaluation
    assert "annealing the learning rate to zero over the last 200" in out
    assert len(ot.history_) == 3
    rows = re.findall(r"^\s+(\d+)\s+\S*\d", out, flags=re.MULTILINE)
    assert [int(r) for r in rows] == list(range(1, len(ot.history_) + 1))
    assert "\x1b[" not in out  # no colour codes when the output is not a terminal


def test_constant_schedule_and_verbose_output(data, capsys):
    X, Y = data
    FixedPointOT(**{**TINY, "learning_rate_schedule": "constant", "verbose": 1}).fit(
        X, Y
    )
    out = capsys.readouterr()
    assert "valid_loss" in out.out
    assert "fp_evals" in out.out
    # one progress bar per evaluation interval, sized to it (not to the data)
    totals = set(re.findall(r"\d+/(\d+) \[", out.err))
    assert totals == {str(TINY["eval_interval"])}


def test_non_converged_inverse_warns(gaussian4):
    problem, ot = gaussian4
    Ye = problem.forward_map(problem.sample_source(500, random_state=5))
    strict = clone(ot).set_params(fixed_point_max_iter=1)
    strict.__dict__.update({k: v for k, v in vars(ot).items() if k.endswith("_")})
    with pytest.warns(ConvergenceWarning, match=r"did not converge for \d+\.\d+%"):
        strict.inverse_transform(Ye)
    with pytest.warns(ConvergenceWarning, match="Increase fixed_point_max_iter"):
        strict.inverse_transform(Ye)


def test_inverse_far_outside_the_data_says_float32_limits_it(gaussian4):
    """Thousands of scale_ from the data the residual is float32 rounding of
    the point's distance: more iterations cannot help, and the warning says
    so instead of asking for them."""
    problem, ot = gaussian4
    directions = np.random.default_rng(0).normal(size=(20, ot.n_features_in_))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    far = ot.mean_target_ + 1e4 * ot.scale_ * directions  # some solves land
    with pytest.warns(ConvergenceWarning, match="far outside the data") as rec:
        x = ot.inverse_transform(far)
    assert "Increase fixed_point_max_iter" not in str(rec[0].message)
    residual = np.linalg.norm(ot.transform(x) - far, axis=1)
    assert residual.max() < 1e-5 * np.linalg.norm(far - ot.mean_target_, axis=1).min()


def test_divergence_before_any_good_weights_raises_the_public_error(data, monkeypatch):
    from skfpot import _training

    loss = _training.dual_loss
    monkeypatch.setattr(
        _training, "dual_loss", lambda *a, **k: loss(*a, **k) * float("nan")
    )
    X, Y = data
    ot = FixedPointOT(**TINY)
    with pytest.raises(skfpot.TrainingDivergedError, match="training diverged") as exc:
        ot.fit(X, Y)
    assert isinstance(exc.value, RuntimeError) and exc.value.step == 1
    with pytest.raises(NotFittedError):  # nothing half-fitted is left
        ot.transform(X)


@pytest.mark.parametrize("early_stopping", [True, False])
def test_divergence_before_the_first_evaluation_keeps_the_start(
    data, monkeypatch, early_stopping
):
    # the dual turns NaN at the third step, before any evaluation: the first
    # step's dual judged the starting weights sane, so the model keeps them
    # with a warning (it raised TrainingDivergedError before)
    from skfpot import _training

    loss, calls = _training.dual_loss, []

    def failing(*args, **kwargs):
        calls.append(None)
        value = loss(*args, **kwargs)
        return value * float("nan") if len(calls) >= 3 else value

    monkeypatch.setattr(_training, "dual_loss", failing)
    X, Y = data
    params = {**TINY, "early_stopping": early_stopping}
    match = "optimizer step 3.*keeps the starting weights"
    with pytest.warns(ConvergenceWarning, match=match):
        ot = FixedPointOT(**params).fit(X, Y)
    assert ot.kept_start_ and ot.n_iter_ == 3
    monkeypatch.setattr(_training, "dual_loss", loss)
    params.update(learning_rate_init=1e-12, max_iter=1)
    start = FixedPointOT(**params).fit(X, Y)
    np.testing.assert_allclose(ot.transform(X), start.transform(X), atol=1e-5)


def test_divergence_is_caught(data):
    """A training run that blows up never returns silently broken weights."""
    X, Y = data
    ot = FixedPointOT(
        hidden_layer_sizes=(64, 64),
        learning_rate_init=5.0,
        max_iter=400,
        eval_interval=5,
        fixed_point_solver="damped",
        fixed_point_max_iter=2,
        learning_rate_schedule="constant",
        early_stopping=False,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ot.fit(X, Y)
        except RuntimeError as exc:  # no good weights to restore
            assert "training diverged" in str(exc)
            return
    messages = [str(w.message) for w in caught]
    assert any("training diverged" in m for m in messages), messages
    assert np.isfinite(ot.transform(X)).all()
    assert ot.n_iter_ < 400


@pytest.mark.parametrize("eval_interval", [100, 1])
def test_collapsed_dual_is_caught(eval_interval):
    # a learning rate far too large sends the dual far below 0 (the zero
    # potential's) while every solve converges: no silent garbage map
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 2)), 2 * rng.normal(size=(200, 2)) + 3
    ot = FixedPointOT(
        hidden_layer_sizes=(16, 16),
        learning_rate_init=10.0,
        max_iter=100,
        eval_interval=eval_interval,
        random_state=1,  # chaotic at this rate: seeds 0 and 2 blow up first
    )
    # no interval's weights were followed by sane steps (with one step per
    # interval, the first interval's weights produced the collapse), but the
    # first step's dual judged the starting weights sane: the model keeps
    # them, with a warning (it raised TrainingDivergedError before)
    match = "fell to .*keeps the starting weights"
    with pytest.warns(ConvergenceWarning, match=match):
        ot.fit(X, Y)
    assert ot.kept_start_
    images = ot.transform(X)  # the Gaussian start's map: about 2 x + 3
    np.testing.assert_allclose(images.mean(0), Y.mean(0), atol=0.2)
    np.testing.assert_allclose(images.std(0), Y.std(0), rtol=0.2)


# on some CPUs the trajectory also blows up on the way (restored weights)
@pytest.mark.filterwarnings(
    "ignore:training diverged:sklearn.exceptions.ConvergenceWarning"
)
def test_training_worse_than_its_start_keeps_the_start():
    # too large a rate that neither blows up nor collapses within an interval:
    # the held-out dual ends far below the start's, so the start is kept. The
    # trajectory at such a rate is chaotic and its end depends on the CPU's
    # floating-point kernels: on the machines of earlier sessions this seed's
    # dual fell by about 10, on an AMD EPYC with AVX2 by 6 (with the map
    # broken as well). Either fall is far beyond a quarter of the problem's
    # scale: "training made the map worse", and the fit ends at the start.
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 2)), 2 * rng.normal(size=(200, 2)) + 3
    params = dict(hidden_layer_sizes=(16, 16), max_iter=100, eval_interval=50)
    params["random_state"] = 2
    start = FixedPointOT(**params, learning_rate_init=1e-12).fit(X, Y)
    with pytest.warns(ConvergenceWarning, match="model keeps the starting weights"):
        ot = FixedPointOT(**params, learning_rate_init=0.7).fit(X, Y)
    np.testing.assert_allclose(ot.transform(X), start.transform(X), atol=1e-5)
    assert ot.validation_scores_[-1] < 0 < start.validation_scores_[-1]


def test_the_start_is_kept_unless_training_improves_its_held_out_dual():
    # a rate too small to move the held-out dual by tol: the fit ends exactly
    # at the Gaussian start (as one at a rate of 1e-12 does), without a
    # warning, since the trained weights are not significantly worse either
    problem = make_gaussian_pair(3, random_state=0)
    X, Y = problem.sample(600, random_state=1)
    params = dict(hidden_layer_sizes=(16,), max_iter=60, eval_interval=20)
    params["random_state"] = 0
    start = FixedPointOT(**params, learning_rate_init=1e-12).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ot = FixedPointOT(**params, learning_rate_init=1e-5).fit(X, Y)
    assert ot.kept_start_ and start.kept_start_
    np.testing.assert_array_equal(ot.transform(X), start.transform(X))
    assert max(ot.validation_scores_) != ot.start_validation_score_  # it trained


def test_training_that_improves_the_start_is_kept():
    # a non-linear map that the Gaussian start (a linear map) misses: the
    # trained weights improve the held-out dual by far more than tol
    def T(x):  # the gradient of a convex function
        return x + 0.8 * np.tanh(3 * x)

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(1000, 2)), T(rng.normal(size=(1000, 2)))
    params = dict(hidden_layer_sizes=(32, 32), max_iter=300, eval_interval=50)
    params["random_state"] = 0
    start = FixedPointOT(**params, learning_rate_init=1e-12).fit(X, Y)
    ot = FixedPointOT(**params).fit(X, Y)
    assert start.kept_start_ and not ot.kept_start_
    # measured: 0.2624 against the start's 0.2389
    assert ot.validation_scores_[-1] > ot.start_validation_score_ + 100 * ot.tol
    Xe = rng.normal(size=(2000, 2))
    # measured 1.0 % against the start's 3.8 %
    assert l2_uvp(T(Xe), ot.transform(Xe)) < 0.5 * l2_uvp(T(Xe), start.transform(Xe))


def test_overfitting_a_small_sample_keeps_the_start():
    # a network far too large for 135 training rows in d=16: its held-out
    # dual falls below the Gaussian start's from the first evaluation on
    # (0.35 lower at the best one for this seed; 0.15-0.35 on seeds 0-2),
    # so the fit ends where it started, with a warning (not the collapse's)
    problem = make_gaussian_pair(16, random_state=1)
    X, Y = problem.sample(150, 150, random_state=1)
    params = dict(hidden_layer_sizes=(128,), max_iter=200, eval_interval=25)
    params["random_state"] = 1
    start = FixedPointOT(**params, learning_rate_init=1e-12).fit(X, Y)
    with pytest.warns(UserWarning, match="training did not improve the map") as rec:
        ot = FixedPointOT(**params).fit(X, Y)
    assert not any(w.category is ConvergenceWarning for w in rec)
    np.testing.assert_allclose(ot.transform(X), start.transform(X), atol=1e-5)
    assert ot.start_validation_score_ > max(ot.validation_scores_) + 0.1


# ------------------------------------------------------------------ bad input
def test_not_fitted(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        FixedPointOT().transform(X)


@pytest.mark.parametrize(
    "X, Y, error, match",
    [
        ([[np.nan, 1.0], [1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0]], ValueError, "NaN"),
        ([[0.0, 1.0], [1.0, 2.0]], [[np.inf, 1.0], [1.0, 2.0]], ValueError, "infinity"),
        ([1.0, 2.0, 3.0], [[0.0], [1.0]], ValueError, "Expected 2D array"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2)), ValueError, "dim 3"),
        (np.zeros((0, 2)), np.zeros((3, 2)), ValueError, "0 sample"),
        ([[1.0, 2.0]], [[0.0, 1.0], [1.0, 2.0]], ValueError, "1 sample.* minimum of 2"),
        (
            [[0.0, 1.0], [1.0, 2.0]],
            [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]],
            ValueError,
            "X has 2 features but Y has 3 features",
        ),
        (
            [["a", "b"], ["c", "d"]],
            [[0.0, 1.0], [1.0, 2.0]],
            ValueError,
            "could not convert|dtype='numeric'",
        ),
        (sp.csr_matrix(np.eye(3)), np.eye(3), TypeError, "Sparse data was passed"),
        ([[0.0, 1.0], [1.0, 2.0]], None, ValueError, "requires the target sample Y"),
        ([[0.0, 1.0], [1.0, 2.0]], [0, 1], ValueError, "1-D array.*FrozenEstimator"),
    ],
)
def test_bad_input_raises_before_training(X, Y, error, match, monkeypatch):
    def no_training(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("training started")

    monkeypatch.setattr(FixedPointOT, "_fit", no_training)
    with pytest.raises(error, match=match):
        FixedPointOT().fit(X, Y)


def test_transform_checks_feature_count(data):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    with pytest.raises(
        ValueError, match="X has 2 features, but FixedPointOT is expecting 3 features"
    ):
        ot.transform(X[:, :2])
    with pytest.raises(
        ValueError,
        match=re.escape("Y has 2 features, but FixedPointOT is expecting 3 features"),
    ):
        ot.inverse_transform(Y[:, :2])
    with pytest.raises(ValueError, match="NaN"):
        ot.inverse_transform(np.full((2, 3), np.nan))


@pytest.mark.parametrize(
    "params, match",
    [
        (
            dict(max_iter=0),
            "'max_iter' parameter of FixedPointOT must be an int "
            "in the range \\[1, inf\\)",
        ),
        (dict(batch_size=-1), "'batch_size' parameter"),
        (dict(learning_rate_init=0.0), "'learning_rate_init' parameter"),
        (dict(activation="relu"), "'activation' parameter"),
        (dict(fixed_point_solver="newton"), "'fixed_point_solver' parameter"),
        (dict(fixed_point_tol=-1.0), "'fixed_point_tol' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (dict(learning_rate_schedule="step"), "'learning_rate_schedule' parameter"),
        (
            dict(hidden_layer_sizes=(8, 0)),
            "hidden_layer_sizes must be a sequence "
            "of positive integers, got \\(8, 0\\)",
        ),
        (
            dict(hidden_layer_sizes=4),
            "'hidden_layer_sizes' parameter of FixedPointOT must be an array-like",
        ),
        (dict(quadratic=True), "'quadratic' parameter"),
        (dict(device="cuda:0"), "device='cuda:0' was requested but CUDA is not"),
        (dict(device="tpu"), "device='tpu' is not a torch device"),
        (dict(device="xla"), "device='xla' cannot be used on this machine"),
        (dict(device="meta"), "device='meta' cannot be used on this machine"),
        (
            dict(hidden_layer_sizes=(), quadratic="none"),
            "leaves the potential without parameters",
        ),
        (dict(n_jobs=0), "'n_jobs' parameter of FixedPointOT"),
        (dict(callbacks=[42]), "callbacks must be a list of skorch callbacks"),
        (dict(callbacks=[("log", 42)]), "got \\('log', 42\\)"),
        (dict(callbacks=[(1, Callback())]), "callbacks must be a list"),
        # the built-in callbacks' names are taken (fit finds them by name)
        (dict(callbacks=[("early_stopping", Callback())]), "are taken by"),
        (dict(callbacks=[("monitor", Callback())]), "\\['monitor'\\] are taken"),
        # skorch callbacks that would be ignored or fail on unpaired batches
        (dict(callbacks=[LRScheduler()]), "LRScheduler would have no effect"),
        (dict(callbacks=[BatchScoring(len)]), "BatchScoring scores skorch's"),
        (dict(callbacks=[EpochScoring(len)]), "needs use_caching=False"),
        (dict(callbacks=[EpochScoring]), "needs use_caching=False"),
    ],
)
def test_invalid_hyperparameters(data, params, match, monkeypatch):
    X, Y = data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=match):
        FixedPointOT(**{**TINY, **params}).fit(X, Y)


def test_too_large_magnitudes_raise(data):
    X, Y = data
    # float32 data near 1e19 standardise in float64 (their squares would not
    # fit in float32)
    big = FixedPointOT(**TINY).fit((X * 1e19).astype(np.float32), Y * 1e19)
    assert np.isfinite(big.scale_) and big.scale_ > 1e18
    with pytest.raises(ValueError, match="too large in magnitude to standardise"):
        FixedPointOT(**TINY).fit(X * 1e200, Y * 1e200)
    ot = FixedPointOT(**TINY).fit(X, Y)
    with pytest.raises(ValueError, match="too far from the training data"):
        ot.transform(X * 1e300)
    with pytest.raises(ValueError, match="too far from the training data"):
        ot.inverse_transform(Y * 1e300)
    # within float32 but beyond what its squares allow: score was ±inf (which
    # wins a grid search) and transform NaN
    far = X[:6].copy()
    far[-1, 0] = 1e20
    with pytest.raises(ValueError, match="too far from the training data"):
        ot.score(far, Y)
    with pytest.raises(ValueError, match="too far from the training data"):
        ot.score(X, far)
    small = FixedPointOT(**TINY).fit(X.astype(np.float32), Y.astype(np.float32))
    with pytest.raises(ValueError, match="too far from the training data"):
        small.transform(np.where(far > 1, 3e38, far).astype(np.float32))
    near = np.where(far > 1, 1e15, far)  # far, but the network can evaluate it
    assert np.isfinite(ot.score(near, Y)) and np.isfinite(ot.transform(near)).all()


def test_a_far_narrower_target_warns_with_the_rescaling_that_fixes_it():
    # the solves' tolerance is in units of the common scale, which a wide X
    # sets: the inverse resolved a narrow Y's points to 1e-2 of its spread
    rng = np.random.default_rng(0)
    X, Z = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
    start = dict(  # the Gaussian start: one step at a negligible rate
        hidden_layer_sizes=(16,),
        max_iter=1,
        learning_rate_init=1e-12,
        early_stopping=False,
    )

    def round_trip(ot, Y, c=1.0):
        back = ot.transform(ot.inverse_transform(c * Y[:200])) / c
        return np.sqrt(np.mean((back - Y[:200]) ** 2)) / Y.std()

    with pytest.warns(UserWarning, match="X spreads 9.55e\\+03 times as widely as Y"):
        ot = FixedPointOT(**start, random_state=0).fit(X, 1e-4 * Z)
    assert round_trip(ot, 1e-4 * Z) > 1e-3
    # the advice: fit on c * Y, and the round trip is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        scaled = FixedPointOT(**start, random_state=0).fit(X, 1e4 * (1e-4 * Z))
        assert round_trip(scaled, 1e-4 * Z, 1e4) < 1e-4
        for Y in (1e-2 * Z, 1e4 * Z):  # 100 times narrower, or wider: no warning
            FixedPointOT(**start, random_state=0).fit(X, Y)


def test_nan_is_named_when_scikit_learn_assumes_finite_input(data):
    import sklearn

    X, Y = data
    bad = X.copy()
    bad[0, 0] = np.nan
    ot = FixedPointOT(**TINY).fit(X, Y)
    with sklearn.config_context(assume_finite=True):  # check_array skips it
        with pytest.raises(ValueError, match="X contains NaN or infinity"):
            FixedPointOT(**TINY).fit(bad, Y)
        with pytest.raises(ValueError, match="Y contains NaN or infinity"):
            FixedPointOT(**TINY).fit(X, np.where(bad == bad, Y[:1], np.inf))
        for method in (ot.transform, ot.inverse_transform):
            with pytest.raises(ValueError, match="input contains NaN or infinity"):
                method(bad[:2])


@pytest.fixture
def sigint_disposition():
    """Sets SIGINT's handler for one test and restores the inherited one: a
    shell starts background jobs with SIGINT ignored, so the suite must not
    depend on how pytest was launched."""
    import signal

    inherited = signal.getsignal(signal.SIGINT)
    yield lambda handler: signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGINT, inherited)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("at_step", [5, 12])  # before / after the first evaluation
@pytest.mark.parametrize("where", ["step", "callback"])
def test_ctrl_c_keeps_the_weights_and_warns(
    data, monkeypatch, sigint_disposition, early_stopping, at_step, where
):
    """SIGINT (what Ctrl-C sends) during a training step or a callback ends
    training with the weights reached and a warning, with or without early
    stopping, also before the first evaluation."""
    import signal

    from skfpot import _training

    calls = []
    step = _training.FixedPointNet.train_step_single

    def train_step(self, batch, **kwargs):
        calls.append(1)
        if where == "step" and len(calls) == at_step:
            signal.raise_signal(signal.SIGINT)
        return step(self, batch, **kwargs)

    class CtrlC(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training and where == "callback" and len(calls) == at_step:
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(_training.FixedPointNet, "train_step_single", train_step)
    sigint_disposition(signal.default_int_handler)  # as in an interactive session
    X, Y = data
    params = dict(TINY, early_stopping=early_stopping, callbacks=[("c", CtrlC())])
    with pytest.warns(UserWarning, match="Training interrupted by user after"):
        ot = FixedPointOT(**params).fit(X, Y)
    assert ot.n_iter_ == (at_step - 1 if where == "step" else at_step)
    assert np.isfinite(ot.transform(X)).all()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("disposition", ["ignored", "handler that returns"])
def test_sigint_that_does_not_raise_leaves_training_running(
    data, sigint_disposition, disposition
):
    """A process that ignores SIGINT (a background job), or a SIGINT handler
    of the caller's that does not raise: training runs to the end (the
    handler is called) and no interruption is reported."""
    import signal

    received = []

    class CtrlC(Callback):
        steps = 0

        def on_batch_end(self, net, training=False, **kwargs):
            self.steps += training
            if self.steps == 3:
                signal.raise_signal(signal.SIGINT)

    def handler(signum, frame):
        received.append(signum)

    before = signal.SIG_IGN if disposition == "ignored" else handler
    sigint_disposition(before)
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ot = FixedPointOT(**{**TINY, "callbacks": [("c", CtrlC())]}).fit(X, Y)
    assert ot.n_iter_ == TINY["max_iter"]
    assert received == ([] if disposition == "ignored" else [signal.SIGINT])
    assert signal.getsignal(signal.SIGINT) is before


def test_callback_ending_training_is_not_an_interrupt(data):
    class StopAfter(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt  # how skorch's EarlyStopping ends

    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ot = FixedPointOT(
            **{**TINY, "early_stopping": False, "callbacks": [("stop", StopAfter())]}
        ).fit(X, Y)
    assert ot.n_iter_ == 2 * TINY["eval_interval"]


def test_fits_in_threads_match_serial_fits_and_leave_torch_state(data):
    from concurrent.futures import ThreadPoolExecutor

    X, Y = data

    def fit(seed):
        # early stopping on half the fits: on 60 rows it can end at the start
        # (seed 2 does), which would leave the trained weights unchecked
        params = {**TINY, "random_state": seed, "early_stopping": seed < 2}
        return FixedPointOT(**params).fit(X, Y).transform(X)

    torch.manual_seed(123)
    before = torch.get_rng_state().clone()
    serial = [fit(s) for s in range(4)]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(fit, range(4)))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_default_dtype() == torch.float32


def test_warm_start_continues_the_fitted_potential(data):
    X, Y = data
    ot = FixedPointOT(**TINY, early_stopping=False).fit(X, Y)
    before, scale, mean = ot.transform(X), ot.scale_, ot.mean_source_
    # a tiny learning rate keeps the continued weights where they were, also
    # on other data (the first fit's units are kept) ...
    frozen = dict(learning_rate_init=1e-12, warm_start=True)
    ot.set_params(**frozen).fit(X + 5.0, 2.0 * Y)
    np.testing.assert_allclose(ot.transform(X), before, atol=1e-5)
    assert ot.scale_ == scale
    np.testing.assert_array_equal(ot.mean_source_, mean)
    # ... and the records run on
    assert ot.n_iter_ == 2 * TINY["max_iter"]
    assert len(ot.loss_curve_) == len(ot.fixed_point_n_evals_) == ot.n_iter_
    # without warm_start the same call starts afresh
    ot.set_params(warm_start=False).fit(X + 5.0, 2.0 * Y)
    assert not np.allclose(ot.transform(X), before, atol=1e-2)
    assert ot.n_iter_ == TINY["max_iter"]


def test_a_warm_start_that_goes_back_says_it_keeps_the_previous_fit():
    # the previous fit's trained network is kept, not the Gaussian start the
    # warnings named
    rng = np.random.default_rng(0)
    X, Z = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    Y = np.c_[Z[:, 0] ** 3 / 5, np.sin(Z[:, 1]) * 3]
    params = dict(hidden_layer_sizes=(16,), eval_interval=20, random_state=0)
    ot = FixedPointOT(max_iter=60, learning_rate_init=3e-3, **params).fit(X, Y)
    assert not ot.kept_start_
    before = ot.transform(X)
    ot.set_params(warm_start=True, learning_rate_init=1.0, max_iter=40)
    with pytest.warns(ConvergenceWarning, match="keeps the starting weights") as w:
        ot.fit(X, Y)
    message = str(w[0].message)
    assert "those of the previous fit" in message and "Gaussian" not in message
    np.testing.assert_array_equal(ot.transform(X), before)


def test_warm_start_checks_the_fitted_column_names(data):
    pd = pytest.importorskip("pandas")
    X, Y = data
    dX, dY = (pd.DataFrame(A, columns=["a", "b", "c"]) for A in (X, Y))
    ot = FixedPointOT(**TINY, warm_start=True).fit(dX, dY)
    with pytest.raises(ValueError, match="feature names should match"):
        ot.fit(dX[["b", "a", "c"]], dY[["b", "a", "c"]])
    ot.fit(dX, dY)  # the same columns continue
    assert ot.n_iter_ == 2 * TINY["max_iter"]


def test_warm_start_keeps_validation_records(data):
    X, Y = data
    ot = FixedPointOT(**TINY, warm_start=True).fit(X, Y)
    scores = list(ot.validation_scores_)
    ot.fit(X, Y)
    assert ot.validation_scores_[: len(scores)] == scores
    assert len(ot.validation_scores_) > len(scores)
    assert ot.best_validation_score_ == max(ot.validation_scores_)
    # continued without early stopping: no new scores, the earlier ones stay
    # (they were dropped, although the records "run on")
    scores = list(ot.validation_scores_)
    ot.set_params(early_stopping=False).fit(X, Y)
    assert ot.validation_scores_ == scores
    assert ot.best_validation_score_ == max(scores)


@pytest.mark.parametrize(
    "change",
    [
        dict(hidden_layer_sizes=(16,)),
        dict(activation="softplus"),
        dict(quadratic="none"),
    ],
)
def test_warm_start_refuses_another_network_and_keeps_the_fit(data, change):
    X, Y = data
    ot = FixedPointOT(**TINY, warm_start=True).fit(X, Y)
    before = ot.transform(X)
    with pytest.raises(ValueError, match="must stay as they were"):
        ot.set_params(**change).fit(X, Y)
    np.testing.assert_array_equal(ot.transform(X), before)
    with pytest.raises(ValueError, match="is expecting 3 features"):
        FixedPointOT(**TINY, warm_start=True).fit(X, Y).fit(X[:, :2], Y[:, :2])


def test_two_samples_are_enough():
    X = np.array([[0.0], [1.0]])
    with pytest.warns(UserWarning, match="fewer than two training rows"):
        ot = FixedPointOT(**TINY).fit(X, X + 1)
    assert ot.transform(X).shape == (2, 1)


def _gaussian_start(X, Y):
    """A fit that is its Gaussian start: one step at a negligible rate."""
    return FixedPointOT(
        hidden_layer_sizes=(8,),
        max_iter=1,
        learning_rate_init=1e-12,
        early_stopping=False,
        random_state=0,
    ).fit(X, Y)


def test_gaussian_start_keeps_features_of_small_scale():
    # one feature with 1e-4 of the other's variance; the Gaussian start (one
    # step at a negligible rate) must still be the closed-form map there
    rng = np.random.default_rng(0)
    D = np.diag([1.0, 0.01])
    X = rng.normal(size=(2000, 2)) @ D
    Y = (rng.normal(size=(2000, 2)) @ np.diag([2.0, 3.0]) + 1) @ D
    start = _gaussian_start(X, Y)
    Z = start.transform(X)
    truth = (X @ np.linalg.inv(D) @ np.diag([2.0, 3.0]) + 1) @ D
    rel = np.sqrt(((Z - truth) ** 2).mean(0)) / truth.std(0)
    assert rel.max() < 0.06, rel  # sampling error; a ridge of 1e-3: 0.26


@pytest.mark.parametrize("small", [1e-3, 1e-5])
def test_gaussian_start_ridge_is_relative_to_each_feature(small):
    # a feature with 1e-6 (1e-10) of the mean variance: the ridge was 1e-6
    # of the mean variance and bent the start's slope there (2 → 1.61 and,
    # at 1e-4, → 0.81); relative to each feature's variance it does not
    rng = np.random.default_rng(0)
    scales = np.array([small, 1.0, 1.0])
    X = rng.normal(size=(4000, 3)) * scales
    Y = rng.normal(size=(4000, 3)) * scales * [2.0, 0.5, 1.0]
    start = _gaussian_start(X, Y)
    e = np.diag(scales)
    slopes = np.diag(start.transform(e) - start.transform(0 * e)) / scales
    np.testing.assert_allclose(slopes, [2.0, 0.5, 1.0], rtol=0.06)  # sampling


@pytest.mark.parametrize("seed", [0, 4])
def test_gaussian_start_shrinks_both_samples_alike(seed):
    # 400 rows in d = 2, one feature 1/100 of the other's spread: Ledoit and
    # Wolf's intensity hovers at the 1 % cut-off, and when it crossed it in
    # one sample alone, the start's map of the small feature was off by the
    # variance that shrinkage added on that side only (images 0.15 and 7.5
    # times as spread as the target's on these draws; the map is 2 x + c)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 2)) * [1.0, 0.01]
    Y = rng.normal(size=(400, 2)) * [2.0, 0.02] + [5.0, 0.03]
    images = _gaussian_start(X, Y).transform(X)
    assert 0.8 < images[:, 1].std() / Y[:, 1].std() < 1.25


def test_gaussian_start_shrinks_the_covariances_of_few_rows():
    from sklearn.covariance import ledoit_wolf_shrinkage

    from skfpot._estimators import _shrunk_covariance

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 32)) * np.linspace(0.5, 2.0, 32) + 3.0
    cov, shrink = _shrunk_covariance(torch.as_tensor(X))
    expected = ledoit_wolf_shrinkage(X - X.mean(0), assume_centered=True)
    assert shrink == pytest.approx(expected, rel=1e-10)
    sample = np.cov(X.T)
    target = np.trace(sample) / 32 * np.eye(32)
    np.testing.assert_allclose(cov, (1 - shrink) * sample + shrink * target)
    # a large sample's intensity is far below 1 %: its covariance is kept
    X = rng.normal(size=(5000, 8)) * np.linspace(0.5, 2.0, 8)
    cov, shrink = _shrunk_covariance(torch.as_tensor(X))
    assert shrink == 0.0
    np.testing.assert_allclose(cov, np.cov(X.T), rtol=1e-12)
    # 12 rows per side in d=16: the start's map stays usable off the rows'
    # span (42 % L2-UVP; unshrunk, 2.5e5 %)
    pair = make_gaussian_pair(16, random_state=0)
    X, Y = pair.sample(12, 12, random_state=1)
    X_test = pair.sample_source(2000, random_state=2)
    start = _gaussian_start(X, Y)
    assert l2_uvp(pair.forward_map(X_test), start.transform(X_test)) < 60


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("side", ["X", "Y"])
def test_identical_rows_warn(side):
    A = np.full((50, 2), 0.1)  # a mean that float64 does not hit exactly
    B = np.random.default_rng(0).normal(size=(50, 2))
    X, Y = (A, B) if side == "X" else (B, A)
    what = "transform" if side == "X" else "inverse_transform"
    with pytest.warns(UserWarning, match=f"all rows of {side} are identical: .*{what}"):
        ot = FixedPointOT(**TINY).fit(X, Y)
    assert np.isfinite(ot.transform(X)).all()
    assert np.isfinite(ot.inverse_transform(Y)).all()
    spread = 1e-6 * np.arange(50)[:, None]  # tiny but real: no such warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**TINY).fit(X + spread, Y + spread)
    assert not [w for w in caught if "identical" in str(w.message)]
    # far from the origin (Unix times in seconds): a spread of one is real,
    # though below 1e-9 of the mean (it used to be taken for identical rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**TINY).fit(1.7e9 + B, 1.7e9 + 2 * B)
    assert not [w for w in caught if "identical" in str(w.message)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**TINY).fit(np.full((50, 2), 1.7e9), 1.7e9 + B)
    messages = [str(w.message) for w in caught]
    assert any("all rows of X are identical" in m for m in messages)
    # one point maps to one point, perhaps the target's mean: not a map that
    # "squeezes" the source (which advised lowering learning_rate_init)
    assert not [m for m in messages if "looks broken" in m]


def test_a_spread_too_small_for_float64_is_an_error():
    # the variance underflows: the fit used to fall back to scale 1 and
    # return a wrong map with only a (false) identical-rows warning
    B = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="vary too little to standardise"):
        FixedPointOT(**TINY).fit(1e-165 * B, 1e-165 * (B + 1))
    # identical rows on both sides are one point each, not an error
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**TINY).fit(np.full((50, 2), 1e-170), np.full((50, 2), 2e-170))
    messages = [str(w.message) for w in caught]
    for side in "XY":
        assert any(f"all rows of {side} are identical" in m for m in messages)


def test_user_callbacks_see_every_step(data):
    from skorch.callbacks import Callback

    class CountSteps(Callback):
        def initialize(self):
            self.steps_ = 0
            return self

        def on_batch_end(self, net, training=False, **kwargs):
            self.steps_ += bool(training)

    X, Y = data
    counter = CountSteps()
    ot = FixedPointOT(**{**TINY, "callbacks": [("count", counter)]}).fit(X, Y)
    seen = dict(ot.history_[-1]).keys()  # the net ran with the callback
    assert "train_loss" in seen
    assert counter.steps_ == ot.n_iter_ == TINY["max_iter"]
    # a Callback class is accepted too (skorch initialises it)
    FixedPointOT(**{**TINY, "callbacks": [CountSteps]}).fit(X, Y)


def test_callbacks_monitoring_held_out_scores_need_early_stopping(data):
    from skorch.callbacks import EarlyStopping

    X, Y = data
    stop = EarlyStopping(patience=2)  # monitors valid_loss
    no_split = {**TINY, "early_stopping": False, "callbacks": [stop]}
    with pytest.raises(ValueError, match="monitors 'valid_loss'.*early_stopping=True"):
        FixedPointOT(**no_split).fit(X, Y)
    FixedPointOT(**{**TINY, "callbacks": [stop]}).fit(X, Y)  # held-out rows
    train = EarlyStopping(monitor="train_loss", patience=2)
    FixedPointOT(**{**no_split, "callbacks": [train]}).fit(X, Y)


def test_epoch_scoring_must_be_able_to_run(data):
    from skorch.callbacks import EpochScoring

    X, Y = data
    calls = []

    def score(net, dataset, y):
        calls.append(len(dataset.x))
        return 1.0

    held_out = EpochScoring(score, use_caching=False, name="mine")
    no_split = {**TINY, "early_stopping": False, "callbacks": [held_out]}
    # it scores held-out rows, which exist only with early stopping: it never ran
    with pytest.raises(ValueError, match="on_train=False .*never run"):
        FixedPointOT(**no_split).fit(X, Y)
    assert calls == []
    ot = FixedPointOT(**{**TINY, "callbacks": [held_out]}).fit(X, Y)
    assert "mine" in ot.history_[-1] and calls
    calls.clear()
    on_train = EpochScoring(score, on_train=True, use_caching=False, name="mine")
    ot = FixedPointOT(**{**no_split, "callbacks": [on_train]}).fit(X, Y)
    assert calls == [len(X)] * 3 and "mine" in ot.history_[-1]
    # a scorer name fails up front, not after training
    named = EpochScoring("r2", use_caching=False)
    with pytest.raises(ValueError, match="scoring must be a callable.*'r2'"):
        FixedPointOT(**{**TINY, "callbacks": [named]}).fit(X, Y)


@pytest.mark.parametrize("name", ["print_log", "epoch_timer", "train_loss"])
def test_names_of_skorchs_default_callbacks_are_taken(data, name):
    from skorch.callbacks import PrintLog

    from skfpot._estimators import _SKORCH_CALLBACKS
    from skfpot._training import FixedPointNet

    defaults = FixedPointNet.__new__(FixedPointNet)._default_callbacks
    assert set(_SKORCH_CALLBACKS) == {n for n, _ in defaults}
    X, Y = data
    with pytest.raises(ValueError, match=f"'{name}'.*skorch's default callbacks"):
        FixedPointOT(**{**TINY, "callbacks": [(name, PrintLog())]}).fit(X, Y)


def test_the_convexity_penalty_needs_two_rows_per_minibatch(data):
    from sklearn.utils._param_validation import InvalidParameterError

    X, Y = data
    penalty = {**TINY, "convexity_penalty": 1.0}
    with pytest.raises(ValueError, match="batch_size >= 2"):
        FixedPointOT(**penalty, batch_size=1).fit(X, Y)
    with pytest.raises(InvalidParameterError, match="convexity_penalty_rows"):
        FixedPointOT(**penalty, convexity_penalty_rows=1).fit(X, Y)
    FixedPointOT(**TINY, batch_size=1).fit(X, Y)  # no penalty: one row is fine


def test_user_callbacks_see_the_last_evaluation_of_an_annealed_stop(data, capsys):
    class CountEvaluations(Callback):
        def initialize(self):
            self.evaluations_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.evaluations_ += 1

    X, Y = data
    counter = CountEvaluations()
    ot = FixedPointOT(
        hidden_layer_sizes=(16, 16),
        max_iter=300,
        eval_interval=20,
        n_iter_no_change=2,
        random_state=0,
        verbose=1,
        callbacks=[("count", counter)],
    ).fit(X, Y)
    out = capsys.readouterr().out
    assert "annealing the learning rate" in out  # the plateau ended training
    assert ot.n_iter_ < 300
    assert counter.evaluations_ == len(ot.history_)
    # the plateau message follows the table row of the evaluation behind it
    lines = [line for line in out.splitlines() if line.strip()]
    at = next(i for i, line in enumerate(lines) if "without improvement" in line)
    step = int(re.search(r"at step (\d+)", lines[at]).group(1))
    epoch = step // 20
    assert re.match(rf"\s*{epoch}\s", lines[at - 1]), lines[at - 1 : at + 1]


def test_warm_start_cache_saves_solver_work(gaussian4):
    problem, warm = gaussian4  # fixed_point_warm_start=True is the default
    X, Y = problem.sample(2000, 1500, random_state=1)
    cold = clone(warm).set_params(fixed_point_warm_start=False).fit(X, Y)
    Xe = problem.sample_source(1000, random_state=3)
    assert l2_uvp(problem.forward_map(Xe), cold.transform(Xe)) < 3.0
    # after the first sweep over Y the solves start from the cached solutions
    sweep = -(-1350 // 256)  # training rows of Y / batch size, rounded up
    late_warm = warm.fixed_point_n_evals_[2 * sweep :].mean()
    late_cold = cold.fixed_point_n_evals_[2 * sweep :].mean()
    assert late_warm < late_cold


def test_learning_rate_schedule_rates():
    from skfpot._training import LearningRateSchedule

    cosine = LearningRateSchedule(1.0, 100, "cosine").initialize()
    assert cosine.rate(0) == 1.0
    assert cosine.rate(50) == pytest.approx(0.5)
    assert cosine.rate(100) == pytest.approx(0.0)
    cosine.step_ = 20
    start = cosine.rate(20)
    cosine.anneal(10)
    assert cosine.rate(20) == pytest.approx(start)
    assert cosine.rate(25) == pytest.approx(start / 2)
    assert cosine.rate(30) == pytest.approx(0.0) == cosine.rate(99)
    assert LearningRateSchedule(0.1, 100, "constant").initialize().rate(80) == 0.1


# a Gaussian toy: the fit may end at the start, and say so
@pytest.mark.filterwarnings("ignore:training did not improve the map:UserWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_batches_come_from_the_callers_arrays(dtype):
    """fit keeps no copy of X and Y: each minibatch is standardised from the
    caller's arrays when it is drawn, and equals (X[row] − mean) / scale."""
    from skorch.callbacks import Callback

    class Grab(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and not hasattr(self, "batch_"):
                self.batch_ = batch
                self.data_ = net.train_iterator_.dataset

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(dtype)
    Y = (2.0 * rng.normal(size=(200, 3)) + 1.0).astype(dtype)
    grab = Grab()
    ot = FixedPointOT(**{**TINY, "callbacks": [("grab", grab)]}).fit(X, Y)
    data = grab.data_
    assert data.x.array is X and data.y.array is Y
    # validation rows are held out: training and validation rows are disjoint
    assert len(data.x) == 270 and len(data.y) == 180
    x, y, *_, iy = grab.batch_
    assert x.dtype == y.dtype == torch.float32
    rows = data.y.rows[iy.cpu().numpy()]
    expected = (Y[rows] - ot.mean_target_) / ot.scale_
    np.testing.assert_allclose(y.cpu().numpy(), expected, rtol=1e-6, atol=1e-6)


def test_bfgs_carries_curvature_and_saves_solver_work():
    """With fixed_point_solver="bfgs" each target row keeps its inverse-Hessian
    estimate between visits: later solves need fewer gradient evaluations than
    the L-BFGS solves that start their model afresh (measured 2.8 vs 4.9)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    centres = 3.0 * rng.normal(size=(3, 4))
    Y = centres[rng.integers(0, 3, 500)] + 0.5 * rng.normal(size=(500, 4))
    params = dict(
        hidden_layer_sizes=(32, 32),
        max_iter=400,
        batch_size=64,
        learning_rate_init=3e-3,
        early_stopping=False,
        random_state=0,
    )
    late = {}
    for solver in ("lbfgs", "bfgs"):
        ot = FixedPointOT(fixed_point_solver=solver, **params).fit(X, Y)
        assert ot.fixed_point_converged_[200:].mean() == 1.0
        late[solver] = ot.fixed_point_n_evals_[200:].mean()
    assert late["bfgs"] < 0.8 * late["lbfgs"]


def test_curvature_cache_keeps_the_upper_triangle():
    """The dense solver's per-row curvature is cached as its upper triangle
    (about half of a d × d matrix) and unpacked to the symmetric matrix."""
    from skfpot._training import pack_symmetric, unpack_symmetric

    a = torch.randn(5, 4, 4)
    h = a @ a.transpose(1, 2)
    h[1] = torch.nan  # a row never visited stays NaN
    packed = pack_symmetric(h)
    assert packed.shape == (5, 10)
    torch.testing.assert_close(unpack_symmetric(packed, 4), h, equal_nan=True)


def test_auto_solver_picks_dense_bfgs_only_where_it_pays(monkeypatch):
    """The "auto" default resolves to dense BFGS for warm-started fits with
    d <= 32 and a curvature cache of at most 256 MiB, to L-BFGS otherwise;
    the resolved iteration is the one training and inverse_transform use."""
    from skfpot._estimators import _resolve_solver

    assert FixedPointOT().fixed_point_solver == "auto"
    # the cache is the upper triangle in float16: d (d + 1) bytes a row
    assert _resolve_solver("auto", 16, 986_895) == "bfgs"  # just under 256 MiB
    assert _resolve_solver("auto", 16, 986_896) == "lbfgs"
    assert _resolve_solver("auto", 32, 254_200) == "bfgs"
    assert _resolve_solver("auto", 32, 254_201) == "lbfgs"
    assert _resolve_solver("auto", 33, 1000) == "lbfgs"
    assert _resolve_solver("auto", 2, 0) == "lbfgs"  # no warm starts
    assert _resolve_solver("damped", 2, 1000) == "damped"

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + 1.0
    params = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    ot = FixedPointOT(**params).fit(X, Y)
    assert ot.fixed_point_solver_ == "bfgs"
    cold = FixedPointOT(fixed_point_warm_start=False, **params).fit(X, Y)
    assert cold.fixed_point_solver_ == "lbfgs"
    import skfpot._estimators as est

    calls, real = [], est.backward_map

    def spy(*args, **kwargs):
        calls.append(kwargs["method"])
        return real(*args, **kwargs)

    monkeypatch.setattr(est, "backward_map", spy)
    ot.inverse_transform(Y[:10])
    assert calls and set(calls) == {"bfgs"}


def test_inverse_anchors_give_a_second_start_that_never_loses():
    """The backward map keeps the better of two solves (affine start and the
    kept source row whose image is nearest): the inner objective at the
    returned points is never above the single-start one, so the dual
    estimate (a sum of minima) can only go down."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    centres = 3.0 * rng.normal(size=(3, 3))
    Y = centres[rng.integers(0, 3, 500)] + 0.5 * rng.normal(size=(500, 3))
    params = dict(hidden_layer_sizes=(32, 32), max_iter=300, learning_rate_init=3e-3)
    ot = FixedPointOT(random_state=0, **params).fit(X, Y)
    assert ot.anchors_.shape == ot.anchor_images_.shape == (540, 3)  # 600 − 60
    both = ot.score(X, Y)
    kept, ot.anchors_ = ot.anchors_, None
    single = ot.score(X, Y)
    ot.anchors_ = kept
    assert both <= single + 1e-6
    none = FixedPointOT(random_state=0, inverse_anchors=0, **params).fit(X, Y)
    assert none.anchors_ is None
    np.testing.assert_allclose(none.score(X, Y), single, rtol=1e-6)


def test_a_solve_that_only_the_anchored_start_finishes_counts_as_converged():
    # with one inner step the affine start cannot finish, but the images of
    # kept rows start at those rows, where the solve is done: they converge
    # and nothing warns (it warned when only the first start counted)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    centres = 3.0 * rng.normal(size=(3, 3))
    Y = centres[rng.integers(0, 3, 300)] + 0.5 * rng.normal(size=(300, 3))
    ot = FixedPointOT(hidden_layer_sizes=(16, 16), max_iter=100, random_state=0)
    ot.fit(X, Y).set_params(fixed_point_max_iter=1)
    rows = ot.mean_source_ + ot.scale_ * ot.anchors_[:50].double().numpy()
    images = ot.transform(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        np.testing.assert_allclose(ot.inverse_transform(images), rows, atol=1e-5)
    ot.anchors_ = None  # the affine start alone does not converge
    with pytest.warns(ConvergenceWarning, match="did not converge for 100.00%"):
        ot.inverse_transform(images)


def test_significantly_worse_is_a_paired_test():
    from skfpot._training import significantly_worse

    g = torch.Generator().manual_seed(0)
    n = 1000
    w = torch.full((n,), 1.0 / n)
    common = 10.0 * torch.randn(n, generator=g)  # spread shared by both models
    noise = torch.randn(n, generator=g)  # paired standard error about 0.03
    best = [(common, w), (common, w)]

    def last(shift):
        return [(common + noise + shift, w), (common, w)]

    assert not significantly_worse(last(0.01), best, threshold=0.0, z=2.0)
    # unpaired, the common spread would hide a shift of 0.5 (standard error 0.45)
    assert significantly_worse(last(0.5), best, threshold=0.0, z=2.0)
    assert not significantly_worse(last(0.5), best, threshold=1.0, z=2.0)


def test_paired_difference_is_the_weighted_mean_difference_and_its_standard_error():
    from skfpot._training import paired_difference

    rng = np.random.default_rng(0)
    a, b, c, d = (rng.normal(size=n) for n in (50, 50, 70, 70))
    wx = rng.random(50)
    wx /= wx.sum()
    wy = np.full(70, 1 / 70)
    last = [(torch.tensor(a), torch.tensor(wx)), (torch.tensor(c), torch.tensor(wy))]
    best = [(torch.tensor(b), torch.tensor(wx)), (torch.tensor(d), torch.tensor(wy))]
    diff, se = paired_difference(last, best)
    means = [wx @ (a - b), wy @ (c - d)]
    n_x = 1 / (wx**2).sum()  # Kish's effective number of rows
    var = (wx**2) @ (a - b - means[0]) ** 2 * n_x / (n_x - 1)
    var += (wy**2) @ (c - d - means[1]) ** 2 * 70 / 69
    assert diff == pytest.approx(sum(means))
    assert se == pytest.approx(np.sqrt(var))
    # equal weights: the textbook standard error of a mean (ddof=1)
    equal = [(torch.tensor(c), torch.tensor(wy))]
    _, se = paired_difference(equal, [(torch.tensor(d), torch.tensor(wy))])
    assert se == pytest.approx(np.std(c - d, ddof=1) / np.sqrt(70))
    assert paired_difference(best, best) == (0.0, 0.0)


def test_one_held_out_row_makes_nothing_significant():
    """A side of one row has no spread to estimate: its standard error is
    infinite, not 0 (which made any difference look significant)."""
    from skfpot._training import paired_difference, significantly_worse

    one = torch.ones(1, dtype=torch.float64)
    many = torch.full((5,), 0.2, dtype=torch.float64)
    best = [(torch.zeros(1, dtype=torch.float64), one), (torch.zeros(5), many)]
    last = [(torch.full((1,), 3.0), one), (torch.arange(5.0), many)]
    diff, se = paired_difference(last, best)
    assert diff == pytest.approx(5.0) and se == np.inf
    assert not significantly_worse(last, best, threshold=0.0, z=2.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_samples_of_a_few_rows_get_no_warning_from_one_held_out_row(seed):
    """With fewer than 20 rows early stopping holds out one row per sample:
    before, its zero standard error turned noise into "significantly worse"
    warnings with wrong advice (seeds 1 and 2 here)."""
    from skfpot.datasets import make_gaussian_pair

    X, Y = make_gaussian_pair(2, random_state=seed).sample(15, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(hidden_layer_sizes=(16,), max_iter=200, random_state=seed).fit(
            X, Y
        )
    assert [str(w.message) for w in caught] == []


def test_held_out_dual_values_sum_to_the_kept_weights_validation_loss(data):
    X, Y = data
    seen = {}

    class Grab(Callback):
        def on_train_end(self, net, **kwargs):
            values = net.held_out_dual_values(net.train_split.keywords["valid_ds"])
            seen["sum"] = sum(float((v * w).sum()) for v, w in values)
            stopping = dict(net.callbacks_)["early_stopping"]
            seen["restored"] = stopping.restored_best_
            seen["start"] = stopping.kept_start_, stopping.start_score_
            seen["losses"] = [v for v in net.history[:, "valid_loss"] if v]

    ot = FixedPointOT(**{**TINY, "callbacks": [Grab()]}).fit(X, Y)
    expected = min(seen["losses"]) if seen["restored"] else seen["losses"][-1]
    kept_start, start_score = seen["start"]
    expected = start_score if kept_start else expected
    assert seen["sum"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert ot.best_validation_score_ == -min(seen["losses"])
    assert ot.start_validation_score_ == -start_score


def test_target_column_names_must_be_the_sources(data):
    """Y in the same space as X: reordered or renamed columns are refused at
    fit, inverse_transform and score, not silently misaligned."""
    pd = pytest.importorskip("pandas")
    X, Y = data
    dX = pd.DataFrame(X, columns=["a", "b", "c"])
    dY = pd.DataFrame(Y, columns=["a", "b", "c"])
    for bad in (dY[["b", "a", "c"]], dY.set_axis(["u", "v", "w"], axis=1)):
        with pytest.raises(ValueError, match="column names of Y must be those of X"):
            FixedPointOT(**TINY).fit(dX, bad)
    ot = FixedPointOT(**TINY).fit(dX, dY)
    with pytest.raises(ValueError, match="column names of Y must be those of X"):
        ot.inverse_transform(dY[["c", "b", "a"]])
    with pytest.raises(ValueError, match="column names of Y must be those of X"):
        ot.score(dX, dY[["c", "b", "a"]])
    # an array without names is taken as given, on either side, with
    # scikit-learn's warning for X after fit, for Y too, and at fit as well
    with pytest.warns(UserWarning, match="Y does not have valid feature names, but X"):
        FixedPointOT(**TINY).fit(dX, Y)
    with pytest.warns(UserWarning, match="Y has feature names, but X does not"):
        FixedPointOT(**TINY).fit(X, dY)
    with pytest.warns(UserWarning, match="Y does not have valid feature names"):
        without = ot.inverse_transform(Y)
    np.testing.assert_array_equal(ot.inverse_transform(dY), without)
    with pytest.warns(UserWarning, match="Y does not have valid feature names"):
        ot.score(dX, Y)
    plain = FixedPointOT(**TINY).fit(X, Y)
    with pytest.warns(UserWarning, match="Y has feature names, but FixedPointOT"):
        plain.inverse_transform(dY)


def test_failed_refit_keeps_the_fitted_model(data):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    before = ot.transform(X)
    module = ot.module_
    with pytest.raises(ValueError, match="X has 4 features but Y has 3"):
        ot.fit(np.c_[X, X[:, 0]], Y)
    assert ot.n_features_in_ == 3 and ot.module_ is module
    np.testing.assert_array_equal(ot.transform(X), before)
    with pytest.raises(ValueError, match="n_jobs"):
        ot.set_params(n_jobs=0).fit(X, Y)
    np.testing.assert_array_equal(ot.transform(X), before)
    fresh = FixedPointOT(**TINY)
    with pytest.raises(ValueError, match="X has 4 features but Y has 3"):
        fresh.fit(np.c_[X, X[:, 0]], Y)
    with pytest.raises(NotFittedError):
        fresh.transform(X)


def test_fit_ignores_the_callers_torch_mode_and_default_dtype(data):
    """A float64 torch default dtype, no_grad or inference_mode around fit,
    or a default device other than the fit's, give the same model as a plain
    call."""
    X, Y = data
    reference = FixedPointOT(**TINY).fit(X, Y).transform(X)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for warm in (True, False):
            FixedPointOT(**TINY, fixed_point_warm_start=warm).fit(X, Y)
            assert torch.get_default_dtype() == torch.float64
        out = FixedPointOT(**TINY).fit(X, Y).transform(X)
    finally:
        torch.set_default_dtype(old)
    np.testing.assert_array_equal(out, reference)
    for mode in (torch.no_grad, torch.inference_mode):
        with mode():
            out = FixedPointOT(**TINY).fit(X, Y).transform(X)
        np.testing.assert_array_equal(out, reference)
    # a default device that is not where the fit runs ("meta" holds no data)
    torch.set_default_device("meta")
    try:
        ot = FixedPointOT(**TINY, second_start_every=2).fit(X, Y)
        out = FixedPointOT(**TINY).fit(X, Y).transform(X)
    finally:
        torch.set_default_device(None)
    np.testing.assert_array_equal(out, reference)
    assert np.all(np.isfinite(ot.inverse_transform(Y)))


def test_mapping_in_threads_under_the_callers_no_grad_modes(data):
    """Worker threads do not inherit torch's grad mode: under inference_mode
    (or no_grad), mapping and scoring in two threads over several chunks give
    what a plain call gives."""
    X, Y = data
    ot = FixedPointOT(**TINY, n_jobs=2).fit(X, Y)
    big_x, big_y = np.tile(X, (140, 1)), np.tile(Y, (165, 1))  # two chunks each
    plain = ot.transform(big_x), ot.inverse_transform(big_y), ot.score(big_x, big_y)
    for mode in (torch.no_grad, torch.inference_mode):
        with mode():
            got = ot.transform(big_x), ot.inverse_transform(big_y)
            score = ot.score(big_x, big_y)
        np.testing.assert_array_equal(got[0], plain[0])
        np.testing.assert_array_equal(got[1], plain[1])
        assert score == plain[2]


def test_training_warns_when_solves_fail_late_also_with_early_stopping(data):
    """One damped step per solve cannot reach the tolerance: the training
    warning fires whether all max_iter steps ran or early stopping ended
    training, and points at the caller's line."""
    X, Y = data
    starved = dict(fixed_point_solver="damped", fixed_point_max_iter=1)
    for early in (
        dict(early_stopping=False),
        dict(eval_interval=2, n_iter_no_change=1, tol=1.0),
    ):
        ot = FixedPointOT(**{**TINY, "max_iter": 50, **starved, **early})
        with pytest.warns(ConvergenceWarning, match="in the last 20% of training") as w:
            ot.fit(X, 3.0 * Y)
        assert any(r.filename == __file__ for r in w)
        assert any("Increase fixed_point_max_iter" in str(r.message) for r in w)
    assert ot.n_iter_ < 50  # early stopping ended the second fit


def test_a_tolerance_below_float32s_reach_is_named_as_the_cause(data):
    # more iterations cannot reach 1e-12 in float32: the warnings say so
    X, Y = data
    ot = FixedPointOT(**TINY, early_stopping=False, fixed_point_tol=1e-12)
    with pytest.warns(ConvergenceWarning, match="below what the float32 solves"):
        ot.fit(X, 3.0 * Y)
    with pytest.warns(ConvergenceWarning, match="below what the float32 solves"):
        ot.inverse_transform(3.0 * Y)


def test_warnings_point_at_the_callers_line_from_every_method(data):
    X, Y = data
    starved = dict(fixed_point_solver="damped", fixed_point_max_iter=1)
    ot = FixedPointOT(**{**TINY, "early_stopping": False, **starved})
    calls = [
        lambda: ot.fit(X, 3.0 * Y),
        lambda: ot.fit_transform(X, 3.0 * Y),  # through set_output's wrapper
        lambda: ot.inverse_transform(3.0 * Y),
        lambda: ot.score(X, 3.0 * Y),
    ]
    for call in calls:
        with pytest.warns(ConvergenceWarning) as w:
            call()
        assert {r.filename for r in w} == {__file__}


def test_warns_when_a_sample_has_fewer_than_two_training_rows():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(2, 4)), rng.normal(size=(40, 4))
    match = r"fewer than two training rows in X: 1 row \("
    with pytest.warns(UserWarning, match=match):
        FixedPointOT(**TINY).fit(X, Y)
    # three training rows are enough for that warning; in four dimensions
    # their covariance is singular, and the start's shrinkage keeps the map
    # sane off their span (without it: images hundreds of units away)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ot = FixedPointOT(**TINY).fit(Y[:4], Y + 1.0)
    messages = [str(w.message) for w in caught]
    assert not any("fewer than two" in m or "looks broken" in m for m in messages)
    spread = np.median(((ot.transform(Y) - (Y + 1.0).mean(0)) ** 2).sum(1))
    assert spread < 3 * np.median(((Y - Y.mean(0)) ** 2).sum(1))


@pytest.mark.parametrize(
    "early_stopping, factor, match",
    [
        (
            True,
            30.0,
            "looks broken: it sends source points a median [0-9.]+ times as far"
            ".*diverged",
        ),
        # without early stopping the comparison with the start on training
        # rows catches it first (the trained weights' dual there is -1039)
        (False, 30.0, "training made the map worse: the training dual fell from"),
        (
            True,
            np.nan,
            "looks broken: it sends source points to NaN or infinity.*diverged",
        ),
    ],
)
def test_a_broken_map_is_flagged(early_stopping, factor, match, wreck):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 3)), 2 * rng.normal(size=(300, 3)) + 3
    params = dict(TINY, early_stopping=early_stopping)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        FixedPointOT(**params).fit(X, Y)  # the same fit, intact: no warning
    wrecked = FixedPointOT(**params, callbacks=[("wreck", wreck(factor))])
    with pytest.warns(ConvergenceWarning, match=match) as record:
        wrecked.fit(X, Y)
    assert record[0].filename == __file__  # reported at the user's call
    assert wrecked.transform(X).shape == X.shape  # warned, not refused
    # the starting weights' map is sane, so the fit keeps them
    assert "so the model keeps the starting weights" in str(record[0].message)
    assert wrecked.kept_start_
    assert np.isfinite(wrecked.transform(X)).all()


def test_a_broken_map_goes_back_to_a_sane_start(wreck):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 3)), 2 * rng.normal(size=(300, 3)) + 3
    params = dict(TINY, max_iter=10, learning_rate_init=1e-12)
    start = FixedPointOT(**params).fit(X, Y)
    wrecked = FixedPointOT(**params, callbacks=[("wreck", wreck(30.0))])
    with pytest.warns(ConvergenceWarning, match="trained map looks broken.*keeps the"):
        wrecked.fit(X, Y)
    assert wrecked.kept_start_
    np.testing.assert_allclose(wrecked.transform(X), start.transform(X), atol=1e-5)
    # the inverse's anchors are the kept map's images, not the broken map's
    images = forward_map(wrecked.module_, wrecked.anchors_)
    torch.testing.assert_close(images, wrecked.anchor_images_)
    Z = wrecked.transform(X[:50])
    np.testing.assert_allclose(wrecked.inverse_transform(Z), X[:50], atol=1e-3)


def test_a_broken_start_is_not_restored(wreck):
    # going back needs a sane start: a warm start from wrecked weights,
    # wrecked further at the end, keeps the end's weights and says so
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 3)), 2 * rng.normal(size=(300, 3)) + 3
    ot = FixedPointOT(**dict(TINY, max_iter=10, learning_rate_init=1e-12)).fit(X, Y)
    with torch.no_grad():
        for p in ot.module_.parameters():
            p.mul_(30.0)
    first = [p.detach().clone() for p in ot.module_.parameters()]
    ot.set_params(warm_start=True, callbacks=[wreck(30.0)])
    with pytest.warns(ConvergenceWarning, match="fitted map looks broken") as record:
        ot.fit(X, Y)
    assert not any("keeps the starting" in str(w.message) for w in record)
    assert not ot.kept_start_  # early stopping kept the start, the callback did not
    for before, after in zip(first, ot.module_.parameters(), strict=True):
        torch.testing.assert_close(after.detach(), 30 * before)  # the end's


def test_a_map_undetermined_within_a_class_is_flagged(wreck):
    from skfpot import ClassConditionalFixedPointOT

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 1.0
    a = np.r_[np.zeros(96, int), np.ones(4, int)]  # class 1: 4 rows of X
    b = np.r_[np.zeros(50, int), np.ones(50, int)]
    # the shrunk start keeps class 1's map sane; a map broken anyway (scaled
    # up after training) is flagged with the few rows as a likely cause
    params = dict(TINY, validation_fraction=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ClassConditionalFixedPointOT(**params).fit(X, Y, x_classes=a, y_classes=b)
    ot = ClassConditionalFixedPointOT(**params, callbacks=[("wreck", wreck(30.0))])
    with pytest.warns(
        ConvergenceWarning,
        match="points of class . a median.*training rows of X of class 1 in 4 dim",
    ):
        ot.fit(X, Y, x_classes=a, y_classes=b)


def test_tags_declare_float32_and_float64_preserved():
    tags = FixedPointOT().__sklearn_tags__()
    assert tags.transformer_tags.preserves_dtype == ["float64", "float32"]


class _DoubleWell(torch.nn.Module):
    """1-D potential with ψ(x) = (x² − 1)² + 0.3 x: two basins of the inner
    problem at y = 0, the deeper one near x = −1."""

    def __init__(self):
        super().__init__()
        from skfpot.core import MLPPotential

        self._affine = MLPPotential(1, (2,), n_classes=3)  # identity quadratic part

    def preconditioner(self):
        return self._affine.preconditioner()

    def affine_inverse(self, *args, **kwargs):
        return self._affine.affine_inverse(*args, **kwargs)

    def value_and_grad(self, x, classes=None):
        psi = ((x**2 - 1) ** 2 + 0.3 * x).sum(-1)
        grad_psi = 4 * x * (x**2 - 1) + 0.3
        return 0.5 * (x * x).sum(-1) - psi, x - grad_psi

    def forward(self, x, classes=None):
        return self.value_and_grad(x, classes)[0]


def test_second_start_finds_the_deeper_basin():
    """A warm start in the shallow basin is replaced by the solve from the
    source row whose image is nearest; rows without a better second solution
    and rows without a same-class source row keep the first."""
    from skfpot._training import FixedPointNet
    from skfpot.core import backward_map

    net = FixedPointNet(
        _DoubleWell, criterion=torch.nn.Identity, solver_options={"method": "lbfgs"}
    )
    net.initialize()
    y = torch.zeros(3, 1)
    first = backward_map(net.module_, y, x0=torch.full((3, 1), 0.9), method="lbfgs")
    assert torch.allclose(first.x, torch.full((3, 1), 0.96), atol=0.02)
    # source rows: one near the deep basin (image ≈ 0.2), one far (image ≈ 6)
    x = torch.tensor([[-1.05], [1.6]])
    kept = net._second_start(x, y, None, None, first)
    np.testing.assert_allclose(kept.x.numpy().ravel(), -1.04, atol=0.02)
    assert net.second_start_switches_ == 3
    # the kept solution's value and residual; both solves' evaluations
    assert torch.all(kept.value < first.value - 0.1) and torch.all(kept.converged)
    assert torch.all(kept.residual <= 1e-4)
    assert torch.all(kept.n_evals > first.n_evals)
    # class-conditional: row 2's class has no source row, rows 0-1 only the far
    # one, whose solve ends in the deep basin too; row 2 keeps its solution
    xc, yc = torch.tensor([0, 1]), torch.tensor([1, 1, 2])
    kept = net._second_start(x, y, xc, yc, first)
    np.testing.assert_allclose(kept.x[:2].numpy().ravel(), -1.04, atol=0.02)
    assert torch.equal(kept.x[2], first.x[2])
    assert kept.value[2] == first.value[2]
    # a first solution already in the deep basin is kept as it is
    deep = backward_map(net.module_, y, x0=torch.full((3, 1), -1.0), method="lbfgs")
    kept = net._second_start(x, y, None, None, deep)
    assert torch.equal(kept.x, deep.x) and torch.equal(kept.value, deep.value)


def test_second_start_schedule():
    from skfpot._training import FixedPointNet

    net = FixedPointNet(_DoubleWell, criterion=torch.nn.Identity, second_start_every=3)
    assert [net._second_start_due() for _ in range(7)] == [1, 0, 0, 1, 0, 0, 1]
    off = FixedPointNet(_DoubleWell, criterion=torch.nn.Identity)
    assert not any(off._second_start_due() for _ in range(5))


def test_second_start_every_trains(data):
    """A fit with second starts on every step leaves a finite map; without
    them nothing switches."""
    X, Y = data
    ot = FixedPointOT(**TINY, second_start_every=1, early_stopping=False)
    ot.fit(X, Y)
    assert np.all(np.isfinite(ot.transform(X))) and ot.n_iter_ == 30
    assert isinstance(ot.second_start_switches_, int)
    off = FixedPointOT(**TINY, early_stopping=False).fit(X, Y)
    assert off.second_start_switches_ == 0
    with pytest.raises(ValueError, match="second_start_every"):
        FixedPointOT(second_start_every=-1).fit(X, Y)


class _RecordEMA(Callback):
    """A passive, independent exponential moving average of the weights
    (``decay · average + (1 − decay) · weights`` after every step)."""

    def __init__(self, decay):
        self.decay = decay
        self.average = None

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        state = {
            k: v.detach().cpu().clone() for k, v in net.module_.state_dict().items()
        }
        if self.average is None:
            self.average = state
        else:
            for k, v in state.items():
                self.average[k] = self.decay * self.average[k] + (1 - self.decay) * v


def test_weight_average_is_the_moving_average_of_the_training_steps(data):
    """Averaging leaves training unchanged and the fitted potential holds the
    average: the same fit without it, recorded by an independent callback,
    gives the same weights; its last weights differ."""
    X, Y = data
    params = dict(TINY, early_stopping=False)
    averaged = FixedPointOT(**params, weight_average_decay=0.8).fit(X, Y)
    record = _RecordEMA(0.8)
    plain = FixedPointOT(**params, callbacks=[record]).fit(X, Y)
    np.testing.assert_allclose(averaged.loss_curve_, plain.loss_curve_, rtol=0)
    kept = averaged.module_.state_dict()
    for key, value in record.average.items():
        torch.testing.assert_close(kept[key], value, rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged.transform(X), plain.transform(X), atol=1e-6)
    # decay 0 keeps the last weights exactly
    last = FixedPointOT(**params, weight_average_decay=0.0).fit(X, Y)
    np.testing.assert_array_equal(last.transform(X), plain.transform(X))
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="weight_average_decay"):
            FixedPointOT(**params, weight_average_decay=bad).fit(X, Y)


def test_weight_average_is_judged_by_early_stopping(data):
    """With early stopping, the final paired comparison runs on the average
    (even when the last evaluation, of the live weights, was not worse than
    the best), and the kept weights are the average or the best."""
    X, Y = data
    seen = {}

    class Grab(Callback):
        def on_train_end(self, net, **kwargs):
            stopping = dict(net.callbacks_)["early_stopping"]
            seen["restored"] = stopping.restored_best_
            seen["best"] = {k: v.clone() for k, v in stopping.best_state_.items()}
            average = dict(net.callbacks_)["weight_average"].average_
            seen["average"] = {k: v.clone() for k, v in average.items()}
            seen["kept"] = {k: v.clone() for k, v in net.module_.state_dict().items()}
            seen["compared"] = stopping.compare_always

    FixedPointOT(**TINY, weight_average_decay=0.9, callbacks=[Grab()]).fit(X, Y)
    assert seen["compared"]
    expected = seen["best"] if seen["restored"] else seen["average"]
    for key, value in expected.items():
        torch.testing.assert_close(seen["kept"][key], value, rtol=0, atol=0)


def _dual_in_user_coordinates(ot, X, Y, x_classes=None, y_classes=None, weights=None):
    """mean φ(X) + mean φ^c(Y) evaluated directly in the user's coordinates
    (accurate for data near the origin): the reference for ``score``."""

    def rows(means, k):
        return means if k is None else means[k]

    def psi(Z, k):
        zs = (Z - rows(ot.mean_source_, k)) / ot.scale_
        with torch.no_grad():
            kt = None if k is None else torch.as_tensor(k)
            psi_n = ot.module_.psi(torch.as_tensor(zs, dtype=torch.float32), kt)
        linear = (Z * rows(ot.mean_target_, k)).sum(1)
        return linear + ot.scale_**2 * psi_n.double().numpy()

    def phi(Z, k):
        return 0.5 * (Z * Z).sum(1) - psi(Z, k)

    if x_classes is None:
        X_hat = ot.inverse_transform(Y)
    else:
        X_hat = ot.inverse_transform(Y, classes=ot.classes_[y_classes])
    phi_c = 0.5 * ((X_hat - Y) ** 2).sum(1) - phi(X_hat, y_classes)
    wx, wy = (None, None) if weights is None else weights
    return np.average(phi(X, x_classes), weights=wx) + np.average(phi_c, weights=wy)


def test_score_is_the_dual_and_keeps_its_precision_far_from_the_origin(data):
    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    score = ot.score(X, Y)
    assert score == pytest.approx(_dual_in_user_coordinates(ot, X, Y), rel=1e-5)
    # the same data 1e8 away from the origin: the same standardised problem,
    # so the same potential and the same dual; computed in the user's
    # coordinates, ½|x|² and ψ(x) (about 1e16 each) cancelled and the score
    # was 12.0 instead of 9.8 on the reviewer's example
    far = FixedPointOT(**TINY).fit(X + 1e8, Y + 1e8)
    np.testing.assert_allclose(far.transform(X + 1e8) - 1e8, ot.transform(X), atol=1e-5)
    assert far.score(X + 1e8, Y + 1e8) == pytest.approx(score, rel=1e-5)


def test_warm_start_on_far_away_data_warns_and_says_why(data):
    # a warm start keeps the first fit's standardisation; on data 50 standard
    # deviations away the continued map stays far off, and the broken-map
    # check measured the distance from the stale mean_target_, from which
    # the new target rows were as far as the images: no warning before
    X, Y = data
    params = dict(TINY, max_iter=200, early_stopping=False)
    ot = FixedPointOT(**params, warm_start=True).fit(X, Y)
    with pytest.warns(ConvergenceWarning, match="warm_start kept the first fit's"):
        ot.fit(X + 50.0, Y - 50.0)
    with warnings.catch_warnings():  # the same data cold: no broken map
        warnings.simplefilter("error", ConvergenceWarning)
        FixedPointOT(**params).fit(X + 50.0, Y - 50.0)


def test_epoch_scoring_without_its_cache_records_a_score(data):
    X, Y = data

    def quadratic_scale(net, X=None, y=None):
        return float(net.module_.quad_factor.detach().abs().mean())

    scoring = EpochScoring(quadratic_scale, name="quad", use_caching=False)
    ot = FixedPointOT(**TINY, callbacks=[scoring]).fit(X, Y)
    assert len(ot.history_[:, "quad"]) == len(ot.history_)
    assert np.isfinite(ot.history_[:, "quad"]).all()


def test_without_early_stopping_a_map_worse_than_its_start_is_replaced():
    # a learning rate far too large for this toy (linear map, 400 rows):
    # without early stopping nothing compared the result with the start, and
    # the fit returned a 31 % L2-UVP map without a warning (the start: 1 %)
    rng = np.random.default_rng(0)
    M = np.array([[2.0, 0.3], [0.3, 0.7]])
    X, Y = rng.normal(size=(400, 2)), rng.normal(size=(400, 2)) @ M + 1
    X_test = rng.normal(size=(2000, 2))
    params = dict(hidden_layer_sizes=(16,), max_iter=200, early_stopping=False)
    with pytest.warns(ConvergenceWarning, match="the training dual fell from"):
        ot = FixedPointOT(**params, learning_rate_init=1.0, random_state=0).fit(X, Y)
    assert ot.kept_start_
    assert l2_uvp(X_test @ M + 1, ot.transform(X_test)) < 2.0
    with warnings.catch_warnings():  # a sane rate: trained weights, no warning
        warnings.simplefilter("error", ConvergenceWarning)
        sane = FixedPointOT(**params, random_state=0).fit(X, Y)
    assert not sane.kept_start_


def test_two_rows_shrink_fully():
    # two centred rows are ±v: Ledoit and Wolf's intensity is 0 whatever they
    # are, and the rank-1 covariance (plus a ridge) sent points off the rows'
    # line a thousand times too far (0, 1) -> (0, 1422)
    from skfpot._estimators import _shrunk_covariance

    rows = torch.as_tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    cov, shrink = _shrunk_covariance(rows)
    assert shrink == 1.0
    np.testing.assert_allclose(cov, np.eye(2))  # the mean variance, 2 / 2
    params = dict(hidden_layer_sizes=(16,), max_iter=200, random_state=0)
    ot = FixedPointOT(**params, early_stopping=False).fit(
        [[-1, 0], [1, 0]], [[0, -1], [0, 1]]
    )
    assert np.abs(ot.transform([[0.0, 1.0], [0.0, 0.1]])).max() < 3


@pytest.mark.filterwarnings("ignore:X spreads")  # the outlier's spread: also true
def test_an_outlier_that_squeezes_the_map_is_flagged_and_named():
    # one row a million units out dominates the common scale and the start's
    # covariances: the map squeezed the other 500 rows onto a point (a
    # median 0.05 times the target's spread from its mean) without a warning
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(500, 2)), [[1e6, 1e6]]]
    Y = rng.normal(size=(500, 2)) + 1
    params = dict(hidden_layer_sizes=(16,), max_iter=200, random_state=0)
    match = r"looks broken: .* a median 0\.\d+ times as far.*X has rows far from"
    with pytest.warns(ConvergenceWarning, match=match):
        FixedPointOT(**params).fit(X, Y)
    with warnings.catch_warnings():  # without it: no such warning
        warnings.simplefilter("error", ConvergenceWarning)
        FixedPointOT(**params).fit(X[:500], Y)
    # at (1e6, 0) only the first feature's images collapse (to a spread of
    # 0 against the target's 0.83 in the second); the distances did not show
    # it and the map was returned unwarned
    X[-1] = [1e6, 0.0]
    match = r"looks broken: .* spread in feature 0 0 times .*X has rows far from"
    with pytest.warns(ConvergenceWarning, match=match):
        ot = FixedPointOT(**params).fit(X, Y)
    assert ot.transform(X[:500])[:, 0].std() < 1e-3  # what it warns about


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mapping_memory_is_the_output_plus_chunks(data, dtype):
    """transform, inverse_transform and score standardise and map the rows
    chunk by chunk and write into the output: their NumPy peak is the output
    (for score, one number per row of each sample) plus chunk workspace.
    Before, full float64 copies made it 2.5 / 4.0 / 5.3 times the input
    (float64) and 5.0 / 8.0 / 9.5 times (float32)."""
    import tracemalloc

    X, Y = data
    ot = FixedPointOT(**TINY).fit(X, Y)
    rows = np.random.default_rng(0).normal(size=(400_000, X.shape[1])).astype(dtype)
    shifted = rows + np.asarray(1.0, dtype)
    slack = 0.25 * rows.nbytes  # a few chunks' float64 workspace
    for name, run, output in [
        ("transform", lambda: ot.transform(rows), rows.nbytes),
        ("inverse_transform", lambda: ot.inverse_transform(shifted), rows.nbytes),
        ("score", lambda: ot.score(rows, shifted), 2 * 8 * len(rows)),
    ]:
        tracemalloc.start()
        try:
            run()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < output + slack, (name, peak / rows.nbytes)


@pytest.mark.parametrize("sign, restored", [(1.0, True), (-1.0, False)])
def test_keep_best_or_last_keeps_the_better_weights(sign, restored):
    """Early stopping's end: the best evaluation's weights replace the last
    ones only when the last are significantly worse on the held-out rows
    (a stub net whose held-out values follow its one weight: best 0, last
    1)."""
    from skfpot._training import AnnealOnPlateau

    noise = 0.01 * torch.randn(50, generator=torch.Generator().manual_seed(0))

    class Net:
        verbose = 0
        history = [{"valid_loss": 0.0}, {"valid_loss": 5.0}]  # last evaluated worse
        module_ = torch.nn.Linear(1, 1, bias=False)

        def held_out_dual_values(self, valid):
            w = float(self.module_.weight.detach())
            return [(sign * w + noise, torch.full((50,), 1 / 50))]

    net = Net()
    with torch.no_grad():
        net.module_.weight.fill_(0.0)
    cb = AnnealOnPlateau(
        None, patience=1, threshold=0.0, anneal_steps=1, valid=None, sink=None
    ).initialize()
    cb.best_ = 0.0
    cb.best_state_ = {k: v.clone() for k, v in net.module_.state_dict().items()}
    with torch.no_grad():
        net.module_.weight.fill_(1.0)
    cb._keep_best_or_last(net)
    assert cb.restored_best_ is restored
    assert float(net.module_.weight.detach()) == (0.0 if restored else 1.0)


@pytest.mark.parametrize("late_ok", [True, False])
def test_solve_warning_judges_the_last_fifth_of_training(late_ok):
    """The training solver warning reads the fixed-point records of the last
    20 % of the steps only (a callback rewrites them before fit reads them)."""

    class Rewrite(Callback):
        def on_train_end(self, net, **kwargs):
            converged = dict(net.callbacks_)["monitor"].converged_
            n = len(converged)
            late = n - max(1, n // 5)
            converged[:] = [float(late_ok != (i < late)) for i in range(n)]

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**TINY, early_stopping=False, callbacks=[Rewrite()]).fit(X, Y)
    fired = any("in the last 20% of training" in str(w.message) for w in caught)
    assert fired is (not late_ok)


def test_score_matches_the_dual_in_user_coordinates_on_new_samples():
    """On samples not centred on the fit's means (the training X's
    standardised mean is 0, where a wrong sign of the mean-gap term
    vanishes)."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY).fit(X, Y)
    Xn, Yn = rng.normal(size=(40, 3)) + 0.5, rng.normal(size=(40, 3)) + 1.3
    assert ot.score(Xn, Yn) == pytest.approx(
        _dual_in_user_coordinates(ot, Xn, Yn), rel=1e-5
    )


def test_a_batch_dual_above_ten_times_its_bound_is_divergence():
    """T05: the documented 10 × bound guard of TrainingMonitor."""
    monitor = TrainingMonitor(bound=1.0)
    monitor.on_train_begin(net=None)
    info = SimpleNamespace(n_evals=torch.ones(4), converged=torch.ones(4))
    monitor.on_batch_end(None, training=True, loss=torch.tensor(-9.0), y_pred=info)
    with pytest.raises(TrainingDivergedError, match=r"reached 20 .*below 1\b") as exc:
        monitor.on_batch_end(None, training=True, loss=torch.tensor(-20.0), y_pred=info)
    assert exc.value.step == 2


def test_unpaired_batches_use_every_row_once_per_sweep():
    """T11: rows are drawn without replacement within a sweep of each sample,
    including a sample whose size is a multiple of the batch size."""
    x = torch.arange(12.0)[:, None]
    y = torch.arange(8.0)[:, None] + 100.0
    batches = UnpairedBatches(
        UnpairedData(x, y), 4, steps_per_pass=6, max_steps=6, seed=0
    )
    drawn = list(batches)
    assert len(drawn) == 6
    xs = [batch[0][:, 0].tolist() for batch in drawn]
    ys = [batch[1][:, 0].tolist() for batch in drawn]
    for sweep in (xs[0:3], xs[3:6]):
        assert sorted(sum(sweep, [])) == list(range(12))
    for sweep in (ys[0:2], ys[2:4], ys[4:6]):
        assert sorted(sum(sweep, [])) == [100.0 + i for i in range(8)]


def test_adam_is_torch_adam_bit_for_bit():
    """skfpot's Adam takes the steps of torch.optim.Adam with its defaults
    (several parameter groups, learning rates changed between steps as the
    schedule does, a parameter without a gradient skipped)."""
    from skfpot._training import Adam

    torch.manual_seed(0)
    shapes = [(5, 3), (5,), (2, 5), (1,)]
    ours = [torch.randn(s, requires_grad=True) for s in shapes]
    theirs = [p.detach().clone().requires_grad_(True) for p in ours]

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 3e-3}]

    opt_ours = Adam(groups(ours), lr=1e-2)
    opt_theirs = torch.optim.Adam(groups(theirs), lr=1e-2)
    for step in range(25):
        for opt, params in ((opt_ours, ours), (opt_theirs, theirs)):
            for group in opt.param_groups:
                group["lr"] *= 0.9
            opt.zero_grad()
            loss = sum((p.sin() * (i + 1)).sum() for i, p in enumerate(params[:3]))
            loss.backward()  # the last parameter gets no gradient
            opt.step()
        for a, b in zip(ours, theirs, strict=True):
            assert torch.equal(a, b), step
    assert ours[3].grad is None and ours[3] not in opt_ours.state
    # the state in torch's format, loadable both ways
    mine, torchs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert mine["state"].keys() == torchs["state"].keys() == {0, 1, 2}
    for i, st in mine["state"].items():
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(st[key], torchs["state"][i][key]), (i, key)
    for g, h in zip(mine["param_groups"], torchs["param_groups"], strict=True):
        assert {k: g[k] for k in ("lr", "betas", "eps", "params")} == {
            k: h[k] for k in ("lr", "betas", "eps", "params")
        }
    resumed = [p.detach().clone().requires_grad_(True) for p in theirs]
    opt_resumed = Adam(groups(resumed))
    opt_resumed.load_state_dict(torchs)
    back = [p.detach().clone().requires_grad_(True) for p in theirs]
    opt_back = torch.optim.Adam(groups(back))
    opt_back.load_state_dict(mine)
    for opt, params in ((opt_theirs, theirs), (opt_resumed, resumed), (opt_back, back)):
        opt.zero_grad()
        sum((p.cos() * (i + 1)).sum() for i, p in enumerate(params)).backward()
        opt.step()
    for a, b, c in zip(theirs, resumed, back, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    other = torch.optim.Adam(groups(theirs), amsgrad=True).state_dict()
    with pytest.raises(ValueError, match="amsgrad=True cannot be continued"):
        Adam(groups(resumed)).load_state_dict(other)


def test_skorch_checkpoint_saves_the_optimizer(data, tmp_path):
    """skorch's Checkpoint saves the optimizer state with the parameters."""
    from skorch.callbacks import Checkpoint

    X, Y = data
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best")
    FixedPointOT(**TINY, callbacks=[checkpoint]).fit(X, Y)
    assert (tmp_path / "optimizer.pt").is_file()
    state = torch.load(tmp_path / "optimizer.pt")
    assert state["state"] and state["param_groups"][0]["lr"] > 0


def test_fit_imports_neither_torch_dynamo_nor_sympy():
    """A fit in a fresh process leaves torch._dynamo and sympy unimported
    (torch.optim's optimizers import both: about 70 MiB and a second)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from skfpot import FixedPointOT, ClassConditionalFixedPointOT\n"
        "rng = np.random.default_rng(0)\n"
        "X, Y = rng.normal(size=(80, 2)), rng.normal(size=(60, 2)) + 1\n"
        "ot = FixedPointOT(hidden_layer_sizes=(8,), max_iter=20, eval_interval=10,"
        " second_start_every=2, convexity_penalty=1.0).fit(X, Y)\n"
        "ot.inverse_transform(Y); ot.score(X, Y)\n"
        "ClassConditionalFixedPointOT(hidden_layer_sizes=(8,), max_iter=20).fit("
        "X, Y, x_classes=np.arange(80) % 2, y_classes=np.arange(60) % 2)\n"
        "print(sorted({'torch._dynamo', 'sympy'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_inverse_warns_even_when_under_one_percent_of_solves_miss():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY).fit(X, Y)
    d = rng.normal(size=(20, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    far = ot.mean_target_ + 1e5 * ot.scale_ * d  # a few of these solves miss
    near = rng.normal(size=(1000, 3)) + 1.0
    with pytest.warns(ConvergenceWarning, match=r"did not converge for 0\.\d+%"):
        ot.inverse_transform(np.r_[near, far])


def test_warm_start_adds_up_second_start_switches():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY, second_start_every=1, early_stopping=False).fit(X, Y)
    first = ot.second_start_switches_
    assert first > 0
    ot.set_params(warm_start=True, second_start_every=0).fit(X, Y)
    assert ot.second_start_switches_ == first  # the records run on


def _squeeze_feature(factor):
    from skorch.callbacks import Callback

    class Squeeze(Callback):  # scales feature 0's images by factor**2
        def on_train_end(self, net, **kwargs):
            with torch.no_grad():
                net.module_.quad_factor[:, 0, :] *= factor

    return Squeeze()


def test_a_feature_squeeze_is_reported_as_a_ratio_of_spreads():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 3)), 2 * rng.normal(size=(300, 3)) + 3
    params = dict(TINY, max_iter=10, learning_rate_init=1e-12)
    ot = FixedPointOT(**params, callbacks=[("squeeze", _squeeze_feature(0.2))])
    with pytest.warns(ConvergenceWarning, match="looks broken") as record:
        ot.fit(X, Y)
    message = str(record[0].message)
    # the images' spread in feature 0 is 0.2**2 = 0.04 of the target's
    found = float(message.split("spread in feature 0 ")[1].split(" times")[0])
    assert found == pytest.approx(0.04, rel=0.25), message
    assert ot.kept_start_


def test_a_moderate_outlier_is_not_named_as_the_cause(wreck):
    # a row 30 times as far from the mean as the median row is below the
    # 100x cut-off: the broken map's message blames training, not X
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 3)), 2 * rng.normal(size=(300, 3)) + 3
    X[0] = [45.0, 0.0, 0.0]  # median distance about 1.5
    ot = FixedPointOT(**TINY, callbacks=[("wreck", wreck(30.0))])
    with pytest.warns(ConvergenceWarning, match="looks broken") as record:
        ot.fit(X, Y)
    message = str(record[0].message)
    assert "diverged" in message and "rows far from" not in message, message


def test_a_warm_start_shift_is_judged_in_units_of_scale(wreck):
    # data of spread 100, new data 20 units (0.2 scale_) away: a broken map
    # there is not blamed on the stale standardisation
    rng = np.random.default_rng(0)
    X, Y = 100 * rng.normal(size=(300, 3)), 200 * rng.normal(size=(300, 3)) + 3
    ot = FixedPointOT(**TINY, warm_start=True).fit(X, Y)
    ot.set_params(callbacks=[("wreck", wreck(30.0))])
    with pytest.warns(ConvergenceWarning, match="looks broken") as record:
        ot.fit(X + 20.0, Y + 20.0)
    message = str(record[0].message)
    assert "warm_start kept" not in message, message


def test_shrinkage_from_one_percent_on_is_applied():
    # d = 32, 2000 rows of unequal variances: Ledoit-Wolf's intensity is about
    # 0.04, above the 1 %
    # cut-off, so the covariance is shrunk (a 10 % cut-off left it as it was)
    from sklearn.covariance import ledoit_wolf_shrinkage

    from skfpot._estimators import _shrunk_covariance

    X = np.random.default_rng(0).normal(size=(2000, 32)) * np.linspace(0.5, 2, 32)
    cov, shrink = _shrunk_covariance(torch.as_tensor(X))
    expected = ledoit_wolf_shrinkage(X - X.mean(0), assume_centered=True)
    assert 0.01 < expected < 0.1
    assert shrink == pytest.approx(expected, rel=1e-10)
    sample = np.cov(X.T)
    target = np.trace(sample) / 32 * np.eye(32)
    np.testing.assert_allclose(cov, (1 - shrink) * sample + shrink * target)


# Tests of a fourth mutation audit (2026-12-08): each failed with one
# surviving mutant of _estimators.py.


def test_auto_solver_cache_limit_is_inclusive():
    """E02: "the curvature cache takes at most 256 MiB": a cache of exactly
    256 MiB (d = 1: 2 bytes a row, 2**27 rows) still takes dense BFGS
    (tests/test_fixed_point_ot.py checks 16 bytes under and 256 over)."""
    from skfpot._estimators import _resolve_solver

    assert _resolve_solver("auto", 1, 2**27) == "bfgs"
    assert _resolve_solver("auto", 1, 2**27 + 1) == "lbfgs"


@pytest.mark.parametrize("n, fraction", [(50_000, 0.1), (10_000, 0.5)])
def test_held_out_rows_are_capped_at_4096_without_classes(n, fraction):
    """E04: early stopping holds out validation_fraction of each sample, at
    most 4096 rows (documented; tests/test_class_conditional.py checks the
    cap for the stratified split only)."""
    ot = FixedPointOT(validation_fraction=fraction)
    order, n_valid = ot._split_order(n, np.random.default_rng(0))
    assert n_valid == 4096
    assert sorted(order.tolist()) == list(range(n))


def _fake_backward(first, second):
    """A stand-in for ``backward_map``: the affine-start solve (no ``x0``)
    returns ``first``, the anchored one ``second``, each ``(x value,
    inner objective, converged)`` for every row."""

    def fake(module, y, classes=None, *, x0=None, **options):
        x_value, value, converged = first if x0 is None else second
        n = len(y)
        return FixedPointResult(
            x=torch.full_like(y, x_value),
            value=torch.full((n,), value, dtype=y.dtype, device=y.device),
            residual=torch.zeros(n, dtype=y.dtype, device=y.device),
            n_iter=torch.ones(n, dtype=torch.long, device=y.device),
            n_evals=torch.full((n,), 2, dtype=torch.long, device=y.device),
            converged=torch.full((n,), converged, device=y.device),
        )

    return fake


@pytest.mark.parametrize(
    "first, second, winner",
    [
        ((1.0, 0.0, True), (2.0, -1.0, True), 2.0),  # both converged: lower wins
        ((1.0, -1.0, True), (2.0, 0.0, True), 1.0),
        ((1.0, 0.0, True), (2.0, -1.0, False), 1.0),  # an unconverged one loses
        ((1.0, -1.0, False), (2.0, 0.0, True), 2.0),  # ... even when lower
    ],
)
def test_anchored_inverse_keeps_the_converged_solve(first, second, winner, monkeypatch):
    """E07 / E08: of the two backward solves (affine start, anchor start)
    the one with the lower inner objective wins among the converged ones,
    and a converged solve always beats an unconverged one: the rows are
    then reported converged (no warning), so their images must be the
    converged solve's."""
    import skfpot._estimators as est

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY).fit(X, Y)
    assert ot.anchors_ is not None
    monkeypatch.setattr(est, "backward_map", _fake_backward(first, second))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        out = ot.inverse_transform(Y[:7])
    expected = ot.mean_source_ + ot.scale_ * winner
    np.testing.assert_allclose(out, np.broadcast_to(expected, (7, 3)), rtol=1e-12)


@pytest.mark.parametrize("late", [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
def test_solve_warning_of_a_short_fit_reads_its_last_step(late):
    """E10: with fewer than five steps the "last 20 % of training" is the
    last step (at least one), not every step: a 3-step fit whose last solves
    all converged does not warn, one whose last solves missed does."""
    from skorch.callbacks import Callback

    class Rewrite(Callback):
        def on_train_end(self, net, **kwargs):
            dict(net.callbacks_)["monitor"].converged_[:] = late

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0
    params = dict(TINY, max_iter=3, eval_interval=3, early_stopping=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**params, callbacks=[Rewrite()]).fit(X, Y)
    fired = any("in the last 20% of training" in str(w.message) for w in caught)
    assert fired is (late[-1] < 1.0)


def test_inverse_warning_counts_the_far_rows_among_other_misses():
    """E14: when solves miss both near the data (too few iterations) and far
    outside it (float32 rounding), the warning asks for more iterations and
    says how many of the missed rows lie too far out for that to help."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY).fit(X, Y)
    d = rng.normal(size=(20, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    far = ot.mean_target_ + 1e5 * ot.scale_ * d
    near = 3 * rng.normal(size=(200, 3)) + 1.0
    ot.set_params(fixed_point_max_iter=1)  # near solves miss too
    with pytest.warns(ConvergenceWarning, match="Increase fixed_point_max_iter") as rec:
        ot.inverse_transform(np.r_[near, far])
    message = str(rec[0].message)
    found = re.search(r"\((\d+) of them lie so far outside the data", message)
    assert found, message
    missed = int(re.search(r"\((\d+) of 220\)", message).group(1))
    assert 0 < int(found.group(1)) <= 20 < missed


def test_inverse_misses_from_a_few_thousand_scale_out_are_named_float32s():
    """E13: a row counts as too far out for float32 once its rounding,
    eps32 * max|w| (standardised), exceeds half of fixed_point_tol: at 3000
    scale_ (eps32 * 3000 = 3.6e-4, 3.6 tol) the missed solves are rounding,
    and the warning says that more iterations do not help (the user guide's
    d = 2 toy: "the solves failed from 1,000 scale_ out")."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY).fit(X, Y)
    d = rng.normal(size=(200, 3))
    d /= np.abs(d).max(axis=1, keepdims=True)  # largest coordinate exactly 1
    far = ot.mean_target_ + 3000 * ot.scale_ * d
    with pytest.warns(ConvergenceWarning, match="far outside the data") as rec:
        ot.inverse_transform(far)
    assert "Increase fixed_point_max_iter" not in str(rec[0].message)


@pytest.mark.parametrize("share, warns", [(0.98, True), (0.995, False)])
def test_training_solve_warning_fires_from_one_percent_missed(share, warns):
    """E11: fit warns when more than 1 % of the solves of the last fifth of
    training missed fixed_point_tol (2 % does, 0.5 % does not)."""
    from skorch.callbacks import Callback

    class Rewrite(Callback):
        def on_train_end(self, net, **kwargs):
            converged = dict(net.callbacks_)["monitor"].converged_
            converged[:] = [share] * len(converged)

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FixedPointOT(**TINY, early_stopping=False, callbacks=[Rewrite()]).fit(X, Y)
    fired = [str(w.message) for w in caught if "last 20% of training" in str(w.message)]
    assert bool(fired) is warns
    if warns:
        assert fired[0].startswith("2.0% of the fixed-point solves")


def test_a_class_with_as_many_training_rows_as_features_is_named():
    """E18: d training rows in d dimensions leave the sample covariance
    singular (rank d − 1 once centred), so a broken map of that class names
    the few rows as the likely cause, as it does for fewer rows
    (tests/test_fixed_point_ot.py checks 3 rows in 4 dimensions)."""
    from skorch.callbacks import Callback

    from skfpot import ClassConditionalFixedPointOT

    class Wreck(Callback):  # the suite's ``wreck`` fixture
        def on_train_end(self, net, **kwargs):
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.mul_(30.0)

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(100, 4)), rng.normal(size=(100, 4)) + 1.0
    a = np.r_[np.zeros(95, int), np.ones(5, int)]  # class 1: 5 rows, 1 held out
    b = np.r_[np.zeros(50, int), np.ones(50, int)]
    ot = ClassConditionalFixedPointOT(
        **TINY, validation_fraction=0.25, callbacks=[("wreck", Wreck())]
    )
    with pytest.warns(
        ConvergenceWarning, match="4 training rows of X of class 1 in 4 dimensions"
    ):
        ot.fit(X, Y, x_classes=a, y_classes=b)


def test_a_collapse_found_by_early_stopping_is_reported_once():
    """E21: when early stopping's final comparison finds the trained weights
    collapsed (held-out dual far below the start's), fit warns that training
    made the map worse, and not, in addition, that it "did not improve the
    map" (the milder UserWarning for a start that is merely better)."""
    from skorch.callbacks import Callback

    class Shift(Callback):  # at the last step, shift the map by 2 (std units)
        def on_batch_end(self, net, training=False, **kwargs):
            monitor = dict(net.callbacks_)["monitor"]
            if training and monitor.step_ == net.iterator_train__max_steps:
                with torch.no_grad():
                    net.module_.linear.add_(torch.tensor([2.0, 0.0]))

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 1.0
    params = dict(TINY, max_iter=10, callbacks=[Shift()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ot = FixedPointOT(**params).fit(X, Y)
    messages = [str(w.message) for w in caught]
    assert ot.kept_start_
    assert any(m.startswith("training made the map worse") for m in messages)
    assert not [m for m in messages if "did not improve the map" in m], messages


def test_one_inverse_anchor_is_kept():
    """E38: ``inverse_anchors=1`` keeps one training row (and its image) for
    the second start; only 0 keeps none."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    ot = FixedPointOT(**TINY, inverse_anchors=1).fit(X, Y)
    assert ot.anchors_.shape == ot.anchor_images_.shape == (1, 3)
    np.testing.assert_allclose(
        ot.inverse_transform(ot.transform(X[:5])), X[:5], atol=1e-3
    )


def test_a_tolerance_at_float32s_reach_is_not_blamed():
    """E26: only a fixed_point_tol *below* what float32 solves reach (1e-7)
    is named as the cause of missed solves; at 1e-7 itself (which
    ``_miss_advice`` also treats as reachable) starved solves are told to
    get more iterations."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    starved = dict(fixed_point_solver="damped", fixed_point_max_iter=1)
    ot = FixedPointOT(**TINY, **starved, early_stopping=False, fixed_point_tol=1e-7)
    with pytest.warns(ConvergenceWarning, match="in the last 20% of training") as rec:
        ot.fit(X, 3.0 * Y)
    messages = [str(w.message) for w in rec]
    assert any("Increase fixed_point_max_iter" in m for m in messages), messages
    assert not any("below what the float32 solves" in m for m in messages)


@pytest.mark.parametrize("sizes", [(8, True), (False,)])
def test_boolean_hidden_layer_sizes_are_refused(sizes):
    """E29: booleans are not layer widths (``True`` would silently build a
    1-unit layer); they are refused like 0 or -1."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1.0
    with pytest.raises(ValueError, match="sequence of positive integers"):
        FixedPointOT(**{**TINY, "hidden_layer_sizes": sizes}).fit(X, Y)


def test_dense_bfgs_inverse_bounds_its_curvature_memory(monkeypatch):
    """E36: with ``fixed_point_solver="bfgs"`` every backward solve holds a
    d × d float32 matrix per row, so inverse_transform solves at most
    2**24 / d² rows at once (64 MiB of matrices): 4096 rows at d = 64,
    not the 8192-row chunks of the other solvers."""
    import skfpot._estimators as est

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(80, 64)), rng.normal(size=(80, 64)) + 1.0
    params = dict(TINY, max_iter=2, inverse_anchors=0, early_stopping=False)
    ot = FixedPointOT(**params, fixed_point_solver="bfgs").fit(X, Y)
    sizes = []

    def spy(module, y, classes=None, *, x0=None, **options):
        sizes.append(len(y))
        n = len(y)
        return FixedPointResult(
            x=y.clone(),
            value=torch.zeros(n),
            residual=torch.zeros(n),
            n_iter=torch.zeros(n, dtype=torch.long),
            n_evals=torch.ones(n, dtype=torch.long),
            converged=torch.ones(n, dtype=torch.bool),
        )

    monkeypatch.setattr(est, "backward_map", spy)
    ot.inverse_transform(np.zeros((10_000, 64)))
    assert sum(sizes) == 10_000 and max(sizes) <= 2**24 // 64**2
