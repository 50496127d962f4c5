"""CIViC ClinicalEvidenceSummaries exports, every schema seen in real releases.

The file is tab-separated with no quoting (statements contain ``"``). Column names moved between
releases (``pubmed_id`` → ``citation_id``, ``drugs`` → ``therapies``, ``clinical_significance`` →
``significance``, gene + variant → ``molecular_profile``), so columns are found through aliases.

The curated outcome columns (evidence type, direction, significance, level, rating) are what a
curator decides; they form the label and never reach a model as input.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pandas as pd

from oncoclass.config import cache_dir
from oncoclass.data.files import blank_bytes, decode, ragged_row, read_text, refuse_cut_short
from oncoclass.data.table import CONTEXT_FIELDS, GENE, ID, LABEL, TEXT, VARIATION, canonicalize, cell_text
from oncoclass.errors import InputError
from oncoclass.variation import hgvs_fusion, is_compound, negates

NIGHTLY_URL = "https://civicdb.org/downloads/nightly/nightly-ClinicalEvidenceSummaries.tsv"

ALIASES: dict[str, tuple[str, ...]] = {
    "evidence_id": ("evidence_id", "id"),
    "gene": ("gene", "gene_name"),
    "variant": ("variant", "variant_name"),
    "molecular_profile": ("molecular_profile", "molecular_profile_name"),
    "statement": ("evidence_statement", "statement", "description", "evidence_description"),
    "disease": ("disease", "disease_name"),
    "drugs": ("drugs", "therapies", "drug"),
    "evidence_type": ("evidence_type",),
    "significance": ("clinical_significance", "significance"),
    "evidence_level": ("evidence_level",),
    "evidence_direction": ("evidence_direction",),
    "citation_id": ("citation_id", "pubmed_id", "source_id"),
    # The current schema's kind of source: PubMed, ASCO, ASH… (the 2018 export cites PubMed only).
    "source_type": ("source_type",),
    "url": ("evidence_civic_url", "evidence_url", "url"),
}
#: Curated by CIViC's editors: the answer, so never a model input.
OUTCOME_COLUMNS = (
    "evidence_type",
    "evidence_direction",
    "clinical_significance",
    "significance",
    "evidence_level",
    "rating",
)
SIGNATURE = {"evidence_statement", "evidence_type", "evidence_id", "molecular_profile"}
#: What a model can learn to predict from a CIViC export: ``significance`` (the evidence type and
#: its clinical significance, "Predictive: Resistance"), or one curated field alone.
TARGETS: tuple[str, ...] = ("significance", "evidence_type", "evidence_level", "evidence_direction")


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise InputError(f"the target must be one of {', '.join(TARGETS)}, not {target!r}.")
    return target


def looks_like_civic(header: list[str]) -> bool:
    names = {h.strip().lower() for h in header}
    return len(names & SIGNATURE) >= 2


def _find(columns: list[str], key: str) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for alias in ALIASES[key]:
        if alias in lowered:
            return lowered[alias]
    return None


#: How CIViC's current schema writes a fusion partner (``EML4::ALK Fusion``, ``BCR::ABL1 e14-a2``,
#: ``?::NTRK1``, ``NKX2-1::…``): any symbol, its placeholders for an unnamed partner included.
_PARTNER = r"[^\s:]"
#: What CIViC writes for a fusion partner it does not name (``?::NTRK1``, ``v::ALK``).
_UNNAMED = frozenset({"?", "v"})


def split_profile(profile: str) -> tuple[str, str, bool]:
    """A current-schema molecular profile as the gene and variant CIViC's gene + variant schema
    filed it under, and whether it is a compound profile; the one rule for every reader of a
    profile (training tables and ``kb import`` both go through :func:`load_civic`).

    * ``BRAF V600E`` → ``BRAF``, ``V600E``.
    * ``EML4::ALK Fusion`` → ``ALK``, ``EML4-ALK Fusion``: the 2018 export filed a fusion under
      its 3' partner (the kinase: ALK ``EML4-ALK``, ABL1 ``BCR-ABL``) with the partners joined by
      ``-``, which :func:`oncoclass.variation.parse` reads as the same fusion either way.
    * ``EGFR L858R AND EGFR T790M``, ``NOT BRAF V600E``, ``BRAF V600E OR BRAF V600K``: several
      variants (or the absence of one) are no one variant. The item is filed under the first gene
      it names with the whole profile as its variation, which the grammar parses as no change of
      its own (:func:`oncoclass.variation.is_compound`): it is evidence about the gene, found at
      gene level and never as the variant it names. A profile that negates a variant (``NOT``,
      :func:`oncoclass.variation.negates`) is evidence about that variant's absence: the store
      keeps it with its label, and search ranks it last, in a tier of its own that retrieval and
      its features leave out (:data:`oncoclass.kb.search.ABSENCE`). The caller counts these in a note.
    """
    text = " ".join(profile.split())
    if is_compound(text):
        words = [w for w in text.split(" ") if w.upper() not in ("NOT", "AND", "OR") and w != "("]
        first = words[0].strip("()") if words else ""
        fusion = hgvs_fusion(first, partner=_PARTNER)
        return (_filed_under(fusion[0], fusion[1]) if fusion else first).upper(), text, True
    fusion = hgvs_fusion(text, partner=_PARTNER)
    if fusion:
        five, three, rest = fusion[0], fusion[1], fusion[2].strip()
        if five in _UNNAMED or three in _UNNAMED:  # one partner named: a fusion of that gene
            return _filed_under(five, three).upper(), rest or "Fusion", False
        return three.upper(), f"{five}-{three}{' ' + rest if rest else ''}", False
    gene, _, variant = text.partition(" ")
    # A profile of one word names a gene alone; its variation is then that word, as before.
    return gene, variant or text, False


def _filed_under(five: str, three: str) -> str:
    """The gene a fusion is filed under: its 3' partner, or the one partner CIViC names."""
    return five if three in _UNNAMED else three


def compound_note(path: str | Path, rows: list[int], negated: int = 0) -> str:
    shown = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
    absent = (
        f" {negated} of them negate a variant (NOT): evidence about its absence, kept with its label "
        "but never counted as the gene's evidence by retrieval or its features."
        if negated
        else ""
    )
    return (
        f"{path}: {len(rows)} compound molecular profile(s) (AND / OR / NOT between variants) kept "
        "under the first gene each names, the whole profile as the variation: gene-level evidence, "
        f"never one variant; row(s) {shown}.{absent}"
    )


def citation_key(value: object, source_type: object = "") -> str:
    """A citation as the store and the citation groups keep it, the one rule: a PubMed ID (a bare
    number with no source type, or of type PubMed) is ``PMID:<id>``; another source's ID is named
    by its type (an ASCO abstract ``ASCO:128093``), a DOI link ``doi:…`` (which
    :func:`oncoclass.report.citation_link` links), so a conference abstract is never shown or
    matched as a PubMed article. A citation already qualified is kept as it is."""
    text = cell_text(value, collapse=True)
    kind = cell_text(source_type, collapse=True)
    lowered = text.lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/"):
        if lowered.startswith(prefix):
            return "doi:" + text[len(prefix) :]
    if not text or not text.isdigit():
        return text
    if kind and kind.lower() != "pubmed":
        return f"{kind.upper()}:{text}"
    return f"PMID:{text}"


def read_rows(
    path: str | Path, data: bytes | None = None, *, skipped: list[int] | None = None
) -> pd.DataFrame:
    """The raw TSV with quoting off; rows with extra *empty* trailing fields are accepted (a real
    2018 export has one), a row with fewer fields than the header is refused. A row
    with more non-empty fields than the header (a value holding a tab: which column it belongs to
    cannot be known) is an error, or, when the caller passes a ``skipped`` list, left out and its
    line number added to that list for the caller to report."""
    content = read_text(path) if data is None else decode(data, path)
    refuse_cut_short(content, path, delimiter="\t", quoted=False)
    # Blank lines (empty, or of spaces: blank_bytes) are skipped and counted, as every reader does.
    blank = blank_bytes(b"\t").decode()
    numbered = [
        (number, line) for number, line in enumerate(content.split("\n"), start=1) if line.strip(blank)
    ]
    if not numbered:
        raise InputError("the file is empty.", path=path)
    header = numbered[0][1].split("\t")
    width = len(header)
    body: list[list[str]] = []
    kept: list[int] = []  # each row's line in the file (blank lines and rows left out aside)
    for number, line in numbered[1:]:
        fields = line.split("\t")
        if len(fields) > width:
            if any(f.strip() for f in fields[width:]):
                if skipped is not None:
                    skipped.append(number)
                    continue
                raise InputError(
                    f"{len(fields)} tab-separated fields where the header has {width}.",
                    path=path,
                    row=number,
                    hint="A value probably contains a tab; remove it.",
                )
            fields = fields[:width]
        elif len(fields) < width:  # values lost (or tabs stripped): which ones cannot be known
            raise ragged_row(len(fields), width, path=path, row=number, delimiter="\t")
        body.append(fields)
        kept.append(number)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    frame.attrs["lines"] = kept
    return frame


def columns_of(raw: pd.DataFrame) -> dict[str, str | None]:
    """Each of :data:`ALIASES`' keys → the column of ``raw`` that holds it (None when absent)."""
    return {key: _find(list(raw.columns), key) for key in ALIASES}


def load_civic(
    path: str | Path,
    data: bytes | None = None,
    *,
    raw: pd.DataFrame | None = None,
    target: str = "significance",
    keep: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The export as the canonical table, labelled by ``target`` (see :data:`TARGETS`); ``raw`` is
    :func:`read_rows`' result when the caller has read the rows already (the evidence store reads
    them for its own fields too). Whatever the target, no curated field is an input."""
    check_target(target)
    raw = read_rows(path, data) if raw is None else raw
    columns = list(raw.columns)
    if not looks_like_civic(columns):
        raise InputError(
            "does not look like a CIViC ClinicalEvidenceSummaries export "
            "(no evidence_id / evidence_statement / evidence_type columns).",
            path=path,
        )
    found = columns_of(raw)
    if found["evidence_id"] is None:
        raise InputError("no evidence_id column.", path=path)
    notes: list[str] = []
    # Each row's line in the file (read_rows keeps them): a row is named by the line an editor
    # shows, past blank lines and rows left out, not by the header plus its position.
    lines = raw.attrs.get("lines")
    row_of = lines.__getitem__ if lines is not None and len(lines) == len(raw) else None
    at = row_of or (lambda position: position + 2)
    frame = pd.DataFrame({ID: raw[found["evidence_id"]]})
    if found["gene"] and found["variant"]:
        frame[GENE] = raw[found["gene"]]
        frame[VARIATION] = raw[found["variant"]]
    elif found["molecular_profile"]:
        # Newer exports name a molecular profile ("BRAF V600E") instead of gene + variant.
        split = [split_profile(p) for p in raw[found["molecular_profile"]].fillna("")]
        frame[GENE] = [gene for gene, _, _ in split]
        frame[VARIATION] = [variation for _, variation, _ in split]
        compound = [at(position) for position, (_, _, many) in enumerate(split) if many]
        if compound:
            negated = sum(negates(variation) for _, variation, many in split if many)
            notes.append(compound_note(path, compound, negated))
    else:
        raise InputError("no gene/variant or molecular_profile columns.", path=path)
    frame[TEXT] = raw[found["statement"]] if found["statement"] else ""
    for key in CONTEXT_FIELDS:  # joined into the context by the table's one rule
        if found[key]:
            frame[key] = raw[found[key]]
    if target != "significance":
        if not found[target]:
            raise InputError(f"no {target} column, so it cannot be the target.", path=path)
        frame[LABEL] = raw[found[target]].str.strip()
    elif found["evidence_type"]:
        kind = raw[found["evidence_type"]].str.strip()
        significance = (
            raw[found["significance"]].str.strip()
            if found["significance"]
            else pd.Series("", index=raw.index)
        )
        # A blank significance is CIViC's "not applicable" (its current schema spells it N/A),
        # not a class of its own named "Predictive:".
        significance = significance.where(significance != "", "N/A")
        label = kind + ": " + significance
        frame[LABEL] = label.where(kind != "", "")
    table = canonicalize(frame, source=path, keep=keep, as_read=raw, row_of=row_of)
    table.attrs["source"] = str(path)
    table.attrs["notes"] = notes
    if found["citation_id"]:
        kinds = raw[found["source_type"]] if found["source_type"] else [""] * len(raw)
        table.attrs["groups"] = {
            "citation": [citation_key(c, k) for c, k in zip(raw[found["citation_id"]], kinds, strict=True)]
        }
    return table


def download_civic(
    dest_dir: str | Path | None = None, *, url: str = NIGHTLY_URL, timeout: float = 60.0
) -> Path:
    """Fetch CIViC's nightly evidence export into the cache, atomically; return its path.

    The download is checked by parsing it before it replaces any earlier copy.
    """
    dest = Path(dest_dir) if dest_dir else cache_dir() / "civic"
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / "nightly-ClinicalEvidenceSummaries.tsv"
    partial = target.with_suffix(".tsv.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InputError(
            f"could not download {url} ({exc}).",
            hint="Check the network, or download the file by hand and pass it with --input.",
        ) from exc
    try:
        load_civic(partial)
    except InputError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target
