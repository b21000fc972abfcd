"""Mutations of returned workbooks for the hardening tests (fuzz, untrusted text) and the long
fuzz run in benchmarks/: byte-level damage, broken zip containers, hostile XML, and hostile cell
text written straight into a sheet's XML where openpyxl would refuse it.
"""

from __future__ import annotations

import random
import re
import struct
import zipfile
from xml.sax.saxutils import escape

from plan_xl.collect.read import open_workbook

from .returned import identity
from .zipbuild import parts_of, zip_of

# --- mutations -------------------------------------------------------------------------------------
HOSTILE_TEXT = [
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"file:///C:/Windows/System32/calc.exe\",\"押す\")",
    "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1+1", "\r=1+1", "=1/0", "#N/A",
    "\\\\server\\share\\x.xlsx", "file:///etc/passwd", "DDE(\"cmd\";\"/C calc\";\"A0\")",
    "制御\x01文字\x07と\x1f", "改行\r\nあり", "x" * 40_000, "", " ", "０１２３", "▲12", "1e308", "nan",
]


def _sheet_parts(pairs) -> list[int]:
    return [n for n, (name, _) in enumerate(pairs) if name.startswith("xl/worksheets/sheet")]


def set_cell(xml: bytes, ref: str, cell_xml: bytes) -> bytes:
    """Replace cell `ref` in a sheet's XML (or add it to its row, or add a row)."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)', re.DOTALL)
    if pattern.search(xml):
        return pattern.sub(lambda m: cell_xml, xml, count=1)
    row = re.sub(r"[A-Z]", "", ref).encode()
    row_open = re.search(rb'<row r="' + row + rb'"[^>]*?(/?)>', xml)
    if row_open and not row_open.group(1):
        return xml[:row_open.end()] + cell_xml + xml[row_open.end():]
    return xml.replace(b"</sheetData>", b'<row r="' + row + b'">' + cell_xml + b"</row></sheetData>", 1)


def cell_xml(ref: str, value: str, formula: bool = False) -> bytes:
    """A cell holding `value` as an inline string, or as a formula with a cached string."""
    def text(s: str) -> str:
        return "".join(c if c in "\t\n\r" or ord(c) >= 32 else f"_x{ord(c):04X}_" for c in escape(s))
    if formula:
        return f'<c r="{ref}" t="str"><f>{text(value.lstrip("="))}</f><v>{text(value)}</v></c>'.encode()
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text(value)}</t></is></c>'.encode()


def _patch_sizes(data: bytes, size: int) -> bytes:
    """Declare `size` as the uncompressed size of every entry (central directory and local headers)."""
    out = bytearray(data)
    for sig, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        for m in re.finditer(re.escape(sig), data):
            pos = m.start() + offset
            if pos + 4 <= len(out):
                out[pos:pos + 4] = struct.pack("<I", size)
    return bytes(out)


MUTATIONS = (
    "flip_bytes", "truncate", "insert_bytes", "zero_block",
    "drop_entry", "duplicate_entry", "rename_entry", "recompress", "huge_sizes",
    "truncate_xml", "doctype", "entity", "dimension", "far_cell", "disguised_cell", "string_count",
    "random_xml", "mangle_tag",
    "cell_text", "cell_formula", "hostile_value", "long_row", "many_entries",
)


def mutate(data: bytes, kind: str, rng: random.Random, text: str | None = None) -> bytes:
    """One mutation of a returned workbook; `text` is the payload for cell mutations."""
    if kind == "flip_bytes":
        out = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == "truncate":
        return data[:rng.randrange(len(data))]
    if kind == "insert_bytes":
        pos = rng.randrange(len(data))
        return data[:pos] + rng.randbytes(rng.randint(1, 200)) + data[pos:]
    if kind == "zero_block":
        pos = rng.randrange(len(data))
        return data[:pos] + b"\0" * rng.randint(1, 4096) + data[pos + 4096:]
    if kind == "huge_sizes":
        return _patch_sizes(data, rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 10 ** 9, 0]))

    pairs = parts_of(data)
    n = rng.randrange(len(pairs))
    sheets = _sheet_parts(pairs) or [n]
    s = rng.choice(sheets)
    if kind == "drop_entry":
        del pairs[n]
    elif kind == "duplicate_entry":
        pairs.insert(rng.randrange(len(pairs) + 1), (pairs[n][0], rng.choice([pairs[n][1], b"<x/>"])))
    elif kind == "rename_entry":
        pairs[n] = (rng.choice([pairs[n][0].upper(), pairs[n][0] + ".bak", "../" + pairs[n][0],
                                "xl/vbaProject.bin", "/" + pairs[n][0]]), pairs[n][1])
    elif kind == "recompress":
        return zip_of(pairs, rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
    elif kind == "truncate_xml":
        pairs[n] = (pairs[n][0], pairs[n][1][:rng.randrange(len(pairs[n][1]) + 1)])
    elif kind == "doctype":
        body = pairs[n][1]
        pairs[n] = (pairs[n][0], b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + body.split(b"?>", 1)[-1])
    elif kind == "entity":
        body = pairs[s][1]
        pairs[s] = (pairs[s][0], b'<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                    + body.split(b"?>", 1)[-1].replace(b"</sheetData>", b'<row r="1"><c r="A1" t="inlineStr">'
                                                       b"<is><t>&xxe;</t></is></c></row></sheetData>", 1))
    elif kind == "dimension":
        ref = rng.choice([b"A1:XFD1048576", b"XFD1048576", b"A1:ZZZ9999999", b"A1:A1048576", b"A1:IV65536"])
        body = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', pairs[s][1], count=1)
        pairs[s] = (pairs[s][0], body)
    elif kind == "far_cell":
        ref = rng.choice(["XFD1048576", "A1048576", "XFD1", "ZZ20001", "GS1", "A9999999"])
        pairs[s] = (pairs[s][0], set_cell(pairs[s][1], ref, cell_xml(ref, "x")))
    elif kind == "disguised_cell":  # the same far cell, spelled so that a naive pattern misses it
        row = rng.choice([
            b'<row r="5"><c r="xfd1048576" t="inlineStr"><is><t>x</t></is></c></row>',
            b"<row r='5'><c r='XFD1048576' t='inlineStr'><is><t>x</t></is></c></row>",
            b'<row r="5"><c r = "XFD1048576"/></row>', b'<row r="5"><c\tr="XFD1048576"/></row>',
            b'<row r="5"><c r="XFD0001048576"/></row>', b'<row r="5"><c r="&#88;FD1048576"/></row>',
            b'<row r="5"><x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'r="XFD1048576"/></row>',
            b"<row r='1048576'><c t='inlineStr'><is><t>x</t></is></c></row>",
            b'<row r="0001048576"><c/></row>', b'<row r="20000">' + b"<c/>" * 300 + b"</row>",
        ])
        pairs[s] = (pairs[s][0], pairs[s][1].replace(b"</sheetData>", row + b"</sheetData>", 1))
    elif kind == "string_count":
        k = next((k for k, (name, _) in enumerate(pairs) if name.endswith("sharedStrings.xml")), None)
        if k is None:
            pairs.append(("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/'
                          b'spreadsheetml/2006/main" count="1" uniqueCount="4000000000"><si><t>a</t></si></sst>'))
        else:
            pairs[k] = (pairs[k][0], re.sub(rb'uniqueCount="[0-9]+"', b'uniqueCount="4000000000"', pairs[k][1]))
    elif kind == "random_xml":
        body = bytearray(pairs[n][1] or b"x")
        pos = rng.randrange(len(body))
        body[pos:pos + rng.randint(1, 64)] = rng.randbytes(rng.randint(1, 64))
        pairs[n] = (pairs[n][0], bytes(body))
    elif kind == "mangle_tag":
        body = pairs[s][1]
        tag = rng.choice([b"<row ", b"<c ", b"<v>", b"<sheetData>", b"<f>", b"<is>"])
        pairs[s] = (pairs[s][0], body.replace(tag, rng.choice([b"", b"<" + tag, tag + b"<x>", b"<c r=\"\" "]), 1))
    elif kind in ("cell_text", "cell_formula", "hostile_value", "long_row"):
        ident = identity(data)
        scan = open_workbook(data).scan
        fields = [f for f in ident.fields if f.editable] or ident.fields
        target = rng.choice(fields)
        part = scan.sheets.get(target.sheet, "")
        idx = next((k for k, (name, _) in enumerate(pairs) if name == part), s)
        payload = text if text is not None else rng.choice(HOSTILE_TEXT)
        if kind == "hostile_value":
            payload = rng.choice(HOSTILE_TEXT)
        ref = target.cell
        if kind == "long_row":
            ref = rng.choice(["L20000", "GR20000", "A20001", "GS1"])
        new = cell_xml(ref, payload, formula=kind == "cell_formula")
        pairs[idx] = (pairs[idx][0], set_cell(pairs[idx][1], ref, new))
    elif kind == "many_entries":
        pairs += [(f"customXml/item{k}.xml", b"<a/>") for k in range(rng.choice([10, 1001]))]
    else:
        raise ValueError(kind)
    return zip_of(pairs)
