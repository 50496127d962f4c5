"""The variation grammar: what kind of change a protein-level description names.

Covers the notation in Kaggle's and CIViC's data: point changes (``V600E``, ``W802*``,
``p.Val600Glu``), indels (``E746_A750del``, ``S768_V769insVAS``, ``A859_L883delinsV``,
``A502_Y503dup``), frameshifts (``F1088Lfs*5``), splice sites (``A113_splice``,
``963_D1010splice``), truncations (``2010_2471trunc``, ``Truncating Mutations``), copy number
(``Amplification``, ``Deletion``, ``Copy Number Loss``), fusions (``EML4-ALK Fusion``,
``Fusions``, ``BCR-ABL``), regions (``Exon 19 deletion``, ``DNA binding domain missense
mutations``), epigenetic changes (``Promoter Hypermethylation``), residue-only (``R1627``) and
named isoforms (``EGFRvIII``, ``AR-V7``); and Oncotator's spellings in older TCGA MAFs
(``WQ288fs``, ``SG140del``, ``598_598E>EMVQ…``, ``-770fs``). Anything else parses as kind
``other``; parsing never fails, because a model must still predict for notation nobody
anticipated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

KINDS: tuple[str, ...] = (
    "missense",
    "nonsense",
    "synonymous",
    "frameshift",
    "inframe_deletion",
    "insertion",
    "delins",
    "duplication",
    "splice",
    "truncating",
    "amplification",
    "gene_deletion",
    "overexpression",
    "underexpression",
    "loss",
    "fusion",
    "promoter",
    "methylation",
    "exon",
    "domain",
    "position",
    "isoform",
    "any_mutation",
    "wildtype",
    "other",
)

THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E",
    "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F",
    "PRO": "P", "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V", "TER": "*",
}  # fmt: skip
#: Codes HGVS also allows that no model vocabulary uses on its own.
_RARE_THREE = {"SEC": "U", "PYL": "O", "XAA": "X"}
AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


@dataclass(frozen=True)
class Variation:
    """A parsed variation. ``start``/``end`` are 1-based residue positions when the text has them."""

    raw: str
    kind: str
    ref: str = ""
    alt: str = ""
    start: int | None = None
    end: int | None = None
    partners: tuple[str, ...] = field(default=())
    exon: int | None = None

    @property
    def length(self) -> int:
        if self.start is None:
            return 0
        return (self.end or self.start) - self.start + 1


_AA = "[ACDEFGHIKLMNPQRSTVWY]"
_THREE = "(?:" + "|".join(k.capitalize() for k in THREE_TO_ONE) + ")"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # Oncotator (older TCGA MAFs) names the residues a frameshift starts in, WQ288fs (NPM1's
    # W288Cfs*12), or none, -770fs: the change is a frameshift from the first of them.
    # Its further residues in upper case only: Lys745fs is three-letter HGVS, not L, Y and S.
    (
        "frameshift",
        re.compile(rf"^(?:({_AA})(?-i:{_AA}*)|-)?(\d+)(?:{_AA})?fs(?:\*|X|Ter)?(?:\d+|\?)?$", re.I),
    ),
    ("delins", re.compile(rf"^({_AA})?(\d+)(?:_({_AA})?(\d+))?delins([A-Z*]+)$", re.I)),
    ("inframe_deletion", re.compile(rf"^({_AA})?(\d+)(?:_({_AA})?(\d+))?del({_AA}*)$", re.I)),
    ("insertion", re.compile(rf"^({_AA})?(\d+)_({_AA})?(\d+)ins([A-Z*]*)$", re.I)),
    ("duplication", re.compile(rf"^({_AA})?(\d+)(?:_({_AA})?(\d+))?dup({_AA}*)$", re.I)),
    # MAF and VEP write a splice change at residue 125 as X125_splice (X: no amino acid).
    ("splice", re.compile(rf"^({_AA}|X)?(\d+)(?:_({_AA})?(\d+))?_?splice$", re.I)),
    ("truncating", re.compile(rf"^({_AA})?(\d+)(?:_({_AA})?(\d+))?_?trunc$", re.I)),
]
_POINT = re.compile(rf"^({_AA}|\*)(\d+)({_AA}|\*|X|Ter|=)(?:/({_AA}|\*))*$")
#: The characters of a fusion partner :func:`protein_change` reads in any user's text: a gene
#: symbol's letters, digits and dots (CIViC's reader allows more: its placeholders ``?`` and ``v``).
_SYMBOL = "[A-Za-z0-9.]"


@lru_cache(maxsize=8)
def _hgvs_fusion(partner: str) -> re.Pattern[str]:
    return re.compile(rf"^({partner}+)::({partner}+)(?=\s|$)")


def hgvs_fusion(text: str, *, partner: str = _SYMBOL) -> tuple[str, str, str] | None:
    """HGVS's fusion ``A::B`` (``EML4::ALK``) at the start of ``text``: the 5' partner, the 3' one
    and the rest of the text after them (its leading white space kept), or None. The one reader of
    ``A::B``: ``partner`` is the character class a partner is written with."""
    match = _hgvs_fusion(partner).match(text)
    return (match.group(1), match.group(2), text[match.end() :]) if match else None


#: A one-letter point change in any case; read upper-cased by :data:`_POINT`.
_POINT_ANY_CASE = re.compile(rf"^({_AA}|\*)(\d+)({_AA}|\*|=|X)$", re.I)
#: A stop-loss extension, p.*757Lext*? (HGVS): the stop codon replaced, the protein read on.
_EXTENSION = re.compile(rf"^(\*)(\d+)({_AA})ext\*?(?:\d+|\?)?$", re.I)
_POSITION = re.compile(rf"^({_AA})(\d+)$", re.I)
#: A lost start codon, p.M1? (HGVS: the protein's consequence unknown): a change at residue 1.
_START_LOST = re.compile(rf"^({_AA})(1)\?$", re.I)
#: Oncotator's (older TCGA MAFs) in-frame changes: the residues deleted from a start,
#: SG140del (S140_G141del), and a span's residues replaced, 310_311TQ>TKQNPQ (an insertion of
#: KQNP between T310 and Q311) or 307_309NVE>K (a deletion-insertion).
#: Upper case only, as Oncotator writes them: p.Lys745del is three-letter HGVS (K745del).
_RESIDUES_DELETED = re.compile(rf"^({_AA}{{2,}})(\d+)del$")
_SPAN_REPLACED = re.compile(r"^(\d+)_(\d+)([A-Z*]+)>([A-Z*]+)$", re.I)
_THREE_LETTER = re.compile(rf"^({_THREE})(\d+)({_THREE}|\*|=|fs.*)$", re.I)
#: Any change that begins with a three-letter residue and its position (``Glu746_Ala750del``,
#: ``Gln16ArgfsTer28``), in any case: read once its codes are one letter.
_LEADS_THREE = re.compile(rf"^{_THREE}\d", re.I)
_FUSION_PAIR = re.compile(
    r"^([A-Z0-9][A-Z0-9.]*)\s*(?:::|[-:/])\s*([A-Z0-9][A-Z0-9.]*)(?:\s+fusions?)?$", re.I
)
_EXON = re.compile(r"\bexon\s*(\d+)", re.I)
_ISOFORM = re.compile(r"(v[IVX]+$|^[A-Z0-9]+-?V\d+$|^p\d+|es$)", re.I)

_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("truncating", re.compile(r"^truncating( mutations?)?$|^nonsense$|^truncation", re.I)),
    ("amplification", re.compile(r"^(amplification|copy number gain|gain)$", re.I)),
    ("gene_deletion", re.compile(r"^(\d'\s*)?(deletion|copy number loss|homozygous deletion)$", re.I)),
    ("overexpression", re.compile(r"^(over)?expression$", re.I)),
    ("underexpression", re.compile(r"^(under|loss of )expression$", re.I)),
    ("loss", re.compile(r"^(loss|loss[- ]of[- ]function|biallelic inactivation)$", re.I)),
    ("fusion", re.compile(r"^(fusions?|rearrangements?|translocation)$", re.I)),
    ("methylation", re.compile(r"(hyper|hypo)?methylation", re.I)),
    ("promoter", re.compile(r"promoter", re.I)),
    ("wildtype", re.compile(r"^wild[- ]?type$", re.I)),
    ("any_mutation", re.compile(r"^(mutations?|mutant|any mutation)$", re.I)),
]


#: CIViC's compound molecular profiles: ``EGFR L858R AND EGFR T790M``, ``NOT BRAF V600E``,
#: ``BRAF V600E OR BRAF V600K`` (the operators upper-case, as CIViC writes them, so a word such
#: as "and" in a free description is not one).
_COMPOUND = re.compile(r"^\(?NOT\s|\s(?:AND|OR)\s|\sNOT\s")


def is_compound(text: str) -> bool:
    """Whether ``text`` joins several variants (or negates one): no one change, so it parses as
    ``other`` and never shares a variant, residue or kind with a single change."""
    return bool(_COMPOUND.search(" ".join(str(text).split())))


_NEGATED = re.compile(r"(?:^|[\s(])NOT\s")


def negates(text: str) -> bool:
    """Whether ``text`` is a compound profile that negates a variant (``NOT KRAS G12C``,
    ``EGFR L858R AND NOT EGFR T790M``): evidence about a variant's *absence*, so never evidence
    about the gene it names being altered."""
    text = " ".join(str(text).split())
    return is_compound(text) and bool(_NEGATED.search(text))


def _pos(text: str | None) -> int | None:
    return int(text) if text else None


#: Past the longest human protein (titin, about 35,000 residues) a "position" is not one: such a
#: change parses as ``other`` rather than reaching a database column or a feature as a huge number.
MAX_RESIDUE = 100_000


@lru_cache(maxsize=65536)
def parse(raw: str) -> Variation:
    """Parse one variation string. Never raises: unknown notation becomes kind ``other``."""
    parsed = _parse(raw)
    if max(parsed.start or 0, parsed.end or 0, parsed.exon or 0) > MAX_RESIDUE:
        return Variation(raw, "other")
    return parsed


#: HGVS's whole-protein consequences, written after ``p.`` (in parentheses when predicted): ``=``
#: the protein is unchanged (silent), ``0`` or ``0?`` no protein is made. They name no residue.
UNCHANGED_PROTEIN, NO_PROTEIN = "p.=", "p.0"
_WHOLE_PROTEIN = {"=": UNCHANGED_PROTEIN, "0": NO_PROTEIN, "0?": NO_PROTEIN}


def _parse(raw: str) -> Variation:
    text = " ".join(str(raw).split())
    hgvs = text.lower().startswith("p.")
    if hgvs:
        text = text[2:]
    text = text.strip("()")
    if not text or is_compound(text):
        return Variation(raw=raw, kind="other")
    if hgvs and text in _WHOLE_PROTEIN:
        # No protein made ends it as surely as a stop at its first residue: a truncating change.
        unchanged = _WHOLE_PROTEIN[text] == UNCHANGED_PROTEIN
        return Variation(raw, "synonymous" if unchanged else "truncating")
    three = _THREE_LETTER.match(text)
    if three:
        ref = THREE_TO_ONE[three.group(1).upper()]
        tail = three.group(3)
        if tail.lower().startswith("fs"):
            return Variation(raw, "frameshift", ref=ref, start=int(three.group(2)))
        alt = "*" if tail == "*" else (ref if tail == "=" else THREE_TO_ONE[tail.upper()])
        return _point(raw, ref, int(three.group(2)), alt)
    # A one-letter change written in lower case (v600e, p.v600e) is the same change: read upper.
    point = _POINT.match(text) or (_POINT_ANY_CASE.match(text) and _POINT.match(text.upper()))
    if point:
        alt = point.group(3)
        alt = "*" if alt in ("*", "X", "Ter") else (point.group(1) if alt == "=" else alt)
        return _point(raw, point.group(1), int(point.group(2)), alt)
    extension = _EXTENSION.match(text)
    if extension:
        return _point(raw, "*", int(extension.group(2)), extension.group(3))
    oncotator = _oncotator(raw, text)
    if oncotator is not None:
        return oncotator
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            groups = match.groups()
            start = _pos(groups[1])
            end = _pos(groups[3]) if len(groups) > 3 else None
            alt = groups[4] if len(groups) > 4 and groups[4] else ""
            return Variation(raw, kind, ref=(groups[0] or "").upper(), alt=alt.upper(), start=start, end=end)
    position = _POSITION.match(text) or _START_LOST.match(text)
    # Lower case is the same residue (r1627 is R1627), but CIViC names BRAF's p61 isoform so.
    if position and (text[0].isupper() or not _ISOFORM.search(text)):
        return Variation(raw, "position", ref=position.group(1).upper(), start=int(position.group(2)))
    if _LEADS_THREE.match(text):
        # The long HGVS forms of frameshifts, indels and extensions: the same change as its
        # one-letter spelling (p.Gln16ArgfsTer28 is Q16Rfs*28), so it gets that kind and key.
        one = _one_letter(text, re.I)
        if not _LEADS_THREE.match(one):
            return replace(_parse(one), raw=raw)
    lowered = text.lower()
    exon = _EXON.search(text)
    if exon:
        return Variation(raw, "exon", exon=int(exon.group(1)))
    if "domain" in lowered:
        return Variation(raw, "domain")
    for kind, pattern in _WORDS:
        if pattern.search(text):
            return Variation(raw, kind)
    fusion = _FUSION_PAIR.match(text)
    if (
        fusion
        and not _ISOFORM.search(text)
        and ("fusion" in lowered or (fusion.group(1).isupper() and fusion.group(2).isupper()))
    ):
        return Variation(raw, "fusion", partners=(fusion.group(1).upper(), fusion.group(2).upper()))
    if "fusion" in lowered:
        return Variation(raw, "fusion")
    if _ISOFORM.search(text) or re.search(r"\bV\d+\b|splice variant|isoform", text):
        return Variation(raw, "isoform")
    return Variation(raw, "other")


def _oncotator(raw: str, text: str) -> Variation | None:
    """Oncotator's in-frame notations as the HGVS change they name, or None."""
    deleted = _RESIDUES_DELETED.match(text)
    if deleted:
        residues, start = deleted.group(1), int(deleted.group(2))
        return Variation(raw, "inframe_deletion", ref=residues[0], start=start, end=start + len(residues) - 1)
    replaced = _SPAN_REPLACED.match(text)
    if not replaced:
        return None
    start, ref, alt = int(replaced.group(1)), replaced.group(3).upper(), replaced.group(4).upper()
    # What the two sides share at either end is kept; the change is what lies between.
    head = 0
    while head < min(len(ref), len(alt)) and ref[head] == alt[head]:
        head += 1
    tail = 0
    while tail < min(len(ref), len(alt)) - head and ref[-1 - tail] == alt[-1 - tail]:
        tail += 1
    lost, gained = ref[head : len(ref) - tail], alt[head : len(alt) - tail]
    first = start + head
    if "*" in gained:  # a stop read in: the protein ends there
        at = gained.index("*")
        return _point(raw, lost[at] if at < len(lost) else "", first + at, "*")
    if not lost and not gained:
        return Variation(raw, "synonymous", ref=ref[0], alt=ref[0], start=start, end=start)
    if not lost:  # inserted between the residue before and the one after
        before = ref[head - 1] if head else ""
        return Variation(raw, "insertion", ref=before, alt=gained, start=first - 1, end=first)
    end = first + len(lost) - 1
    if not gained:
        return Variation(raw, "inframe_deletion", ref=lost[0], start=first, end=end if end > first else None)
    if len(lost) == 1 and len(gained) == 1:
        return _point(raw, lost, first, gained)
    return Variation(raw, "delins", ref=lost[0], alt=gained, start=first, end=end if end > first else None)


def _point(raw: str, ref: str, position: int, alt: str) -> Variation:
    ref = ref.upper()
    alt = alt.upper()
    if alt == "*":
        kind = "nonsense"
    elif ref == "*":
        kind = "missense"  # stop-loss reads like a substitution of the stop codon
    elif ref == alt:
        kind = "synonymous"
    else:
        kind = "missense"
    return Variation(raw, kind, ref=ref, alt=alt, start=position, end=position)


_SUFFIX = {"inframe_deletion": "del", "insertion": "ins", "duplication": "dup", "truncating": "trunc"}
#: Kinds that all end the protein early: in a tumour suppressor they tend to mean the same.
_TRUNCATING = frozenset({"nonsense", "frameshift", "splice", "truncating"})


def kind_group(kind: str) -> str:
    """The family a kind belongs to when comparing changes in one gene ("the same kind of
    change"): every protein-truncating kind is ``truncating``; the others are themselves."""
    return "truncating" if kind in _TRUNCATING else kind


#: Fusion partners written under a symbol HGNC has since replaced (a previous symbol, or the
#: alias the literature used before the rename) -> the current symbol, so that a fusion's partners
#: are matched by gene: CIViC's 2018 export writes ``BCR-ABL`` where its current schema writes
#: ``BCR::ABL1``. Only the renames seen as fusion partners in CIViC's and Kaggle's files are listed
#: (the store keeps no gene aliases: CIViC's gene summaries carry none); a symbol is never guessed
#: from its prefix (ABL2 is another gene). Used by the store's keys and searches only: a model reads
#: the partners as written.
PARTNER_SYMBOLS: dict[str, str] = {
    "ABL": "ABL1", "MLL": "KMT2A", "TEL": "ETV6", "NPM": "NPM1", "EVI1": "MECOM", "MOZ": "KAT6A",
    "ZNF198": "ZMYM2", "CEP110": "CNTRL", "FIG": "GOPC", "MGEA5": "OGA", "NUT": "NUTM1",
}  # fmt: skip


def partner_gene(symbol: str) -> str:
    """A fusion partner's gene as HGNC names it now (:data:`PARTNER_SYMBOLS`), upper case."""
    symbol = symbol.strip().upper()
    return PARTNER_SYMBOLS.get(symbol, symbol)


def variation_key(raw: str) -> str:
    """One spelling per change, whatever the notation: ``p.Val600Glu``, ``p.V600E``, ``(V600E)``
    and ``V600E`` all give ``V600E``; ``p.Q16Rfs*28``, ``p.Gln16ArgfsTer28`` and ``Q16fs`` give
    ``Q16fs``; ``p.Glu746_Ala750del``, ``E746_A750del`` and ``e746_a750del`` one key. Changes the
    grammar places but does not spell out keep their kind and residues; anything else is its
    lower-cased text without ``p.``, so two spellings of an unparsed change match only when equal."""
    parsed = parse(raw)
    if parsed.kind in ("missense", "nonsense", "synonymous") and parsed.start is not None:
        return f"{parsed.ref}{parsed.start}{parsed.alt}"
    if parsed.start is not None:
        span = f"{parsed.start}" if parsed.end in (None, parsed.start) else f"{parsed.start}_{parsed.end}"
        if parsed.kind in ("frameshift", "position"):
            return f"{parsed.ref}{span}{'fs' if parsed.kind == 'frameshift' else ''}"
        return f"{span}{_SUFFIX.get(parsed.kind, parsed.kind)}{parsed.alt}"
    if parsed.kind == "fusion" and parsed.partners:  # by gene: BCR-ABL and BCR::ABL1 are one fusion
        return "-".join(map(partner_gene, parsed.partners)) + " fusion"
    text = " ".join(str(raw).split()).lower()
    text = text[2:] if text.startswith("p.") else text
    return text.strip("()")


_THREE_ANY = re.compile("|".join(k.capitalize() for k in (*THREE_TO_ONE, *_RARE_THREE)))
_STARTS_THREE = re.compile(rf"^\(?{_THREE}\d")


def protein_change(raw: str) -> str:
    """HGVS protein notation as the grammar and the models' vocabularies write it: ``p.`` and
    the parentheses of a predicted change dropped, three-letter codes as one letter (``Ter`` as
    ``*``). ``p.Val600Glu``, ``p.(V600E)`` and ``V600E`` all become ``V600E``;
    ``p.Glu746_Ala750del`` becomes ``E746_A750del``, ``p.Gln16ArgfsTer28`` ``Q16Rfs*28``;
    ``p.(=)`` is ``p.=`` and ``p.0?`` is ``p.0`` (:data:`UNCHANGED_PROTEIN`, :data:`NO_PROTEIN`). Text
    that is not protein notation (``Truncating Mutations``, ``EML4-ALK Fusion``) is returned as it
    was, white space aside."""
    text = " ".join(str(raw).split())
    if ":p." in text or ":P." in text:
        # The protein named first: ENSP…:p.Val600Glu (VEP, snpEff), or ANNOVAR's AAChange
        # (BRAF:NM_004333:exon15:c.T1799A:p.V600E, one entry per transcript: the first that
        # names a protein change is read; a non-coding transcript's entry names none).
        entry = next(e for e in text.split(",") if ":p." in e or ":P." in e)
        text = entry.rsplit(":", 1)[-1].strip()
    if text[:2].lower() == "p.":
        body = text[2:].strip()
    elif _STARTS_THREE.match(text):
        body = text
    else:
        # HGVS's fusion EML4::ALK (CIViC's current schema) as the grammar and CIViC's 2018
        # export write it, EML4-ALK, so both spellings are one change to every model.
        fusion = hgvs_fusion(text)
        return _point_change(text) or (f"{fusion[0]}-{fusion[1]}{fusion[2]}" if fusion else text)
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1].strip()
    if body in _WHOLE_PROTEIN:
        # Kept with its "p.": a bare "=" or "0" names no change (and "=" would begin a formula).
        return _WHOLE_PROTEIN[body]
    point = _point_change(body)
    if point:
        return point
    body = _one_letter(body)
    return body or text


def _one_letter(text: str, flags: int = 0) -> str:
    """``text`` with each three-letter amino-acid code as its one letter (``Ter`` as ``*``);
    ``flags=re.I`` also reads codes not written capitalised."""
    codes = re.compile(_THREE_ANY.pattern, flags)
    return codes.sub(lambda m: {**THREE_TO_ONE, **_RARE_THREE}[m.group(0).upper()], text)


#: A one-letter change whose first residue is written in lower case (``e746_a750del``).
_LOWER_SPAN = re.compile(r"^[a-z]\d")
_SPAN_KINDS = frozenset(
    {"position", "frameshift", "inframe_deletion", "insertion", "delins", "duplication", "splice"}
    | {"truncating"}
)
#: The keyword after a span's last position (and a frameshift's new residue), upper-cased.
_KEYWORD = re.compile(r"(?<=\d)([A-Z]?)(DELINS|DEL|INS|DUP|FS|_?SPLICE|_?TRUNC)")


def _point_change(body: str) -> str:
    """A point change in any case as one-letter upper case (``v600e`` → ``V600E``,
    ``val600glu`` → ``V600E``, ``l858=`` → ``L858=``): the case of a written change carries no
    meaning. Empty when ``body`` is not one."""
    if _POINT_ANY_CASE.match(body):
        return body.upper()
    if _LOWER_SPAN.match(body) and parse(body).kind in _SPAN_KINDS:
        # e746_a750del, r1627: residues and inserted sequence upper case, the keyword lower.
        return _KEYWORD.sub(lambda m: m.group(1) + m.group(2).lower(), body.upper(), count=1)
    three = _THREE_LETTER.match(body)
    if three is None or three.group(3).lower().startswith("fs"):
        return ""  # a frameshift keeps its written tail (Q16Rfs*28), converted by the caller
    tail = three.group(3)
    alt = tail if tail in ("*", "=") else THREE_TO_ONE[tail.upper()]
    return THREE_TO_ONE[three.group(1).upper()] + three.group(2) + alt
