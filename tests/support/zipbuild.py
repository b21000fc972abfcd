"""Zip archives for tests. `zip_of` and `parts_of` build and take apart containers with exactly
the parts given (hand-made odd or hostile workbooks). `zip_archive` writes them as departments'
PCs do: entry names in cp932 without the UTF-8 flag (Windows Explorer's 「送る → 圧縮フォルダー」),
or UTF-8 with it, and the traditional PKWARE "ZipCrypto" password (the PPAP habit), written in
pure Python from APPNOTE.TXT 6.1 so no zip tool is needed in CI.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping

_CRC_TABLE = [0] * 256
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE[_n] = _c


class _Keys:
    def __init__(self, password: bytes):
        self.k = [0x12345678, 0x23456789, 0x34567890]
        for b in password:
            self.update(b)

    def update(self, b: int) -> None:
        k0, k1, k2 = self.k
        k0 = _CRC_TABLE[(k0 ^ b) & 0xFF] ^ (k0 >> 8)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = _CRC_TABLE[(k2 ^ (k1 >> 24)) & 0xFF] ^ (k2 >> 8)
        self.k = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            t = (self.k[2] | 2) & 0xFFFF
            out.append(b ^ (((t * (t ^ 1)) >> 8) & 0xFF))
            self.update(b)
        return bytes(out)


def zip_archive(entries: list[tuple[str, bytes]], encoding: str = "utf-8", password: str | None = None) -> bytes:
    """A deflated zip of `entries`; names stored in `encoding` (UTF-8 sets the UTF-8 flag);
    with `password`, every entry is ZipCrypto-encrypted."""
    local, central = bytearray(), bytearray()
    for name, data in entries:
        raw_name = name.encode(encoding)
        flags = 0x800 if encoding == "utf-8" else 0
        crc = zlib.crc32(data) & 0xFFFFFFFF
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = deflater.compress(data) + deflater.flush()
        if password is not None:
            flags |= 0x1
            keys = _Keys(password.encode(encoding))
            header = bytes(range(11)) + bytes([crc >> 24])  # the last byte lets a reader check the password
            body = keys.encrypt(header + body)
        offset = len(local)
        fields = struct.pack("<HHHHHIIIHH", 20, flags, 8, 0, 0x21, crc, len(body), len(data), len(raw_name), 0)
        local += b"PK\x03\x04" + fields + raw_name + body
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHII", 0, 0, 0, 0, offset)
                    + raw_name)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                      len(local), 0)
    return bytes(local + central + end)


def zip_of(parts: Mapping[str, bytes] | Iterable[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip container with exactly these parts, in this order (a list may repeat a name)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some hostile files
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in (parts.items() if isinstance(parts, Mapping) else parts):
                zf.writestr(name, data)
    return buf.getvalue()


def parts_of(data: bytes) -> list[tuple[str, bytes]]:
    """Every part of a zip container, in order: (name, content)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
