"""End to end: train.py -> checkpoint -> generate.py, resume, interrupt, NaN, CLI errors.

Tiny runs: random descriptor, 32 px, 3 scales, a few steps (seconds each).
"""

from __future__ import annotations

import csv
import logging
import pickle
import signal
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
import yaml
from conftest import patched_vgg, quiet_random_warning
from PIL import Image
from torch import nn

from texture_nets.cli import generate as generate_cli
from texture_nets.cli import train as train_cli
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.training import fit
from texture_nets.training import module as module_lib
from texture_nets.training.config_files import make_config
from texture_nets.training.logs import RunCSVLogger
from texture_nets.training.module import TextureNetsModule, average_of

TINY = [
    "--descriptor",
    "random",
    "--image-size",
    "32",
    "--batch-size",
    "2",
    "--num-scales",
    "3",
    "--style-layers",
    "relu1_1,relu2_1",
    "--style-size",
    "48",
    "--log-every",
    "1",
    "--sample-every",
    "0",
    "--checkpoint-every",
    "2",
    "--precision",
    "fp32",
    "--logger",
    "csv",
]


@pytest.fixture
def texture(tmp_path: Path) -> Path:
    rng = torch.Generator().manual_seed(0)
    pixels = (torch.rand(40, 40, 3, generator=rng) * 255).byte().numpy()
    path = tmp_path / "example.png"
    Image.fromarray(pixels).save(path)
    return path


def train(texture: Path, out: Path, steps: int, *extra: str) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train_cli.main(
            ["--texture", str(texture), "--out", str(out), "--max-steps", str(steps), *TINY, *extra]
        )


def generator_state(out: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(out).generator_state


def test_train_then_generate_any_size(texture: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert train(texture, run, 4) == 0
    info = read_checkpoint(run)
    assert info.global_step == 4
    assert info.descriptor_source.startswith("random:")
    assert len(info.style_sha256) == 64
    assert (run / "config.yaml").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("step=*.ckpt")) == [
        "step=000002.ckpt",
        "step=000004.ckpt",
    ]
    samples = tmp_path / "samples"
    code = generate_cli.main(
        [
            "--texture",
            str(run),
            "--size",
            "45x29",
            "--count",
            "3",
            "--seed",
            "7",
            "--out",
            str(samples),
        ]
    )
    assert code == 0
    files = sorted(samples.glob("*.png"))
    assert [f.name for f in files] == [f"example_45x29_seed{s}.png" for s in (7, 8, 9)]
    assert Image.open(files[0]).size == (45, 29)
    first = (samples / "example_45x29_seed7.png").read_bytes()
    again = tmp_path / "again"
    assert (
        generate_cli.main(
            ["--texture", str(run), "--size", "45x29", "--seed", "7", "--out", str(again)]
        )
        == 0
    )
    assert (again / "example_45x29_seed7.png").read_bytes() == first  # same seed, same sample


class _InterruptAt(pl.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, step: int | None) -> None:
    """Training runs (this test's) stop as Ctrl-C would after ``step``; None: they do not."""
    monkeypatch.setattr(
        fit, "make_callbacks",
        lambda c, o: [*MAKE_CALLBACKS(c, o), *([_InterruptAt(step)] if step else [])],
    )  # fmt: skip


MAKE_CALLBACKS = fit.make_callbacks


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--lr-schedule", "step", "--ema-decay", "0"],
        ["--ema-decay", "0.7"],
        ["--accumulate-grad-batches", "2"],
        ["--image-size", "64", "--random-size-min", "32"],
    ],
    ids=["defaults", "step-plain", "ema0.7", "accumulate2", "random-sizes"],
)
def test_resume_reaches_the_same_weights(
    texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str]
) -> None:
    """Interrupted and resumed with the same budget = trained straight through, bit for bit:
    the schedule (cosine over max_steps by default), the average and the noise all resume."""
    straight = tmp_path / "straight"
    assert train(texture, straight, 6, *flags) == 0
    resumed = tmp_path / "resumed"
    _interrupt_at(monkeypatch, 3)
    assert train(texture, resumed, 6, "--checkpoint-every", "100", *flags) == 130
    assert read_checkpoint(resumed).global_step == 3
    _interrupt_at(monkeypatch, None)
    assert train(texture, resumed, 6, "--resume", "auto", *flags) == 0
    assert read_checkpoint(resumed).global_step == 6
    a, b = generator_state(straight), generator_state(resumed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    # the live weights too (with an average, the checkpoint generates with the average)
    live = [_weights(r)["state_dict"] for r in (straight, resumed)]
    assert live[0].keys() == live[1].keys()
    assert any(k.startswith("generator.") for k in live[0])
    for key in live[0]:
        torch.testing.assert_close(live[0][key], live[1][key], rtol=0, atol=0, msg=key)
    assert (
        generate_cli.main(["--texture", str(resumed), "--size", "32", "--out", str(tmp_path / "g")])
        == 0
    )


def test_a_checkpoint_of_the_old_key_layout_loads_and_resumes(
    texture: Path, tmp_path: Path
) -> None:
    """Checkpoints written before the module held an ``Objective`` keep the loss's buffers
    under ``loss.*`` (now ``objective.loss.*``): the module renames them on load, so none is
    left over and the targets come back, and ``--resume`` from such a file trains on to the
    weights a resume from the new layout reaches."""
    run = tmp_path / "run"
    assert train(texture, run, 2, "--lr-schedule", "step") == 0
    new = run / "checkpoints" / "last.ckpt"
    raw = torch.load(new, weights_only=False)
    keys = list(raw["state_dict"])
    assert any(k.startswith("objective.loss.target_gram") for k in keys)
    assert not any(k.startswith(("loss.", "descriptor.", "objective.descriptor.")) for k in keys)
    raw["state_dict"] = {k.removeprefix("objective."): v for k, v in raw["state_dict"].items()}
    old = tmp_path / "old.ckpt"
    torch.save(raw, old)

    with patched_vgg(), quiet_random_warning():
        module = TextureNetsModule(raw["hyper_parameters"]["config"])
    result = module.load_state_dict(raw["state_dict"], strict=False)
    assert not result.unexpected_keys
    assert all(k.startswith("objective.descriptor.") for k in result.missing_keys)
    gram = "target_gram_relu1_1"
    assert torch.equal(getattr(module.objective.loss, gram), raw["state_dict"][f"loss.{gram}"])

    resumed: dict[str, dict[str, Any]] = {}
    for name, checkpoint in (("from_old", old), ("from_new", new)):
        out = tmp_path / name
        assert train(texture, out, 3, "--lr-schedule", "step", "--resume", str(checkpoint)) == 0
        assert read_checkpoint(out).global_step == 3
        resumed[name] = _weights(out)["state_dict"]
    assert resumed["from_old"].keys() == resumed["from_new"].keys()
    assert any(k.startswith("objective.loss.") for k in resumed["from_old"])
    for key, value in resumed["from_new"].items():
        assert torch.equal(resumed["from_old"][key], value), key


class _SignalAtBatch(pl.Callback):
    """Sends this process a SIGINT (a Ctrl-C) at the end of batch ``batch`` of the epoch."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if args[-1] == self.batch:
            signal.raise_signal(signal.SIGINT)


def _python_sigint(getsignal: Any) -> Any:
    """``signal.getsignal`` that reports Python's Ctrl-C handler where SIGINT is ignored."""

    def wrapped(signum: int) -> Any:
        handler = getsignal(signum)
        ignored = signum == signal.SIGINT and handler is signal.SIG_IGN
        return signal.default_int_handler if ignored else handler

    return wrapped


def test_ctrl_c_inside_an_accumulated_step_finishes_it_and_resumes_exactly(
    texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch 4 is the first of step 2's two: the run takes step 2 (its gradients would be
    in no checkpoint), stops at 3 steps, and resumes to the straight run's weights."""
    # Ctrl-C acts however the suite was started (a background shell starts it ignored)
    monkeypatch.setattr(signal, "getsignal", _python_sigint(signal.getsignal))
    accumulate = ["--accumulate-grad-batches", "2"]
    straight = tmp_path / "straight"
    assert train(texture, straight, 5, *accumulate) == 0
    resumed = tmp_path / "resumed"
    monkeypatch.setattr(
        fit, "make_callbacks", lambda c, o: [*MAKE_CALLBACKS(c, o), _SignalAtBatch(4)]
    )
    assert train(texture, resumed, 5, *accumulate, "--checkpoint-every", "100") == 130
    assert read_checkpoint(resumed).global_step == 3
    monkeypatch.setattr(fit, "make_callbacks", MAKE_CALLBACKS)
    assert train(texture, resumed, 5, *accumulate, "--resume", "auto") == 0
    a, b = _weights(straight)["state_dict"], _weights(resumed)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_accumulated_batches_draw_their_own_noise_and_count_one_step(
    texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 steps of 2 batches: 6 training batches, each with its own (step, batch) noise seed,
    and no step cut short by an epoch's end."""
    seeds: list[tuple[int, int]] = []
    original = module_lib.rank_seed

    def spy(seed: int, step: int, rank: int = 0, batch: int = 0) -> int:
        seeds.append((step, batch))
        return original(seed, step, rank, batch)

    monkeypatch.setattr(module_lib, "rank_seed", spy)
    run = tmp_path / "run"
    assert train(texture, run, 3, "--accumulate-grad-batches", "2") == 0
    assert read_checkpoint(run).global_step == 3
    assert seeds == [(step, batch) for step in range(3) for batch in range(2)]
    written = yaml.safe_load((run / "config.yaml").read_text())
    assert written["global_batch_size"] == 2 * 2  # TINY's batch of 2, twice a step
    assert original(0, 5, 0, 1) != original(0, 5, 0, 0) == 5  # batch 0: the one-batch seed


def test_accumulated_runs_checkpoint_and_stop_between_steps_only(
    texture: Path, tmp_path: Path
) -> None:
    """Resumed at a checkpoint step (2 of every 2), the first batches of step 3 write no
    checkpoint; a time budget that runs out inside a step ends after it."""
    run = tmp_path / "run"
    accumulate = ["--accumulate-grad-batches", "3"]
    assert train(texture, run, 2, *accumulate) == 0
    assert train(texture, run, 4, *accumulate, "--resume", "auto") == 0
    saved = sorted(p.name for p in (run / "checkpoints").glob("step=*.ckpt"))
    assert saved == ["step=000002.ckpt", "step=000004.ckpt"]
    timed = tmp_path / "timed"
    assert train(texture, timed, 100, *accumulate, "--max-time", "1e-6") == 0
    state = _weights(timed)
    assert state["global_step"] == 1  # the budget ran out in the first batch; the step ended
    progress = state["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]
    assert progress["processed"] == 3


def test_random_sizes_are_drawn_per_step_and_reproducibly() -> None:
    config = make_config({"random_size_min": 128}).to_dict()
    with quiet_random_warning():
        module = TextureNetsModule({**config, "descriptor": "random"})
        other = TextureNetsModule({**config, "descriptor": "random", "seed": 1})
    sizes = [module.step_size(step) for step in range(40)]
    assert set(sizes) == {256, 224, 192, 160, 128}
    assert sizes == [module.step_size(step) for step in range(40)]
    assert [other.step_size(step) for step in range(40)] != sizes


def _weights(run: Path) -> dict[str, Any]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def test_train_with_the_sliced_wasserstein_loss(texture: Path, tmp_path: Path) -> None:
    run = tmp_path / "swd"
    assert train(texture, run, 2, "--texture-loss", "swd", "--normalize-gradients", "true") == 0
    info = read_checkpoint(run)
    assert info.config["texture_loss"] == "swd" and info.global_step == 2
    assert info.config["normalize_gradients"] is True
    diverse = tmp_path / "diverse"
    assert (
        train(texture, diverse, 2, "--diversity-weight", "0.1", "--diversity-layer", "relu2_1") == 0
    )
    assert read_checkpoint(diverse).config["diversity_weight"] == 0.1


def test_periodic_checkpoints_hold_their_steps_average(texture: Path, tmp_path: Path) -> None:
    """A checkpoint written during training (resumable, and what generate reads) holds the
    average of its own step, like the final one of a run that stopped there."""
    longer, shorter = tmp_path / "longer", tmp_path / "shorter"
    step = ["--lr-schedule", "step"]  # the same learning rates up to step 2 in both runs
    assert train(texture, longer, 4, *step, "--ema-decay", "0.7", "--checkpoint-every", "2") == 0
    assert train(texture, shorter, 2, *step, "--ema-decay", "0.7") == 0
    periodic = torch.load(longer / "checkpoints" / "step=000002.ckpt", weights_only=True)
    final = _weights(shorter)
    assert periodic["global_step"] == final["global_step"] == 2
    assert periodic["state_dict"].keys() == final["state_dict"].keys()
    for key, value in final["state_dict"].items():
        torch.testing.assert_close(periodic["state_dict"][key], value, rtol=0, atol=0, msg=key)


def test_an_average_of_no_step_is_not_used(texture: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert train(texture, run, 2, "--ema-decay", "0.7") == 0
    path = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=False)
    live = {k.removeprefix("generator."): v for k, v in checkpoint["state_dict"].items()
            if k.startswith("generator.")}  # fmt: skip
    assert not all(torch.equal(v, generator_state(run)[k]) for k, v in live.items())
    checkpoint["state_dict"]["generator_average.n_averaged"].zero_()  # e.g. resumed, no step
    torch.save(checkpoint, path)
    assert all(torch.equal(v, generator_state(run)[k]) for k, v in live.items())


class _RecordWeights(pl.Callback):
    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        state = pl_module.generator.state_dict()
        self.weights.append({k: v.detach().clone() for k, v in state.items()})


def test_ema_checkpoints_hold_the_average_of_the_weights(texture: Path, tmp_path: Path) -> None:
    decay = 0.6
    record = _RecordWeights()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        argv = ["--texture", str(texture), "--out", str(tmp_path / "run"), "--max-steps", "4",
                *TINY, "--ema-decay", str(decay)]  # fmt: skip
        assert train_cli.main(argv, callbacks=[record]) == 0
    assert len(record.weights) == 4
    saved = generator_state(tmp_path / "run")
    state = _weights(tmp_path / "run")["state_dict"]
    assert not any(k.startswith("descriptor.") for k in state)
    for key, value in saved.items():
        if not value.is_floating_point():
            continue  # batch-norm step counters are not averaged
        # every step's weights, weighted by decay^(steps after it), normalised by the weights
        shares = [decay ** (len(record.weights) - 1 - i) for i in range(len(record.weights))]
        expected = sum(w * step[key] for w, step in zip(shares, record.weights, strict=True))
        torch.testing.assert_close(value, expected / sum(shares), msg=key)
        live = state[f"generator.{key}"]
        torch.testing.assert_close(live, record.weights[-1][key], rtol=0, atol=0, msg=key)
    assert any(not torch.equal(saved[k], record.weights[-1][k]) for k in saved)
    run = tmp_path / "run"
    assert (
        generate_cli.main(["--texture", str(run), "--size", "32", "--out", str(tmp_path / "g")])
        == 0
    )


def test_descriptor_stays_frozen_and_out_of_checkpoints(texture: Path, tmp_path: Path) -> None:
    config = train_cli.resolve_config(
        ["--texture", str(texture), "--out", str(tmp_path / "run"), "--max-steps", "2", *TINY]
    )[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TextureNetsModule(config.to_dict())
    before = {k: v.clone() for k, v in model.descriptor.state_dict().items()}
    generator_before = [p.detach().clone() for p in model.generator.parameters()]
    trainer = pl.Trainer(
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    from texture_nets.training.data import NoiseDataModule

    trainer.fit(model, datamodule=NoiseDataModule(2))
    assert all(p.grad is None and not p.requires_grad for p in model.descriptor.parameters())
    for key, value in model.descriptor.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert any(
        not torch.equal(a, b)
        for a, b in zip(generator_before, model.generator.parameters(), strict=True)
    )
    assert not any(k.startswith("descriptor.") for k in model.state_dict())


def test_interrupt_writes_a_resumable_checkpoint(
    texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interrupt_at(monkeypatch, 3)
    run = tmp_path / "run"
    assert train(texture, run, 10, "--checkpoint-every", "100") == 130
    assert read_checkpoint(run).global_step == 3
    _interrupt_at(monkeypatch, None)
    assert train(texture, run, 5, "--resume", "auto") == 0
    assert read_checkpoint(run).global_step == 5


def test_nan_loss_stops_and_keeps_the_good_checkpoint(
    texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run = tmp_path / "run"
    assert train(texture, run, 2) == 0
    good = (run / "checkpoints" / "last.ckpt").read_bytes()
    original = TextureNetsModule.compute_loss

    def poisoned(self: TextureNetsModule, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if self.global_step >= 3:
            result.total = result.total * float("nan")
        return result

    monkeypatch.setattr(TextureNetsModule, "compute_loss", poisoned)
    assert train(texture, run, 6, "--resume", "auto") == 1
    assert "non-finite loss at step 3" in caplog.text
    # The one outcome: step 3 is not a checkpoint step (every 2), and a FloatingPointError
    # writes nothing (InterruptCheckpoint saves on Ctrl-C / SIGTERM only, FinalCheckpoint at
    # the end of training only), so last.ckpt is still the step-2 file, byte for byte.
    assert read_checkpoint(run).global_step == 2
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == good
    for value in generator_state(run).values():
        assert torch.isfinite(value).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--texture", "missing.jpg"], "no such file"),
        (["--texture", "{tmp}"], "is a directory"),
        (["--texture", "{bad}/text.jpg"], "text.jpg is not an image PIL can read"),
        (["--texture", "{bad}/cut.jpg"], "cut.jpg: cannot decode image (image file is truncated"),
        (["--texture", "{bad}/empty.png"], "empty.png is empty (0 bytes)"),
        (["--texture", "{bad}/bomb.png"], "bomb.png: image too large (100000x100000"),
        (["--texture", "{img}", "--out", "{bad}/afile"], "afile is a file, expected a folder"),
        (["--texture", "{img}", "--out", "{bad}/afile/sub"], "afile is a file, so no folder"),
        (["--style", "{img}", "--content-dir", "{bad}/afile"], "expected a directory of images"),
        (["--style", "{img}", "--val-dir", "{bad}/afile"], "expected a directory of images"),
        (["--texture", "{img}", "--content-dir", "{tmp}"], "belong to stylize mode"),
        (["--texture", "{img}", "--style", "{img}"], "not both"),
        (["--texture", "{img}", "--image-size", "0"], "image_size must be positive"),
        (
            ["--texture", "{img}", "--image-size", "16", "--num-scales", "3"],
            "too small for relu5_1",
        ),
        (["--texture", "{img}", "--style-size", "-1"], "style_size must be positive"),
        (["--texture", "{img}", "--max-steps", "0"], "max_steps must be positive, got 0"),
        (["--texture", "{img}", "--max-steps", "-5"], "max_steps must be positive, got -5"),
        (["--texture", "{img}", "--batch-size", "0"], "batch_size must be positive"),
        (["--texture", "{img}", "--lr", "0"], "lr must be positive"),
        (["--texture", "{img}", "--style-weight", "-1"], "style_weight must be >= 0"),
        (["--texture", "{img}", "--tv-weight", "-0.5"], "tv_weight must be >= 0"),
        (["--texture", "{img}", "--image-size", "big"], "argument --image-size: invalid int"),
        (["--texture", "{img}", "--style-layers", "relu9_1"], "unknown vgg16 layer"),
        (["--texture", "{img}", "--style-layers", "relu9_1"], "valid layers: relu1_1, relu1_2"),
        (["--texture", "{img}", "--imag-size", "64"], "did you mean --image-size?"),
        (
            ["--texture", "{img}", "--zzz", "1"],
            "valid flags: --accelerator, --accumulate-grad-batches, --batch-size",
        ),
        (["--texture", "{img}", "--config", "{tmp}/nope.yaml"], "config file not found"),
        (["--texture", "{img}", "--config", "{bad}/afile"], "must hold a mapping"),
        (["--texture", "{img}", "--descriptor", "bogus"], "unknown descriptor source 'bogus'"),
        (["--texture", "{img}", "--descriptor", "{bad}/text.pth"], "weights file not found"),
        (["--texture", "{img}", "--descriptor", "{img}.pth"], "weights file not found"),
        (["--texture", "{img}", "--resume", "{tmp}/none.ckpt"], "no checkpoint"),
        (["--texture", "{img}", "--resume", "{bad}/afile"], "not a texture-nets checkpoint"),
        ([], "no example image"),
    ],
)
def test_train_user_errors_exit_2(
    args: list[str],
    message: str,
    texture: Path,
    bad_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One line naming the problem, exit 2, no traceback, and nothing written."""
    bad = bad_files["afile"].parent
    argv = [a.format(tmp=tmp_path, img=texture, bad=bad) for a in args]
    for flag, default in (("--out", str(tmp_path / "out")), ("--descriptor", "random")):
        if flag not in argv:
            argv += [flag, default]
    before = sorted(tmp_path.rglob("*"))
    assert train_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err, err
    assert err.count("\n") == 1, err
    assert sorted(tmp_path.rglob("*")) == before  # no run folder, no config.yaml


def test_generate_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    assert generate_cli.main(["--texture", str(junk), "--out", str(tmp_path)]) == 2
    assert "not a texture-nets checkpoint" in capsys.readouterr().err
    assert generate_cli.main(["--texture", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "without checkpoints" in capsys.readouterr().err


def test_generate_tiled_matches_one_pass(
    texture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert train(texture, run, 2) == 0
    images = {}
    for tile in ("off", "8"):
        out = tmp_path / f"tile_{tile}"
        argv = ["--texture", str(run), "--size", "40x24", "--tile", tile, "--out", str(out)]
        assert generate_cli.main(argv) == 0
        images[tile] = np.asarray(Image.open(out / "example_40x24_seed0.png"), dtype=np.int16)
    assert images["off"].shape == (24, 40, 3)
    assert np.abs(images["off"] - images["8"]).max() <= 1  # float rounding of the statistics
    assert generate_cli.main(["--texture", str(run), "--tile", "big", "--out", str(tmp_path)]) == 2
    assert "expected auto, off or a number of rows" in capsys.readouterr().err


def test_resume_auto_without_a_checkpoint_starts_a_new_run(texture: Path, tmp_path: Path) -> None:
    """``--resume auto`` is safe to put in every command: a fresh run directory just trains."""
    run = tmp_path / "fresh"
    assert train(texture, run, 2, "--resume", "auto") == 0
    assert read_checkpoint(run).global_step == 2
    assert read_checkpoint(run).config["resume"] is None


def test_max_time_ends_training_with_a_checkpoint_and_samples(
    texture: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``--max-time``: the budget, not ``max_steps``, ends the run (and the log says so);
    state and samples are kept, and a resumed run gets only what is left of the budget."""
    run = tmp_path / "timed"
    budget = ["--max-time", "0.01", "--sample-every", "100000", "--lr-schedule", "cosine"]
    with caplog.at_level(logging.INFO, logger="texture_nets"):
        assert train(texture, run, 100_000, *budget) == 0
    step = read_checkpoint(run).global_step
    assert 0 < step < 100_000
    assert f"stopped at step {step} of 100000: the time budget of 0.01 min" in caplog.text
    assert (run / "samples" / f"step_{step:06d}.png").is_file()
    assert train(texture, run, 100_000, *budget, "--resume", "auto") == 0
    assert read_checkpoint(run).global_step <= step + 1  # the budget was already spent


def _lr_factor(overrides: dict[str, Any]) -> Any:
    config = make_config({"descriptor": "random", "image_size": 32, "num_scales": 3, **overrides})
    with patched_vgg(), quiet_random_warning():
        module = TextureNetsModule(config.to_dict())
    scheduler = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    return module, scheduler.lr_lambdas[0]


def test_cosine_schedule_ends_near_zero_over_the_steps() -> None:
    _, factor = _lr_factor({"lr_schedule": "cosine", "warmup_steps": 10, "max_steps": 110})
    assert factor(0) == pytest.approx(0.1, rel=1e-3)  # warm-up first
    assert factor(55) == pytest.approx(0.5, abs=1e-9)  # halfway through the budget
    assert factor(109) < 1e-3
    _, step = _lr_factor({"lr_schedule": "step", "warmup_steps": 0, "lr_decay_every": 50})
    assert [step(0), step(50), step(100)] == [1.0, 0.5, 0.25]


def test_cosine_schedule_follows_the_time_budget_when_it_runs_out_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, factor = _lr_factor(
        {"lr_schedule": "cosine", "warmup_steps": 0, "max_steps": 1000, "max_time": 2.0}
    )

    class Spent:  # a Timer 60 s into a 2-minute budget
        def time_elapsed(self, stage: str) -> float:
            return 60.0

    monkeypatch.setattr(module, "_budget_timer", lambda: Spent())
    assert factor(10) == pytest.approx(0.5, abs=1e-9)  # time, not steps (1%), says halfway
    assert factor(900) < 0.03  # steps further along than time: steps win


def _generator_gradient(overrides: dict[str, Any]) -> torch.Tensor:
    """All the generator's gradients as one vector (biases before a norm get ~0: compare
    vectors, not elements)."""
    config = make_config({"descriptor": "random", "image_size": 32, "num_scales": 3,
                          "precision": "fp32", **overrides})  # fmt: skip
    torch.manual_seed(0)  # the same generator weights every time
    with patched_vgg(), quiet_random_warning():
        module = TextureNetsModule(config.to_dict())
        with torch.no_grad():
            style = module.features(torch.rand(1, 3, 32, 32), module.loss.style_layers)
    module.loss.set_style([style])
    module.compute_loss(module.generate(module.step_noise(0, 1, 32))).total.backward()
    return torch.cat(
        [p.grad.flatten() for p in module.generator.parameters() if p.grad is not None]
    )


def test_normalized_gradients_do_not_depend_on_the_loss_scale() -> None:
    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).norm() / b.norm())

    plain, scaled = _generator_gradient({}), _generator_gradient({"style_weight": 100.0})
    assert relative(plain * 100, scaled) < 1e-4  # a plain gradient scales with the loss
    unit = _generator_gradient({"normalize_gradients": True})
    unit_scaled = _generator_gradient({"normalize_gradients": True, "style_weight": 100.0})
    assert relative(unit, unit_scaled) < 1e-4  # a normalised one does not
    assert relative(unit * plain.norm() / unit.norm(), plain) > 0.01  # and points elsewhere


def test_the_moving_average_is_not_biased_to_the_first_step() -> None:
    """After n updates the average is the normalised decay-weighted mean of the n steps, so
    the first step's weights fade like any other's (a plain EMA keeps them at decay^n)."""
    network = nn.Linear(3, 2)
    average = average_of(network, 0.9)
    steps = []
    for k in range(30):
        with torch.no_grad():
            network.weight.fill_(float(k))
        steps.append(float(k))
        average.update_parameters(network)
    shares = [0.9 ** (len(steps) - 1 - i) for i in range(len(steps))]
    expected = sum(s * w for s, w in zip(steps, shares, strict=True)) / sum(shares)
    torch.testing.assert_close(average.module.weight, torch.full((2, 3), expected))


def test_the_moving_average_pickles_with_its_update() -> None:
    """``--strategy ddp_spawn`` pickles the module, average and update function included."""
    network = nn.Linear(3, 2)
    average = pickle.loads(pickle.dumps(average_of(network, 0.9)))
    for value in (1.0, 3.0):
        with torch.no_grad():
            network.weight.fill_(value)
        average.update_parameters(network)
    expected = (0.9 * 1.0 + 3.0) / (0.9 + 1.0)  # the normalised update ran after unpickling
    torch.testing.assert_close(average.module.weight, torch.full((2, 3), expected))


def test_a_resumed_run_keeps_the_metrics_of_every_sitting(
    texture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """metrics.csv of a run stopped by Ctrl-C in step 3 and resumed = the straight run's, row
    for row (exact resume), but for the row of the step the interrupt cut short."""
    flags = ["--log-every", "1", "--logger", "csv", "--checkpoint-every", "2"]
    straight = tmp_path / "straight"
    assert train(texture, straight, 6, *flags) == 0
    resumed = tmp_path / "resumed"
    _interrupt_at(monkeypatch, 3)
    assert train(texture, resumed, 6, *flags) == 130
    _interrupt_at(monkeypatch, None)
    assert train(texture, resumed, 6, "--resume", "auto", *flags) == 0

    def losses(run: Path) -> list[tuple[str, str]]:
        with (run / "logs" / "metrics.csv").open() as file:
            return [(r["step"], r["train/loss"]) for r in csv.DictReader(file) if r["train/loss"]]

    assert [step for step, _ in losses(straight)] == ["1", "2", "3", "4", "5", "6"]
    assert losses(resumed) == [row for row in losses(straight) if row[0] != "3"]


def test_the_run_log_drops_rows_a_resumed_sitting_logs_again(tmp_path: Path) -> None:
    """Rows logged after the checkpoint a run resumes from (a killed sitting) are replaced by
    the new sitting's; new columns are added to the earlier rows' header."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "metrics.csv").write_text("a,step\n" + "".join(f"{s},{s}\n" for s in range(6)))
    writer = RunCSVLogger(str(tmp_path)).experiment
    for step in (3, 4):
        writer.log_metrics({"a": 10 * step, "b": 1.0}, step)
    writer.save()
    with (logs / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [(r["step"], r["a"], r["b"]) for r in rows] == [
        ("0", "0", ""), ("1", "1", ""), ("2", "2", ""), ("3", "30", "1.0"), ("4", "40", "1.0")
    ]  # fmt: skip
