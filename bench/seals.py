"""Seal signing and verification throughput: our service path next to raw ``cryptography``.

Run:  .venv/bin/python bench/seals.py [--seconds 2] [--sizes 1024,65536,1048576]

What is measured, per payload size, on the same bytes in the same run:

* sign, ours  — what ``seals.services.seal_apply`` does between its checks and its
  database write: read the KEK from settings, unwrap the seal's AES-GCM-wrapped key
  (``seals.keys.open_key``), build the detached CMS SignedData with
  ``seals.crypto.sign_detached`` (SHA-256, signed attributes, certificate embedded),
  and read back the signing time and message digest for the record.
  Excluded: the database (row lock, INSERT of the record, audit entry) and ``build_docx``.
* sign, raw   — ``private_key.sign(data, ECDSA(SHA256))`` on an already-loaded key.
* verify, ours — ``seals.crypto.verify_detached`` against the CA certificate and a CRL,
  i.e. ``seals.services.seal_verify`` minus its two small queries (CA rows, seal serial):
  parse the CMS, check the message digest, the signature, the chain, validity and CRL.
* verify, raw — ``public_key.verify(signature, data, ECDSA(SHA256))``.

* key wrap    — unwrap + raw ECDSA sign next to raw sign alone: the price of keeping the
  key encrypted at rest, the part the issue says "must cost little".

The ratio is ours ÷ raw throughput (1.0 = no overhead); the aim is ≥ 0.8. Small payloads
show the fixed overhead (CMS encoding, key unwrap, ASN.1 parsing); DOCX-sized payloads
show what a real sealing costs, where hashing the document dominates both sides.
No database is needed: Django is configured with just the KEK.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

KEK_TEXT = base64.b64encode(os.urandom(32)).decode()
settings.configure(SEAL_KEK=KEK_TEXT, USE_I18N=False, USE_TZ=True)
django.setup()

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from seals import crypto  # noqa: E402
from seals.keys import open_key  # noqa: E402


def best_rates(functions: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Calls per second of each function, from its fastest batch.

    The functions run in alternating short batches, so a load spike on a shared machine
    hits all of them alike, and the best batch (as ``timeit`` recommends) filters out
    the time stolen by other processes.
    """
    batch: dict[str, int] = {}
    for name, fn in functions.items():  # warm up and size batches to ~5 ms
        start = time.perf_counter()
        for _ in range(3):
            fn()
        per_call = max((time.perf_counter() - start) / 3, 1e-7)
        batch[name] = max(1, int(0.005 / per_call))
    best = dict.fromkeys(functions, float("inf"))
    deadline = time.perf_counter() + seconds * len(functions)
    rounds = 0
    while rounds < 5 or time.perf_counter() < deadline:
        for name, fn in functions.items():
            count = batch[name]
            start = time.perf_counter()
            for _ in range(count):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / count)
        rounds += 1
    return {name: 1 / per_call for name, per_call in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per function and payload size")
    parser.add_argument("--sizes", default="1024,65536,262144,1048576", help="payload sizes in bytes")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_key, ca_cert = crypto.create_root_ca(common_name="Bench CA", organisation="Bench", not_before=now)
    seal_key = crypto.generate_seal_key("ec")
    certificate = crypto.issue_seal_certificate(
        ca_key=ca_key, ca_cert=ca_cert, seal_public_key=seal_key.public_key(),
        organisation="浙江省人民政府办公厅", seal_name="浙江省人民政府办公厅公章", serial_number=None,
        not_before=now, not_after=now + dt.timedelta(days=365),
    )
    crl = crypto.build_crl(
        ca_key=ca_key, ca_cert=ca_cert, revoked=[(12345, now)], this_update=now,
        next_update=now + dt.timedelta(days=30), crl_number=1,
    )
    key_id = "seal-bench"
    wrapped = crypto.wrap_private_key(seal_key, crypto.parse_kek(KEK_TEXT), key_id=key_id)
    public_key = seal_key.public_key()
    algorithm = ec.ECDSA(hashes.SHA256())

    print(f"seal signing/verification, ECDSA P-256, {args.seconds:g} s per measurement")
    print(
        f"{'payload':>10} | {'sign ours/s':>11} {'raw/s':>9} {'ratio':>6} | "
        f"{'verify ours/s':>13} {'raw/s':>9} {'ratio':>6} | {'key wrap':>8}"
    )
    worst_sign = worst_verify = worst_wrap = float("inf")
    for size in sizes:
        data = os.urandom(size)
        signature = crypto.sign_detached(data, key=seal_key, certificate=certificate)
        raw_signature = seal_key.sign(data, algorithm)
        assert crypto.verify_detached(data, signature, trusted_ca=ca_cert, crl=crl).status == "valid"

        def sign_ours(data: bytes = data) -> None:
            key = open_key(wrapped, key_id=key_id)
            sig = crypto.sign_detached(data, key=key, certificate=certificate)
            crypto.read_signed_attributes(sig)

        def sign_raw(data: bytes = data) -> None:
            seal_key.sign(data, algorithm)

        def unwrap_and_sign_raw(data: bytes = data) -> None:
            open_key(wrapped, key_id=key_id).sign(data, algorithm)

        def verify_ours(data: bytes = data, signature: bytes = signature) -> None:
            crypto.verify_detached(data, signature, trusted_ca=ca_cert, crl=crl)

        def verify_raw(data: bytes = data, raw_signature: bytes = raw_signature) -> None:
            public_key.verify(raw_signature, data, algorithm)

        rates = best_rates(
            {
                "sign_ours": sign_ours,
                "sign_raw": sign_raw,
                "verify_ours": verify_ours,
                "verify_raw": verify_raw,
                "wrap": unwrap_and_sign_raw,
            },
            args.seconds,
        )
        s_ours, s_raw = rates["sign_ours"], rates["sign_raw"]
        v_ours, v_raw = rates["verify_ours"], rates["verify_raw"]
        wrap = rates["wrap"] / s_raw
        worst_sign, worst_verify = min(worst_sign, s_ours / s_raw), min(worst_verify, v_ours / v_raw)
        worst_wrap = min(worst_wrap, wrap)
        print(
            f"{size:>10} | {s_ours:>11.0f} {s_raw:>9.0f} {s_ours / s_raw:>6.2f} | "
            f"{v_ours:>13.0f} {v_raw:>9.0f} {v_ours / v_raw:>6.2f} | {wrap:>8.2f}"
        )
    print(
        f"worst ratio: sign {worst_sign:.2f}×, verify {worst_verify:.2f}×, "
        f"key wrap {worst_wrap:.2f}× raw (aim ≥ 0.80×)"
    )


if __name__ == "__main__":
    main()
