"""Data parallelism (issue 12): DDP with 2 CPU processes on gloo, devices and precision keys,
per-rank noise, the sharded photo sampler, and device/dtype safety of the module.

The multi-process runs start ``tests/ddp_train.py`` (train.py + a recording callback) as a
subprocess with ``--strategy ddp``: that is the path users take (Lightning re-runs the script
for the other ranks). ``ddp`` cannot be started from inside pytest (the children would re-run
pytest's own command line), and ``ddp_spawn`` would pickle the trainer and return results
only through its queue, which is not what train.py users run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from PIL import Image

from texture_nets.cli import train as train_cli
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import sample_textures
from texture_nets.precision import trainer_precision
from texture_nets.training import fit
from texture_nets.training.config import ConfigError, TrainConfig
from texture_nets.training.config_files import load_yaml, make_config
from texture_nets.training.data import MIN_EPOCH_BATCHES, ShardedEpochSampler, training_epoch
from texture_nets.training.module import TextureNetsModule, rank_seed

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "ddp_train.py"
TINY = [
    "--descriptor", "random", "--image-size", "32", "--num-scales", "3",
    "--style-layers", "relu1_1,relu2_1", "--style-size", "48", "--log-every", "1",
    "--sample-every", "0", "--checkpoint-every", "2", "--precision", "fp32", "--logger", "csv",
    "--warmup-steps", "0",
]  # fmt: skip
DDP = ["--accelerator", "cpu", "--devices", "2", "--strategy", "ddp"]
STEPS = 6


def write_image(path: Path, seed: int, side: int = 40) -> Path:
    rng = torch.Generator().manual_seed(seed)
    pixels = (torch.rand(side, side, 3, generator=rng) * 255).byte().numpy()
    Image.fromarray(pixels).save(path)
    return path


def run_driver(args: list[str], record: Path, timeout: float = 300) -> None:
    """``python tests/ddp_train.py ARGS`` (the ranks record into ``record``); must succeed."""
    env = {
        **os.environ,
        "DDP_RECORD_DIR": str(record),
        "WANDB_MODE": "offline",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("OMP_NUM_THREADS", None)  # Lightning gives each of the 2 ranks its share
    result = subprocess.run(
        [sys.executable, str(DRIVER), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def load_records(record: Path) -> list[dict[str, Any]]:
    return [torch.load(record / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One 2-process texture run of STEPS steps, batch 1 per process (global batch 2)."""
    root = tmp_path_factory.mktemp("ddp")
    texture = write_image(root / "example.png", 0)
    out, record = root / "run", root / "record"
    run_driver(
        ["--texture", str(texture), "--out", str(out), "--max-steps", str(STEPS),
         "--batch-size", "1", *TINY, *DDP],
        record,
    )  # fmt: skip
    return {"texture": texture, "out": out, "record": record, "root": root}


# -- the 2-process run -----------------------------------------------------------------------


@pytest.mark.subprocess
@pytest.mark.slow
def test_ddp_run_writes_one_run_with_the_global_batch(ddp_run: dict[str, Path]) -> None:
    out = ddp_run["out"]
    info = read_checkpoint(out)
    assert info.global_step == STEPS
    names = sorted(p.name for p in (out / "checkpoints").glob("*.ckpt"))
    assert names == ["last.ckpt", "step=000002.ckpt", "step=000004.ckpt", "step=000006.ckpt"]
    written = yaml.safe_load((out / "config.yaml").read_text())
    assert written["world_size"] == 2 and written["global_batch_size"] == 2
    assert written["devices"] == "2" and written["strategy"] == "ddp"
    # the file reads back as a config (the derived keys are ignored)
    assert load_yaml(out / "config.yaml")["devices"] == "2"
    # one metrics file, one row per step (rank 0 logs)
    metrics = (out / "logs" / "metrics.csv").read_text().splitlines()
    assert sum(1 for line in metrics[1:] if line.split(",")[0] != "") >= STEPS


@pytest.mark.subprocess
@pytest.mark.slow
def test_ranks_draw_different_noise_and_end_with_identical_weights(
    ddp_run: dict[str, Path],
) -> None:
    rank0, rank1 = load_records(ddp_run["record"])
    assert (rank0["rank"], rank1["rank"], rank0["world_size"]) == (0, 1, 2)
    assert rank0["global_step"] == rank1["global_step"] == STEPS
    for a, b in zip(rank0["noise"], rank1["noise"], strict=True):
        assert a.shape == b.shape
        assert not torch.equal(a, b)
    assert rank0["losses"] != rank1["losses"]  # different images, different local losses
    for weights in ("generator", "network"):  # the live weights and their moving average
        for name, value in rank0[weights].items():
            assert torch.equal(value, rank1[weights][name]), (weights, name)
    saved = read_checkpoint(ddp_run["out"]).generator_state
    assert saved.keys() == rank0["network"].keys()
    for name, value in saved.items():
        assert torch.equal(value, rank0["network"][name]), name
    # the texture default averages: the checkpoint is not the last step's weights
    assert not all(torch.equal(v, rank0["generator"][k]) for k, v in saved.items())


class DoubledBatch(TextureNetsModule):
    """One process, batch 2: sample 0 gets rank 0's noise, sample 1 rank 1's."""

    def step_noise(
        self,
        step: int,
        batch: int,
        height: int,
        width: int | None = None,
        rank: int | None = None,
        accumulated: int = 0,
    ) -> list[torch.Tensor] | None:
        parts = [super(DoubledBatch, self).step_noise(step, batch // 2, height, width, r,
                                                      accumulated) for r in (0, 1)]  # fmt: skip
        return [torch.cat(scale) for scale in zip(*parts, strict=True)]  # type: ignore[arg-type]


@pytest.mark.subprocess
@pytest.mark.slow
def test_two_processes_equal_one_process_with_twice_the_batch(
    ddp_run: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ddp_train import RankRecord

    reference = ddp_run["root"] / "doubled"
    recorder = RankRecord(ddp_run["root"] / "doubled_record")
    monkeypatch.setattr(fit, "TextureNetsModule", DoubledBatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the CPU, as the DDP run: "auto" would pick a GPU where there is one and compare
        # GPU arithmetic with CPU arithmetic
        code = train_cli.main(
            ["--texture", str(ddp_run["texture"]), "--out", str(reference),
             "--max-steps", str(STEPS), "--batch-size", "2", "--accelerator", "cpu", *TINY],
            callbacks=[recorder],
        )  # fmt: skip
    assert code == 0
    rank0, rank1 = load_records(ddp_run["record"])
    # DDP averages the gradients: the first step's gradient is the doubled batch's, on both
    # ranks (a sum would be twice as large)
    assert recorder.first_grads is not None
    for name, grad in recorder.first_grads.items():
        torch.testing.assert_close(rank0["first_grads"][name], grad, rtol=1e-4, atol=1e-7)
        assert torch.equal(rank0["first_grads"][name], rank1["first_grads"][name])
    # and the global mean loss is the doubled batch's loss at every step. Adam normalises
    # each gradient entry, so entries near 0 turn float rounding into whole steps: the
    # trajectories agree to ~1e-6 for 3 steps (4 on an AVX-512 CPU; 8e-5 at the 4th on an
    # AVX2-only one), then drift apart slowly
    pairs = zip(rank0["losses"], rank1["losses"], strict=True)
    ddp_losses = torch.tensor([(a + b) / 2 for a, b in pairs])
    torch.testing.assert_close(
        torch.tensor(recorder.losses[:3]), ddp_losses[:3], rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(torch.tensor(recorder.losses), ddp_losses, rtol=2e-3, atol=0)
    # and so do the networks while the trajectories agree (compared by their outputs: the
    # biases in front of instance norm take such float-noise Adam steps and change nothing)
    name = "step=000002.ckpt"
    one = read_checkpoint(reference / "checkpoints" / name).build_generator()
    two = read_checkpoint(ddp_run["out"] / "checkpoints" / name).build_generator()
    seeds = [7, 8]
    torch.testing.assert_close(
        sample_textures(one, 32, 32, seeds), sample_textures(two, 32, 32, seeds), atol=1e-3, rtol=0
    )  # 1e-4 held on an AVX-512 CPU, 4e-4 on an AVX2-only one: float noise, < 0.3/255


@pytest.mark.subprocess
@pytest.mark.slow
def test_resume_auto_under_ddp_continues_exactly(ddp_run: dict[str, Path]) -> None:
    """A DDP run stopped at step 4 and resumed with --resume auto ends where the straight
    STEPS-step run ended."""
    resumed = ddp_run["root"] / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copy(
        ddp_run["out"] / "checkpoints" / "step=000004.ckpt", resumed / "checkpoints" / "last.ckpt"
    )
    record = ddp_run["root"] / "resumed_record"
    run_driver(
        ["--texture", str(ddp_run["texture"]), "--out", str(resumed), "--max-steps", str(STEPS),
         "--batch-size", "1", "--resume", "auto", *TINY, *DDP],
        record,
    )  # fmt: skip
    straight = load_records(ddp_run["record"])
    again = load_records(record)
    for before, after in zip(straight, again, strict=True):
        assert after["global_step"] == STEPS
        assert len(after["losses"]) == STEPS - 4
        torch.testing.assert_close(
            torch.tensor(after["losses"]), torch.tensor(before["losses"][4:]), rtol=1e-5, atol=0
        )
        for name, value in before["generator"].items():
            torch.testing.assert_close(after["generator"][name], value, rtol=1e-4, atol=1e-5)


@pytest.mark.subprocess
@pytest.mark.slow
def test_stylize_ddp_shards_photos_and_syncs_validation(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        write_image(photos / f"p{i}.png", 10 + i, side=48)
    style = write_image(tmp_path / "style.png", 1)
    out, record = tmp_path / "run", tmp_path / "record"
    run_driver(
        ["--style", str(style), "--content-dir", str(photos), "--val-fraction", "0.34",
         "--out", str(out), "--max-steps", "4", "--batch-size", "1", "--num-workers", "0",
         "--content-layers", "relu2_1", "--val-batches", "1", *TINY, "--sample-every", "2",
         *DDP],
        record,
    )  # fmt: skip
    rank0, rank1 = load_records(record)
    assert not torch.equal(rank0["first_batch"], rank1["first_batch"])  # different photos
    for name, value in rank0["generator"].items():
        assert torch.equal(value, rank1["generator"][name]), name
    header, *rows = (out / "logs" / "metrics.csv").read_text().splitlines()
    columns = header.split(",")
    assert "val/loss" in columns and "val/style_distance" in columns
    val = [row.split(",")[columns.index("val/loss")] for row in rows]
    assert sum(1 for value in val if value) == 2  # validations at steps 2 and 4
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == [
        "step_000002.png",
        "step_000004.png",
    ]


# -- pieces, in process ----------------------------------------------------------------------


def test_rank_seed_keeps_rank_zero_and_separates_ranks() -> None:
    assert rank_seed(3, 17, 0) == 3 * 1_000_003 + 17  # a one-process run is unchanged
    seeds = {rank_seed(s, step, r) for s in (0, 1) for step in range(50) for r in range(4)}
    assert len(seeds) == 2 * 50 * 4
    assert rank_seed(0, 5, 1) == rank_seed(0, 5, 1)
    assert 0 <= rank_seed(-2, 5, 3) < 2**63


@pytest.mark.parametrize("size, batch, world", [(6, 2, 2), (7, 1, 3), (1000, 4, 2)])
def test_sharded_sampler_keeps_the_epoch_guarantees(size: int, batch: int, world: int) -> None:
    samplers = [ShardedEpochSampler(size, r, world, batch, shuffle=True, seed=5) for r in
                range(world)]  # fmt: skip
    shards = [list(s) for s in samplers]
    assert len({len(shard) for shard in shards}) == 1  # as many batches on every process
    assert all(len(shard) == len(s) for shard, s in zip(shards, samplers, strict=True))
    assert len(shards[0]) >= batch * MIN_EPOCH_BATCHES  # the minimum epoch, per process
    dealt = [shards[r][i] for i in range(len(shards[0])) for r in range(world)]
    assert sorted(dealt[:size]) == list(range(size))  # every photo before any repeat
    assert sorted(set(dealt)) == list(range(size))
    for sampler in samplers:
        sampler.set_epoch(1)
    assert [list(s) for s in samplers] != shards  # a new order each epoch...
    again = [ShardedEpochSampler(size, r, world, batch, True, seed=5) for r in range(world)]
    for sampler in again:
        sampler.set_epoch(1)
    assert [list(s) for s in again] == [list(s) for s in samplers]  # ...the same on every rank


@pytest.mark.parametrize("world", [1, 2])
def test_photo_epochs_hold_whole_accumulated_steps(world: int) -> None:
    """With 3 batches of 4 per step, an epoch is a multiple of 12 photos per process, so the
    epoch's end never cuts a step short (its gradient would be summed over fewer batches)."""
    without = ShardedEpochSampler(1000, 0, world, 4, shuffle=True)
    sampler = ShardedEpochSampler(1000, 0, world, 4, shuffle=True, accumulate=3)
    assert len(sampler) % 12 == 0 and len(without) <= len(sampler) < len(without) + 12
    assert len(ShardedEpochSampler(1000, 0, world, 4, shuffle=False, accumulate=3)) == len(
        ShardedEpochSampler(1000, 0, world, 4, shuffle=False)
    )  # validation is not trained on: unchanged
    assert training_epoch(1000, 4, world, 3) == len(sampler) * world  # one process: the same
    assert training_epoch(10, 4, 1, 1) == 4 * MIN_EPOCH_BATCHES


def test_sharded_validation_sampler_covers_every_photo_once_per_round() -> None:
    shards = [list(ShardedEpochSampler(5, r, 2, 4, shuffle=False)) for r in (0, 1)]
    assert shards == [[0, 2, 4], [1, 3, 0]]


def test_scaling_keys_defaults_and_parsing(tmp_path: Path) -> None:
    config = make_config({"style_image": "x"})
    options = fit.scaling_options(config)
    assert options["accelerator"] == "auto" and options["devices"] == 1
    assert options["strategy"] == "auto" and options["num_nodes"] == 1
    assert options["precision"] == "32-true" and options["use_distributed_sampler"] is False
    assert make_config({"devices": 2}).devices == "2"  # YAML gives an int
    assert make_config({"devices": "0, 1"}).trainer_devices() == [0, 1]
    assert make_config({"devices": "-1"}).trainer_devices() == -1
    assert make_config({"devices": "auto"}).trainer_devices() == "auto"
    for bad in ("0", "two", "1.5", ""):
        with pytest.raises(ConfigError, match="devices"):
            make_config({"devices": bad})
    with pytest.raises(ConfigError, match="num_nodes"):
        make_config({"num_nodes": 0})
    assert [trainer_precision(p) for p in ("auto", "bf16", "fp32", "32")] == ["32-true"] * 4
    assert trainer_precision("bf16-mixed") == "bf16-mixed"
    assert make_config({"precision": "16-mixed"}).precision == "16-mixed"
    with pytest.raises(ConfigError, match="precision"):
        make_config({"precision": "fp16"})
    path = tmp_path / "c.yaml"
    path.write_text("devices: 2\nworld_size: 4\nglobal_batch_size: 8\n")
    assert load_yaml(path) == {"devices": 2}


def test_trainer_refusals_are_one_line_config_errors() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match=r"accelerator gpu.*sees no CUDA GPU"):
        fit.make_trainer(make_config({"accelerator": "gpu"}), logger=False)
    with pytest.raises(ConfigError, match="no-such-strategy"):
        fit.make_trainer(make_config({"strategy": "no-such-strategy"}), logger=False)


# -- device and dtype safety -----------------------------------------------------------------


@pytest.fixture
def stylize_module(tmp_path: Path, fast_vgg: None) -> Iterator[TextureNetsModule]:
    style = write_image(tmp_path / "style.png", 3)
    config = TrainConfig(
        mode="stylize", style_image=str(style), descriptor="random", image_size=32,
        style_size=48, num_scales=3, style_layers=["relu1_1", "relu2_1"],
        content_layers=["relu2_1"], precision="fp32", tv_weight=0.1, padding="reflect",
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield TextureNetsModule(config.to_dict())


def kept_tensors(module: TextureNetsModule) -> dict[str, torch.Tensor]:
    """Every floating-point tensor the module keeps: parameters, buffers (descriptor, target
    Grams), and the validation metrics' states and targets."""
    tensors = {name: t for name, t in module.named_parameters()}
    tensors.update(dict(module.named_buffers()))
    for name in ("val_style_distance", "val_content_distance"):
        metric = getattr(module, name)
        tensors.update({f"{name}.{k}": v for k, v in metric.metric_state.items()})
    return {k: v for k, v in tensors.items() if v.is_floating_point()}


def test_module_tensors_follow_to_float64_after_setup(stylize_module: TextureNetsModule) -> None:
    module = stylize_module
    # Lightning calls setup() with `device` already naming the target device while the
    # weights are still on the CPU; setup must not put anything on that device itself.
    for sub in module.modules():
        if hasattr(sub, "_device"):
            sub._device = torch.device("meta")
    module.setup("fit")
    module.to(device="cpu", dtype=torch.float64)  # what the strategy does next (here: dtype)
    tensors = kept_tensors(module)
    assert any(k.startswith("objective.loss.target_gram") for k in tensors)
    assert any(k.startswith("objective.descriptor.") for k in tensors)
    assert any(k.startswith("val_style_distance.") for k in tensors)
    stayed = {k: v.dtype for k, v in tensors.items() if v.dtype != torch.float64}
    assert not stayed, stayed
    assert all(t.device.type == "cpu" for t in tensors.values())
    assert module.val_style_distance.descriptor is module.descriptor
    assert all(n.dtype == torch.float64 for n in module.step_noise(0, 2, 32) or [])
    photos = torch.rand(2, 3, 32, 32)  # the loader's float32 photos
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # self.log without a trainer
        loss = module.training_step(photos, 0)
        loss.backward()
        module.validation_step(photos, 0)
    assert torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.dtype == torch.float64
               for p in module.generator.parameters())  # fmt: skip
    assert int(module.val_style_distance.count) == 2
    assert module.val_style_distance.layer_sum.dtype == torch.float64
    assert module.stylize(photos, 0).dtype == torch.float64


# -- --device of generate.py and gatys.py ----------------------------------------------------


def test_device_convention_is_shared_by_generate_and_gatys() -> None:
    from texture_nets.cli import gatys as gatys_cli
    from texture_nets.cli import generate as generate_cli
    from texture_nets.errors import UserError
    from texture_nets.precision import default_device, parse_device

    assert parse_device("auto") == parse_device(" AUTO ") == torch.device(default_device())
    assert parse_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            parse_device("cuda:0")
    with pytest.raises(UserError, match="not a device name"):
        parse_device("bogus")
    generate_args = generate_cli.build_parser().parse_args(["--texture", "x"])
    gatys_args = gatys_cli.build_parser().parse_args(["--texture", "x"])
    assert generate_args.device == gatys_args.device == "auto"  # both resolve by parse_device


# -- scripts/gpu_check.sh: what can be checked without a GPU ---------------------------------

GPU_CHECK = ROOT / "scripts" / "gpu_check.sh"


def gpu_check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(GPU_CHECK), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.subprocess
def test_gpu_check_script_parses_and_handles_its_arguments() -> None:
    assert subprocess.run(["bash", "-n", str(GPU_CHECK)]).returncode == 0
    usage = gpu_check("--help")
    assert usage.returncode == 0 and "--steps N" in usage.stdout
    for bad in (["--steps", "x"], ["--size"], ["--frobnicate"]):
        result = gpu_check(*bad)
        assert result.returncode == 2, bad
        assert "gpu_check.sh:" in result.stderr
    if not torch.cuda.is_available():
        result = gpu_check("--steps", "3")
        assert result.returncode == 1
        assert "no CUDA GPU is visible to PyTorch" in result.stderr


@pytest.mark.subprocess
def test_gpu_check_commands_are_valid_for_the_clis(tmp_path: Path) -> None:
    """The dry run's train.py / generate.py command lines parse (configs resolve)."""
    from texture_nets.cli import generate as generate_cli

    dry = gpu_check("--dry-run", "--steps", "12", "--out", str(tmp_path / "gc"))
    assert dry.returncode == 0, dry.stderr
    commands = [line[2:].split() for line in dry.stdout.splitlines() if line.startswith("+ ")]
    scripts = [Path(c[1]).name for c in commands]
    assert scripts.count("timed_train.py") >= 2 and scripts.count("generate.py") == 6
    assert scripts.count("compare_outputs.py") == 4
    for command in commands:
        args = command[2:]
        if scripts[commands.index(command)] == "timed_train.py":
            config, _ = train_cli.resolve_config(args)
            assert config.precision == "bf16-mixed" and config.accelerator == "gpu"
            assert fit.scaling_options(config)["precision"] == "bf16-mixed"
        elif scripts[commands.index(command)] == "generate.py":
            generate_cli.build_parser().parse_args(args)


def test_compare_outputs_and_step_timer_on_cpu(tmp_path: Path, capsys: Any) -> None:
    import importlib.util

    def load(name: str) -> Any:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    compare = load("compare_outputs")
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    write_image(first / "x.png", 0)
    write_image(second / "x.png", 0)
    assert compare.main([str(first), str(second)]) == 0
    write_image(second / "x.png", 1)
    assert compare.main([str(first), str(second)]) == 1
    assert compare.main([str(first), str(tmp_path)]) == 1  # nothing in common

    timer = load("timed_train").StepTimeReport()
    texture = write_image(tmp_path / "example.png", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = train_cli.main(
            ["--texture", str(texture), "--out", str(tmp_path / "run"), "--max-steps", "7",
             "--batch-size", "1", *TINY],
            callbacks=[timer],
        )  # fmt: skip
    assert code == 0 and len(timer.times) == 7 and min(timer.times) > 0
    assert "STEP TIME" in capsys.readouterr().out


@pytest.mark.subprocess
@pytest.mark.slow
def test_ctrl_c_under_ddp_writes_a_resumable_checkpoint(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group) stops both ranks; rank 0 writes last.ckpt without
    waiting for the other (which may be inside a gradient all-reduce); --resume auto goes on."""
    import signal
    import time

    texture = write_image(tmp_path / "example.png", 0)
    out = tmp_path / "run"
    args = ["--texture", str(texture), "--out", str(out), "--batch-size", "1", *TINY, *DDP]
    env = {**os.environ, "DDP_RECORD_DIR": str(tmp_path / "record"), "WANDB_MODE": "offline"}
    env.pop("OMP_NUM_THREADS", None)
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), *args, "--max-steps", "100000"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C acts in the children however the suite was started (a background shell
        # starts it with SIGINT ignored, which children would inherit)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoints" / "step=000004.ckpt").is_file():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr[-3000:]
    assert "resumable checkpoint written to" in stderr  # by the interrupt, not a periodic one
    stopped = read_checkpoint(out).global_step
    assert stopped >= 4
    run_driver([*args, "--max-steps", str(stopped + 2), "--resume", "auto"], tmp_path / "again")
    assert read_checkpoint(out).global_step == stopped + 2


# -- Lightning precisions ----------------------------------------------------------------------


def test_losses_stay_fp32_under_autocast(stylize_module: TextureNetsModule) -> None:
    module = stylize_module
    module.setup("fit")
    images, photos = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # what bf16-mixed wraps the step in
        result = module.compute_loss(images, photos)
        features = module.features(images, module.loss.layers)
        targets = module.features(photos, module.config.content_layers)
    assert features["relu1_1"].dtype == torch.bfloat16  # the descriptor runs in bf16...
    reference = module.loss(features, targets, images)  # ...the Grams and losses in fp32
    assert result.total.dtype == torch.float32
    torch.testing.assert_close(result.total, reference.total, rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["texture", "stylize"])
def test_bf16_mixed_trains_on_cpu(tmp_path: Path, mode: str) -> None:
    image = write_image(tmp_path / "example.png", 4)
    out = tmp_path / "run"
    which = ["--texture", str(image)] if mode == "texture" else [
        "--style", str(image), "--content-layers", "relu2_1", "--num-workers", "0",
        "--val-batches", "1", "--sample-every", "2"]  # fmt: skip
    flags = [*TINY, "--precision", "bf16-mixed", "--batch-size", "1"]  # later flags win
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = train_cli.main([*which, "--out", str(out), "--max-steps", "2", *flags])
    assert code == 0
    info = read_checkpoint(out)
    assert info.global_step == 2 and info.config["precision"] == "bf16-mixed"
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all()
               for v in info.generator_state.values())  # fmt: skip


@pytest.mark.subprocess
@pytest.mark.slow
def test_ddp_spawn_trains_the_same_network_as_ddp(ddp_run: dict[str, Path]) -> None:
    """``--strategy ddp_spawn`` also works (the main process takes the weights back)."""
    out = ddp_run["root"] / "spawn"
    spawn = ["--accelerator", "cpu", "--devices", "2", "--strategy", "ddp_spawn"]
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"}
    env.pop("OMP_NUM_THREADS", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--texture", str(ddp_run["texture"]),
         "--out", str(out), "--max-steps", str(STEPS), "--batch-size", "1", *TINY, *spawn],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    spawned = read_checkpoint(out)
    assert spawned.global_step == STEPS
    expected = read_checkpoint(ddp_run["out"]).generator_state
    for name, value in spawned.generator_state.items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6)


@pytest.mark.subprocess
@pytest.mark.slow
def test_torchrun_launch_trains_the_same_network(ddp_run: dict[str, Path]) -> None:
    """torchrun starts both processes itself (as it does on several machines); Lightning
    joins them. Same network as Lightning's own launcher."""
    out = ddp_run["root"] / "torchrun"
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": "ignore"}
    env.pop("OMP_NUM_THREADS", None)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         str(ROOT / "train.py"), "--texture", str(ddp_run["texture"]), "--out", str(out),
         "--max-steps", str(STEPS), "--batch-size", "1", *TINY, *DDP],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    launched = read_checkpoint(out)
    assert launched.global_step == STEPS
    assert yaml.safe_load((out / "config.yaml").read_text())["global_batch_size"] == 2
    expected = read_checkpoint(ddp_run["out"]).generator_state
    for name, value in launched.generator_state.items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6)
