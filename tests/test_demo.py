"""The web demo over HTTP, as ``gradio_client`` calls it: /stylize, /texture, bad uploads,
concurrent requests. (``test_browser.py`` drives the same page in a real browser.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.subprocess  # every test talks to the demo server, a child process
gradio_client = pytest.importorskip("gradio_client", reason="the [demo] extra (CI installs it)")
from gradio_client import Client, handle_file  # noqa: E402


@pytest.fixture(scope="module")
def client(demo_url: str) -> Client:
    return Client(demo_url, verbose=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    pixels = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(path)
    return path


def test_stylize_returns_the_painted_photo(client: Client, photo: Path) -> None:
    result = Image.open(client.predict(handle_file(str(photo)), "vangogh_starry_night",
                                       api_name="/stylize")).convert("RGB")  # fmt: skip
    assert result.size == (512, 384)  # default output size: longer side 512
    source = np.asarray(Image.open(photo).convert("RGB").resize(result.size), np.float32)
    assert np.abs(np.asarray(result, np.float32) - source).mean() > 10  # it was stylized
    small = client.predict(handle_file(str(photo)), "vangogh_starry_night", 160, True, 0.5, 3,
                           api_name="/stylize")  # fmt: skip
    assert Image.open(small).size == (160, 120)


def test_texture_returns_a_sample_and_its_tiling(client: Client) -> None:
    sample, tiled = client.predict("texture_run", 96, 3, api_name="/texture")
    sample, tiled = Image.open(sample), Image.open(tiled)
    assert sample.size == (96, 96) and tiled.size == (192, 192)
    corner = np.asarray(tiled.convert("RGB"))[96:, 96:]
    assert np.array_equal(corner, np.asarray(sample.convert("RGB")))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"hello, not an image", "is not an image"), (b"", "is empty")],
)
def test_bad_uploads_get_a_message_and_the_server_keeps_serving(
    client: Client, photo: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "upload.jpg"
    bad.write_bytes(content)
    with pytest.raises(Exception, match=message) as caught:
        client.predict(handle_file(str(bad)), "vangogh_starry_night", api_name="/stylize")
    assert "Traceback" not in str(caught.value)
    assert "upload.jpg" in str(caught.value) and "/" not in str(caught.value)  # no server path
    with pytest.raises(Exception, match="Unknown style"):
        client.predict(handle_file(str(photo)), "no_such_style", api_name="/stylize")
    assert Image.open(client.predict(handle_file(str(photo)), "vangogh_starry_night", 128,
                                     api_name="/stylize")).size == (128, 96)  # fmt: skip


def test_concurrent_requests_are_queued_not_dropped(client: Client, photo: Path) -> None:
    jobs = [
        client.submit(
            handle_file(str(photo)), "vangogh_starry_night", 128 + 32 * i, api_name="/stylize"
        )
        for i in range(3)
    ]
    sizes = [Image.open(job.result(timeout=120)).size[0] for job in jobs]
    assert sizes == [128, 160, 192]


def test_video_tab_returns_the_clip_stylized_and_capped(client: Client, tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="the [video] extra")
    from fractions import Fraction

    from texture_nets.app.demo import MAX_VIDEO_SECONDS

    fps, frames = 2, 2 * MAX_VIDEO_SECONDS + 4  # 2 s longer than the cap
    clip = tmp_path / "clip.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24"
            )
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    result = client.predict(handle_file(str(clip)), "vangogh_starry_night", 0.5, 0,
                            api_name="/stylize_video")  # fmt: skip
    path = result["video"] if isinstance(result, dict) else result
    with av.open(str(path)) as stylized:
        video = stylized.streams.video[0]
        decoded = list(stylized.decode(video))
        assert (video.width, video.height) == (64, 48)
    assert len(decoded) == fps * MAX_VIDEO_SECONDS  # capped, as the page says
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(Exception, match="is not a video"):
        client.predict(handle_file(str(bad)), "vangogh_starry_night",
                       api_name="/stylize_video")  # fmt: skip
