"""Scans the messages of bench/peers/classes.tsv with fumidai, rspamd, SpamAssassin, ClamAV and oletools,
then prints the detection matrix and the speed ratios of this one run.

Started by bench/peers.sh inside `unshare -n` with loopback up (no tool can reach the network) and with the
venv's Python (oletools). The daemons are started here on loopback and stopped at the end.

What counts as detected, per tool (the same rule for the threat classes and the clean ones):
- fumidai: verdict suspicious or malicious.
- rspamd: action other than "no action", or one of ATTACHMENT_SYMBOLS fired (each message is sent with the
  connection details an MTA passes, RSPAMD_CONNECTION).
- SpamAssassin: spam (score >= required_score), or a rule of the OLEVBMacro plugin fired.
- ClamAV: clamscan reports FOUND (built-in heuristics only: Debian ships no signatures and freshclam
  cannot run offline; the database holds one signature that matches nothing).
- oletools: olevba finds VBA or XLM macros in an attachment (VBA_Parser.detect_macros, as `olevba` does;
  attachments olevba reads as plain VBA source text do not count).

Speed: each tool first sees every message once (detections are taken from that pass, and caches warm),
then once more, timed. CPU is user+system time: of the scanning process for the command-line tools
(fumidai and clamscan, one process for all messages, start-up included); of the daemon and its workers for
rspamd and spamd (from /proc, the client here costing nothing measurable); in process for olevba.
Wall is the timed pass's elapsed time divided by the messages, one message at a time (fumidai -j 1).
"""

import argparse
import base64
import email.policy
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))
from olevba_time import analyse as olevba_analyse  # noqa: E402  (the same analysis as the cargo bench)
from oletools.olevba import VBA_Parser  # noqa: E402

# rspamd symbols that name a dangerous attachment, archive, PDF or sender, whatever the message's score.
ATTACHMENT_SYMBOLS = {
    "MIME_BAD_EXTENSION", "MIME_DOUBLE_BAD_EXTENSION", "MIME_BAD_ATTACHMENT", "MIME_BAD_UNICODE",
    "MIME_ARCHIVE_IN_ARCHIVE", "MIME_ENCRYPTED_ARCHIVE", "MIME_OBFUSCATED_ARCHIVE", "MIME_EXE_IN_GEN_SPLIT_RAR",
    "PDF_JAVASCRIPT", "PDF_ENCRYPTED", "PDF_SUSPICIOUS", "SPOOF_DISPLAY_NAME", "SPOOF_REPLYTO",
}

# SpamAssassin's OLEVBMacro rules: the plugin ships the evals, the rule names are from its documentation.
SA_OLEVBMACRO_RULES = {
    "OLEMACRO": "check_olemacro", "OLEOBJ": "check_oleobject", "OLERTF": "check_olertfobject",
    "OLEMACRO_MALICE": "check_olemacro_malice", "OLEMACRO_ENCRYPTED": "check_olemacro_encrypted",
    "OLEMACRO_RENAME": "check_olemacro_renamed", "OLEMACRO_ZIP_PW": "check_olemacro_zip_password",
    "OLEMACRO_CSV": "check_olemacro_csv", "OLEMACRO_DOWNLOAD_EXE": "check_olemacro_download_exe",
    "OLEMACRO_URI_TARGET": "check_olemacro_redirect_uri", "OLEMACRO_MHTML_TARGET": "check_olemacro_mhtml_uri",
}

CLAMSCAN_OPTIONS = [
    "--no-summary", "--bytecode=no", "--heuristic-alerts=yes", "--alert-macros=yes", "--alert-encrypted=yes",
    "--alert-broken=yes", "--alert-partition-intersection=yes", "--scan-mail=yes", "--scan-ole2=yes",
    "--scan-pdf=yes", "--scan-html=yes", "--scan-archive=yes",
]

TOOLS = ["fumidai", "rspamd", "spamassassin", "clamav", "oletools"]


class Row:
    def __init__(self, line):
        self.cls, self.file, self.attach_as, self.password, self.stored = line.split("\t")
        self.message = None  # the .eml every tool scans

    @property
    def clean(self):
        return self.cls.startswith("CLEAN")


def load_rows():
    with open(BENCH / "peers" / "classes.tsv", encoding="utf-8") as f:
        return [Row(line.rstrip("\n")) for line in f if line.strip() and not line.startswith("#")]


# ---- messages -------------------------------------------------------------------------------------------

def stored_zip(entries):
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()


def generated(name, repo):
    """The few samples the corpus lacks, made the way the engine's own tests make them."""
    corpus = repo / "testdata/corpus"
    if name == "nested_zip_macro":
        docm = (corpus / "office_macros/poi/document/SimpleMacro.docm").read_bytes()
        return stored_zip([("documents.zip", stored_zip([("Invoice_4471.docm", docm)]))])
    if name == "html_smuggling":
        # As crates/fumidai-text/tests/html_attachment.rs: a script assembles a ZIP holding a shortcut.
        lnk = base64.b64decode((corpus / "carriers/lnk/LnkParse3/samples/microsoft_example").read_bytes())
        blob = base64.b64encode(stored_zip([("請求書.pdf.lnk", lnk)])).decode()
        return f"""<html><head><title>請求書</title></head><body><p>ダウンロード中...</p>
<script>
var d = "{blob}";
function toBytes(s) {{ var b = atob(s); var u = new Uint8Array(b.length);
  for (var i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u; }}
var blob = new Blob([toBytes(d)], {{type: 'application/zip'}});
var a = document.createElement('a'); a.href = URL.createObjectURL(blob);
a.download = "請求書_4471.zip"; document.body.appendChild(a); a.click();
</script></body></html>""".encode()
    raise SystemExit(f"classes.tsv: unknown generated sample gen:{name}")


def wrap(row, data, n):
    """A minimal business mail carrying the file as its one attachment."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = '"Sato Taro" <t.sato@supplier.example>'
    msg["To"] = "accounts@customer.example"
    msg["Subject"] = "Invoice / 請求書"
    msg["Date"] = "Mon, 02 Dec 2024 09:15:00 +0900"
    msg["Message-ID"] = f"<bench-{n}@supplier.example>"
    body = "Hello,\n\nplease find the document attached.\n"
    if row.password != "-":
        body += f"\nThe password is: {row.password}\n"
    msg.set_content(body + "\nBest regards,\nSato\n")
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=row.attach_as)
    return msg.as_bytes()


def build_messages(rows, repo, out_dir):
    out_dir.mkdir(parents=True)
    for n, row in enumerate(rows, 1):
        if row.file.startswith("gen:"):
            data = generated(row.file[4:], repo)
        else:
            data = (repo / row.file).read_bytes()
            if row.stored == "base64":
                data = base64.b64decode(data)
        if row.attach_as != "-":
            data = wrap(row, data, n)
        row.message = out_dir / f"{n:03d}.eml"
        row.message.write_bytes(data)


# ---- measuring --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu(root_pid):
    """CPU seconds of a process and all its descendants, alive or reaped."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2:].split()
            stats[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo.extend(p for p, (ppid, _) in stats.items() if ppid == pid)
    return total / CLK_TCK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Timing:
    def __init__(self, cpu, wall, n):
        self.cpu, self.wall, self.n = cpu / n, wall / n, n
        self.profile = []  # fumidai only: (engine microseconds, file), costliest first
        self.startup = 0.0  # fumidai only: CPU seconds of one process start


def timed_command(cmd, n):
    cpu0, t0 = children_cpu(), time.monotonic()
    out = subprocess.run(cmd, capture_output=True)
    return out, Timing(children_cpu() - cpu0, time.monotonic() - t0, n)


def timed_daemon(pid, rows, check):
    cpu0, t0 = tree_cpu(pid), time.monotonic()
    for row in rows:
        check(row.message.read_bytes())
    return Timing(tree_cpu(pid) - cpu0, time.monotonic() - t0, len(rows))


def wait_for_port(port, proc, what, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {seconds} s")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- tools ------------------------------------------------------------------------------------------------

def fumidai_scan(args):
    """One process, one thread, nothing stored: what the other tools do per message."""
    config = ["--config", args.fumidai_config] if args.fumidai_config else []
    return [args.fumidai] + config + ["scan", "--json", "--no-store", "-q", "-j", "1"]


def run_fumidai(rows, args):
    cmd = fumidai_scan(args) + [str(r.message) for r in rows]
    first = subprocess.run(cmd, capture_output=True)
    by_path = {}
    for line in first.stdout.decode().splitlines():
        report = json.loads(line)
        by_path[report.get("path")] = report
    results = {}
    for row in rows:
        report = by_path.get(str(row.message))
        if report is None or "verdict" not in report:
            results[row.message] = (False, "error: " + str((report or {}).get("error", "no output")))
            continue
        ids = [f.get("id", "?") for f in report.get("findings", [])]
        results[row.message] = (report["verdict"] in ("suspicious", "malicious"),
                                f"{report['verdict']} {report.get('score', '')} {' '.join(ids)}")
    out, timing = timed_command(cmd, len(rows))
    # Where the time goes: the engine's own time per message in the timed pass, and the process start-up.
    elapsed = {}
    for line in out.stdout.decode().splitlines():
        report = json.loads(line)
        elapsed[report.get("path")] = report.get("elapsed_us", 0)
    timing.profile = sorted(((elapsed[str(r.message)], r.file) for r in rows if str(r.message) in elapsed),
                            reverse=True)
    tiny = args.workdir / "tiny.eml"
    tiny.write_bytes(b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n")
    timed_command(fumidai_scan(args) + [str(tiny)], 1)
    timing.startup = min(timed_command(fumidai_scan(args) + [str(tiny)], 1)[1].cpu for _ in range(5))
    return results, timing


def run_clamav(rows, args):
    db = args.workdir / "clamdb"
    db.mkdir()
    # A database is required; this one signature never matches, so only the built-in heuristics speak.
    (db / "bench.ndb").write_text("Fumidai.Bench.NeverMatches-0:0:*:" + b"fumidai-bench-never-matches".hex() + "\n")
    cmd = ["clamscan", f"--database={db}"] + CLAMSCAN_OPTIONS + [str(r.message) for r in rows]
    first = subprocess.run(cmd, capture_output=True)
    found = {}
    for line in first.stdout.decode(errors="replace").splitlines():
        if line.endswith(" FOUND"):
            path, _, sig = line[:-6].rpartition(": ")
            found[path] = sig
    results = {r.message: (str(r.message) in found, found.get(str(r.message), "")) for r in rows}
    _, timing = timed_command(cmd, len(rows))
    return results, timing


# What an MTA tells rspamd about the connection (rspamd scores a message without them as from an unknown host).
RSPAMD_CONNECTION = {"IP": "198.51.100.25", "Hostname": "mail.supplier.example", "Helo": "mail.supplier.example"}


def run_rspamd(rows, args):
    home = args.workdir / "rspamd"
    home.mkdir()
    shutil.chown(home, "_rspamd", "_rspamd")
    log = open(home / "rspamd.out", "wb")
    proc = subprocess.Popen(
        ["rspamd", "-f", "-u", "_rspamd", "-g", "_rspamd", "-c", "/etc/rspamd/rspamd.conf",
         f"--var=DBDIR={home}", f"--var=RUNDIR={home}", f"--var=LOGDIR={home}"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(11333, proc, "rspamd")
        conn = http.client.HTTPConnection("127.0.0.1", 11333, timeout=60)

        def check(data):
            headers = dict(RSPAMD_CONNECTION, **{"Content-Length": str(len(data))})
            conn.request("POST", "/checkv2", body=data, headers=headers)
            return json.loads(conn.getresponse().read())

        results = {}
        for row in rows:
            reply = check(row.message.read_bytes())
            fired = sorted(set(reply.get("symbols", {})) & ATTACHMENT_SYMBOLS)
            action = reply.get("action", "?")
            scored = sorted(reply.get("symbols", {}).values(), key=lambda s: -s.get("score", 0))
            top = [f"{s['name']}({s['score']:.1f})" for s in scored[:5] if s.get("score", 0) > 0]
            results[row.message] = (action != "no action" or bool(fired),
                                    f"{action} {reply.get('score', 0):.1f} {' '.join(fired)} [{' '.join(top)}]")
        return results, timed_daemon(proc.pid, rows, check)
    finally:
        stop(proc)


def run_spamassassin(rows, args):
    site = args.workdir / "spamassassin"
    shutil.copytree("/etc/spamassassin", site)
    (site / "zz_fumidai_bench.pre").write_text("loadplugin Mail::SpamAssassin::Plugin::OLEVBMacro\n")
    rules = ["use_bayes 0", "bayes_auto_learn 0", "ifplugin Mail::SpamAssassin::Plugin::OLEVBMacro"]
    for name, ev in SA_OLEVBMACRO_RULES.items():
        rules += [f"  body {name} eval:{ev}()", f"  score {name} 0.001"]
    rules.append("endif")
    (site / "zz_fumidai_bench.cf").write_text("\n".join(rules) + "\n")
    port = 17830
    log = open(args.workdir / "spamd.out", "wb")
    proc = subprocess.Popen(
        ["spamd", "-L", f"--siteconfigpath={site}", "-i", "127.0.0.1", "-p", str(port), "--min-children=1",
         "--max-children=1", "--max-conn-per-child=100000", "-u", "debian-spamd", "--nouser-config",
         "-s", "stderr", "-r", str(args.workdir / "spamd.pid")],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, "spamd")

        def check(data):
            with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
                s.sendall(b"SYMBOLS SPAMC/1.5\r\nContent-length: %d\r\nUser: bench\r\n\r\n" % len(data) + data)
                s.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
            head, _, body = reply.decode(errors="replace").partition("\r\n\r\n")
            spam = next((h for h in head.split("\r\n") if h.startswith("Spam:")), "Spam: ?")
            return spam, [s.strip() for s in body.split(",") if s.strip()]

        results = {}
        for row in rows:
            spam, symbols = check(row.message.read_bytes())
            ole = sorted(s for s in symbols if s in SA_OLEVBMACRO_RULES)
            is_spam = "True" in spam
            results[row.message] = (is_spam or bool(ole),
                                    f"{spam[6:]} {' '.join(ole)}" + (f" [{' '.join(symbols)}]" if is_spam else ""))
        return results, timed_daemon(proc.pid, rows, check)
    finally:
        stop(proc)


def olevba_attachments(data):
    """Every attachment of the mail, as (name, bytes)."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload and (part.get_filename() or part.get_content_maintype() not in ("text", "multipart")):
            yield part.get_filename() or "attachment", payload


def olevba_check(data):
    hits = []
    for name, payload in olevba_attachments(data):
        try:
            parser = VBA_Parser(name, data=payload)
        except Exception:
            continue  # not a format olevba reads
        try:
            # A file olevba cannot place it takes for VBA source text: that is no detection.
            if parser.type != "Text" and parser.detect_macros():
                parser.analyze_macros()
                hits.append(name)
        except Exception:
            pass
        finally:
            parser.close()
    return hits


def run_oletools(rows, args):
    results = {}
    for row in rows:
        hits = olevba_check(row.message.read_bytes())
        results[row.message] = (bool(hits), " ".join(hits))
    cpu0, t0 = time.process_time(), time.monotonic()
    for row in rows:
        olevba_check(row.message.read_bytes())
    return results, Timing(time.process_time() - cpu0, time.monotonic() - t0, len(rows))


def macro_files_ratio(repo, args):
    """olevba against fumidai on the raw macro files, the files the cargo bench compares.

    Returns the file count, both tools' Timing, and each tool's median time per file (olevba: CPU in
    process; fumidai: the engine's own elapsed time, single-threaded), the least of the rounds."""
    files = sorted(p for d in ("office_macros", "xlm_macros") for p in (repo / "testdata/corpus" / d).rglob("*")
                   if p.is_file() and p.suffix != ".vba")

    def olevba_file(p):
        try:
            olevba_analyse(str(p))
        except Exception:
            pass  # olevba gives up on some files; its time until then still counts

    for p in files:  # warm imports and caches, as bench/olevba_time.py does
        olevba_file(p)
    rounds = 3
    each = {p: [] for p in files}
    cpu0, t0 = time.process_time(), time.monotonic()
    for _ in range(rounds):
        for p in files:
            c = time.process_time()
            olevba_file(p)
            each[p].append(time.process_time() - c)
    olevba = Timing(time.process_time() - cpu0, time.monotonic() - t0, rounds * len(files))
    cmd = fumidai_scan(args) + [str(p) for p in files] * rounds
    subprocess.run(cmd, capture_output=True)  # warm the page cache
    out, fumidai = timed_command(cmd, rounds * len(files))
    engine = {}
    for line in out.stdout.decode().splitlines():
        report = json.loads(line)
        engine.setdefault(report.get("path"), []).append(report.get("elapsed_us", 0) / 1e6)
    return len(files), olevba, fumidai, median(min(t) for t in each.values()), median(
        min(t) for t in engine.values())


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


# ---- report -----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--fumidai", required=True)
    ap.add_argument("--fumidai-config", default="")
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--details", type=Path, help="write every message's result per tool here (TSV)")
    args = ap.parse_args()

    rows = load_rows()
    build_messages(rows, args.repo, args.workdir / "messages")
    runners = {"fumidai": run_fumidai, "rspamd": run_rspamd, "spamassassin": run_spamassassin,
               "clamav": run_clamav, "oletools": run_oletools}
    results, timings = {}, {}
    for tool in TOOLS:
        print(f"scanning {len(rows)} messages with {tool} ...", file=sys.stderr, flush=True)
        results[tool], timings[tool] = runners[tool](rows, args)

    if args.details:
        with open(args.details, "w", encoding="utf-8") as f:
            f.write("class\tfile\t" + "\t".join(TOOLS) + "\n")
            for row in rows:
                cells = [("DETECTED " if results[t][row.message][0] else "- ") + results[t][row.message][1]
                         for t in TOOLS]
                f.write(f"{row.cls}\t{row.file}\t" + "\t".join(c.strip() for c in cells) + "\n")

    classes = list(dict.fromkeys(r.cls for r in rows))
    width = max(len(c) for c in classes) + 6
    print(f"Detection matrix: messages detected / messages in the class ({len(rows)} messages)\n")
    print("class".ljust(width) + "".join(t.rjust(13) for t in TOOLS))
    for cls in classes:
        members = [r for r in rows if r.cls == cls]
        cells = []
        for t in TOOLS:
            hit = sum(results[t][r.message][0] for r in members)
            cells.append(f"{hit}/{len(members)}".rjust(13))
        print(f"{cls} ({len(members)})".ljust(width) + "".join(cells))
    threats = [r for r in rows if not r.clean]
    clean = [r for r in rows if r.clean]
    print("-" * (width + 13 * len(TOOLS)))
    threat_classes = [c for c in classes if not c.startswith("CLEAN")]

    def detects_class(tool, cls):
        return any(results[tool][r.message][0] for r in threats if r.cls == cls)

    print("threat classes with a detection".ljust(width) + "".join(
        f"{sum(detects_class(t, c) for c in threat_classes)}/{len(threat_classes)}".rjust(13) for t in TOOLS))
    print("threat messages detected".ljust(width) + "".join(
        f"{sum(results[t][r.message][0] for r in threats)}/{len(threats)}".rjust(13) for t in TOOLS))
    print("false positives (clean)".ljust(width) + "".join(
        f"{sum(results[t][r.message][0] for r in clean)}/{len(clean)}".rjust(13) for t in TOOLS))

    missed = [(r, [t for t in TOOLS[1:] if results[t][r.message][0]]) for r in threats
              if not results["fumidai"][r.message][0]]
    missed = [(r, peers) for r, peers in missed if peers]
    print("\nThreat messages a peer detects and fumidai does not:" + (" none" if not missed else ""))
    for r, peers in missed:
        print(f"  {r.file} ({r.cls}): {', '.join(peers)}; fumidai: {results['fumidai'][r.message][1]}")
    fps = [r for r in clean if results["fumidai"][r.message][0]]
    print("fumidai false positives:" + (" none" if not fps else ""))
    for r in fps:
        print(f"  {r.file}: {results['fumidai'][r.message][1]}")

    base = timings["fumidai"]
    print(f"\nSpeed on the same {len(rows)} messages (timed second pass, one message at a time)\n")
    print("tool".ljust(14) + "CPU ms/msg".rjust(12) + "wall ms/msg".rjust(13) + "CPU vs fumidai".rjust(16)
          + "wall vs fumidai".rjust(17))
    for t in TOOLS:
        tm = timings[t]
        print(t.ljust(14) + f"{tm.cpu * 1e3:12.2f}{tm.wall * 1e3:13.2f}" + f"{tm.cpu / base.cpu:15.1f}x"
              + f"{tm.wall / base.wall:16.1f}x")
    profile, total_us = base.profile, sum(us for us, _ in base.profile)
    median_ms, p90_ms = profile[len(profile) // 2][0] / 1e3, profile[len(profile) // 10][0] / 1e3
    print(f"\nfumidai, where the time goes: process start-up {base.startup * 1e3:.2f} ms CPU (once per run, "
          f"{base.startup / base.n * 1e3:.3f} ms/msg here); engine time per message median {median_ms:.3f} ms, "
          f"p90 {p90_ms:.3f} ms; costliest:")
    for us, file in profile[:3]:
        print(f"  {us / 1e3:8.2f} ms ({us / total_us:4.0%} of all engine time)  {file}")
    n, olevba, fumidai, olevba_median, fumidai_median = macro_files_ratio(args.repo, args)
    print(f"\nMacro files ({n} raw files of testdata/corpus/{{office_macros,xlm_macros}}, 3 rounds)\n")
    print("tool".ljust(20) + "CPU ms/file".rjust(12) + "wall ms/file".rjust(14) + "median ms/file".rjust(16))
    print("olevba (in process)".ljust(20) + f"{olevba.cpu * 1e3:12.2f}{olevba.wall * 1e3:14.2f}"
          f"{olevba_median * 1e3:16.3f}")
    print("fumidai (CLI, -j 1)".ljust(20) + f"{fumidai.cpu * 1e3:12.2f}{fumidai.wall * 1e3:14.2f}"
          f"{fumidai_median * 1e3:16.3f}")
    print(f"fumidai is {olevba.cpu / fumidai.cpu:.1f}x faster in CPU, {olevba.wall / fumidai.wall:.1f}x in wall "
          f"time, {olevba_median / fumidai_median:.1f}x on the median file")

if __name__ == "__main__":
    main()
