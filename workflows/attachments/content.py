"""What a file is, read from its bytes, never from its name: PDF, JPEG and PNG only, each opened to be sure.

``filetype`` reads the magic numbers; a PDF must also begin with ``%PDF-`` and end with ``%%EOF``, and an image
must open in Pillow with the header it claims. A renamed program (``consent.pdf`` that is an .exe) is refused
with what it really is.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image

from ..errors import Invalid

KINDS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
MAX_PIXELS = 80_000_000  # a scan at 600 dpi of an A3 page is ~70 million; more is a decompression bomb


@dataclass(frozen=True)
class Sniffed:
    media_type: str
    kind: str  # PDF, JPEG, PNG


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def check_size(size: int, limit: int, field: str = "file") -> None:
    if size == 0:
        raise Invalid({field: "檔案是空的，請重新選擇檔案"})
    if size > limit:
        raise Invalid({field: f"檔案大小 {_mb(size)} MB 超過上限 {_mb(limit)} MB，請壓縮或分頁掃描後再上傳"})


def sniff(data: bytes, limit: int, field: str = "file") -> Sniffed:
    """The file's media type from its content; 422 naming ``field`` when it is not a whole PDF, JPEG or PNG."""
    check_size(len(data), limit, field)
    guessed = filetype.guess(data)
    media_type = guessed.mime if guessed else None
    if media_type not in KINDS and media_type:
        raise Invalid({field: f"只接受 PDF、JPEG 或 PNG 檔案（檔案內容為 {media_type}）；"
                              f"檔案類型依內容判斷，更改副檔名無效"})
    if media_type not in KINDS:
        raise Invalid({field: "只接受 PDF、JPEG 或 PNG 檔案（無法辨識檔案內容）；檔案類型依內容判斷，更改副檔名無效"})
    if media_type == "application/pdf":
        _check_pdf(data, field)
    else:
        _check_image(data, media_type, field)
    return Sniffed(media_type, KINDS[media_type])


def _check_pdf(data: bytes, field: str) -> None:
    # A PDF may carry a few bytes after its last %%EOF (a newline, a signature tool's padding).
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise Invalid({field: "PDF 檔案不完整或已損壞（缺少檔頭或結尾），請重新產生 PDF 後再上傳"})


def _check_image(data: bytes, media_type: str, field: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format != _PILLOW_FORMATS[media_type] or image.width * image.height > MAX_PIXELS:
                    raise ValueError(image.format)
                image.verify()
    except Exception:  # noqa: BLE001 - any failure to read the image means it is not the image it claims
        raise Invalid({field: f"{KINDS[media_type]} 圖檔無法開啟（檔案損壞或過大），請重新掃描後再上傳"}) from None
