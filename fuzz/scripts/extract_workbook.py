#!/usr/bin/env python3
"""Extract the Workbook (BIFF8) or Book (BIFF5) stream from OLE2 .xls files, to seed the xlm fuzz target.

Usage: extract_workbook.py OUT_DIR FILE...   (standard library only; files that are not OLE are skipped)
"""
import hashlib, os, struct, sys

def read_stream(data, fat, start, size, sec):
    out, s, seen = bytearray(), start, set()
    while s < 0xFFFFFFFA and s not in seen and len(out) < size:
        seen.add(s)
        off = (s + 1) * sec
        out += data[off:off + sec]
        s = fat[s] if s < len(fat) else 0xFFFFFFFE
    return bytes(out[:size])

def workbook(data):
    if data[:8] != bytes.fromhex("d0cf11e0a1b11ae1"):
        return None
    sec = 1 << struct.unpack_from("<H", data, 30)[0]
    mini_sec = 1 << struct.unpack_from("<H", data, 32)[0]
    dir_start, = struct.unpack_from("<I", data, 48)
    mini_cutoff, mini_fat_start, _, difat_start, difat_count = struct.unpack_from("<IIIII", data, 56)
    difat = [x for x in struct.unpack_from("<109I", data, 76) if x < 0xFFFFFFFA]
    s = difat_start
    for _ in range(difat_count):
        if s >= 0xFFFFFFFA: break
        ids = struct.unpack_from("<%dI" % (sec // 4), data, (s + 1) * sec)
        difat += [x for x in ids[:-1] if x < 0xFFFFFFFA]
        s = ids[-1]
    fat = []
    for f in difat:
        fat += struct.unpack_from("<%dI" % (sec // 4), data, (f + 1) * sec)
    dirs = read_stream(data, fat, dir_start, 1 << 30, sec)
    entries = []
    for i in range(0, len(dirs) - 127, 128):
        e = dirs[i:i + 128]
        n = struct.unpack_from("<H", e, 64)[0]
        name = e[:max(n - 2, 0)].decode("utf-16-le", "replace")
        start, size = struct.unpack_from("<II", e, 116)
        entries.append((name, e[66], start, size))
    root = entries[0]
    ministream = read_stream(data, fat, root[2], root[3], sec)
    minifat = []
    if mini_fat_start < 0xFFFFFFFA:
        b = read_stream(data, fat, mini_fat_start, 1 << 30, sec)
        minifat = list(struct.unpack_from("<%dI" % (len(b) // 4), b))
    for name, typ, start, size in entries:
        if typ == 2 and name in ("Workbook", "Book"):
            if size < mini_cutoff:
                out, s = bytearray(), start
                while s < len(minifat) and len(out) < size:
                    out += ministream[s * mini_sec:(s + 1) * mini_sec]; s = minifat[s]
                return bytes(out[:size])
            return read_stream(data, fat, start, size, sec)
    return None

out_dir = sys.argv[1]
for path in sys.argv[2:]:
    try:
        wb = workbook(open(path, "rb").read())
    except Exception as e:  # seeds only: a broken sample is skipped
        print("skip", path, e); continue
    if wb:
        open(os.path.join(out_dir, hashlib.sha1(wb).hexdigest()[:16]), "wb").write(wb)
        print("ok  ", path, len(wb))
