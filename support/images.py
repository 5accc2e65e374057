"""Screenshots: checked by their content, never by name or the browser's content type.

Pillow must recognise the file as PNG, JPEG, GIF or WebP (SVG, PHP or anything else
renamed is refused), its pixel count must stay under ``SUPPORT_IMAGE_MAX_PIXELS`` before it
is decoded (a decompression bomb is refused), it must decode completely, and it is
re-encoded from its pixels, so no metadata (EXIF, GPS, comments, ICC) and nothing appended
to the file survives.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat as _filesizeformat
from django.utils.translation import gettext, gettext_lazy
from PIL import Image, ImageOps, UnidentifiedImageError

from support.exceptions import ImageRefused

ACCEPTED = {"PNG", "JPEG", "GIF", "WEBP"}
# Re-encoded as: photos stay JPEG, everything else becomes a lossless PNG (first frame).
OUTPUT = {"JPEG": ("JPEG", "image/jpeg", "jpg")}
DEFAULT_OUTPUT = ("PNG", "image/png", "png")
NOT_AN_IMAGE = gettext_lazy(
    "“%(name)s” is not a PNG, JPEG, GIF or WebP image. Attach screenshots only."
)


def filesizeformat(size: int) -> str:
    return _filesizeformat(size).replace("\xa0", " ")


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int
    original_name: str


def _name(upload) -> str:
    return (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][:200]


def image_clean(*, upload) -> CleanImage:
    """The upload re-encoded, or ``ImageRefused`` with a message naming the file."""
    name = _name(upload)
    max_bytes = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if upload.size > max_bytes:
        raise ImageRefused(
            gettext("“%(name)s” is %(size)s; a screenshot may be at most %(most)s.")
            % {"name": name, "size": filesizeformat(upload.size), "most": filesizeformat(max_bytes)}
        )
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRefused(
            gettext("“%(name)s” is larger than %(most)s.")
            % {"name": name, "most": filesizeformat(max_bytes)}
        )
    max_pixels = settings.SUPPORT_IMAGE_MAX_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own guard, as a second line
    too_big = gettext(
        "“%(name)s” is too large in pixels (more than %(most)s); send a smaller screenshot."
    ) % {"name": name, "most": f"{max_pixels:,}"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if kind not in ACCEPTED:
                    raise ImageRefused(NOT_AN_IMAGE % {"name": name})
                width, height = probe.size
                if width * height > max_pixels:
                    raise ImageRefused(too_big)
                probe.verify()
            with Image.open(io.BytesIO(data)) as opened:
                opened.seek(0)
                opened.load()
                pixels = ImageOps.exif_transpose(opened)
            out_format, content_type, extension = OUTPUT.get(kind, DEFAULT_OUTPUT)
            if out_format == "JPEG":
                pixels = pixels.convert("RGB")
            elif pixels.mode not in {"RGB", "RGBA", "L", "LA", "1"}:
                pixels = pixels.convert("RGBA")
            # A fresh image from the pixels alone: no info, EXIF, ICC or text chunks.
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
            buffer = io.BytesIO()
            clean.save(buffer, format=out_format, optimize=True)
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRefused(too_big) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRefused(NOT_AN_IMAGE % {"name": name}) from error
    return CleanImage(
        content=buffer.getvalue(),
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
        original_name=name,
    )


def images_clean(*, uploads) -> list[CleanImage]:
    """Every upload cleaned, within the count limit; the first refusal wins."""
    uploads = [upload for upload in uploads or [] if upload]
    limit = settings.SUPPORT_ATTACHMENT_MAX_COUNT
    if len(uploads) > limit:
        raise ImageRefused(
            gettext("Attach at most %(limit)s screenshots at a time.") % {"limit": limit}
        )
    return [image_clean(upload=upload) for upload in uploads]
