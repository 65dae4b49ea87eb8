"""Video: clips stylized frame by frame (PyAV), audio copied, atomic writes, the temporal blend.

Clips are made here with PyAV: a few frames at 64x48, a pan over random texture, with a
tone as AAC audio.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av", reason="the [video] extra")
pytest.importorskip("cv2", reason="the [video] extra")

import texture_nets as tn  # noqa: E402
from texture_nets.api import Stylizer  # noqa: E402
from texture_nets.cli import generate  # noqa: E402
from texture_nets.inference import temporal, video  # noqa: E402
from texture_nets.inference.temporal import (  # noqa: E402
    TemporalBlender,
    consistency_mask,
    warp,
    warping_error,
)
from texture_nets.inference.video import VideoError, probe  # noqa: E402

SIZE = (64, 48)  # width, height
FPS = 10


def pan(frames: int, size: tuple[int, int] = SIZE, step: int = 2) -> list[np.ndarray]:
    """A camera moving ``step`` px right per frame over a smooth random texture."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (size[1] // 4 + 1, (size[0] + frames * step) // 4 + 1, 3))
    wide = Image.fromarray(coarse.astype(np.uint8)).resize(
        ((coarse.shape[1]) * 4, coarse.shape[0] * 4), Image.Resampling.BICUBIC
    )
    texture = np.asarray(wide)[: size[1]]
    return [np.ascontiguousarray(texture[:, t * step : t * step + size[0]]) for t in range(frames)]


def make_clip(
    path: Path, frames: list[np.ndarray], fps: int = FPS, audio: bool = True, codec: str = "libx264"
) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0] if frames else SIZE
        stream.pix_fmt = "yuv420p"
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=8000)
            sound.layout = "mono"
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            samples = 8000 * len(frames) // fps
            tone = (0.3 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 8000)).astype(np.float32)
            for first in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(tone[None, first : first + 1024]),
                    format="fltp",
                    layout="mono",
                )
                chunk.sample_rate, chunk.pts, chunk.time_base = 8000, first, Fraction(1, 8000)
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


@pytest.fixture(scope="module")
def model() -> Stylizer:
    loaded = tn.load("vangogh_starry_night", device="cpu")
    assert isinstance(loaded, Stylizer)
    return loaded


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "clip.mp4", pan(6))


def audio_packets(path: Path) -> list[tuple[int | None, bytes]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [(p.pts, bytes(p)) for p in container.demux(stream) if p.dts is not None]


def decoded(path: Path) -> list[np.ndarray]:
    return list(video.read_frames(path))


def test_frame_count_rate_size_and_duration_are_kept(
    model: Stylizer, clip: Path, tmp_path: Path
) -> None:
    out = model.stylize_video(clip, tmp_path / "out" / "clip.mp4", temporal=0)
    before, after = probe(clip), probe(out)
    assert (after.width, after.height, after.fps) == (before.width, before.height, before.fps)
    assert len(decoded(out)) == len(decoded(clip)) == 6
    assert after.duration == pytest.approx(before.duration, abs=1e-3)
    source, result = decoded(clip)[0].astype(float), decoded(out)[0].astype(float)
    assert np.abs(source - result).mean() > 10  # painted, not copied


def test_audio_packets_are_copied_unchanged(model: Stylizer, clip: Path, tmp_path: Path) -> None:
    out = model.stylize_video(clip, tmp_path / "clip.mp4", temporal=0)
    original = audio_packets(clip)
    assert original and audio_packets(out) == original


def test_size_sets_the_longer_side_rounded_to_even(
    model: Stylizer, clip: Path, tmp_path: Path
) -> None:
    out = model.stylize_video(clip, tmp_path / "clip.mp4", size=81, temporal=0)
    assert (probe(out).width, probe(out).height) == (80, 60)  # 81x61 -> even for 4:2:0


def test_max_frames_keeps_the_first_frames_and_their_audio(model: Stylizer, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "long.mp4", pan(20))
    out = model.stylize_video(clip, tmp_path / "short.mp4", temporal=0, max_frames=5)
    assert len(decoded(out)) == 5
    packets, original = audio_packets(out), audio_packets(clip)
    assert 0 < len(packets) < len(original) and packets == original[: len(packets)]


def no_video_stream(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=8000)
        sound.layout = "mono"
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
        chunk.sample_rate, chunk.pts = 8000, 0
        for packet in [*sound.encode(chunk), *sound.encode()]:
            out.mux(packet)


def zero_frames(path: Path) -> None:
    """A header with a video stream and no frame (AVI keeps the stream; MP4 would drop it)."""
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        out.start_encoding()


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: p.write_bytes(b"hello, not a video"), "is not a video"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (no_video_stream, "has no video stream"),
        (zero_frames, "no video frames"),
        (lambda p: None, "no such file"),
    ],
    ids=["not-a-video", "empty", "audio-only", "zero-frames", "missing"],
)
def test_bad_input_is_a_one_line_error_and_writes_nothing(
    model: Stylizer, tmp_path: Path, write: Any, message: str
) -> None:
    source = tmp_path / "in" / "bad.avi"
    source.parent.mkdir()
    write(source)
    with pytest.raises(VideoError, match=message):
        model.stylize_video(source, tmp_path / "out" / "bad.mp4")
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


def test_unwritable_output_is_a_user_error(model: Stylizer, clip: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    with pytest.raises(VideoError, match="cannot write"):
        model.stylize_video(clip, blocker / "clip.mp4")
    assert blocker.read_text() == "a file, not a folder"


def test_interrupt_leaves_no_file_and_keeps_the_old_one(
    model: Stylizer, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = tmp_path / "out" / "clip.mp4"
    dst.parent.mkdir()
    dst.write_bytes(b"the previous result")
    calls = {"n": 0}
    real = Stylizer.stylize

    def interrupted(self: Stylizer, *args: Any, **kwargs: Any) -> Image.Image:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Stylizer, "stylize", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.stylize_video(clip, dst)
    assert calls["n"] == 3
    assert [p.name for p in dst.parent.iterdir()] == ["clip.mp4"]  # no temporary left
    assert dst.read_bytes() == b"the previous result"


def test_iterator_equals_per_frame_stylize(model: Stylizer) -> None:
    frames = pan(4)
    mixed: list[Any] = [frames[0], Image.fromarray(frames[1]), frames[2], frames[3]]
    results = list(model.stylize_frames(iter(mixed), seed=3, temporal=0))
    assert len(results) == 4
    for frame, result in zip(frames, results, strict=True):
        expected = model.stylize(Image.fromarray(frame), seed=3)
        assert np.array_equal(np.asarray(result), np.asarray(expected))


def test_same_noise_for_every_frame(model: Stylizer) -> None:
    still = [pan(1)[0]] * 3  # a still clip: frame-by-frame output must not change at all
    first, *rest = [np.asarray(r) for r in model.stylize_frames(still, temporal=0)]
    assert all(np.array_equal(first, other) for other in rest)


def true_pan_flows(frames: int, step: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Frame t shows the texture moved ``step`` px left: pixel p was at p + step before."""
    width, height = SIZE
    backward = np.zeros((height, width, 2), np.float32)
    backward[..., 0] = step
    visible = np.zeros((height, width), bool)
    visible[:, : width - step] = True
    return [(backward, visible)] * (frames - 1)


def test_temporal_reduces_the_warping_error_on_a_synthetic_pan(model: Stylizer) -> None:
    frames = pan(8)
    flows = true_pan_flows(8, 2)
    plain = [np.asarray(r) for r in model.stylize_frames(frames, temporal=0)]
    steady = [np.asarray(r) for r in model.stylize_frames(frames, temporal=0.6)]
    assert warping_error(steady, flows=flows) < 0.7 * warping_error(plain, flows=flows)
    assert np.array_equal(plain[0], steady[0])  # nothing to blend with yet


def test_warp_moves_pixels_along_the_flow() -> None:
    image = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    flow = np.zeros((12, 16, 2), np.float32)
    flow[..., 0] = 2  # out[p] = image[p + (2, 0)]
    assert np.array_equal(warp(image, flow)[:, :-2], image[:, 2:])


def test_consistency_mask_keeps_round_trips_and_drops_the_rest() -> None:
    backward = np.zeros((12, 16, 2), np.float32)
    backward[..., 0] = 2
    mask = consistency_mask(backward, -backward)
    assert mask[:, :-2].all() and not mask[:, -2:].any()  # the right edge left the frame
    assert not consistency_mask(backward, backward)[:, :-2].any()  # no round trip


def test_blender_at_weight_zero_returns_the_stylized_frame() -> None:
    stylized = np.full((8, 8, 3), 7, np.uint8)
    assert TemporalBlender(0)(np.zeros_like(stylized), stylized) is stylized


@pytest.mark.parametrize("weight", [-0.1, 1.0])
def test_temporal_weight_out_of_range_is_a_user_error(
    model: Stylizer, clip: Path, tmp_path: Path, weight: float
) -> None:
    with pytest.raises(tn.errors.UserError, match="temporal"):
        model.stylize_video(clip, tmp_path / "out" / "clip.mp4", temporal=weight)
    assert not (tmp_path / "out").exists()


def test_missing_pyav_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(temporal.VideoDependencyError, match=r"texture-nets\[video\]"):
        video.require_av()
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(temporal.VideoDependencyError, match="OpenCV"):
        temporal.FlowEstimator()


def test_cli_stylizes_a_folder_that_mixes_photos_and_clips(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    clip.rename(folder / "sub" / "clip.mp4")
    Image.fromarray(pan(1, (80, 60))[0]).save(folder / "photo.png")
    out = tmp_path / "out"
    argv = ["--checkpoint", "vangogh_starry_night", "--content", str(folder), "--out", str(out)]
    assert generate.main([*argv, "--temporal", "0.5"]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "photo_vangogh_starry_night.png",
        "sub/clip_vangogh_starry_night.mp4",
    ]
    assert len(decoded(out / "sub" / "clip_vangogh_starry_night.mp4")) == 6


def test_cli_bad_clip_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"not a video")
    out = tmp_path / "out"
    argv = ["--checkpoint", "vangogh_starry_night", "--content", str(bad), "--out", str(out)]
    assert generate.main(argv) == 2  # the project's exit code for a UserError
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "is not a video" in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_ctrl_c_is_one_line_exit_130_and_leaves_no_partial_clip(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = {"n": 0}
    real = Stylizer.stylize

    def interrupted(self: Stylizer, *args: Any, **kwargs: Any) -> Image.Image:
        calls["n"] += 1
        if calls["n"] == 3:  # Ctrl-C in the middle of the clip
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Stylizer, "stylize", interrupted)
    out = tmp_path / "out"
    argv = ["--model", "vangogh_starry_night", "--content", str(clip), "--out", str(out)]
    assert generate.main(argv) == 130
    error = capsys.readouterr().err
    assert "Traceback" not in error and error.strip().splitlines()[-1] == "interrupted"
    assert calls["n"] == 3
    assert [p for p in out.rglob("*") if p.is_file()] == []
