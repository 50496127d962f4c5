"""Importing every source, idempotently and in one transaction; stats; export round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from sources_data import (
    CIVIC_2018,
    CIVIC_CURRENT,
    GENE_SUMMARIES,
    HOTSPOTS,
    LABELLED_TABLE,
    VARIANT_SUMMARIES,
    write,
)
from sqlalchemy import func, select

from oncoclass.errors import InputError
from oncoclass.kb.load import export_frame, import_path, stats
from oncoclass.kb.schema import Item, Release
from oncoclass.kb.sources import detect_source
from oncoclass.kb.store import open_store


def _items(store) -> list[dict]:
    with store.engine.connect() as connection:
        return [
            dict(r._mapping) for r in connection.execute(select(Item).order_by(Item.source, Item.source_id))
        ]


def test_every_source_imports_with_its_provenance(kb_url: str, tmp_path: Path) -> None:
    files = {
        "civic": write(tmp_path, "evidence.tsv", CIVIC_2018),
        "hotspots": write(tmp_path, "hotspots.tsv", HOTSPOTS),
        "civic-variants": write(tmp_path, "variants.tsv", VARIANT_SUMMARIES),
        "civic-genes": write(tmp_path, "genes.tsv", GENE_SUMMARIES),
        "table:mine.csv": write(tmp_path, "mine.csv", LABELLED_TABLE),
    }
    with open_store(kb_url) as store:
        for source, path in files.items():
            result = import_path(store, path)
            assert result.source == source and result.added == result.items > 0
        items = {(i["source"], i["source_id"]): i for i in _items(store)}
        first = items[("civic", "1")]
        assert first["label"] == "Predictive: Sensitivity/Response"
        assert first["citation"] == "PMID:111" and first["url"] == "https://civic/1"
        assert first["statement"] == 'BRAF V600E melanoma responds to "vemurafenib".'
        assert (first["disease"], first["drugs"], first["variation_key"], first["position"]) == (
            "Melanoma", "Vemurafenib", "V600E", 600,
        )  # fmt: skip
        assert items[("hotspots", "17:7579529C>T:TP53:W53*")]["kind_group"] == "truncating"
        assert items[("table:mine.csv", "a1")]["variation_key"] == "G12D"  # p.Gly12Asp normalised
        assert items[("civic-genes", "5")]["gene"] == "BRAF"
        summary = stats(store)
        assert summary.items == len(items) and {s.source for s in summary.sources} == set(files)


def test_summaries_with_a_tab_inside_a_value_keep_the_rest_and_say_so(kb_url: str, tmp_path: Path) -> None:
    with open_store(kb_url) as store:
        result = import_path(store, write(tmp_path, "variants.tsv", VARIANT_SUMMARIES))
    assert result.added == 1 and "line(s) 3" in result.notes[0]


def test_both_civic_schemas_give_the_same_items(kb_url: str, tmp_path: Path) -> None:
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "old.tsv", CIVIC_2018[:2]))
        result = import_path(store, write(tmp_path, "new.tsv", CIVIC_CURRENT))
        # Item 1 is the same evidence in the new columns: only its quoted statement differs.
        assert (result.added, result.updated) == (1, 1)
        egfr = next(i for i in _items(store) if i["source_id"] == "6")
        assert (egfr["gene"], egfr["variation"], egfr["drugs"]) == ("EGFR", "T790M", "Erlotinib")


def test_importing_again_adds_nothing_and_a_new_release_updates_what_changed(
    kb_url: str, tmp_path: Path
) -> None:
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "r1.tsv", CIVIC_2018))
        again = import_path(store, tmp_path / "r1.tsv")
        assert again.already_imported and again.added == 0
        changed = [*CIVIC_2018[:5], CIVIC_2018[5].replace("poor prognosis", "worse prognosis")]
        newer = import_path(store, write(tmp_path, "r2.tsv", changed))
        assert (newer.added, newer.updated, newer.unchanged) == (0, 1, 4)
        with store.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Release)).scalar_one() == 2
            assert connection.execute(select(func.count()).select_from(Item)).scalar_one() == 5


def test_a_failed_import_leaves_the_store_as_it_was(
    kb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oncoclass.kb.load as load

    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "r1.tsv", CIVIC_2018[:3]))
        before = _items(store)
        monkeypatch.setattr(load, "_BATCH", 1)  # several statements, then a failure between them
        calls = {"n": 0}

        def failing(n: int) -> None:
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt

        class Bar:
            def start(self, total: int, desc: str) -> None: ...

            def __call__(self, n: int = 1) -> None:
                failing(n)

        with pytest.raises(KeyboardInterrupt):
            import_path(store, write(tmp_path, "r2.tsv", CIVIC_2018), progress=Bar())
        assert _items(store) == before
        with store.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Release)).scalar_one() == 1


def test_export_round_trips_through_import(kb_url: str, tmp_path: Path) -> None:
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "evidence.tsv", CIVIC_2018))
        import_path(store, write(tmp_path, "hotspots.tsv", HOTSPOTS))
        frame = export_frame(store)
    for suffix in ("csv", "tsv", "parquet"):
        out = tmp_path / f"export.{suffix}"
        from oncoclass.data.tables import save_frame

        save_frame(frame, out)
        with open_store(tmp_path / f"copy-{suffix}.sqlite") as copy:
            assert detect_source(out, out.read_bytes()) == "export"
            import_path(copy, out)
            assert export_frame(copy).equals(frame)


def test_a_file_that_is_no_source_is_refused_with_its_name(kb_url: str, tmp_path: Path) -> None:
    with open_store(kb_url) as store, pytest.raises(InputError, match=r"junk\.csv"):
        import_path(store, write(tmp_path, "junk.csv", ["a,b", "1,2"]))


@pytest.mark.realdata
def test_the_real_exports_import_fast_enough(real_data: Path, kb_url: str) -> None:
    import time

    with open_store(kb_url) as store:
        started, total = time.perf_counter(), 0
        for path in (
            real_data / "civic" / "2018-11-08-ClinicalEvidenceSummaries.tsv",
            real_data / "civic" / "2018-11-08-VariantSummaries.tsv",
            real_data / "civic" / "2018-11-08-GeneSummaries.tsv",
            real_data / "hotspots" / "cancerhotspots_v2_GRCh37.tsv",
        ):
            total += import_path(store, path).added
        elapsed = time.perf_counter() - started
        assert total == 2889 + 2073 + 364 + 3181
        # Not a timing test (benchmarks/kb_search.py measures): only a guard against a collapse
        # to row-at-a-time writes, two orders of magnitude below the target of 5,000 items/s.
        assert total / elapsed > 500


EXPORT_HEADER = "source,source_id,gene,variation,disease,drugs,label,statement,citation,url"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([EXPORT_HEADER, "s,1,BRAF,V600E,,,,,,", "s,1,BRAF,V600K,,,,,,"], "row 3: s:1 is also the item"),
        ([EXPORT_HEADER, "s,,BRAF,V600E,,,,,,"], "row 2: an item without a source_id"),
        (["id,gene,variation,label", f"1,{'G' * 150},V600E,a"], "row 2: a gene past the limit of 100"),
    ],
)  # fmt: skip
def test_items_that_cannot_be_kept_are_refused_with_their_row(
    kb_url: str, tmp_path: Path, lines: list[str], message: str
) -> None:
    with open_store(kb_url) as store, pytest.raises(InputError, match=message):
        import_path(store, write(tmp_path, "items.csv", lines))


def test_a_release_imported_again_puts_back_what_a_later_one_changed(kb_url: str, tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    first = write(tmp_path / "v1", "t.csv", ["id,gene,variation,label", "1,BRAF,V600E,a"])
    (tmp_path / "v2").mkdir()
    second = write(tmp_path / "v2", "t.csv", ["id,gene,variation,label", "1,BRAF,V600E,b"])
    with open_store(kb_url) as store:
        import_path(store, first)
        assert import_path(store, second).updated == 1
        back = import_path(store, first)
        assert (back.updated, back.already_imported) == (1, False)
        assert import_path(store, first).already_imported


def _provenance(store) -> list[tuple]:
    """Each item with the release it is filed under (name, digest, time), not the store's row IDs."""
    fields = [c for c in Item.__table__.columns if c.name not in ("id", "release_id")]
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(*fields, Release.source, Release.name, Release.sha256, Release.imported_at)
            .join(Release, Item.release_id == Release.id)
            .order_by(Item.source, Item.source_id)
        ).all()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("suffix", ["csv", "tsv", "parquet", "jsonl"])
def test_an_export_keeps_each_items_release_through_import(cli, tmp_path: Path, suffix: str) -> None:
    """``kb export`` then ``kb import`` into a new store gives the same items under the same
    releases (name, digest and time), not under one release named after the export; importing
    the export into its own store adds nothing, not even a release."""
    kb = tmp_path / "kb.sqlite"
    changed = [*CIVIC_2018[:5], CIVIC_2018[5].replace("poor prognosis", "worse prognosis")]
    for name, lines in (("r1.tsv", CIVIC_2018), ("r2.tsv", changed), ("h.tsv", HOTSPOTS)):
        assert cli(["kb", "import", write(tmp_path, name, lines), "--kb", kb]).returncode == 0
    out = tmp_path / f"export.{suffix}"
    assert cli(["kb", "export", "--kb", kb, "--out", out]).returncode == 0
    copy = tmp_path / "copy.sqlite"
    done = cli(["kb", "import", out, "--kb", copy])
    assert done.returncode == 0, done.stderr
    with open_store(kb) as original, open_store(copy) as restored:
        kept = _provenance(original)
        assert _provenance(restored) == kept
        assert {r[-3] for r in kept} == {"r1.tsv", "r2.tsv", "h.tsv"}  # TP53 R175H is r2's
        assert [s.releases for s in stats(restored).sources] == [s.releases for s in stats(original).sources]
        with original.engine.connect() as connection:
            releases = connection.execute(select(func.count()).select_from(Release)).scalar_one()
    again = cli(["kb", "import", out, "--kb", kb])
    assert again.returncode == 0 and "already in the store; nothing added" in again.stdout
    with open_store(kb) as original:
        assert _provenance(original) == kept
        with original.engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Release)).scalar_one() == releases


def test_an_export_without_releases_is_one_release_and_a_bad_time_is_refused(
    kb_url: str, tmp_path: Path
) -> None:
    """An older oncoclass's export (no release columns) still imports, as a release of its own;
    an ``imported_at`` that is no time is refused with its row, the store untouched."""
    columns = "source\tsource_id\tgene\tvariation\tdisease\tdrugs\tlabel\tstatement\tcitation\turl"
    old = write(tmp_path, "old.tsv", [columns, "civic\t1\tBRAF\tV600E\t\t\t\tA statement.\tPMID:1\t"])
    bad = write(
        tmp_path,
        "bad.tsv",
        [f"{columns}\trelease\trelease_sha256\timported_at",
         "civic\t1\tBRAF\tV600E\t\t\t\tA statement.\tPMID:1\t\tr1.tsv\tabc\tyesterday"],
    )  # fmt: skip
    with open_store(kb_url) as store:
        with pytest.raises(InputError, match=r"bad\.tsv, row 2: imported_at 'yesterday'"):
            import_path(store, bad)
        assert import_path(store, old).added == 1
        assert [s.releases[0].split(" (")[0] for s in stats(store).sources] == ["old.tsv"]


def test_rows_without_an_id_never_replace_another_files_rows(kb_url: str, tmp_path: Path) -> None:
    # Two files of one name (a pipe is always `-`, /dev/fd/63 always `63`), or --source naming
    # both: their rows were numbered 1, 2… and the second file's row 1 replaced the first's.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a", "lab.csv", ["gene,variation,text,label", "BRAF,V600E,activates,7",
                                              "KRAS,G12D,oncogenic,7", "KRAS,G12D,oncogenic,7"])  # fmt: skip
    second = write(tmp_path / "b", "lab.csv", ["gene,variation,text,label", "TP53,R175H,loses,4"])
    with open_store(kb_url) as store:
        for source in (None, "mylab"):
            added = import_path(store, first, source=source)
            assert (added.added, added.updated) == (3, 0)  # a row given twice is kept twice
            assert import_path(store, first, source=source).already_imported  # idempotent
            assert (import_path(store, second, source=source).added, 0) == (1, 0)
            again = import_path(store, second, source=source)
            assert again.already_imported and again.added == again.updated == 0
        genes = sorted(i["gene"] for i in _items(store) if i["source"] == "mylab")
        assert genes == ["BRAF", "KRAS", "KRAS", "TP53"]
        assert len({i["source_id"] for i in _items(store)}) == 4  # the same rows, the same keys


def test_an_id_that_now_names_another_variant_is_updated_and_said(kb_url: str, tmp_path: Path) -> None:
    # A corrected typo (G12C for G12D) must move the item: there is no other way to fix it. Two
    # different rows sharing an ID would make the same move, so it is said.
    first = write(tmp_path, "a.csv", ["id,gene,variation,label", "1,BRAF,V600E,a", "2,KRAS,G12D,a"])
    relabelled = write(tmp_path, "b.csv", ["id,gene,variation,label", "1,BRAF,p.Val600Glu,b"])
    other = write(tmp_path, "c.csv", ["id,gene,variation,label", "2,KRAS,G12D,c", "1,TP53,R175H,a"])
    with open_store(kb_url) as store:
        import_path(store, first, source="mylab")
        # A release saying something new of the same variant (in another notation) updates it, silently.
        again = import_path(store, relabelled, source="mylab")
        assert again.updated == 1 and not again.notes
        moved = import_path(store, other, source="mylab")
        assert moved.updated == 2
        said = " ".join(moved.notes)
        assert "1 item(s) now name another gene or variant" in said
        assert "mylab:1 (row 3) was BRAF" in said and "now TP53 R175H" in said
        item = next(i for i in _items(store) if (i["source"], i["source_id"]) == ("mylab", "1"))
        assert (item["gene"], item["variation"]) == ("TP53", "R175H")


def test_a_civic_release_that_moves_an_item_to_another_variant_updates_it(
    kb_url: str, tmp_path: Path
) -> None:
    # CIViC re-curates: a later release may correct the variant an evidence item is about, and
    # the item is still the one its ID names (a user's table's clash above is two rows).
    moved = [*CIVIC_2018[:5], CIVIC_2018[5].replace("TP53\tR175H", "TP53\tR248Q")]
    with open_store(kb_url) as store:
        import_path(store, write(tmp_path, "r1.tsv", CIVIC_2018))
        newer = import_path(store, write(tmp_path, "r2.tsv", moved))
        assert (newer.added, newer.updated) == (0, 1)
        item = next(i for i in _items(store) if (i["source"], i["source_id"]) == ("civic", "5"))
        assert (item["gene"], item["variation"]) == ("TP53", "R248Q")


@pytest.mark.parametrize("name", ["civic", "Hotspots", "kaggle", "table:lab.csv", "kaggle:x"])
def test_a_users_table_cannot_take_a_built_in_sources_name(tmp_path: Path, name: str) -> None:
    from oncoclass.errors import ConfigError
    from oncoclass.kb.load import prepare

    lab = write(tmp_path, "lab.csv", ["id,gene,variation,label", "1,TP53,R175H,a"])
    with pytest.raises(ConfigError, match="one oncoclass gives its own sources") as refused:
        prepare(lab, source=name)
    assert refused.value.field == "source"
