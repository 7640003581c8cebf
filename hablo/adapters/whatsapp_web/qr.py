"""The linking QR code rendered for the management API (PNG or SVG)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_png(payload: str) -> bytes:
    image = qrcode.make(payload, box_size=8, border=4)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_svg(payload: str) -> bytes:
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
