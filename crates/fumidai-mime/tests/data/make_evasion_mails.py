#!/usr/bin/env python3
"""Writes the evasion test mails in this folder (authored for fumidai, Apache-2.0). Run: python3 make_evasion_mails.py"""
import base64, binascii

EICAR = rb'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
B64 = base64.b64encode(EICAR).decode()


def att(name):
    return f"""Content-Type: application/octet-stream
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="{name}"

{B64}
"""


DECOY = """Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Please find the quarterly figures below. Nothing is attached.
"""


def hdr(subj):
    return f"""From: Fumidai Test Sender <sender@fumidai-test.example>
To: recipient@fumidai-test.example
Subject: {subj}
Date: Wed, 01 Feb 2023 10:00:00 +0900
Message-ID: <{subj.replace(' ', '-').lower()}@fumidai-test.example>
MIME-Version: 1.0
"""


files = {}
files['evasion-two-boundary-params.eml'] = hdr("two boundary params") + """Content-Type: multipart/mixed; boundary="decoy-1"; boundary="real-2"

--decoy-1
""" + DECOY + """--decoy-1--
--real-2
""" + att("payload.exe") + """--real-2--
"""
files['evasion-two-content-types.eml'] = hdr("two content types") + """Content-Type: multipart/mixed; boundary="first_b"
Content-Type: multipart/mixed; boundary="second_b"

--first_b
""" + DECOY + """--first_b--
--second_b
""" + att("payload.exe") + """--second_b--
"""
files['evasion-boundary-in-disposition.eml'] = hdr("boundary in disposition") + """Content-Disposition: inline; boundary="shown"
Content-Type: multipart/mixed; boundary="hidden"

--shown
""" + DECOY + """--shown--
--hidden
""" + att("payload.exe") + """--hidden--
"""
files['evasion-rfc2231-boundary.eml'] = hdr("rfc2231 boundary") + """Content-Type: multipart/mixed; boundary="plain-b"
Content-Disposition: inline; boundary*=us-ascii'en'ext%2Db

--ext-b
""" + DECOY + """--ext-b--
--plain-b
""" + att("payload.exe") + """--plain-b--
"""
files['evasion-comment-in-field-name.eml'] = hdr("comment in field name") + """Content-Type (note): multipart/mixed; boundary="cbound"

--cbound
""" + DECOY + """--cbound
""" + att("payload.exe") + """--cbound--
"""
files['evasion-semicolon-boundary.eml'] = hdr("semicolon boundary") + """Content-Type: multipart/mixed; boundary="semi;"

--semi
""" + DECOY + """--semi--
--semi;
""" + att("payload.exe") + """--semi;--
"""
files['evasion-undeclared-boundary.eml'] = hdr("undeclared boundary") + """Content-Type: text/plain; charset=us-ascii

--nobody-declared-me
""" + DECOY + """--nobody-declared-me
""" + att("payload.exe") + """--nobody-declared-me--
"""
UU = binascii.b2a_uu(EICAR[:45]).decode() + binascii.b2a_uu(EICAR[45:]).decode()
files['evasion-uuencoded-body.eml'] = hdr("uuencoded body") + """Content-Type: text/plain; charset=us-ascii

The file you asked for is below.

begin 644 payload.exe
""" + UU + """`
end

Regards
"""
for n, c in files.items():
    with open(n, 'w', newline='\r\n') as f:
        f.write(c)
