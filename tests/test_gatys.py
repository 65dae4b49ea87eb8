"""Gatys et al.'s pixel optimisation (library and command line).

Tiny runs: random VGG16, style layers relu1_1 and relu2_1, 32 px images, at most 20 iterations.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from torch import Tensor

from texture_nets.baselines import gatys
from texture_nets.baselines.gatys import GatysResult, make_init, optimize_image
from texture_nets.cli import gatys as gatys_cli
from texture_nets.cli.config_flags import LOSS_KEYS
from texture_nets.evaluation import plots
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import LossTerms, TextureLoss
from texture_nets.objective.objective import LossSettings, Objective, describe, loss_settings
from texture_nets.objective.weights import build_descriptor
from texture_nets.training.config import TrainConfig

SIZE = 32
LAYERS = {"relu1_1": 1.0, "relu2_1": 1.0}


def checker(size: int = SIZE, cell: int = 4, seed: int = 0) -> Tensor:
    """A checkerboard of random colours: (1, 3, size, size) in [0, 1]."""
    rng = torch.Generator().manual_seed(seed)
    cells = -(-size // cell)
    colours = torch.rand(1, 3, cells, cells, generator=rng)
    return colours.repeat_interleave(cell, 2).repeat_interleave(cell, 3)[..., :size, :size]


def stripes(width: int = 40, height: int = 24, seed: int = 1) -> Tensor:
    """Vertical stripes of random colours plus a gradient (a stand-in "photo")."""
    rng = torch.Generator().manual_seed(seed)
    colours = torch.rand(1, 3, 1, width // 4, generator=rng).repeat_interleave(4, 3)
    ramp = torch.linspace(0, 0.3, height).view(1, 1, height, 1)
    return (colours.expand(1, 3, height, width) * 0.7 + ramp).clamp(0, 1)


def texture_loss(
    descriptor: VGGDescriptor, style: Tensor, content_layers: Mapping[str, float] | None = None
) -> TextureLoss:
    loss = TextureLoss(LAYERS, content_layers)
    with torch.no_grad():
        loss.set_style([descriptor(style, list(LAYERS))])
    return loss


def run(descriptor: VGGDescriptor, steps: int = 10, **kwargs: Any) -> GatysResult:
    loss = kwargs.pop("loss", None) or texture_loss(descriptor, checker())
    init = kwargs.pop("init", None)
    if init is None:
        init = make_init("noise", (SIZE, SIZE), seed=0)
    return optimize_image(descriptor, loss, init, steps, progress=False, **kwargs)


def evaluate(descriptor: VGGDescriptor, loss: TextureLoss, image: Tensor) -> float:
    with torch.no_grad():
        return float(loss(descriptor(image, loss.layers), None, image).total)


@pytest.fixture
def spy_forward(monkeypatch: pytest.MonkeyPatch) -> list[LossTerms]:
    """Record every ``TextureLoss.forward`` result (the real method still runs)."""
    calls: list[LossTerms] = []
    real = TextureLoss.forward

    def spy(self: TextureLoss, *args: Any, **kwargs: Any) -> LossTerms:
        result = real(self, *args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(TextureLoss, "forward", spy)
    return calls


# -- library ----------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loss_decreases(descriptor: VGGDescriptor, optimizer: str) -> None:
    init = make_init("noise", (SIZE, SIZE), seed=0)
    before = init.clone()
    result = run(descriptor, 20, optimizer=optimizer, init=init)
    assert len(result.losses) == len(result.seconds) == 20
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert result.best_loss == min(result.losses)
    assert result.seconds == sorted(result.seconds)
    assert not result.interrupted
    assert result.image.shape == (1, 3, SIZE, SIZE)
    assert float(result.image.min()) >= 0.0 and float(result.image.max()) <= 1.0
    assert torch.equal(init, before)  # the init is not modified in place


def test_best_image_has_best_loss(descriptor: VGGDescriptor) -> None:
    loss = texture_loss(descriptor, checker())
    result = run(descriptor, 8, loss=loss)
    assert evaluate(descriptor, loss, result.image) == pytest.approx(result.best_loss, rel=1e-4)


def test_uses_the_shared_texture_loss(
    descriptor: VGGDescriptor, spy_forward: list[LossTerms]
) -> None:
    result = run(descriptor, 6)
    assert len(spy_forward) == 6  # L-BFGS without line search: one evaluation per iteration
    assert [float(c.total.detach()) for c in spy_forward] == pytest.approx(result.losses)


def test_callback_every_iteration(descriptor: VGGDescriptor) -> None:
    seen: list[tuple[int, float]] = []

    def callback(iteration: int, image: Tensor, value: float) -> None:
        assert image.shape == (1, 3, SIZE, SIZE)
        seen.append((iteration, value))

    result = run(descriptor, 7, optimizer="adam", callback=callback)
    assert [i for i, _ in seen] == list(range(1, 8))
    assert [v for _, v in seen] == result.losses


def test_stop_at_loss(descriptor: VGGDescriptor) -> None:
    full = run(descriptor, 12)
    target = full.losses[4]
    stopped = run(descriptor, 12, stop_at_loss=target)
    assert len(stopped.losses) < 12
    assert stopped.losses[-1] <= target
    assert all(value > target for value in stopped.losses[:-1])


def test_keyboard_interrupt_returns_best(descriptor: VGGDescriptor) -> None:
    def interrupt(iteration: int, image: Tensor, value: float) -> None:
        if iteration == 3:
            raise KeyboardInterrupt

    result = run(descriptor, 10, callback=interrupt)
    assert result.interrupted
    assert len(result.losses) == 3
    assert result.best_loss == min(result.losses)
    assert torch.isfinite(result.image).all()


def test_nan_loss_keeps_best_finite_image(
    descriptor: VGGDescriptor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    loss = texture_loss(descriptor, checker())
    real = TextureLoss.forward
    calls = []

    def nan_after_four(self: TextureLoss, *args: Any, **kwargs: Any) -> LossTerms:
        result = real(self, *args, **kwargs)
        calls.append(1)
        if len(calls) > 4:
            return LossTerms(result.total * float("nan"), result.terms)
        return result

    monkeypatch.setattr(TextureLoss, "forward", nan_after_four)
    with caplog.at_level(logging.WARNING, logger="texture_nets.baselines.gatys"):
        result = run(descriptor, 10, loss=loss)
    monkeypatch.undo()
    assert len(result.losses) == 4
    assert not result.interrupted
    assert torch.isfinite(result.image).all()
    assert result.best_loss == min(result.losses)
    assert evaluate(descriptor, loss, result.image) == pytest.approx(result.best_loss, rel=1e-4)
    assert "non-finite loss" in caplog.text


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_pooling_modes(pooling: str, fast_vgg: None) -> None:
    with pytest.warns(UserWarning, match="RANDOM"):
        descriptor, _ = build_descriptor("random", "vgg16", pooling, "relu2_1")
    result = run(descriptor, 5)
    assert result.losses[-1] < result.losses[0]


@pytest.mark.parametrize(("use_bf16", "dtype"), [(True, torch.bfloat16), (False, torch.float32)])
def test_bf16_autocast_is_used_only_when_asked(
    descriptor: VGGDescriptor, use_bf16: bool, dtype: torch.dtype
) -> None:
    seen: list[torch.dtype] = []

    def record(module: torch.nn.Module, inputs: Any, output: dict[str, Tensor]) -> None:
        seen.extend(feature.dtype for feature in output.values())

    loss = texture_loss(descriptor, checker())  # fp32 style targets, before the hook
    handle = descriptor.register_forward_hook(record)
    try:
        result = run(descriptor, 3, loss=loss, use_bf16=use_bf16)
    finally:
        handle.remove()
    assert seen and set(seen) == {dtype}  # the descriptor ran (only) in that precision
    assert all(torch.isfinite(torch.tensor(result.losses)))
    assert result.image.dtype == torch.float32  # the pixels stay fp32


def test_style_transfer_has_content_term(
    descriptor: VGGDescriptor, spy_forward: list[LossTerms]
) -> None:
    content = make_init("content", (SIZE, SIZE), stripes())
    loss = texture_loss(descriptor, checker(), {"relu2_1": 1.0})
    with torch.no_grad():
        targets = descriptor(content, ["relu2_1"])
    init = make_init("content+noise", (SIZE, SIZE), content, noise_ratio=0.5, seed=0)
    result = run(descriptor, 5, loss=loss, init=init, content_targets=targets)
    terms = spy_forward[0].terms
    assert {"content", "style"} <= set(terms)
    assert float(terms["content"].detach()) > 0
    assert result.losses[-1] < result.losses[0]


def test_content_init_starts_at_content(descriptor: VGGDescriptor) -> None:
    content = make_init("content", (SIZE, SIZE), stripes())
    first: list[Tensor] = []
    run(
        descriptor,
        2,
        init=content,
        callback=lambda i, image, v: first.append(image) if i == 1 else None,
    )
    assert torch.equal(first[0], content)


# -- init -------------------------------------------------------------------------------------


def test_make_init_kinds() -> None:
    content = stripes()  # 40 x 24: resized to the requested size
    noise = make_init("noise", (24, 40), seed=3)
    assert noise.shape == (1, 3, 24, 40)
    assert torch.equal(noise, make_init("noise", (24, 40), seed=3))
    assert not torch.equal(noise, make_init("noise", (24, 40), seed=4))
    assert float(noise.min()) >= 0.5 - gatys.INIT_NOISE_AMPLITUDE
    assert float(noise.max()) <= 0.5 + gatys.INIT_NOISE_AMPLITUDE
    assert torch.equal(make_init("content", (24, 40), content), content)
    resized = make_init("content", (12, 20), content)
    assert resized.shape == (1, 3, 12, 20)
    mixed = make_init("content+noise", (24, 40), content, noise_ratio=0.25, seed=3)
    white = torch.rand(1, 3, 24, 40, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(mixed, 0.75 * content + 0.25 * white)
    assert torch.equal(make_init("content+noise", (24, 40), content, 0.0, 3), content)


@pytest.mark.parametrize(
    ("kind", "content", "ratio", "message"),
    [
        ("content", None, 0.5, "needs a content image"),
        ("content+noise", None, 0.5, "needs a content image"),
        ("content+noise", stripes(), 1.5, "noise_ratio"),
        ("pink", None, 0.5, "unknown init"),
    ],
)
def test_make_init_errors(kind: str, content: Tensor | None, ratio: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_init(kind, (8, 8), content, ratio)


def test_optimize_image_argument_errors(descriptor: VGGDescriptor) -> None:
    with pytest.raises(ValueError, match="unknown optimizer"):
        run(descriptor, 2, optimizer="sgd")
    with pytest.raises(ValueError, match="steps"):
        run(descriptor, 0)
    with pytest.raises(ValueError, match="shape"):
        run(descriptor, 2, init=torch.rand(3, SIZE, SIZE))


def test_plot_losses_edge_cases(tmp_path: Path) -> None:
    for name, losses in {
        "empty": [],
        "one": [0.5],
        "flat": [1.0, 1.0, 1.0],
        "odd": [3.0, float("nan"), 0.0, 1e-3, float("inf"), 2e-4],
        "long": [10.0 * 0.98**i for i in range(1000)],
    }.items():
        path = plots.plot_losses(losses, tmp_path / f"{name}.png", title=name)
        with Image.open(path) as image:
            assert image.size == (720, 440)


def test_plot_curves_several_labelled_curves(tmp_path: Path) -> None:
    curves = [
        plots.Curve([1.0 * 0.9**i for i in range(50)], "lbfgs"),
        plots.Curve([2.0 * 0.95**i for i in range(80)], "adam"),
        plots.Curve([], "empty"),
    ]
    path = plots.plot_curves(curves, tmp_path / "iter.png", title="two")
    with Image.open(path) as image:
        assert image.size == (720, 440)
        colours = {colour for _, colour in image.getcolors(maxcolors=100_000) or []}
    assert plots.CURVE_COLOURS[0] in colours and plots.CURVE_COLOURS[1] in colours
    timed = [plots.Curve([3.0, 2.0, 1.0], "a", x=[0.1, 0.25, 0.4]), plots.Curve([5.0], x=[0.05])]
    path = plots.plot_curves(timed, tmp_path / "time.png", xlabel="seconds")
    assert path.is_file()
    assert plots.plot_curves([], tmp_path / "none.png").is_file()
    with pytest.raises(ValueError, match="x values"):
        plots.plot_curves([plots.Curve([1.0, 2.0], x=[1.0])], tmp_path / "bad.png")


def test_nice_float_ticks() -> None:
    assert plots._nice_float_ticks(0.0, 10.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert plots._nice_float_ticks(0.0, 0.37) == [0.0, 0.1, 0.2, 0.3]


# -- command line -------------------------------------------------------------------------------


def save_png(image: Tensor, path: Path) -> Path:
    array = (image[0].permute(1, 2, 0) * 255).round().byte().numpy()
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def texture(tmp_path: Path) -> Path:
    return save_png(checker(40), tmp_path / "texture.png")


TINY = [
    "--descriptor", "random", "--descriptor-arch", "vgg16", "--style-layers", "relu1_1,relu2_1",
    "--size", str(SIZE), "--precision", "fp32", "--steps", "6",
]  # fmt: skip


@pytest.fixture
def cli(fast_vgg: None) -> Iterator[Callable[..., int]]:
    def call(*argv: str) -> int:
        return gatys_cli.main([*TINY, *argv])

    yield call


def test_cli_texture_loss_swd(cli: Callable[..., int], texture: Path, tmp_path: Path) -> None:
    out = tmp_path / "swd.png"
    assert cli("--texture", str(texture), "--out", str(out), "--texture-loss", "swd") == 0
    with Image.open(out) as image:
        assert image.size == (SIZE, SIZE)
    assert cli("--texture", str(texture), "--out", str(out), "--texture-loss", "sw") == 2
    blend = ["--style", str(texture), str(texture), "--content", str(texture)]
    assert cli(*blend, "--out", str(out), "--texture-loss", "swd") == 2


def test_cli_texture_writes_outputs(cli: Callable[..., int], texture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "result.png"
    assert cli("--texture", str(texture), "--out", str(out), "--save-every", "2") == 0
    with Image.open(out) as image:
        assert image.size == (SIZE, SIZE)
    with Image.open(tmp_path / "out" / "result_loss.png") as curve:
        assert curve.format == "PNG"
    assert sorted(p.name for p in out.parent.glob("result_iter*.png")) == [
        "result_iter0002.png", "result_iter0004.png", "result_iter0006.png",
    ]  # fmt: skip
    record = json.loads((tmp_path / "out" / "result.json").read_text())
    assert record["descriptor_source"].startswith("random:vgg16")
    assert len(record["losses"]) == len(record["seconds"]) == 6
    assert record["best_loss"] == min(record["losses"])
    assert record["interrupted"] is False
    assert record["stopped"] == "completed"
    assert record["resolved"]["init"] == "noise"
    assert record["settings"]["steps"] == 6


def test_cli_style_transfer(cli: Callable[..., int], texture: Path, tmp_path: Path) -> None:
    second = save_png(checker(40, cell=8, seed=5), tmp_path / "second.png")
    photo = save_png(stripes(40, 24), tmp_path / "photo.png")
    out = tmp_path / "styled.png"
    code = cli(
        "--style", str(texture), str(second), "--style-blend", "0.7", "0.3",
        "--content", str(photo), "--content-layers", "relu2_1", "--optimizer", "adam",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0
    with Image.open(out) as image:
        assert image.size == (SIZE, round(24 * SIZE / 40))  # longer side = --size
    record = json.loads((tmp_path / "styled.json").read_text())
    assert record["mode"] == "style"
    assert record["resolved"]["init"] == "content"


def test_cli_ctrl_c_writes_best_and_exits_130(
    cli: Callable[..., int], texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = TextureLoss.forward
    calls = []

    def interrupt_third(self: TextureLoss, *args: Any, **kwargs: Any) -> LossTerms:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TextureLoss, "forward", interrupt_third)
    out = tmp_path / "result.png"
    assert cli("--texture", str(texture), "--out", str(out)) == 130
    assert out.is_file()
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["interrupted"] is True
    assert record["stopped"] == "interrupted"
    assert len(record["losses"]) == 2


def test_cli_nan_writes_best_and_exits_1(
    cli: Callable[..., int], texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = TextureLoss.forward
    calls = []

    def nan_after_two(self: TextureLoss, *args: Any, **kwargs: Any) -> LossTerms:
        result = real(self, *args, **kwargs)
        calls.append(1)
        return LossTerms(result.total * float("nan"), result.terms) if len(calls) > 2 else result

    monkeypatch.setattr(TextureLoss, "forward", nan_after_two)
    out = tmp_path / "result.png"
    assert cli("--texture", str(texture), "--out", str(out)) == 1
    assert out.is_file()
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["stopped"] == "non-finite loss"
    assert len(record["losses"]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--texture", "{t}", "--style", "{t}", "--content", "{t}"], "not both"),
        (["--texture", "{t}", "--content", "{t}"], "--content needs --style"),
        (["--style", "{t}"], "--style needs --content"),
        ([], "nothing to do"),
        (["--texture", "{t}", "--style-layers", "relu1_1,relu9_9"], "valid layers: relu1_1"),
        (["--texture", "{t}", "--style-layers", "relu5_4"], "valid layers"),  # vgg16 has no 5_4
        (["--texture", "{t}", "--size", "0"], "size must be positive"),
        (["--texture", "{t}", "--size", "0x32"], "size must be positive"),
        (["--texture", "{t}", "--steps", "0"], "--steps"),
        (["--texture", "{t}", "--steps", "-3"], "--steps"),
        (["--texture", "{t}", "--style-size", "0"], "--style-size"),
        (["--style", "{t}", "{t}", "--style-blend", "1", "--content", "{t}"], "--style-blend"),
        (["--texture", "{t}", "--init", "content"], "needs a content image"),
        (["--texture", "{t}", "--style-layer-weights", "1,2,3"], "--style-layer-weights"),
        (["--texture", "{t}", "--style-layer-weights", "1,-1,1,1,1"], "--style-layer-weights"),
        (["--texture", "{t}", "--style-weight", "-1"], "--style-weight must be >= 0"),
        (["--texture", "{t}", "--tv-weight", "nan"], "--tv-weight must be >= 0"),
        (["--texture", "{t}", "--pooling", "min"], "--pooling"),
        (["--texture", "{t}", "--out", "result.xyz"], "unknown image format"),
        (["--texture", "{t}", "--optimizer", "sgd"], "--optimizer"),
        (["--texture", "{t}.missing"], "no such file"),
    ],
)
def test_cli_bad_input_exits_2(
    cli: Callable[..., int],
    texture: Path,
    tmp_path: Path,
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [a.replace("{t}", str(texture)) for a in argv]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "r.png")]
    assert cli(*args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ")
    assert message in err[-1]
    assert not (tmp_path / "r.png").exists()


# -- the one pipeline: Objective + synthesize / stylize -----------------------------------------


def tiny_settings(stylize: bool) -> LossSettings:
    settings = loss_settings({"style_layers": list(LAYERS)}, stylize=stylize)
    return replace(settings, content_layers={"relu2_1": 1.0} if stylize else {})


@pytest.mark.parametrize("use_bf16", [False, True])
def test_synthesize_reproduces_the_hand_built_setup(
    descriptor: VGGDescriptor, use_bf16: bool
) -> None:
    """``synthesize`` is the set-up every caller used to write: same targets, init and loss."""
    settings = tiny_settings(stylize=False)
    loss = settings.build_loss()
    loss.set_style([describe(descriptor, checker(), list(loss.style_layers), use_bf16)])
    init = make_init("noise", (SIZE, 24), None, 1.0, seed=3)
    old = optimize_image(descriptor, loss, init, 4, use_bf16=use_bf16, progress=False)
    objective = Objective.build(descriptor, settings, [checker()], use_bf16=use_bf16)
    new = gatys.synthesize(objective, (SIZE, 24), 4, seed=3, progress=False)
    assert new.losses == old.losses
    assert torch.equal(new.image, old.image)


@pytest.mark.parametrize("init", ["content", "noise", "content+noise"])
def test_stylize_reproduces_the_hand_built_setup(descriptor: VGGDescriptor, init: str) -> None:
    """``stylize``: content targets of the photo and an init of its size, as callers did."""
    settings = tiny_settings(stylize=True)
    photo = stripes()
    loss = settings.build_loss()
    loss.set_style([describe(descriptor, checker(), list(loss.style_layers))])
    targets = describe(descriptor, photo, list(loss.content_layers))
    start = make_init(init, (photo.shape[-2], photo.shape[-1]), photo, 0.3, seed=2)
    old = optimize_image(
        descriptor, loss, start, 4, optimizer="adam", content_targets=targets, progress=False
    )
    objective = Objective.build(descriptor, settings, [checker()])
    new = gatys.stylize(
        objective, photo, 4, init=init, noise_ratio=0.3, seed=2, optimizer="adam", progress=False
    )
    assert new.losses == old.losses
    assert torch.equal(new.image, old.image)


def test_objective_content_targets_use_the_content_layers(descriptor: VGGDescriptor) -> None:
    objective = Objective.build(descriptor, tiny_settings(stylize=True), [checker()])
    assert set(objective.content_targets(stripes())) == {"relu2_1"}


def test_cli_runs_through_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, cli: Callable[..., int], texture: Path, tmp_path: Path
) -> None:
    """The command is a caller of ``synthesize`` (not its own copy of the set-up)."""
    calls: list[tuple[int, int]] = []
    real = gatys.synthesize

    def spy(objective: Objective, size: tuple[int, int], *args: Any, **kwargs: Any) -> GatysResult:
        calls.append(size)
        return real(objective, size, *args, **kwargs)

    monkeypatch.setattr(gatys_cli, "synthesize", spy)
    out = tmp_path / "out.png"
    assert cli("--texture", str(texture), "--out", str(out)) == 0
    assert calls == [(SIZE, SIZE)]


def test_cli_loss_flags_come_from_the_config_schema() -> None:
    """Every loss flag of the command is a ``TrainConfig`` key with its code default (the
    spellings and defaults the command always had)."""
    actions = {a.dest: a for a in gatys_cli.build_parser()._actions}
    expected = {
        "descriptor": "auto",
        "descriptor_arch": None,
        "pooling": "avg",
        "style_layers": ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
        "style_layer_weights": None,
        "content_layers": ["relu4_2"],
        "texture_loss": "gram",
        "shift_weight": 0.0,
        "shift_layers": ["relu4_1"],
        "shifts": [2, 4, 8],
        "style_weight": 1.0,
        "content_weight": 1.0,
        "tv_weight": 0.0,
    }
    assert set(LOSS_KEYS) == set(expected)
    defaults = TrainConfig()
    for key, default in expected.items():
        assert actions[key].option_strings == ["--" + key.replace("_", "-")]
        assert actions[key].default == default == getattr(defaults, key)
    args = gatys_cli.build_parser().parse_args(
        ["--style-layers", "relu1_1,relu2_1", "--style-layer-weights", "1,0.5", "--tv-weight", "2"]
    )
    assert (args.style_layers, args.style_layer_weights, args.tv_weight) == (
        ["relu1_1", "relu2_1"],
        [1.0, 0.5],
        2.0,
    )
