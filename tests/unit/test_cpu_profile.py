"""tests/support/cpu_profile.py decodes the kernel's accounting records and charges each process's
CPU to the test that started it; a wrong decoding or attribution would point the suite's work at
the wrong place."""

from __future__ import annotations

import struct

from tests.support.cpu_profile import ACCT_V3, attribute, comp_t, kind_of, read_acct


def test_comp_t_is_a_13_bit_mantissa_with_a_base_8_exponent_in_hundredths():
    assert comp_t(150) == 1.5                 # exponent 0
    assert comp_t((1 << 13) | 100) == 8.0     # 100 * 8 / 100
    assert comp_t((2 << 13) | 0x1FFF) == 0x1FFF * 64 / 100


def test_read_acct_decodes_version_3_records(tmp_path):
    record = ACCT_V3.pack(b"\0", b"\x03", 0, 0, 0, 0, 4242, 1, 1_700_000_000, 12.5, 250, 50, 0, 0, 0, 0, 0, 0,
                          b"modelwatch".ljust(16, b"\0"))
    (tmp_path / "acct").write_bytes(record + struct.pack("<64x"))  # a second, non-v3 record is skipped
    [decoded] = read_acct(tmp_path / "acct")
    assert (decoded["pid"], decoded["ppid"], decoded["btime"]) == (4242, 1, 1_700_000_000)
    assert decoded["comm"] == "modelwatch"
    assert decoded["cpu"] == 3.0


def test_a_process_too_short_to_be_sampled_is_charged_to_its_sampled_parent():
    worker = {"pid": 10, "ppid": 1, "ctime": 100.0, "ours": True, "cmd": "python -m celery -A workers.app worker",
              "test": "tests/x.py::test_a (call)", "cpu": 0.0, "worker": "gw0"}
    stranger = {**worker, "pid": 30, "ours": False, "cmd": "python other-helper.py"}
    records = [{"pid": 11, "ppid": 10, "btime": 105, "cpu": 0.5, "comm": "sh", "etime": 1.0},
               {"pid": 10, "ppid": 1, "btime": 100, "cpu": 2.0, "comm": "python", "etime": 9.0},
               {"pid": 31, "ppid": 30, "btime": 101, "cpu": 7.0, "comm": "python", "etime": 1.0}]
    rows = attribute(records, [worker, stranger])
    assert [(r["pid"], e["pid"], itself) for r, e, itself in rows] == [(10, 10, True), (11, 10, False)]
    assert kind_of(worker["cmd"]) == "celery worker"
