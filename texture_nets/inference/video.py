"""Video files: read frames, stylize them one by one, write the clip back (PyAV).

The clip is streamed: frames are decoded, stylized and encoded one at a time, so memory does
not grow with the clip's length. Every output frame keeps its input frame's timestamp (same
frame rate and duration, variable frame rates too), and the audio stream's packets are copied
unchanged (no re-encoding). The file is written under a temporary name in the destination
folder and renamed into place at the end, so an error or Ctrl-C never leaves a half-written
clip behind. Needs the ``[video]`` extra (PyAV; OpenCV for ``--temporal``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from texture_nets.errors import UserError
from texture_nets.image import atomic_path
from texture_nets.inference.temporal import (
    Frame,
    TemporalBlender,
    as_array,
    require_video_module,
)

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts")
# output container suffix -> (video codec, pixel format); anything else is written as .mp4
ENCODERS = {
    ".mp4": ("libx264", "yuv420p"),
    ".m4v": ("libx264", "yuv420p"),
    ".mov": ("libx264", "yuv420p"),
    ".mkv": ("libx264", "yuv420p"),
    ".webm": ("libvpx-vp9", "yuv420p"),
    ".avi": ("mpeg4", "yuv420p"),
}
X264_OPTIONS = {"crf": "18", "preset": "medium"}  # visually lossless: the strokes survive


class VideoError(UserError, ValueError):
    """A clip that cannot be read or written; the message names the file and why."""


def require_av() -> Any:
    """The ``av`` module (PyAV)."""
    return require_video_module("av", "PyAV (av)")


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def list_videos(directory: str | Path) -> list[Path]:
    """All video files below ``directory`` (recursively, by suffix), sorted."""
    root = Path(directory).expanduser()
    return sorted(p for p in root.rglob("*") if p.is_file() and is_video(p))


def output_suffix(source: str | Path) -> str:
    """The container of the stylized clip: the input's when we can encode it, else .mp4."""
    suffix = Path(source).suffix.lower()
    return suffix if suffix in ENCODERS else ".mp4"


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction  # the video stream's average frame rate
    frames: int  # as the container states it (0: unknown)
    duration: float  # seconds (0: unknown)
    has_audio: bool


def _open(path: Path) -> Any:
    av = require_av()
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if path.is_dir():
        raise VideoError(f"{path} is a directory, expected a video file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path} is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as error:
        raise VideoError(f"{path} is not a video PyAV can read ({error})") from error
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path} has no video stream")
    return container


def probe(path: str | Path) -> VideoInfo:
    """Size, frame rate, length and audio of a clip, from its headers (``VideoError`` if it is
    not a readable video)."""
    path = Path(path).expanduser()
    with _open(path) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return VideoInfo(
            width=context.width,
            height=context.height,
            fps=Fraction(stream.average_rate or stream.guessed_rate or 25),
            frames=int(stream.frames or 0),
            duration=duration,
            has_audio=bool(container.streams.audio),
        )


def read_frames(path: str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """The clip's frames as (H, W, 3) uint8 RGB arrays, decoded one at a time."""
    with _open(Path(path).expanduser()) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if max_frames is not None and index >= max_frames:
                return
            yield frame.to_ndarray(format="rgb24")


def encoder_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) rounded down to even numbers: 4:2:0 video needs them."""
    return max(2, size[0] - size[0] % 2), max(2, size[1] - size[1] % 2)


def stylize_frames(
    stylize: Callable[[Image.Image], Image.Image], frames: Iterable[Frame], temporal: float
) -> Iterator[Image.Image]:
    """Each frame through ``stylize`` (one photo -> its stylization), then blended with the
    previous result along the input's optical flow (``TemporalBlender``, weight
    ``temporal``; 0: each frame as ``stylize`` makes it). Streamed: one frame at a time."""
    blender = TemporalBlender(temporal)
    for frame in frames:
        array = as_array(frame)
        image = frame if isinstance(frame, Image.Image) else Image.fromarray(array)
        stylized = stylize(image)
        if temporal == 0:
            yield stylized
            continue
        if stylized.size != image.size:
            resized = image.convert("RGB").resize(stylized.size, Image.Resampling.BILINEAR)
            array = np.asarray(resized)
        yield Image.fromarray(blender(array, np.asarray(stylized)))


def transcode(
    src: str | Path,
    dst: str | Path,
    process: Callable[[Iterator[np.ndarray]], Iterable[Frame]],
    size: tuple[int, int],
    max_frames: int | None = None,
    progress: bool = False,
) -> Path:
    """Write ``dst``: the video frames of ``src`` through ``process`` (an iterator of RGB
    arrays -> one output frame per input frame, in order), encoded at ``size`` (width,
    height; even), with ``src``'s timestamps and its audio packets copied. ``max_frames``
    keeps only the first frames (and the audio up to their end). Nothing is left at ``dst``
    (nor beside it) unless the whole clip was written."""
    av = require_av()
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    codec, pix_fmt = ENCODERS.get(dst.suffix.lower(), ENCODERS[".mp4"])
    width, height = size
    with _open(src) as source:
        try:
            with atomic_path(dst) as temporary:
                with av.open(str(temporary), "w") as output:
                    written = _stream(av, source, output, process, (codec, pix_fmt, width, height),
                                      max_frames, progress, src)  # fmt: skip
                if written == 0:
                    raise VideoError(f"{src} has no video frames")
        except av.FFmpegError as error:
            raise VideoError(f"cannot stylize {src} into {dst}: {error}") from error
        except OSError as error:
            if isinstance(error, UserError):
                raise
            raise VideoError(f"cannot write {dst}: {error.strerror or error}") from error
    return dst


def _stream(
    av: Any,
    source: Any,
    output: Any,
    process: Callable[[Iterator[np.ndarray]], Iterable[Frame]],
    encoding: tuple[str, str, int, int],
    max_frames: int | None,
    progress: bool,
    name: Path,
) -> int:
    """Demux ``source``, copy its audio, run its frames through ``process``, encode them;
    returns the number of frames written."""
    from tqdm import tqdm

    codec, pix_fmt, width, height = encoding
    video = source.streams.video[0]
    video.thread_type = "AUTO"
    audio = source.streams.audio[0] if source.streams.audio else None
    rate = Fraction(video.average_rate or video.guessed_rate or 25)
    out_video = output.add_stream(codec, rate=rate)
    out_video.width, out_video.height, out_video.pix_fmt = width, height, pix_fmt
    out_video.time_base = video.time_base or Fraction(1, 1) / rate
    if codec == "libx264":
        out_video.options = dict(X264_OPTIONS)
    out_audio = output.add_stream_from_template(audio) if audio is not None else None
    timestamps: deque[tuple[int | None, Any]] = deque()  # (pts, time_base) of frames in flight
    state: dict[str, float | None] = {"end": None}  # where a max_frames cut ends (s)

    def copy_audio(packet: Any) -> None:
        if packet.dts is None:  # a demuxer's flush packet: nothing to copy
            return
        end = state["end"]
        if end is not None and packet.pts is not None and packet.pts * packet.time_base >= end:
            return
        packet.stream = out_audio
        output.mux(packet)

    def frames() -> Iterator[np.ndarray]:
        streams = [video] if audio is None else [video, audio]
        count = 0
        for packet in source.demux(streams):
            if packet.stream is audio:
                copy_audio(packet)
                continue
            if state["end"] is not None:
                continue
            for frame in packet.decode():
                if max_frames is not None and count >= max_frames:
                    tb = frame.time_base or video.time_base
                    state["end"] = float(frame.pts * tb) if frame.pts is not None else 0.0
                    break
                timestamps.append((frame.pts, frame.time_base))
                count += 1
                yield frame.to_ndarray(format="rgb24")

    total = video.frames or 0
    if not total and video.duration is not None and video.time_base is not None:
        total = round(float(video.duration * video.time_base * rate))
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    written = 0
    with tqdm(total=total or None, unit="frame", desc=name.name, disable=not progress,
              dynamic_ncols=True) as bar:  # fmt: skip
        for result in process(frames()):
            pts, time_base = timestamps.popleft()
            if not isinstance(result, Image.Image):
                result = Image.fromarray(as_array(result))
            frame = av.VideoFrame.from_image(result.convert("RGB"))
            if result.size != (width, height):  # odd sizes: 4:2:0 needs even ones
                frame = frame.reformat(width=width, height=height)
            frame = frame.reformat(format=pix_fmt)
            if pts is not None:
                frame.pts, frame.time_base = pts, time_base or video.time_base
            else:
                frame.pts, frame.time_base = written, 1 / rate
            for packet in out_video.encode(frame):
                output.mux(packet)
            written += 1
            bar.update()
        for packet in out_video.encode():  # flush the encoder
            output.mux(packet)
    return written
