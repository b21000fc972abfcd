"""Outlook .msg files for tests, written from the specifications (no sample corpus we may ship
was found): [MS-CFB] compound file version 3 and the [MS-OXMSG] storage of a mail with its
attachments. Small on purpose; what it writes is read back by python-oxmsg (olefile), as
plan-xl reads a clerk's "save as" from Outlook.
"""

from __future__ import annotations

import datetime as dt
import struct

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


class _Node:
    def __init__(self, name: str, data: bytes | None = None, children: list[_Node] | None = None):
        self.name, self.data, self.children = name, data, children or []
        self.start, self.size, self.index = END, 0, 0


def compound_file(tree: list[_Node]) -> bytes:
    """A CFB v3 file whose root storage holds `tree` (storages have children, streams data)."""
    root = _Node("Root Entry", None, tree)
    nodes: list[_Node] = []

    def walk(node: _Node) -> None:
        node.index = len(nodes)
        nodes.append(node)
        for child in node.children:
            walk(child)

    walk(root)
    streams = [n for n in nodes if n.data is not None]
    mini = bytearray()
    minifat: list[int] = []
    big: list[_Node] = []
    for n in streams:
        n.size = len(n.data)
        if n.size >= CUTOFF:
            big.append(n)
            continue
        if n.size == 0:
            continue
        n.start = len(minifat)
        count = -(-n.size // MINI)
        minifat += [n.start + k + 1 for k in range(count - 1)] + [END]
        mini += n.data.ljust(count * MINI, b"\0")
    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes) -> int:
        first = len(sectors)
        count = max(1, -(-len(data) // SECTOR))
        for k in range(count):
            sectors.append(data[k * SECTOR:(k + 1) * SECTOR].ljust(SECTOR, b"\0"))
        fat.extend([first + k + 1 for k in range(count - 1)] + [END])
        return first

    root.size = len(mini)
    root.start = place(bytes(mini)) if mini else END
    for n in big:
        n.start = place(n.data)
    minifat_start = place(b"".join(struct.pack("<I", x) for x in minifat)) if minifat else END
    minifat_count = -(-len(minifat) * 4 // SECTOR) if minifat else 0
    dir_start = place(b"".join(_entry(n) for n in nodes))
    n_fat = 1
    while (len(sectors) + n_fat) > n_fat * (SECTOR // 4):
        n_fat += 1
    fat_ids = list(range(len(sectors), len(sectors) + n_fat))
    fat += [FATSECT] * n_fat
    fat += [FREE] * (n_fat * (SECTOR // 4) - len(fat))
    table = b"".join(struct.pack("<I", x) for x in fat)
    sectors += [table[k * SECTOR:(k + 1) * SECTOR] for k in range(n_fat)]
    assert n_fat <= 109, "test files stay small"
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), b"\0" * 16, 0x3E, 3,
                         0xFFFE, 9, 6, b"\0" * 6, 0, n_fat, dir_start, 0, CUTOFF, minifat_start,
                         minifat_count, END, 0)
    header += b"".join(struct.pack("<I", x) for x in fat_ids + [FREE] * (109 - n_fat))
    return header + b"".join(sectors)


def _entry(node: _Node) -> bytes:
    name = node.name.encode("utf-16-le") + b"\0\0"
    kind = 5 if node.name == "Root Entry" and node.data is None and node.index == 0 else (
        2 if node.data is not None else 1)
    siblings = node.parent_children if hasattr(node, "parent_children") else []
    right = NOSTREAM
    if siblings:
        k = siblings.index(node)
        right = siblings[k + 1].index if k + 1 < len(siblings) else NOSTREAM
    child = node.children[0].index if node.children else NOSTREAM
    return struct.pack("<64sHBBIII16sIQQIQ", name.ljust(64, b"\0"), len(name), kind, 1, NOSTREAM, right,
                       child, b"\0" * 16, 0, 0, 0, node.start if node.size or kind == 5 else 0,
                       node.size)


def _link(node: _Node) -> _Node:
    """Chain each storage's children as right siblings (a valid, if unbalanced, tree: olefile
    and Outlook find entries by walking it)."""
    for child in node.children:
        child.parent_children = node.children
        _link(child)
    return node


# --- [MS-OXMSG] ---------------------------------------------------------------------------------
PT_INT32, PT_TIME, PT_STRING, PT_BINARY = 0x0003, 0x0040, 0x001F, 0x0102


def _properties(props: list[tuple[int, int, object]], header: bytes) -> list[_Node]:
    """The __properties_version1.0 stream and one __substg1.0_ stream per variable-size value."""
    fixed, streams = bytearray(header), []
    for pid, ptyp, value in props:
        tag = struct.pack("<HH", ptyp, pid)
        if ptyp == PT_INT32:
            fixed += tag + struct.pack("<IiI", 0x6, value, 0)
        elif ptyp == PT_TIME:
            ticks = int((value - dt.datetime(1601, 1, 1, tzinfo=dt.UTC)).total_seconds() * 10_000_000)
            fixed += tag + struct.pack("<IQ", 0x6, ticks)
        else:
            # the size counts a string's terminating null, which the stream itself leaves out
            data = value.encode("utf-16-le") if ptyp == PT_STRING else bytes(value)
            size = len(data) + 2 if ptyp == PT_STRING else len(data)
            fixed += tag + struct.pack("<III", 0x6, size, 0)
            streams.append(_Node(f"__substg1.0_{pid:04X}{ptyp:04X}", data))
    return [_Node("__properties_version1.0", bytes(fixed)), *streams]


Attachments = list["tuple[str, bytes] | Forwarded"]


class Forwarded:
    """A mail attached to a mail (Outlook's 「添付ファイルとして転送」): an embedded message."""

    def __init__(self, subject: str, sender: str, attachments: Attachments):
        self.subject, self.sender, self.attachments = subject, sender, attachments


def _message(subject: str, sender: str, attachments: Attachments, header: bytes,
             sent: dt.datetime | None = None) -> list[_Node]:
    headers = f"From: {sender}\r\nSubject: {subject}\r\n"
    props = [(0x001A, PT_STRING, "IPM.Note"), (0x0037, PT_STRING, subject), (0x007D, PT_STRING, headers),
             (0x5D01, PT_STRING, sender)] + ([(0x0039, PT_TIME, sent)] if sent else [])
    nodes = _properties(props, header)
    for k, attachment in enumerate(attachments):
        if isinstance(attachment, Forwarded):
            inner = _message(attachment.subject, attachment.sender, attachment.attachments,
                             struct.pack("<8xIIII", 0, len(attachment.attachments), 0, len(attachment.attachments)))
            children = _properties([(0x3705, PT_INT32, 5)], b"\0" * 8) + [
                _Node("__substg1.0_3701000D", None, inner)]
        else:
            name, data = attachment
            children = _properties([(0x3705, PT_INT32, 1), (0x3707, PT_STRING, name),
                                    (0x3704, PT_STRING, name[:12]), (0x3701, PT_BINARY, data)], b"\0" * 8)
        nodes.append(_Node(f"__attach_version1.0_#{k:08X}", None, children))
    return nodes


def outlook_msg(subject: str, sender: str, sent: dt.datetime, attachments: Attachments) -> bytes:
    """An Outlook mail as "save as .msg" writes it: subject, sender, time and attachments (files,
    or Forwarded mails)."""
    top = _message(subject, sender, attachments,
                   struct.pack("<8xIIII8x", 0, len(attachments), 0, len(attachments)), sent)
    nodes = [*top, _Node("__nameid_version1.0", None, _properties([], b"")[:1])]
    root = _link(_Node("Root Entry", None, nodes))
    return compound_file(root.children)
