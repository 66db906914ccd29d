"""tools.pdf's two readers of the printed book: the cached page text and the fast image count."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from tools.pdf import pdf_image_count, pdf_pages_text  # noqa: E402


def _pdf(path, images: int, text: str):
    """A PDF of one page with `images` raster images and a line of text (matplotlib's PDF backend)."""
    fig, axes = plt.subplots(1, max(images, 1), squeeze=False)
    for i, ax in enumerate(axes[0]):
        if i < images:
            ax.imshow(np.arange(16.0).reshape(4, 4) * (i + 1))
    fig.suptitle(text)
    fig.savefig(path)
    plt.close(fig)
    return path


def test_the_image_count_matches_pypdf_decoding_every_image(tmp_path):
    for n in (0, 1, 3):
        pdf = _pdf(tmp_path / f"{n}.pdf", n, "figures")
        assert pdf_image_count(pdf) == n == sum(len(p.images) for p in PdfReader(str(pdf)).pages)


def test_the_page_text_is_cached_and_refreshed_when_the_pdf_changes(tmp_path):
    pdf = _pdf(tmp_path / "book.pdf", 0, "first version")
    assert "first version" in pdf_pages_text(pdf)[0]
    cache = tmp_path / "book.pages.json"
    stored = json.loads(cache.read_text(encoding="utf-8"))
    stored["pages"] = ["from the cache"]
    cache.write_text(json.dumps(stored), encoding="utf-8")
    assert pdf_pages_text(pdf) == ["from the cache"]  # same bytes: the cache is used
    _pdf(pdf, 0, "second version")
    assert "second version" in pdf_pages_text(pdf)[0]  # new bytes: extracted again
