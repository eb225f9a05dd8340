"""The shortcuts that make the changelog fast give exactly what the long way gives.

`RevisionLoader` parses only the blocks a revision changed; `TermsDigests` remembers the
normal form of unchanged parts; `Repo.read_blobs` asks git for many blobs at once. Each is
checked against the whole-file load, `terms_digest`, and files written by the test, and
the changelog through the real CLI against changes worked out by hand. No timings here:
`make bench` measures.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_changelog import commit, edit
from test_fuzz_yaml import YAML_BITS, mutated_texts

import strategies as S
from conftest import ROOT, git, run
from slakit.errors import GitError
from slakit.model.terms import TermsDigests, remembering_digests, terms_digest
from slakit.world.git import Repo
from slakit.world.load import MAX_DEPTH, RevisionLoader, load_bytes

EXAMPLES = sorted((ROOT / "sla").glob("*.yaml"))


def full(raw: bytes) -> object:
    """What the whole-file load makes of `raw`: its data, or None when it reports problems."""
    doc, _ = load_bytes(raw, "x.yaml")
    return None if doc is None else doc.data


def assert_same(loader: RevisionLoader, raw: bytes) -> object:
    """The quick path either steps aside (None) or gives exactly the whole-file data."""
    quick = loader.data(raw)
    if quick is not None:
        expected = full(raw)
        assert quick == expected
        assert json.dumps(quick) == json.dumps(expected)  # same key order, same types
    return quick


# -- the quick path agrees with the whole-file load ------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_take_the_quick_path(path: Path) -> None:
    raw = path.read_bytes()
    loader = RevisionLoader()
    assert assert_same(loader, raw) is not None
    # A second revision with one commitment changed reuses every other block.
    before = len(loader.blocks)
    text = raw.decode()
    changed = text.replace("  - id: ", "  - id: z", 1) if "  - id: " in text else text.replace("id: ", "id: z", 1)
    assert assert_same(loader, changed.encode()) is not None
    assert len(loader.blocks) - before <= 2


def test_unchanged_blocks_are_shared_between_revisions() -> None:
    loader = RevisionLoader()
    one = loader.data(b"id: a\nparties:\n  - id: p\n    name: P\n  - id: q\n    name: Q\nversion: 1\n")
    two = loader.data(b"id: a\nparties:\n  - id: p\n    name: P\n  - id: q\n    name: R\nversion: 2\n")
    assert one is not None and two is not None
    assert one["parties"][0] is two["parties"][0]  # the same text, parsed once
    assert one["parties"][1] == {"id": "q", "name": "Q"} and two["parties"][1] == {"id": "q", "name": "R"}
    assert (one["version"], two["version"]) == (1, 2)


AGREE = [
    # lists written unindented under their key, comments between items, an empty item
    b"id: a\nparties:\n- id: p\n# a comment\n- id: q\n-\ntitle: T\n",
    # a comment before the first entry and after the last
    b"# header\n\n# more\nid: a\ntitle: T\n# trailing\n",
    # CRLF line ends
    b"id: a\r\nparties:\r\n  - id: p\r\n    name: P\r\ntitle: T\r\n",
    # a quoted key, a block scalar, a flow list inside an entry, a merge inside an item
    b'"id": a\ntext: |\n  line one\n  line two\nparties: [p, q]\nitems:\n  - <<: {a: 1}\n    b: 2\n',
    # a value on the next line, more indented than its key
    b"id:\n  a\ntitle: >-\n  folded\n  text\n",
    # YAML 1.2 scalars: `no` stays text, 012 is a number, dates stay text
    b"id: a\nflag: no\nn: 012\nwhen: 2026-01-02\nempty:\nnull_value: ~\n",
]

STEP_ASIDE = [
    # a quoted scalar running on into column 0
    b'id: a\ntitle: "one\ntwo: three"\n',
    # a flow collection running on into column 0
    b"id: a\nparties: [p,\nq]\n",
    # a flow mapping as an entry
    b"{id: a}\ntitle: T\n",
    # a merge key at the top reaches across entries
    b"id: a\n<<: {title: T}\n",
    # aliases tie entries together
    b"id: &x a\ntitle: *x\n",
    # a duplicate key across entries: the whole load names both lines
    b"id: a\ntitle: T\nid: b\n",
    # document markers, directives, a byte-order mark, lone CR and NEL line breaks
    b"---\nid: a\n",
    b"%YAML 1.2\n---\nid: a\n",
    b"\xef\xbb\xbfid: a\n",
    b"id: a\rtitle: T\n",
    b"id: a\xc2\x85title: T\n",
    # content before the first entry, a list at the top, a scalar, nothing
    b"  id: a\ntitle: T\n",
    b"- a\n- b\n",
    b"just text\n",
    b"# only a comment\n",
    b"",
    # an item line less indented than the items
    b"id: a\nparties:\n  - id: p\n name: P\n",
    # a tag, a bad number, not UTF-8
    b"id: !thing a\n",
    b"id: a\nn: .inf\n",
    b"id: \xff\n",
]


@pytest.mark.parametrize("raw", AGREE)
def test_quick_path_agrees(raw: bytes) -> None:
    assert full(raw) is not None
    assert assert_same(RevisionLoader(), raw) is not None


@pytest.mark.parametrize("raw", STEP_ASIDE)
def test_quick_path_steps_aside(raw: bytes) -> None:
    assert RevisionLoader().data(raw) is None


def test_nesting_is_measured_as_in_the_whole_file() -> None:
    """A list item parsed alone is one level shallower than in its file: the limit still holds."""

    def nested(levels: int) -> bytes:
        lines = ["id: a", "items:"] + ["  " * (i + 1) + "- k:" for i in range(levels)] + ["  " * (levels + 1) + "  v"]
        return ("\n".join(lines) + "\n").encode()

    for levels in range(MAX_DEPTH // 2 - 3, MAX_DEPTH // 2 + 3):
        raw = nested(levels)
        assert (RevisionLoader().data(raw) is None) == (full(raw) is None), levels
        assert_same(RevisionLoader(), raw)
    assert full(nested(MAX_DEPTH)) is None


@settings(max_examples=S.examples(2))
@given(raws=st.lists(mutated_texts(), min_size=1, max_size=4))
def test_damaged_revisions_agree_with_the_whole_load(raws: list[bytes]) -> None:
    """Damaged agreements through one loader (its blocks remembered from one to the next)."""
    loader = RevisionLoader()
    for raw in raws:
        assert_same(loader, raw)


@settings(max_examples=S.examples(1))
@given(parts=st.lists(st.sampled_from(YAML_BITS) | st.sampled_from(["\n", "id: a\n", "x:\n", "  - ", "k: v\n"])))
def test_yaml_punctuation_agrees_with_the_whole_load(parts: list[str]) -> None:
    assert_same(RevisionLoader(), "".join(parts).encode("utf-8", "surrogatepass"))


@settings(max_examples=S.examples(1))
@given(data=S.agreements(small=True), style=S.styles)
def test_generated_agreements_take_the_quick_path(data: dict, style: S.Style) -> None:
    raw = S.to_yaml(data, style).encode()
    quick = assert_same(RevisionLoader(), raw)
    assert quick is None or quick == full(raw)


# -- digests -----------------------------------------------------------------------------------------


@settings(max_examples=S.examples(1))
@given(st.data())
def test_remembered_digests_equal_terms_digest(draw: st.DataObject) -> None:
    """Revisions parsed by one loader (sharing parts) through one TermsDigests."""
    data = draw.draw(S.agreements(small=True))
    revisions = [data] + [draw.draw(S.revisions(data)) for _ in range(3)]
    loader, digests = RevisionLoader(), TermsDigests()
    for revision in revisions:
        raw = S.to_yaml(revision).encode()
        parsed = loader.data(raw) or full(raw)
        assert isinstance(parsed, dict)
        assert digests(parsed) == terms_digest(parsed)


def test_remembered_digest_of_a_signed_example() -> None:
    """The Company A example is signed: its recorded digest is what both ways compute."""
    data = full((ROOT / "sla" / "company-a-lead-management.yaml").read_bytes())
    assert isinstance(data, dict)
    recorded = {s["terms"] for s in data["signoff"]["signatures"]}
    assert TermsDigests()(data) in recorded


# -- reading blobs -------------------------------------------------------------------------------------


def test_read_blobs_in_batches(repo: Path) -> None:
    """More blobs than are asked for at once, in the order asked, repeats included."""
    contents = [f"blob {i}\n".encode() * (i % 7 + 1) for i in range(150)] + [b"", b"\x00binary\xff"]
    for i, content in enumerate(contents):
        (repo / f"f{i}").write_bytes(content)
    shas = git(repo, "hash-object", "-w", *[f"f{i}" for i in range(len(contents))]).split()
    assert len(set(shas)) == len(contents)
    with Repo(repo) as r:
        assert r.read_blobs(shas + shas[:3]) == contents + contents[:3]
        assert r.read_blob(shas[5]) == contents[5]
        with pytest.raises(GitError):
            r.read_blobs(["0" * 40])


# -- the changelog through the CLI ---------------------------------------------------------------------


def test_changelog_through_shared_blocks(repo: Path) -> None:
    """Revisions that change one item, break the file, use an alias, then come back: the
    changes are the ones made, by hand; the broken revision is reported with its line."""
    path = "sla/company-a-lead-management.yaml"
    (repo / "sla").mkdir()
    shutil.copy(ROOT / path, repo / path)
    commit(repo, "Add", "2026-01-05T10:00:00+00:00")
    edit(repo, path, "count: 310", "count: 320")
    commit(repo, "More leads", "2026-01-06T10:00:00+00:00")
    edit(repo, path, "count: 320", 'count: "320')  # an unterminated quote
    commit(repo, "Broken", "2026-01-07T10:00:00+00:00")
    edit(repo, path, 'count: "320', "count: &n 330")  # an anchor: not aliased, so read block by block
    commit(repo, "Anchored", "2026-01-08T10:00:00+00:00")
    edit(repo, path, "count: &n 330", "count: 330")
    commit(repo, "Plain again", "2026-01-09T10:00:00+00:00")

    result = run("changelog", "--format", "json", cwd=repo)
    assert result.exit_code == 0, result.output
    [quarter] = [q for q in json.loads(result.stdout)["quarters"] if q["quarter"] == "2026-Q1"]
    [agreement] = quarter["agreements"]
    commits = {c["subject"]: c for c in agreement["commits"]}
    assert commits["Add"]["kind"] == "added"
    more = [(c["label"], c["old"], c["new"]) for c in commits["More leads"]["changes"]]
    # The three signatures accepted the terms with 310 leads: the change makes them stale.
    assert [(old, new) for _, old, new in more] == [(310, 320)] + [("current", "stale")] * 3
    assert commits["Broken"]["kind"] == "broken"
    [problem] = commits["Broken"]["problems"]
    line = (repo / path).read_text().split("\n").index("      count: 330") + 1
    assert problem["rule"] == "yaml" and problem["line"] >= line
    anchored = [(c["old"], c["new"]) for c in commits["Anchored"]["changes"]]
    assert anchored == [(320, 330)]  # compared with the last good revision
    assert commits["Plain again"]["kind"] == "no-change"


# -- validate in worker processes -----------------------------------------------------------------


def test_validate_in_workers_gives_each_file_its_own_problems(tmp_path: Path) -> None:
    """40 files (enough for worker processes): copies of the examples with their own ids, one
    duplicate id and one broken file. Each file's problems are those it has checked alone
    (one file: no workers), plus the duplicate named on the later file, as in file order."""
    folder = tmp_path / "sla"
    folder.mkdir()
    examples = [p.read_text() for p in EXAMPLES]
    for n in range(38):
        text = examples[n % len(examples)]
        ident = text.split("\nid: ", 1)[1].split("\n", 1)[0]
        (folder / f"a{n:02d}.yaml").write_text(text.replace(f"\nid: {ident}\n", f"\nid: {ident}-{n:02d}\n", 1))
    (folder / "b-copy.yaml").write_text((folder / "a05.yaml").read_text())  # a05's id again
    (folder / "c-broken.yaml").write_text("id: [unclosed\n")

    result = run("validate", "--format", "json", str(folder))
    assert result.exit_code == 1, result.output
    files = {Path(f["path"]).name: f["problems"] for f in json.loads(result.stdout)["files"]}
    assert len(files) == 40
    alone = {}
    for name in ("a00.yaml", "a01.yaml", "a02.yaml", "a05.yaml", "c-broken.yaml"):
        single = run("validate", "--format", "json", str(folder / name))
        [report] = json.loads(single.stdout)["files"]
        alone[name] = report["problems"]
        assert files[name] == alone[name], name
    assert [p["rule"] for p in files["c-broken.yaml"]] == ["yaml"]
    duplicate = [p for p in files["b-copy.yaml"] if p["rule"] == "unique"]
    assert [(p["line"], p["column"]) for p in duplicate] == [(6, 5)]  # every example has `id:` on line 6
    assert str(folder / "a05.yaml") in duplicate[0]["message"]
    same_file = [{**p, "path": "a05.yaml"} for p in files["b-copy.yaml"] if p["rule"] != "unique"]
    assert same_file == [{**p, "path": "a05.yaml"} for p in alone["a05.yaml"]]

    strict = run("validate", "--strict", "--format", "json", str(folder))
    severities = {p["severity"] for f in json.loads(strict.stdout)["files"] for p in f["problems"]}
    assert severities == {"error"}


# -- remembered digests ---------------------------------------------------------------------------


def test_digests_are_remembered_only_inside_the_scope() -> None:
    data = full((ROOT / "sla" / "social-selling.yaml").read_bytes())
    assert isinstance(data, dict)
    before = terms_digest(data)
    with remembering_digests():
        assert terms_digest(data) == before
        data["commitments"][0]["title"] = "Changed inside the scope"  # a contract breach, on purpose
        assert terms_digest(data) == before  # remembered by identity: the scope trusts its documents
    changed = terms_digest(data)  # outside, worked out again
    assert changed != before
