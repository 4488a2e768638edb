"""NTU .skeleton reader and body choice: exact numbers from real files (values read by hand from
the cited lines), synthetic edge cases, and one test per malformed-input kind."""

from __future__ import annotations

import numpy as np
import pytest

from tdf.data.ntu_bodies import body_motion, choose_bodies, noisy_frames
from tdf.data.ntu_reader import SkeletonFormatError, parse_skeleton, read_skeleton
from tdf.errors import BadInput

ID_A, ID_B = 72057594037932219, 72057594037932220


# ---------------------------------------------------------------- helpers (synthetic files)

def person(seed: float = 0.0) -> np.ndarray:
    """25 joints of an upright body: x spread 0.4 < 0.8 × y spread 1.5."""
    j = np.zeros((25, 3))
    j[:, 0] = np.linspace(-0.2, 0.2, 25) + seed
    j[:, 1] = np.linspace(-0.7, 0.8, 25)
    j[:, 2] = 3.0 + seed
    return j


def table() -> np.ndarray:
    """25 joints spread along x (furniture-like): x spread 2.0 > 0.8 × y spread 0.1."""
    j = np.zeros((25, 3))
    j[:, 0] = np.linspace(-1.0, 1.0, 25)
    j[:, 1] = np.linspace(0.0, 0.1, 25)
    j[:, 2] = 2.5
    return j


def body_lines(body_id: int, joints: np.ndarray) -> list[str]:
    out = [f"{body_id} 0 1 1 1 1 0 0.01 0.02 2", "25"]
    out += [f"{x:.7g} {y:.7g} {z:.7g} 250.5 200.25 1000.5 500.25 0.5 0.1 0.2 0.3 2" for x, y, z in joints]
    return out


def skeleton_text(frames: list[list[tuple[int, np.ndarray]]], eol: str = "\n") -> str:
    """A .skeleton file: frames = [[(bodyID, joints[25,3]), …], …]."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for bid, j in bodies:
            lines += body_lines(bid, j)
    return eol.join(lines) + eol


def write(tmp_path, text: str | bytes, name: str = "S001C001P001R001A001.skeleton"):
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def naive_read(path) -> tuple[int, list[int], dict[int, list[tuple[int, list[float]]]]]:
    """Independent line-by-line reader: frame count, body counts, bodyID → [(frame, 75 xyz)]."""
    lines = open(path, newline="").read().replace("\r\n", "\n").split("\n")
    n = int(lines[0])
    i, counts, bodies = 1, [], {}
    for f in range(n):
        nb = int(lines[i]); i += 1
        counts.append(nb)
        for _ in range(nb):
            bid = int(lines[i].split()[0]); i += 2
            xyz = [float(v) for k in range(25) for v in lines[i + k].split()[:3]]
            i += 25
            bodies.setdefault(bid, []).append((f, xyz))
    return n, counts, bodies


# ---------------------------------------------------------------- real files

def test_crlf_file_exact_values(ntu_sample_dir):
    path = ntu_sample_dir / "S001C001P001R001A001.skeleton"
    assert b"\r\n" in path.read_bytes()[:10]  # this file keeps the original CRLF endings
    sk = read_skeleton(path)
    assert sk.name == "S001C001P001R001A001"
    assert sk.n_frames == 103                       # line 1: "103"
    assert list(sk.bodies) == [72057594037931101]   # line 3
    b = sk.bodies[72057594037931101]
    assert len(b) == 103 and b.frames.tolist() == list(range(103))
    # line 5: joint 1 of frame 0
    assert b.xyz[0, 0].tolist() == np.float32([0.2181153, 0.1725972, 3.785547]).tolist()
    # frame 10 starts at line 282 (28 lines per 1-body frame); its joint 12 is line 296
    assert b.xyz[10, 11].tolist() == np.float32([0.18181, 0.3104398, 3.560203]).tolist()
    assert b.xyz[10, 0].tolist() == np.float32([0.2189846, 0.1725001, 3.786483]).tolist()  # line 285


def test_lf_file_two_bodies_with_adjacent_ids(ntu_sample_dir):
    path = ntu_sample_dir / "S001C001P001R001A059.skeleton"
    assert b"\r" not in path.read_bytes()           # LF copy
    sk = read_skeleton(path)
    assert sk.n_frames == 99                        # line 1
    assert float(ID_A) == float(ID_B)               # why bodyIDs must not go through float
    assert list(sk.bodies) == [ID_A, ID_B]          # lines 3 and 30
    assert all(type(k) is int for k in sk.bodies)
    assert sk.body_counts.tolist() == [2] * 99
    a, b = sk.bodies[ID_A], sk.bodies[ID_B]
    # frame 50 = lines 2752…2806 (55 lines per 2-body frame)
    assert a.xyz[50, 0].tolist() == np.float32([1.004321, 0.2400664, 3.944077]).tolist()    # line 2755
    assert b.xyz[50, 24].tolist() == np.float32([-1.117751, 0.2017527, 4.1436]).tolist()    # line 2806
    assert b.xyz[50, 0].tolist() == np.float32([-1.311105, 0.1842893, 3.914104]).tolist()   # line 2782


def test_all_sample_files_match_an_independent_reader(ntu_sample_dir):
    files = sorted(ntu_sample_dir.glob("*.skeleton"))
    assert len(files) == 61
    for path in files:
        n, counts, bodies = naive_read(path)
        sk = read_skeleton(path)
        assert sk.n_frames == n and sk.body_counts.tolist() == counts, path.name
        assert list(sk.bodies) == list(bodies), path.name
        for bid, occ in bodies.items():
            t = sk.bodies[bid]
            assert t.frames.tolist() == [f for f, _ in occ]
            np.testing.assert_array_equal(t.xyz.reshape(len(occ), 75), np.float32([x for _, x in occ]))


def test_missing_samples_have_no_body(ntu_sample_dir):
    for name in ("S006C002P023R001A023", "S008C003P007R001A023"):
        sk = read_skeleton(ntu_sample_dir / "missing" / f"{name}.skeleton")
        assert sk.is_missing and sk.empty_frames == sk.n_frames > 0
        assert choose_bodies(sk).empty
    sk = read_skeleton(ntu_sample_dir / "missing" / "S008C003P007R001A023.skeleton")
    assert sk.n_frames == 56


# docs/ntu-format.md#choosing-the-bodies (worked examples): kept bodyID (actor 1) and dropped bodyID → reason
ORACLE = {
    "S001C001P001R001A024": (72057594037931768, 72057594037931781, "spread"),
    "S001C001P001R001A025": (72057594037931768, 72057594037931781, "spread"),
    "S001C001P001R001A026": (72057594037931768, 72057594037931781, "spread"),
    "S001C001P001R001A027": (72057594037931768, 72057594037931781, "spread"),
    "S001C001P001R001A028": (72057594037931817, 72057594037931781, "spread"),
    "S001C001P001R001A029": (72057594037931817, 72057594037931781, "spread"),
    "S005C002P004R001A023": (72057594037932876, 72057594037932862, "length"),
}


@pytest.mark.parametrize("name", sorted(ORACLE))
def test_body_choice_matches_the_oracle(ntu_sample_dir, name):
    keep, drop, why = ORACLE[name]
    sk = read_skeleton(ntu_sample_dir / f"{name}.skeleton")
    c = choose_bodies(sk)
    assert c.actors == ([keep], [])
    assert list(c.dropped) == [drop] and c.dropped[drop].startswith(why)
    assert np.all(c.x[:, 1] == 0)
    t = sk.bodies[keep]
    np.testing.assert_array_equal(c.x[:, 0], t.xyz)          # every frame of the kept body
    assert c.frames.tolist() == t.frames.tolist()


def test_oracle_details(ntu_sample_dir):
    sk = read_skeleton(ntu_sample_dir / "S001C001P001R001A024.skeleton")
    assert round(choose_bodies(sk).motion[72057594037931768], 5) == 0.16262
    noise = sk.bodies[72057594037931781]
    assert noisy_frames(noise.xyz).mean() == 1.0
    sk = read_skeleton(ntu_sample_dir / "S001C001P001R001A026.skeleton")
    assert round(float(noisy_frames(sk.bodies[72057594037931781].xyz).mean()), 3) == 0.951
    sk = read_skeleton(ntu_sample_dir / "S005C002P004R001A023.skeleton")
    assert len(sk.bodies[72057594037932862]) == 1 and choose_bodies(sk).x.shape == (54, 2, 25, 3)


def test_two_person_files_keep_both_bodies_by_motion(ntu_sample_dir):
    for a in range(50, 61):
        sk = read_skeleton(ntu_sample_dir / f"S001C001P001R001A{a:03d}.skeleton")
        c = choose_bodies(sk)
        assert not c.dropped and len(c.actors[0]) == len(c.actors[1]) == 1
        first, second = c.actors[0][0], c.actors[1][0]
        m1, m2 = body_motion(sk.bodies[first].xyz), body_motion(sk.bodies[second].xyz)
        assert m1 >= m2
        np.testing.assert_array_equal(c.x[:, 0], sk.bodies[first].xyz)
        np.testing.assert_array_equal(c.x[:, 1], sk.bodies[second].xyz)


# ---------------------------------------------------------------- synthetic cases

def test_zero_body_frames_variable_counts_and_id_matching(tmp_path):
    p1, p2 = person(0.0), person(1.0)
    frames = [[], [(7, p1)], [(9, p2), (7, p1 + 0.01)], [], [(7, p1 + 0.02)]]
    sk = read_skeleton(write(tmp_path, skeleton_text(frames, eol="\r\n")))
    assert sk.body_counts.tolist() == [0, 1, 2, 0, 1] and sk.empty_frames == 2
    assert list(sk.bodies) == [7, 9]
    assert sk.bodies[7].frames.tolist() == [1, 2, 4] and sk.bodies[9].frames.tolist() == [2]
    np.testing.assert_allclose(sk.bodies[7].xyz[1], p1 + 0.01, atol=1e-6)   # listed 2nd in frame 2
    c = choose_bodies(sk)  # 2 bodyIDs, both ≤ 11 frames → length filter leaves nothing
    assert c.empty and set(c.dropped) == {7, 9}


def test_body_rules_on_synthetic_sequences(tmp_path):
    n = 20
    frames = []
    for f in range(n):
        bodies = [(1, table()), (2, person(0.01 * f))]      # table first, as in A028/A029
        if f >= 5:
            bodies.append((3, person(1 + 0.05 * f)))         # a third, more mobile person
        if f == 0:
            bodies.append((4, person(2)))                    # a one-frame id (length filter)
        frames.append(bodies)
    frames.insert(3, [])                                     # a 0-body frame is dropped
    sk = read_skeleton(write(tmp_path, skeleton_text(frames)))
    c = choose_bodies(sk)
    assert c.dropped[4].startswith("length") and c.dropped[1].startswith("spread")
    assert c.actors == ([3], [2])                            # 3 moves more than 2
    assert c.x.shape == (n, 2, 25, 3) and 3 not in c.frames.tolist()
    assert np.all(c.x[:5, 0] == 0) and np.all(np.abs(c.x[:, 1]).sum((1, 2)) > 0)


def test_non_overlapping_bodies_share_a_slot(tmp_path):
    # id 5 in frames 0-14, id 6 in frames 15-29 (same person re-tracked), id 8 in all frames.
    frames = [[(5 if f < 15 else 6, person(0.1 * f)), (8, person(1.0) + 0.001 * f)] for f in range(30)]
    c = choose_bodies(read_skeleton(write(tmp_path, skeleton_text(frames))))
    assert c.actors[0] == [5, 6] or c.actors[0] == [6, 5]
    assert c.actors[1] == [8] and not c.dropped and len(c.x) == 30


def test_empty_frames_are_dropped_from_the_output(tmp_path):
    p = person()
    sk = read_skeleton(write(tmp_path, skeleton_text([[], [(7, p)], [], [(7, p + 0.5)], []])))
    c = choose_bodies(sk)
    assert c.frames.tolist() == [1, 3] and c.x.shape == (2, 2, 25, 3)
    np.testing.assert_allclose(c.x[1, 0], p + 0.5, atol=1e-6)


def test_spans_sharing_a_frame_overlap(tmp_path):
    # id 1 in frames 0-15, id 2 in frames 15-30: they share frame 15, so 2 cannot take 1's slot.
    frames = [[(1, person(0.02 * f))] * (f <= 15) + [(2, person(0.001 * f))] * (f >= 15) for f in range(31)]
    c = choose_bodies(read_skeleton(write(tmp_path, skeleton_text(frames))))
    assert c.actors == ([1], [2]) and len(c.x) == 31
    assert np.abs(c.x[15]).sum(axis=(1, 2)).all()           # both present in the shared frame


def test_single_short_body_is_kept(tmp_path):
    sk = read_skeleton(write(tmp_path, skeleton_text([[(1, person())]] * 3)))
    c = choose_bodies(sk)
    assert c.x.shape == (3, 2, 25, 3) and c.actors == ([1], [])


# ---------------------------------------------------------------- malformed input

def _bad(tmp_path, content, line: int | None, words: str):
    p = write(tmp_path, content, "S001C001P001R001A001.skeleton")
    with pytest.raises(SkeletonFormatError) as e:
        read_skeleton(p)
    msg = str(e.value)
    assert isinstance(e.value, BadInput)
    assert "S001C001P001R001A001.skeleton" in msg and words in msg, msg
    if line is not None:
        assert e.value.line == line and f"line {line}:" in msg, msg
    return msg


GOOD = skeleton_text([[(1, person())], [(1, person())]])  # 2 frames, 28 lines each + line 1


def _lines():
    return GOOD.splitlines()


def test_empty(tmp_path):
    _bad(tmp_path, "", 1, "empty file")
    _bad(tmp_path, "\r\n\n", 1, "empty file")


def test_binary(tmp_path):
    _bad(tmp_path, b"1\n1\n\x00\x01\x02garbage", 3, "binary")
    _bad(tmp_path, b"\x89PNG\r\n\x1a\n", 1, "binary")


def test_truncated(tmp_path):
    lines = _lines()
    _bad(tmp_path, "\n".join(lines[:40]) + "\n", 41, "truncated")       # inside frame 1's joints
    _bad(tmp_path, "\n".join(lines[:29]) + "\n", 30, "truncated")       # frame 1 missing
    _bad(tmp_path, "5\n1\n", 3, "truncated")


def test_wrong_counts(tmp_path):
    lines = _lines()
    l2 = lines.copy(); l2[3] = "24"                                       # joint count (line 4)
    _bad(tmp_path, "\n".join(l2), 4, "joint count is 24")
    l2 = lines.copy(); l2[0] = "1"                                        # too few frames declared
    _bad(tmp_path, "\n".join(l2), 30, "after the last")
    l2 = lines.copy(); l2[10] = l2[10] + " 7"                             # 13 fields (line 11)
    _bad(tmp_path, "\n".join(l2), 11, "13 fields")
    l2 = lines.copy(); l2[2] = "1 0 1 1 1 1 0 0.01 2"                     # 9 body fields
    _bad(tmp_path, "\n".join(l2), 3, "got 9 field(s)")
    l2 = lines.copy(); l2[1] = "-1"                                       # negative body count
    _bad(tmp_path, "\n".join(l2), 2, "non-negative integer")
    l2 = lines.copy(); l2[31] = l2[2]; l2[1] = "2"                        # 2 bodies declared, 1 there
    _bad(tmp_path, "\n".join(l2), 30, "body-info line of body 2 of 2 in frame 0 (10 fields), got 1")
    frames = [[(1, person()), (1, person())]]                             # same bodyID twice
    _bad(tmp_path, skeleton_text(frames), 30, "appears twice")


def test_non_numeric_field(tmp_path):
    lines = _lines()
    l2 = lines.copy(); l2[20] = l2[20].replace("250.5", "25x.5")          # a field not used for xyz
    _bad(tmp_path, "\r\n".join(l2), 21, "field 4 is not a number")
    l2 = lines.copy(); l2[0] = "two"
    _bad(tmp_path, "\n".join(l2), 1, "not a number")
    l2 = lines.copy(); l2[35] = "1.2.3" + l2[35][l2[35].index(" "):]     # only digits, bad number
    _bad(tmp_path, "\n".join(l2), 36, "field 1 is not a number")
    l2 = lines.copy(); l2[2] = "7.5" + l2[2][1:]                          # float bodyID
    _bad(tmp_path, "\n".join(l2), 3, "bodyID")
    l2 = lines.copy(); l2[2] = l2[2].replace("0.01", "0.0.1")              # body-info field 8
    _bad(tmp_path, "\n".join(l2), 3, "body-info line: field 8 is not a number: '0.0.1'")
    l2 = lines.copy(); l2[12] = l2[12].replace(" ", "  ", 1)              # empty field
    _bad(tmp_path, "\n".join(l2), 13, "fields")


def test_nan_and_inf(tmp_path):
    lines = _lines()
    l2 = lines.copy(); l2[50] = "nan" + l2[50][l2[50].index(" "):]
    _bad(tmp_path, "\n".join(l2), 51, "NaN")
    l2 = lines.copy(); l2[6] = l2[6].replace("0.5 ", "NaN ", 1)
    _bad(tmp_path, "\n".join(l2), 7, "NaN")
    l2 = lines.copy(); l2[7] = "1e999" + l2[7][l2[7].index(" "):]       # overflows to inf
    _bad(tmp_path, "\n".join(l2), 8, "infinite")


def test_parse_bytes_and_trailing_blank_lines():
    sk = parse_skeleton((GOOD + "\n\n").encode(), "x.skeleton")
    assert sk.n_frames == 2 and list(sk.bodies) == [1]
    assert sk.bodies[1].xyz.dtype == np.float32 and sk.bodies[1].xyz.shape == (2, 25, 3)


def test_absurd_values_are_named_with_a_short_excerpt(tmp_path):
    """Issue 15 item 9: a 5000-digit count or bodyID, a coordinate of 1e308 and a 5 MB junk token
    each give the file, the line and a short excerpt (never Python's digit-limit ValueError)."""
    good = skeleton_text([[(ID_A, person())]] * 3).splitlines()

    def variant(k, new):
        lines = list(good)
        lines[k] = new
        return "\n".join(lines) + "\n"
    cases = [
        (variant(0, "9" * 5000), 1, "frame count has 5000 digits ('99999"),
        (variant(1, "7" * 5000), 2, "body count of frame 0 has 5000 digits"),
        (variant(2, "1" * 5000 + good[2][good[2].index(" "):]), 3, "does not fit 64 bits"),
        (variant(4, "1e308" + good[4][good[4].index(" "):]), 5, "field 1 (x) is '1e308': beyond ±10000 m"),
        (variant(6, "x" * (5 << 20) + good[6][good[6].index(" "):]), 7, "characters)"),
    ]
    for text, line, words in cases:
        with pytest.raises(SkeletonFormatError) as e:
            read_skeleton(write(tmp_path, text))
        assert e.value.line == line and words in str(e.value), str(e.value)[:300]
        assert len(str(e.value)) < 300
