"""Annotating sequencing results: every row and value back, oncoclass_ columns added, nothing dropped."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd
import pytest

from oncoclass.annotate import read_sheet, variants_of
from oncoclass.data.table import NOT_A_SYMBOL
from oncoclass.data.vocab import KAGGLE_CLASSES
from oncoclass.errors import InputError

MAF = [
    "#version 2.4",
    "#annotated by a pipeline",
    "\t".join(
        ["Hugo_Symbol", "Variant_Classification", "Tumor_Sample_Barcode", "HGVSp_Short", "HGVSp", "t_depth"]
    ),
    "\t".join(["BRAF", "Missense_Mutation", "S1", "p.V600E", "p.Val600Glu", "40"]),
    "\t".join(["BRAF", "Missense_Mutation", "S2", "", "p.Val600Glu", "12"]),  # same variant, another sample
    "\t".join(["TP53", "Nonsense_Mutation", "S1", "", "", "7"]),  # no change written: truncating
    "\t".join(["EGFR", "Silent", "S3", "p.L858=", "p.Leu858=", "9"]),
    "\t".join(["KRAS", "Intron", "S3", "", "", "5"]),
    "\t".join(["PTEN", "Frame_Shift_Del", "S4", "p.(Q16Rfs*28)", "", "0"]),
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_notation_becomes_what_the_model_reads(tmp_path: Path) -> None:
    rows = variants_of(read_sheet(_write(tmp_path / "a.maf", MAF)))
    assert rows["protein_change"].tolist() == ["V600E", "V600E", "", "L858=", "", "Q16Rfs*28"]
    assert rows["variation"].tolist() == ["V600E", "V600E", "Truncating Mutations", "", "", "Q16Rfs*28"]
    assert rows["note"].tolist()[2:5] == [
        "no protein change; read as truncating from Nonsense_Mutation",
        "silent: the protein is unchanged",
        "no protein change (Intron)",
    ]


def test_vep_amino_acids_and_position_give_the_change(tmp_path: Path) -> None:
    lines = ["SYMBOL\tConsequence\tAmino_acids\tProtein_position", "BRAF\tmissense_variant\tV/E\t600/766",
             "TP53\tstop_gained\tW/*\t53/393", "EGFR\tsynonymous_variant\tL\t858/1210"]  # fmt: skip
    rows = variants_of(read_sheet(_write(tmp_path / "vep.tsv", lines)))
    assert rows["variation"].tolist() == ["V600E", "W53*", ""]


def test_vep_symbol_is_the_gene_not_its_ensembl_id(tmp_path: Path) -> None:
    # VEP's tab output: Gene holds the Ensembl ID, SYMBOL the symbol the models and store know.
    lines = ["Gene\tSYMBOL\tConsequence\tHGVSp", "ENSG00000157764\tBRAF\tmissense_variant\tp.Val600Glu"]
    rows = variants_of(read_sheet(_write(tmp_path / "vep.tsv", lines)))
    assert rows[["gene", "variation", "note"]].values.tolist() == [["BRAF", "V600E", ""]]


def test_a_protein_change_is_read_before_a_variant_column_and_bad_genes_are_noted(tmp_path: Path) -> None:
    # A MAF-like table's Variant may be a genomic change; HGVSp_Short is what the models read. A
    # gene that is no symbol (VEP's "-", a formula) is noted on its row, never the run refused.
    lines = ["Hugo_Symbol\tVariant\tHGVSp_Short", "BRAF\tchr7:g.140453136A>T\tp.V600E",
             "-\tchr1:g.1A>T\tp.A1B", "=1+1\tchr1:g.2A>T\tp.G12D"]  # fmt: skip
    rows = variants_of(read_sheet(_write(tmp_path / "a.tsv", lines)))
    assert rows["variation"].tolist() == ["V600E", "", ""]
    assert rows["note"].tolist()[1:] == ["no gene", NOT_A_SYMBOL]


def test_what_is_no_protein_change_is_noted_not_predicted(tmp_path: Path) -> None:
    # The model would answer from the gene alone, as if it had read the change; and a formula is
    # never repeated into a column of ours.
    lines = [
        "gene,variation",
        "BRAF,V600E",
        "BRAF,hello world",
        "BRAF,c.1799T>A",
        "BRAF,=1+1",
        "BRAF,Amplification",
    ]
    rows = variants_of(read_sheet(_write(tmp_path / "junk.csv", lines)))
    assert rows["variation"].tolist() == ["V600E", "", "", "", "Amplification"]
    assert rows["protein_change"].tolist() == ["V600E", "", "", "", "Amplification"]
    assert rows["note"].tolist()[1:4] == [
        "not a protein change that can be read (hello world)",
        "not a protein change that can be read (c.1799T>A)",
        "a variation that begins as a spreadsheet formula (=, + or @), not a variant",
    ]


def test_hgvs_whole_protein_changes_are_read_not_taken_for_formulas(tmp_path: Path) -> None:
    # p.= / p.(=): the protein unchanged (silent, as p.P72= is); p.0 / p.0?: none made, read as a
    # truncating change. Valid HGVS, not a spreadsheet formula nor an unreadable change.
    lines = ["Hugo_Symbol\tHGVSp_Short", "TP53\tp.=", "TP53\tp.(=)", "TP53\tp.0", "TP53\tp.0?"]
    rows = variants_of(read_sheet(_write(tmp_path / "a.maf", lines)))
    assert rows["protein_change"].tolist() == ["p.=", "p.=", "p.0", "p.0"]
    assert rows["variation"].tolist() == ["", "", "p.0", "p.0"]
    assert rows["note"].tolist() == ["silent: the protein is unchanged"] * 2 + ["", ""]


def test_a_repeated_header_and_an_empty_row_are_noted(tmp_path: Path) -> None:
    # Files joined together repeat their header; a line of separators holds nothing. Each is
    # kept (annotate gives every row back) and noted, never predicted as gene "gene".
    lines = ["id,gene,variation", "1,BRAF,V600E", "id,gene,variation", ",,", "2,KRAS,G12D"]
    rows = variants_of(read_sheet(_write(tmp_path / "joined.csv", lines)))
    assert rows["variation"].tolist() == ["V600E", "", "", "G12D"]
    assert rows["note"].tolist()[1:3] == [
        "repeats the header (files joined together?)",
        "an empty row (only separators)",
    ]


def test_a_mapped_column_not_in_the_header_is_named(tmp_path: Path) -> None:
    # --columns gene=Nope was answered "no gene column (looked for hugo_symbol…)", Nope unnamed.
    sheet = read_sheet(_write(tmp_path / "a.csv", ["id,gene,variation", "1,BRAF,V600E"]))
    with pytest.raises(
        InputError, match=r"the gene column 'Nope' is not in the header; it has id, gene, variation"
    ):
        variants_of(sheet, {"gene": "Nope"})


def test_ensembl_ids_alone_are_noted_not_predicted(cli, tmp_path: Path, default_model: Path) -> None:
    lines = ["Gene\tConsequence\tHGVSp", "ENSG00000157764\tmissense_variant\tp.Val600Glu",
             "ENSG00000133703.12\tmissense_variant\tp.G12D"]  # fmt: skip
    source, out = _write(tmp_path / "vep.tsv", lines), tmp_path / "out.tsv"
    done = cli(["annotate", "--model", default_model, "--input", source, "--out", out])
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert frame["Gene"].tolist() == ["ENSG00000157764", "ENSG00000133703.12"]  # rows kept as they were
    assert (frame["oncoclass_prediction"] == "").all()
    assert frame["oncoclass_note"].str.startswith("a gene given as an Ensembl ID").all()
    assert "a gene given as an Ensembl ID" in done.stdout + done.stderr


def test_annotate_keeps_the_maf_and_adds_columns(cli, tmp_path: Path, default_model: Path) -> None:
    source = _write(tmp_path / "in.maf", MAF)
    out = tmp_path / "out.maf"
    done = cli(["annotate", "--model", default_model, "--input", source, "--out", out, "--probabilities"])
    assert done.returncode == 0, done.stderr
    assert "6 rows (3 distinct variants): 4 predicted" in done.stdout
    text = out.read_text(encoding="utf-8").split("\n")
    assert text[:2] == MAF[:2]  # comment lines kept
    for given, written in zip(MAF[2:], text[2:], strict=False):
        assert written.split("\t")[: len(given.split("\t"))] == given.split("\t")  # values unchanged
    frame = pd.read_csv(out, sep="\t", comment="#", dtype=str, keep_default_na=False)
    assert len(frame) == 6 and frame["oncoclass_model"].str.startswith("default-").all()
    assert frame.loc[0, "oncoclass_prediction"] == frame.loc[1, "oncoclass_prediction"] != ""
    assert frame.loc[3, "oncoclass_prediction"] == "" and frame.loc[3, "oncoclass_note"].startswith("silent")
    p = frame.loc[0, [f"oncoclass_p_{c}" for c in "123456789"]].astype(float)
    assert p.sum() == pytest.approx(1.0, abs=1e-3) and p.max() == pytest.approx(
        float(frame.loc[0, "oncoclass_probability"])
    )
    assert frame.loc[0, "oncoclass_class_name"] == KAGGLE_CLASSES[frame.loc[0, "oncoclass_prediction"]]


@pytest.mark.parametrize(
    ("source", "name", "written"),
    [
        ("in.maf", "a.xlsx", None), ("in.maf", "a.json", None), ("in.maf", "a.maf.zip", None),
        ("in.maf", "a.vcf", None), ("in.vcf", "a.maf", None), ("in.vcf", "a.bcf.gz", None),
        ("in.maf", "a.tsv.gz", "tsv.gz"), ("in.maf", "a.txt", "maf"), ("in.maf", "a", "maf"),
    ],
)  # fmt: skip
def test_an_output_is_written_as_its_name_says_or_refused(
    cli, tmp_path: Path, default_model: Path, source: str, name: str, written: str | None
) -> None:
    """One rule for output names (output.named_format): the format an ending names, gzipped with
    .gz, the input's own with none; an ending it cannot write is refused before any work."""
    given = _write(tmp_path / source, MAF) if source.endswith(".maf") else _write(tmp_path / source, SNPEFF)
    out = tmp_path / name
    done = cli(["annotate", "--model", default_model, "--input", given, "--out", out])
    if written is None:
        assert done.returncode == 2 and "cannot write a" in done.stderr, done.stderr
        assert not out.exists()
        return
    assert done.returncode == 0, done.stderr
    data = gzip.decompress(out.read_bytes()) if written.endswith(".gz") else out.read_bytes()
    assert data.startswith(b"Hugo_Symbol\t" if written.startswith("tsv") else MAF[0].encode())


def test_a_table_with_mapped_columns_goes_out_as_csv(cli, tmp_path: Path, default_model: Path) -> None:
    source = _write(
        tmp_path / "calls.tsv", ["sample\tsymbol\thgvs", "s1\tBRAF\tp.Val600Glu", "s2\tKRAS\tp.G12D"]
    )
    out = tmp_path / "calls.csv"
    done = cli(
        ["annotate", "-m", default_model, "-i", source, "-o", out, "--columns", "gene=symbol,variation=hgvs"]
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["sample"].tolist() == ["s1", "s2"] and frame["oncoclass_protein_change"].tolist() == [
        "V600E",
        "G12D",
    ]


def test_inputs_that_cannot_be_annotated_say_why(cli, tmp_path: Path, default_model: Path) -> None:
    vcf = _write(
        tmp_path / "x.vcf", ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    )
    refused = cli(["annotate", "-m", default_model, "-i", vcf, "-o", tmp_path / "o.tsv"])
    assert refused.returncode == 2 and "no CSQ (VEP)" in refused.stderr and not (tmp_path / "o.tsv").exists()
    genes = _write(tmp_path / "g.csv", ["sample,change", "s1,V600E"])
    refused = cli(["annotate", "-m", default_model, "-i", genes, "-o", tmp_path / "o.csv"])
    assert refused.returncode == 2 and "no gene column" in refused.stderr and "--columns" in refused.stderr
    again = _write(tmp_path / "twice.csv", ["gene,variation,oncoclass_prediction", "BRAF,V600E,7"])
    refused = cli(["annotate", "-m", default_model, "-i", again, "-o", tmp_path / "o2.csv"])
    assert refused.returncode == 2 and "already has oncoclass columns" in refused.stderr


@pytest.mark.realdata
def test_the_real_tcga_maf_comes_back_whole(
    cli, tmp_path: Path, real_data: Path, default_model: Path
) -> None:
    source = real_data / "maf" / "tcga_laml.maf.gz"
    out = tmp_path / "laml.maf"
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
    assert done.returncode == 0, done.stderr
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        given = handle.read().split("\n")
    written = out.read_text(encoding="utf-8").split("\n")
    width = len(given[0].split("\t"))
    assert len(written) == len(given)
    assert all(w.split("\t")[:width] == g.split("\t")[:width] for g, w in zip(given, written, strict=True))
    frame = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    # Every row is either predicted or says why not.
    assert ((frame["oncoclass_prediction"] != "") | (frame["oncoclass_note"] != "")).all()
    assert (frame.loc[frame["Protein_Change"] == "p.R882H", "oncoclass_protein_change"] == "R882H").all()
    # Oncotator's notation (NPM1's p.WQ288fs, FLT3's p.598_598E>EMVQ…) is read, not noted.
    coding = frame["Variant_Classification"].str.match(r"^(Frame_Shift|In_Frame)_")
    coding &= frame["Protein_Change"] != ""
    assert (frame.loc[coding, "oncoclass_prediction"] != "").all()


VEP_HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=7,length=159345973>",
    "##contig=<ID=17,length=81195210>",
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
    'Format: Allele|Consequence|IMPACT|SYMBOL|HGVSc|HGVSp|CANONICAL">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
]
VEP_RECORDS = [
    # Two transcripts: the canonical one is listed second.
    "7\t140453136\trs113488022\tA\tT\t50\tPASS\tDP=40;CSQ=T|missense_variant|MODERATE|BRAF|c.1A>T|"
    "ENSP1:p.Val600Lys|,T|missense_variant&splice_region_variant|MODERATE|BRAF|c.1799T>A|ENSP2:p.Val600Glu|YES",
    "17\t7579529\t.\tC\tT\t50\tPASS\tDP=12;CSQ=T|stop_gained|HIGH|TP53|c.158G>A|ENSP3:p.Trp53Ter|YES",
    "17\t7579600\t.\tC\tG\t50\tPASS\tDP=9;CSQ=G|intron_variant|MODIFIER|TP53|c.100+5G>C||YES",
    "17\t7579700\t.\tG\tA\t50\tPASS\tDP=9;CSQ=A|synonymous_variant|LOW|TP53|c.99C>T|ENSP3:p.Leu33%3D|YES",
]
SNPEFF = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=12,length=133851895>",
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | "
    "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | "
    "HGVS.c | HGVS.p'\">",
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    "12\t25398284\t.\tC\tT\t50\tPASS\tANN=T|missense_variant|MODERATE|KRAS|ENSG1|transcript|ENST1|protein_coding|"
    "2/6|c.35G>A|p.Gly12Asp",
]


@pytest.mark.parametrize("name", ["out.csv", "out.tsv"])
def test_a_vcf_written_as_a_table_keeps_every_field_of_its_records(
    cli, tmp_path: Path, default_model: Path, name: str
) -> None:
    """QUAL, FILTER, INFO, FORMAT and each sample's column go out beside the predictions: a
    LowQual call must not read as a PASS once it is a table."""
    header = [
        *VEP_HEADER[:-1],
        '##FILTER=<ID=LowQual,Description="low">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    ]
    chrom = VEP_HEADER[-1] + "\tFORMAT\tTUMOR\tNORMAL"
    records = [
        VEP_RECORDS[0].replace("\tPASS\t", "\tLowQual\t") + "\tGT\t0/1\t0/0",
        VEP_RECORDS[1] + "\tGT\t1/1\t0/0",
    ]
    source = _write(tmp_path / "calls.vcf", [*header, chrom, *records])
    out = tmp_path / name
    done = cli(["annotate", "--model", default_model, "--input", source, "--out", out])
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out, sep="\t" if name.endswith(".tsv") else ",", dtype=str, keep_default_na=False)
    assert list(frame.columns[:11]) == [
        "CHROM",
        "POS",
        "ID",
        "REF",
        "ALT",
        "QUAL",
        "FILTER",
        "INFO",
        "FORMAT",
        "TUMOR",
        "NORMAL",
    ]
    assert frame["FILTER"].tolist() == ["LowQual", "PASS"] and frame["QUAL"].tolist() == ["50", "50"]
    assert frame["INFO"].tolist() == [r.split("\t")[7] for r in records]
    assert frame[["FORMAT", "TUMOR", "NORMAL"]].values.tolist() == [
        ["GT", "0/1", "0/0"],
        ["GT", "1/1", "0/0"],
    ]
    assert frame["oncoclass_protein_change"].tolist() == ["V600E", "W53*"]


def test_vcf_consequences_are_read_from_vep_and_snpeff(tmp_path: Path) -> None:
    vep = _write(tmp_path / "vep.vcf", VEP_HEADER + VEP_RECORDS)
    canonical = variants_of(read_sheet(vep))
    assert canonical["variation"].tolist() == ["V600E", "W53*", "", ""]
    assert canonical["note"].tolist()[2:] == [
        "no protein change (intron_variant)",
        "silent: the protein is unchanged",
    ]
    assert variants_of(read_sheet(vep, transcript="first"))["variation"].iloc[0] == "V600K"
    snpeff = variants_of(read_sheet(_write(tmp_path / "snpeff.vcf", SNPEFF)))
    assert snpeff["variation"].tolist() == ["G12D"]


@pytest.mark.parametrize("suffix", [".vcf", ".vcf.gz", ".bcf"])
def test_an_annotated_vcf_keeps_its_records_and_declares_its_fields(
    cli, tmp_path: Path, default_model: Path, suffix: str
) -> None:
    from cyvcf2 import VCF

    source = _write(tmp_path / "in.vcf", VEP_HEADER + VEP_RECORDS)
    out = tmp_path / f"out{suffix}"
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
    assert done.returncode == 0, done.stderr
    given, written = list(VCF(str(source))), list(VCF(str(out)))
    assert [(r.CHROM, r.POS, r.REF, r.ALT, r.INFO.get("CSQ")) for r in written] == [
        (r.CHROM, r.POS, r.REF, r.ALT, r.INFO.get("CSQ")) for r in given
    ]
    header = VCF(str(out)).raw_header
    assert "##INFO=<ID=ONCOCLASS_PREDICTION" in header and "##INFO=<ID=ONCOCLASS_NOTE" in header
    assert written[0].INFO.get("ONCOCLASS_PROTEIN_CHANGE") == "V600E"
    assert written[2].INFO.get("ONCOCLASS_PREDICTION") is None
    assert written[2].INFO.get("ONCOCLASS_NOTE") == "no%20protein%20change%20(intron_variant)"
    again = cli(["annotate", "-m", default_model, "-i", out, "-o", tmp_path / f"again{suffix}"])
    assert again.returncode == 2 and "already has oncoclass annotations" in again.stderr


def test_vcfs_without_annotations_or_broken_are_refused(cli, tmp_path: Path, default_model: Path) -> None:
    bare = _write(tmp_path / "bare.vcf", [VEP_HEADER[0], VEP_HEADER[-1], "7\t1\t.\tA\tT\t50\tPASS\t."])
    refused = cli(["annotate", "-m", default_model, "-i", bare, "-o", tmp_path / "o.vcf"])
    assert refused.returncode == 2 and "no CSQ (VEP) or ANN (snpEff)" in refused.stderr
    assert not (tmp_path / "o.vcf").exists()
    odd = cli(
        ["annotate", "-m", default_model, "-i", bare, "-o", tmp_path / "o.vcf", "--transcript", "longest"]
    )
    assert odd.returncode == 2 and "canonical, first" in odd.stderr
    # Its header lines cut off (a VCF opened and saved by a spreadsheet): named as such (detect.is_vcf).
    cut = _write(
        tmp_path / "cut.vcf", [*VEP_HEADER[1:], "7\t140453136\t.\tA\tT\t50\tPASS\tCSQ=T|BRAF|p.V600E"]
    )
    refused = cli(["annotate", "-m", default_model, "-i", cut, "-o", tmp_path / "o.vcf"])
    assert refused.returncode == 2 and "cut.vcf: a VCF without its first line (##fileformat" in refused.stderr


def _refused_alone(done, tmp_path: Path, out: Path) -> str:
    """The one-line error of a refused input, with no output and no temporary file left."""
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))]
    return lines[0]


HANDMADE = [
    "##fileformat=VCFv4.2",
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="VEP. Format: Allele|SYMBOL|HGVSp|CANONICAL">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    # GT and DP have no ##FORMAT line, FOO and SOMATIC no ##INFO line: common in hand-made files.
    "7\t140453136\t.\tA\tT\t50\tPASS\tCSQ=T|BRAF|p.Val600Glu|YES;FOO=3;SOMATIC\tGT:DP\t0/1:40",
]


def test_keys_without_header_lines_are_read_declared_and_said(
    cli, tmp_path: Path, default_model: Path
) -> None:
    from cyvcf2 import VCF

    source = _write(tmp_path / "hand.vcf", HANDMADE)
    out = tmp_path / "out.vcf"
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
    assert done.returncode == 0, done.stderr
    assert "INFO FOO, INFO SOMATIC, FORMAT GT, FORMAT DP used without a" in done.stderr
    header = VCF(str(out)).raw_header
    assert '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">' in header
    assert "##INFO=<ID=SOMATIC,Number=0,Type=Flag" in header and "##INFO=<ID=FOO,Number=." in header
    record = out.read_text(encoding="utf-8").splitlines()[-1].split("\t")
    assert record[7].startswith("CSQ=T|BRAF|p.Val600Glu|YES;FOO=3;SOMATIC;ONCOCLASS_PREDICTION=")
    assert record[8:] == ["GT:DP", "0/1:40"]


def test_a_filter_without_its_header_line_is_declared_and_the_record_kept(
    cli, tmp_path: Path, default_model: Path
) -> None:
    # A caller's LowQual with no ##FILTER line: htslib could not write the record back, and the
    # refusal named "errorcode 2" of a record the file did not have.
    from cyvcf2 import VCF

    lines = [*HANDMADE[:-1], HANDMADE[-1].replace("PASS", "LowQual;q10"), HANDMADE[-1]]
    out = tmp_path / "out.vcf"
    done = cli(["annotate", "-m", default_model, "-i", _write(tmp_path / "calls.vcf", lines), "-o", out])
    assert done.returncode == 0, done.stderr
    assert "FILTER LowQual, FILTER q10" in done.stderr
    assert "##FILTER=<ID=LowQual," in VCF(str(out)).raw_header
    records = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    assert [r[6] for r in records] == ["LowQual;q10", "PASS"]


def test_a_chrom_line_with_too_few_columns_is_refused(cli, tmp_path: Path, default_model: Path) -> None:
    source = _write(tmp_path / "bad.vcf", ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT", "7\tabc"])
    out = tmp_path / "out.vcf"
    line = _refused_alone(cli(["annotate", "-m", default_model, "-i", source, "-o", out]), tmp_path, out)
    assert "bad.vcf, row 2: the #CHROM header line should name at least 8 tab-separated columns" in line
    assert "but this line has 5" in line


def _bgzip(data: bytes) -> bytes:
    """``data`` as bgzip writes it: one BGZF block (a gzip member whose extra field gives its size),
    then the empty block that ends the file."""
    import struct
    import zlib

    def block(chunk: bytes) -> bytes:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = packer.compress(chunk) + packer.flush()
        head = b"\x1f\x8b\x08\x04\0\0\0\0\0\xff" + struct.pack("<H2sHH", 6, b"BC", 2, len(body) + 25)
        return head + body + struct.pack("<II", zlib.crc32(chunk), len(chunk))

    return block(data) + block(b"")


@pytest.mark.parametrize("packing", ["plain", "gzip", "bgzip"])
@pytest.mark.parametrize("cut", ["inside INFO", "after QUAL"])
def test_a_vcf_cut_short_is_refused(cli, tmp_path: Path, default_model: Path, packing: str, cut: str) -> None:
    # With samples: a last record cut anywhere before them has fewer fields than #CHROM names.
    header = [*VEP_HEADER[:-1], '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">']
    whole = (
        "\n".join([*header, VEP_HEADER[-1] + "\tFORMAT\tS1", *(r + "\tGT\t0/1" for r in VEP_RECORDS)]) + "\n"
    )
    last = whole.rindex("\n17\t7579700") + 1
    end = whole.index("CSQ=A|syn", last) + 12 if cut == "inside INFO" else whole.index("\t50\t", last) + 3
    data = whole[:end].encode()
    name = {"plain": "cut.vcf", "gzip": "cut.vcf.gz", "bgzip": "cut.vcf.gz"}[packing]
    pack = {"plain": bytes, "gzip": gzip.compress, "bgzip": _bgzip}[packing]
    (tmp_path / name).write_bytes(pack(data))
    out = tmp_path / "out.vcf"
    line = _refused_alone(
        cli(["annotate", "-m", default_model, "-i", tmp_path / name, "-o", out]), tmp_path, out
    )
    assert f"{name}, row {len(header) + 1 + len(VEP_RECORDS)}:" in line
    assert "cut short" in line and "Download or copy the file again." in line


def test_a_sites_only_vcf_cut_short_is_refused(cli, tmp_path: Path, default_model: Path) -> None:
    # No samples: a record cut inside INFO still has its eight columns; the missing line break
    # says it was cut. A record cut to four columns is refused wherever it is, and a bgzip file
    # cut at a block boundary (each block whole) lacks its end-of-file block.
    whole = "\n".join([*VEP_HEADER, *VEP_RECORDS]) + "\n"
    out = tmp_path / "out.vcf"
    cases = {
        "inside.vcf": (whole[: whole.rindex("CSQ=") + 8].encode(), "ends without a line break"),
        "short.vcf": (
            "\n".join([*VEP_HEADER, VEP_RECORDS[0], "12\t25398284\t.\tC", VEP_RECORDS[1]]).encode() + b"\n",
            "the record has 4 of the 8 columns",
        ),
        "noend.vcf.gz": (_bgzip(whole.encode())[:-28], "without its end-of-file block"),
        "nochrom.vcf": (
            "\n".join([*VEP_HEADER[:-1], *VEP_RECORDS]).encode() + b"\n",
            "no #CHROM header line",
        ),
    }
    for name, (data, said) in cases.items():
        (tmp_path / name).write_bytes(data)
        line = _refused_alone(
            cli(["annotate", "-m", default_model, "-i", tmp_path / name, "-o", out]), tmp_path, out
        )
        assert name in line and said in line, line


def test_a_record_htslib_cannot_read_is_refused_with_its_line(
    cli, tmp_path: Path, default_model: Path
) -> None:
    broken = VEP_RECORDS[1].replace("7579529", "75x9529")
    source = _write(tmp_path / "x.vcf", [*VEP_HEADER, VEP_RECORDS[0], broken, VEP_RECORDS[2]])
    out = tmp_path / "out.vcf"
    line = _refused_alone(cli(["annotate", "-m", default_model, "-i", source, "-o", out]), tmp_path, out)
    assert f"x.vcf, row {len(VEP_HEADER) + 2}: record 2 cannot be read as VCF" in line


MULTI = [
    # A, C and T: C's consequence listed first, T with none, A's protein change with a transcript.
    "17\t7577122\t.\tG\tA,C,T\t50\tPASS\tCSQ=C|missense_variant|MODERATE|TP53|c.2|ENSP3:p.Arg273Gly|YES,"
    "A|missense_variant|MODERATE|TP53|c.1|ENSP3:p.Arg273Cys|YES",
    # VEP writes an indel's allele without the base REF and ALT share: "-" for a deletion.
    "17\t7579700\t.\tGC\tG,GCC\t50\tPASS\tCSQ=-|frameshift_variant|HIGH|TP53|c.3|ENSP3:p.Pro72fs|YES,"
    "CC|frameshift_variant|HIGH|TP53|c.4|ENSP3:p.Pro72ArgfsTer5|YES",
]


def test_each_alt_allele_of_a_record_is_predicted(cli, tmp_path: Path, default_model: Path) -> None:
    from cyvcf2 import VCF

    source = _write(tmp_path / "multi.vcf", [*VEP_HEADER, VEP_RECORDS[0], *MULTI])
    rows = variants_of(read_sheet(source))
    assert rows["protein_change"].tolist() == ["V600E", "R273C", "R273G", "", "P72fs", "P72Rfs*5"]
    out = tmp_path / "out.vcf"
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
    assert done.returncode == 0, done.stderr
    assert "6 alleles in 3 records" in done.stdout + done.stderr
    header = VCF(str(out)).raw_header
    assert "##INFO=<ID=ONCOCLASS_PREDICTION,Number=A,Type=String" in header
    assert "##INFO=<ID=ONCOCLASS_PROTEIN_CHANGE,Number=A,Type=String" in header
    written = [{k: str(v).split(",") for k, v in r.INFO if k.startswith("ONCO")} for r in VCF(str(out))]
    assert written[0]["ONCOCLASS_PROTEIN_CHANGE"] == ["V600E"]
    assert written[1]["ONCOCLASS_PROTEIN_CHANGE"] == ["R273C", "R273G", "."]  # in ALT order
    assert written[1]["ONCOCLASS_NOTE"][2] == "no%20gene"  # T has no consequence of its own
    predicted = written[1]["ONCOCLASS_PREDICTION"]
    assert len(predicted) == 3 and "." not in predicted[:2] and predicted[2] == "."
    assert written[2]["ONCOCLASS_PROTEIN_CHANGE"] == ["P72fs", "P72Rfs*5"]


_VEP = (
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
    'Format: Allele|Consequence|SYMBOL|HGVSp|CANONICAL">'
)


_HEADERS_ALONE = [
    ("empty.maf", ["#version 2.4", "Hugo_Symbol\tHGVSp_Short"]),
    ("empty.csv", ["gene,variation"]),
    ("empty.tsv", ["gene\tvariation"]),
    ("empty.vcf", ["##fileformat=VCFv4.2", _VEP, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]),
]


@pytest.mark.parametrize(
    ("name", "lines", "engine"),
    # --engine dask reads MAFs and tables, not VCFs.
    [(*case, "local") for case in _HEADERS_ALONE] + [(*case, "dask") for case in _HEADERS_ALONE[:3]],
)
def test_a_header_alone_is_written_back_with_a_note(
    cli, tmp_path: Path, default_model: Path, cluster, name: str, lines: list[str], engine: str
) -> None:
    # A sample with no mutations is a header-only MAF or a VCF without records: a pipeline that
    # annotates one file per sample must not fail on it. The file comes back whole (comment lines,
    # header, the added columns or INFO declarations), exit 0, with a note; predict still refuses it.
    source = _write(tmp_path / name, lines)
    out = tmp_path / ("out" + source.suffix)
    dask = ["--engine", "dask", "--scheduler", cluster.scheduler_address] if engine == "dask" else []
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out, *dask])
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "the file held no rows (0 rows)" in done.stderr
    written = out.read_text().splitlines()
    if name.endswith(".vcf"):
        assert written[0] == lines[0] and written[-1] == lines[-1] and lines[1] in written
        assert any(line.startswith("##INFO=<ID=ONCOCLASS_PREDICTION,") for line in written)
    else:
        sep = "\t" if name.endswith((".maf", ".tsv")) else ","
        assert written[:-1] == lines[:-1] and len(written) == len(lines)
        assert written[-1].startswith(lines[-1] + sep + "oncoclass_prediction" + sep)
        predicted = cli(["predict", "-m", default_model, "-i", source, "-o", tmp_path / "p.csv", *dask])
        assert predicted.returncode == 2 and f"{source}: the file holds no data rows." in predicted.stderr
        assert not (tmp_path / "p.csv").exists()


def test_odd_but_valid_inputs_come_back_whole(cli, tmp_path: Path, default_model: Path) -> None:
    one_row = _write(tmp_path / "one.maf", ["#version 2.4", "Hugo_Symbol\tHGVSp_Short", "BRAF\tp.V600E"])
    columns = {
        "gene": ["BRAF", "KRAS"],
        "variation": ["p.V600E", None],
        "Start_Position": [140453136.0, None],
    }
    frame = pd.DataFrame({**columns, "af": [0.000123456789, 0.5]})
    frame.to_parquet(tmp_path / "calls.parquet")
    done = cli(
        ["annotate", "-m", default_model, "-i", tmp_path / "calls.parquet", "-o", tmp_path / "calls.csv"]
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "calls.csv").read_text()
    assert "140453136.0" in text and "0.000123456789" in text  # numbers given back as they were
    gz = tmp_path / "out.maf.gz"
    assert cli(["annotate", "-m", default_model, "-i", one_row, "-o", gz]).returncode == 0
    with gzip.open(gz, "rt", encoding="utf-8") as handle:
        assert handle.readline() == "#version 2.4\n"


def test_a_header_with_a_name_twice_is_refused(cli, tmp_path: Path, default_model: Path) -> None:
    for name, lines in (("d.maf", ["Hugo_Symbol\tHGVSp_Short\tHugo_Symbol", "BRAF\tp.V600E\tX"]),
                        ("d.csv", ["sample,gene,variation,sample", "a,BRAF,V600E,b"])):  # fmt: skip
        refused = cli(
            ["annotate", "-m", default_model, "-i", _write(tmp_path / name, lines), "-o", tmp_path / "o"]
        )
        assert refused.returncode == 2 and "appears twice" in refused.stderr


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_a_spreadsheets_empty_trailing_columns_come_back_as_they_were(
    cli, tmp_path: Path, default_model: Path, engine: str, cluster
) -> None:
    # Excel's padding columns: two were refused as a column named twice, one came back named
    # "Unnamed: 3" though annotate gives the file back unchanged.
    for padding in (",", ",,"):
        source = _write(tmp_path / "padded.csv", [f"id,gene,variation{padding}", f"1,BRAF,V600E{padding}"])
        out = tmp_path / f"out-{engine}.csv"
        dask = ["--engine", "dask", "--scheduler", cluster.scheduler_address] if engine == "dask" else []
        done = cli(["annotate", "-m", default_model, "-i", source, "-o", out, *dask])
        assert done.returncode == 0, done.stderr
        header = out.read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith(f"id,gene,variation{padding},oncoclass_prediction,")


def test_excels_sep_line_comes_back_before_the_header(cli, tmp_path: Path, default_model: Path) -> None:
    source = _write(tmp_path / "excel.csv", ["sep=,", "id,gene,variation", "1,BRAF,V600E"])
    out = tmp_path / "out.csv"
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
    assert done.returncode == 0, done.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sep=," and lines[1].startswith("id,gene,variation,oncoclass_prediction")
    assert lines[2].startswith("1,BRAF,V600E,")


def test_a_header_of_one_huge_field_is_refused_as_a_header(cli, tmp_path: Path, default_model: Path) -> None:
    # Python's csv module stops at 131,072 characters a field: the header's rule (check_header)
    # is the one every reader applies, and pandas says what the header lacks, in one line.
    source = _write(tmp_path / "huge.csv", ["g" * 300_000])
    refused = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "o.csv"])
    assert (
        refused.returncode == 2
        and "no gene column" in refused.stderr
        and "internal error" not in refused.stderr
    )
    assert len(refused.stderr) < 3000 and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_a_header_past_the_cap_is_refused_as_every_reader_refuses_it(
    cli, tmp_path: Path, default_model: Path, monkeypatch, cluster, engine: str
) -> None:
    # annotate's streaming reader read a first line with no line break whole, whatever its size
    # (up to ONCOCLASS_MAX_MEMBER_BYTES, 2 GiB); it is refused past HEADER_CAP with predict's words.
    import oncoclass.data.tables

    monkeypatch.setattr(oncoclass.data.tables, "HEADER_CAP", 1 << 20)
    source = tmp_path / "line.csv"
    source.write_bytes(b"gene,variation," + b"x" * (3 << 20))
    dask = ["--engine", "dask", "--scheduler", cluster.scheduler_address] if engine == "dask" else []
    refused = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "o.csv", *dask])
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "line.csv: its header line runs past 1 MiB without a line break" in refused.stderr
    assert not (tmp_path / "o.csv").exists()


def test_protein_change_columns_that_disagree_are_noted_by_annotate_and_predict(
    cli, tmp_path: Path, default_model: Path
) -> None:
    # GDC's HGVSp_Short is read first; an older MAF's Protein_Change that names another change is
    # said beside the row (annotate) or for the file (predict), not dropped without a word.
    source = _write(
        tmp_path / "both.maf",
        [
            "#version 2.4",
            "Hugo_Symbol\tHGVSp_Short\tProtein_Change",
            "BRAF\tp.V600K\tp.V600E",
            "KRAS\tp.G12D\tp.G12D",
        ],
    )
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "o.maf"])
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(tmp_path / "o.maf", sep="\t", comment="#", dtype=str, keep_default_na=False)
    assert written["oncoclass_protein_change"].tolist() == ["V600K", "G12D"]
    assert written["oncoclass_note"].tolist() == [
        "Protein_Change reads 'V600E', HGVSp_Short 'V600K': HGVSp_Short's is read",
        "",
    ]
    predicted = cli(["predict", "-m", default_model, "-i", source, "-o", tmp_path / "p.csv"])
    assert predicted.returncode == 0, predicted.stderr
    assert (
        "1 row(s) whose protein-change columns name different changes; the first, row 3: " in predicted.stderr
    )


def test_a_quote_never_closed_is_named_with_its_row(cli, tmp_path: Path, default_model: Path) -> None:
    # pandas says "EOF inside string starting at row 1" (its own count); the file's rule says which.
    source = _write(tmp_path / "q.csv", ["gene,variation", "BRAF,V600E", 'KRAS,"G12D', "TP53,R175H"])
    refused = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "o.csv"])
    line = _refused_alone(refused, tmp_path, tmp_path / "o.csv")
    assert "q.csv, row 3: a quoted value begins on this row and never ends" in line


def test_a_byte_that_is_not_utf8_is_named_with_its_row(cli, tmp_path: Path, default_model: Path) -> None:
    # Read in chunks, pandas knows neither the row nor the byte: the file's own reader says them.
    rows = b"sample,gene,variation\nS1,BRAF,V600E\nS2,Caf\xe9,A1B\n"
    plain = tmp_path / "latin1.csv"
    plain.write_bytes(rows)
    packed = tmp_path / "latin1.csv.gz"
    packed.write_bytes(gzip.compress(rows))
    for source in (plain, packed):
        out = tmp_path / f"out-{source.name}"
        refused = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
        said = refused.stderr  # byte 42 counted from 0: the header's 22, the first row's 14, "S2,Caf"
        assert refused.returncode == 2 and "row 3: byte 42 is not valid UTF-8" in said, said
        assert not out.exists()


def test_a_file_cut_short_is_refused_with_its_row(cli, tmp_path: Path, default_model: Path) -> None:
    # A MAF or table cut mid-download ends inside a row with fewer fields than the header; read in
    # chunks, that row would come back with its last values empty, without a word.
    maf = tmp_path / "cut.maf"
    maf.write_text("\n".join(MAF)[:-3], encoding="utf-8")  # the last row loses its last field
    table = tmp_path / "cut.csv"
    table.write_text('sample,gene,variation,note\nS1,BRAF,V600E,"two\nlines"\nS2,KRAS', encoding="utf-8")
    for source, row in ((maf, 9), (table, 4)):  # its line, past the quoted value's line break
        out = tmp_path / f"out-{source.name}"
        refused = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
        assert refused.returncode == 2 and f"row {row}: the last row has" in refused.stderr, refused.stderr
        assert not out.exists()
    # A complete file without a final line break, a quoted value over two lines last, is read.
    whole = tmp_path / "whole.csv"
    whole.write_text('sample,gene,variation,note\nS1,BRAF,V600E,"two\nlines"', encoding="utf-8")
    done = cli(["annotate", "-m", default_model, "-i", whole, "-o", tmp_path / "whole.out.csv"])
    assert done.returncode == 0, done.stderr


def _zipped(path: Path, name: str, data: bytes) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return path


def test_a_compressed_file_cut_short_is_refused_with_its_row(
    cli, tmp_path: Path, default_model: Path
) -> None:
    """A file cut short, then gzipped (or zipped) whole, is a valid archive of a table cut short:
    refused with its row as the plain file is, and no output left behind."""
    cut_maf = ("\n".join(MAF)[:-3]).encode()  # the last row loses its last field
    cut_csv = b'sample,gene,variation,note\nS1,BRAF,V600E,"two\nlines"\nS2,KRAS'
    cases = (
        (tmp_path / "cut.maf.gz", gzip.compress(cut_maf), 9),
        (tmp_path / "cut.csv.gz", gzip.compress(cut_csv), 4),  # its line, past the value's line break
    )
    for source, data, _ in cases:
        source.write_bytes(data)
    cases += ((_zipped(tmp_path / "cut.zip", "cut.csv", cut_csv), b"", 4),)
    for source, _, row in cases:
        out = tmp_path / f"out-{source.name}.csv"
        refused = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert f"{source.name}, row {row}: the last row has" in refused.stderr, refused.stderr
        assert "cut short" in refused.stderr
        assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # Complete files without a final line break, compressed, are read.
    whole = tmp_path / "whole.csv.gz"
    whole.write_bytes(gzip.compress(b'sample,gene,variation,note\nS1,BRAF,V600E,"two\nlines"'))
    maf = tmp_path / "whole.maf.gz"
    maf.write_bytes(gzip.compress("\n".join(MAF).encode()))
    for source in (whole, maf):
        done = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / f"{source.name}.out.csv"])
        assert done.returncode == 0, done.stderr


def test_a_gzip_stream_cut_short_is_one_error_naming_the_file(
    cli, tmp_path: Path, default_model: Path
) -> None:
    """Bytes cut off the .gz itself (the download of the archive interrupted)."""
    text = ("\n".join(_cohort(4000)) + "\n").encode()
    whole = gzip.compress(text)
    for name, data in (("short.maf.gz", whole[: len(whole) // 2]), ("tail.maf.gz", whole[:-4])):
        source = tmp_path / name
        source.write_bytes(data)
        out = tmp_path / f"out-{name}.csv"
        refused = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert name in refused.stderr and "cut short or damaged" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert not out.exists()


def test_the_most_severe_of_several_consequences_is_read(tmp_path: Path) -> None:
    lines = ["SYMBOL\tConsequence\tHGVSp", "TP53\tstop_gained&splice_region_variant\t", "KRAS\t\t"]
    rows = variants_of(read_sheet(_write(tmp_path / "vep.tsv", lines)))
    assert rows["variation"].tolist() == ["Truncating Mutations", ""]
    assert rows["note"].tolist()[1] == "no protein change"


def test_a_vcf_on_standard_input_is_refused_by_name(monkeypatch) -> None:
    import io
    import sys

    from oncoclass.errors import InputError

    # htslib reads a VCF by its name; a pipe could be read only once.
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join([*VEP_HEADER, *VEP_RECORDS]).encode()))
    )
    with pytest.raises(InputError, match="cannot be read from standard input"):
        read_sheet("-")


# --- streaming: a chunk at a time, the same file as read whole --------------------------------

GENES = ["BRAF", "KRAS", "TP53", "EGFR", "PTEN", "PIK3CA", "NRAS", "IDH1"]


def _cohort(rows: int) -> list[str]:
    """A MAF of ``rows`` rows, comment lines first: recurrent variants, silent, intronic and
    nonsense rows, and values pandas would guess at (``NA``, ``007``)."""
    import random

    rng = random.Random(7)
    lines = [
        "#version 2.4",
        "#a second comment",
        "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\tsample\tn",
    ]
    for i in range(rows):
        gene, change = rng.choice(GENES), f"p.{rng.choice('AGVLR')}{rng.randint(1, 60)}{rng.choice('DEKW')}"
        kind = rng.choice(["Missense_Mutation"] * 6 + ["Silent", "Intron", "Nonsense_Mutation"])
        if kind in ("Intron", "Nonsense_Mutation"):
            change = ""
        lines.append("\t".join([gene, kind, change, f"S{i % 13}", f"0{i}" if i % 5 else "NA"]))
    return lines


def _streamed(model: Path, source: Path, out: Path, chunk_rows: int | None) -> dict:
    from oncoclass.annotate import annotate_file, open_sheet
    from oncoclass.persist import load_bundle

    with open_sheet(source, chunk_rows=chunk_rows) as sheet:
        return annotate_file(load_bundle(model), sheet, out, probabilities=True)


def _whole(model: Path, source: Path, out: Path) -> dict:
    from oncoclass.annotate import annotate, write_sheet
    from oncoclass.persist import load_bundle

    sheet = read_sheet(source)
    frame, summary = annotate(load_bundle(model), sheet, probabilities=True)
    write_sheet(frame, sheet, out)
    return summary


@pytest.mark.parametrize(
    ("name", "out_name"),
    [("in.maf", "out.maf"), ("in.maf.gz", "out.maf.gz"), ("in.maf", "out.csv"), ("in.csv", "out.tsv"),
     ("in.maf", "out.jsonl")],
)  # fmt: skip
def test_chunks_give_the_file_read_whole(
    tmp_path: Path, default_model: Path, name: str, out_name: str
) -> None:
    lines = _cohort(300)
    if name == "in.csv":  # quoted values with commas and quotes, which a CSV carries
        frame = pd.read_csv(io.StringIO("\n".join(lines[2:])), sep="\t", dtype=str, keep_default_na=False)
        frame["sample"] = [f'"{s}", tumour' for s in frame["sample"]]
        frame.to_csv(tmp_path / name, index=False)
        source = tmp_path / name
    elif name.endswith(".gz"):
        source = tmp_path / name
        source.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    else:
        source = _write(tmp_path / name, lines)
    streamed, whole = tmp_path / f"s-{out_name}", tmp_path / f"w-{out_name}"
    # 7 rows a chunk: many chunk boundaries, one that cuts the last chunk short.
    assert _streamed(default_model, source, streamed, 7) == _whole(default_model, source, whole)
    read = gzip.decompress if out_name.endswith(".gz") else bytes
    assert read(streamed.read_bytes()) == read(whole.read_bytes())
    if out_name in ("out.maf", "out.maf.gz"):
        text = read(streamed.read_bytes()).decode().split("\n")
        assert text[:2] == lines[:2] and len(text) == len(lines) + 1  # comments kept, no row lost
        assert [t.split("\t")[:5] for t in text[2:-1]] == [g.split("\t") for g in lines[2:]]


def test_parquet_output_written_a_chunk_at_a_time(tmp_path: Path, default_model: Path) -> None:
    source = _write(tmp_path / "in.maf", _cohort(100))
    _streamed(default_model, source, tmp_path / "s.parquet", 9)
    _whole(default_model, source, tmp_path / "w.parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "s.parquet"), pd.read_parquet(tmp_path / "w.parquet")
    )


def test_a_streamed_sheet_comes_in_chunks(tmp_path: Path) -> None:
    from oncoclass.annotate import open_sheet

    with open_sheet(_write(tmp_path / "in.maf", _cohort(100)), chunk_rows=30) as sheet:
        assert (
            sheet.streamed
            and len(sheet.frame) == 0
            and sheet.comments == ["#version 2.4", "#a second comment"]
        )
        assert [len(chunk) for chunk in sheet.chunks()] == [30, 30, 30, 10]
    # Rows per chunk follow the width of the file's rows: short rows, the most a chunk holds;
    # rows of 10,000 characters, the least.
    with open_sheet(_write(tmp_path / "in.maf", _cohort(100))) as sheet:
        assert sheet.chunk_rows == 50_000
    wide = ["Hugo_Symbol\tHGVSp_Short\tnote", *[f"BRAF\tp.V600E\t{'x' * 10_000}"] * 10]
    with open_sheet(_write(tmp_path / "wide.maf", wide)) as sheet:
        assert sheet.chunk_rows == 1_000


def test_standard_input_is_spooled_and_streamed(
    cli, tmp_path: Path, default_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    lines = _cohort(50)
    source = _write(tmp_path / "in.maf", lines)
    assert cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "file.maf"]).returncode == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source.read_bytes())))
    done = cli(["annotate", "-m", default_model, "-i", "-", "-o", tmp_path / "piped.maf"])
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "piped.maf").read_bytes() == (tmp_path / "file.maf").read_bytes()


def test_a_failure_midway_leaves_no_output(tmp_path: Path, default_model: Path) -> None:
    from oncoclass.errors import OutputError

    # A CSV value may hold a tab; the TSV asked for cannot carry it, which is found only at row
    # 250, chunks after the first were written to the temporary file.
    frame = pd.DataFrame({"gene": ["BRAF"] * 300, "variation": ["V600E"] * 300, "note": ["ok"] * 300})
    frame.loc[250, "note"] = "a\ttab"
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(OutputError, match="tab"):
        _streamed(default_model, tmp_path / "in.csv", tmp_path / "out.tsv", 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nor a temporary file


# --- --engine dask: the same file as the local engine -----------------------------------------


@pytest.mark.parametrize(
    ("name", "out_name", "newline"),
    [("in.maf", "out.maf", "\n"), ("in.maf.gz", "out.csv", "\n"), ("windows.maf", "out.maf", "\r\n")],
)
def test_the_dask_engine_writes_the_local_engines_file(
    cli, tmp_path: Path, default_model: Path, cluster, name: str, out_name: str, newline: str
) -> None:
    text = newline.join(_cohort(400)) + newline
    source = tmp_path / name
    source.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    local = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / f"local-{out_name}"])
    assert local.returncode == 0, local.stderr
    engine = ["--engine", "dask", "--scheduler", cluster.scheduler_address, "--partitions", "3"]
    dask = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / f"dask-{out_name}", *engine])
    assert dask.returncode == 0, dask.stderr
    written = (tmp_path / f"local-{out_name}").read_bytes()
    assert (tmp_path / f"dask-{out_name}").read_bytes() == written
    # A file whose lines end in CRLF (saved on Windows) comes back so, every line.
    assert written.count(b"\r\n") == (written.count(b"\n") if newline == "\r\n" else 0)
    assert dask.stdout.split("written to")[0] == local.stdout.split("written to")[0]  # the same summary
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_the_dask_engine_refuses_a_gzipped_file_cut_short(
    cli, tmp_path: Path, default_model: Path, cluster
) -> None:
    """Dask reads a .maf.gz with its own gzip reader, which takes a file cut short (then gzipped
    whole) for complete, and fails on a .gz cut short with EOFError: both are one InputError."""
    text = "\n".join(_cohort(4000))
    whole = gzip.compress((text + "\n").encode())
    cases = (("cut.maf.gz", gzip.compress(text[: text.rindex("\t")].encode()), "the last row has"),
             ("short.maf.gz", whole[: len(whole) * 3 // 4], "cut short or damaged"))  # fmt: skip
    engine = ["--engine", "dask", "--scheduler", cluster.scheduler_address, "--partitions", "3"]
    for name, data, message in cases:
        source = tmp_path / name
        source.write_bytes(data)
        out = tmp_path / f"out-{name}.csv"
        refused = cli(["annotate", "-m", default_model, "-i", source, "-o", out, *engine])
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
        assert f"{name}" in refused.stderr and message in refused.stderr, refused.stderr
        assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("KRAS\tMissense_Mutation", "this row has only 2 of the header's"),
        ("KR\xe9S\tMissense_Mutation\tp.G12D\tS9", "is not valid UTF-8"),
        ("KR\x00AS\tMissense_Mutation\tp.G12D\tS9", "is a NUL"),
    ],
)
def test_the_dask_engine_names_a_bad_row_as_the_local_engine_does(
    cli, tmp_path: Path, default_model: Path, cluster, bad: str, message: str
) -> None:
    # The workers check their own blocks (the client does not read the file through), and name a
    # row in a later block by its row in the file, with the local engine's message.
    lines = _cohort(2000)
    lines.insert(len(lines) - 5, bad)
    source = tmp_path / "in.maf"
    source.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    local = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "local.maf"])
    engine = ["--engine", "dask", "--scheduler", cluster.scheduler_address, "--partitions", "3"]
    dask = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "dask.maf", *engine])
    said = _refused_alone(local, tmp_path, tmp_path / "local.maf")
    assert f"row {len(lines) - 5}" in said and message in said
    assert _refused_alone(dask, tmp_path, tmp_path / "dask.maf") == said
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_dask_engine_refuses_a_vcf(cli, tmp_path: Path, default_model: Path) -> None:
    source = _write(tmp_path / "in.vcf", VEP_HEADER + VEP_RECORDS)
    refused = cli(
        ["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "o.vcf", "--engine", "dask"]
    )
    assert refused.returncode == 2 and "--engine local" in refused.stderr


def test_older_maf_and_annovar_protein_columns_are_read(tmp_path: Path) -> None:
    for column, value in (
        ("amino_acid_change", "p.V600E"),
        ("AAChange", "BRAF:NM_004333:exon15:c.T1799A:p.V600E"),
    ):
        lines = [f"Hugo_Symbol\tVariant_Classification\t{column}", f"BRAF\tMissense_Mutation\t{value}"]
        rows = variants_of(read_sheet(_write(tmp_path / "old.maf", lines)))
        assert rows["variation"].tolist() == ["V600E"], column


def test_a_record_without_alt_is_noted_and_counted_as_not_predicted(
    cli, tmp_path: Path, default_model: Path
) -> None:
    """ALT ``.`` (a reference call) names no change: it gets no prediction (its Number=A fields
    have no allele to hold one), a note saying why, and the summary counts it as not predicted."""
    from cyvcf2 import VCF

    no_alt = "7\t140453137\t.\tA\t.\t50\tPASS\tCSQ=-|missense_variant|MODERATE|BRAF|c.1|ENSP2:p.Val600Glu|YES"
    source = _write(tmp_path / "ref.vcf", [*VEP_HEADER, VEP_RECORDS[0], no_alt])
    rows = variants_of(read_sheet(source))
    assert rows["variation"].tolist() == ["V600E", ""]
    assert rows["note"].tolist() == ["", "no alternate allele (ALT is .): nothing changed to classify"]
    for out in (tmp_path / "out.vcf", tmp_path / "out.csv"):
        done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
        assert done.returncode == 0, done.stderr
        said = done.stdout + done.stderr
        assert "1 predicted, not predicted: 1 no alternate allele" in said, said
    written = [dict(r.INFO) for r in VCF(str(tmp_path / "out.vcf"))]
    assert "ONCOCLASS_PREDICTION" in written[0] and "ONCOCLASS_PREDICTION" not in written[1]
    table = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert table["ALT"].tolist() == ["T", "."] and table["oncoclass_prediction"].iloc[1] == ""
    assert table["oncoclass_note"].iloc[1].startswith("no alternate allele")


def test_a_header_wider_than_the_head_read_is_read_whole(cli, tmp_path: Path, default_model: Path) -> None:
    """A header past 64 KiB (a wide sample matrix) was cut where the head was read, and a name cut
    in two read as a repeat ("the column 'c10' appears twice"): it is read whole, as every
    reader reads it."""
    names = ",".join(f"c{i}" for i in range(20_000))
    path = tmp_path / "wide.csv"
    path.write_text(f"gene,variation,{names}\nBRAF,V600E,{',' * 19_999}\n")
    done = cli(["annotate", "-m", default_model, "-i", path, "-o", tmp_path / "out.csv"])
    assert done.returncode == 0, done.stderr
    path.write_text(f"{names},c10\n{',' * 20_000}\n")
    refused = cli(["annotate", "-m", default_model, "-i", path, "-o", tmp_path / "out2.csv"])
    assert refused.returncode == 2 and "the column 'c10' appears twice" in refused.stderr


def test_a_maf_opening_with_blank_lines_comes_back_whole(cli, tmp_path: Path, default_model: Path) -> None:
    # A blank line before or among the comment lines is a line before the header: kept as it was.
    lines = ["", MAF[0], "", *MAF[1:]]
    source = _write(tmp_path / "in.maf", lines)
    out = tmp_path / "out.maf"
    done = cli(["annotate", "--model", default_model, "--input", source, "--out", out])
    assert done.returncode == 0, done.stderr
    written = out.read_text(encoding="utf-8").split("\n")
    assert written[:4] == lines[:4]
    assert written[4].split("\t")[: len(lines[4].split("\t"))] == lines[4].split("\t")


def test_a_csv_with_crlf_line_ends_comes_back_with_them(cli, tmp_path: Path, default_model: Path) -> None:
    source = tmp_path / "excel.csv"
    source.write_bytes(b"gene,variation,sample\r\nBRAF,V600E,s1\r\nKRAS,G12D,s2\r\n")
    out = tmp_path / "out.csv"
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", out])
    assert done.returncode == 0, done.stderr
    written = out.read_bytes()
    assert written.count(b"\r\n") == written.count(b"\n") == 3
    assert written.split(b"\r\n")[1].startswith(b"BRAF,V600E,s1,")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('KRAS,p.G12D,"never closed', "a quoted value begins on this row and never ends"),
        ('KRAS,p.G12D,"two\nlines",extra', "this row has 4 fields where the header has 3"),
    ],
)
def test_the_dask_engine_names_a_quote_left_open_across_blocks_as_the_local_engine_does(
    cli, tmp_path: Path, default_model: Path, cluster, bad: str, message: str
) -> None:
    # A quote left open at a block's end (here in the first of three blocks): the blocks after it
    # are read from inside the value and cannot place a row, so the file is read through by the
    # local engine's rule, which names the row with its message (pandas' "EOF inside string"
    # or "Expected 4 fields", with a hint about --on-bad-rows that annotate has not, before).
    lines = ["gene,variation,text"] + [f"BRAF,p.V600E,row {i}" for i in range(3000)]
    lines.insert(10, bad)
    source = tmp_path / "in.csv"
    source.write_text("\n".join(lines) + "\n")
    local = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "local.csv"])
    engine = ["--engine", "dask", "--scheduler", cluster.scheduler_address, "--partitions", "3"]
    dask = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "dask.csv", *engine])
    said = _refused_alone(local, tmp_path, tmp_path / "local.csv")
    assert "row 11" in said and message in said
    assert _refused_alone(dask, tmp_path, tmp_path / "dask.csv") == said
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_vcf_with_a_byte_order_mark_is_said_to_have_one(cli, tmp_path: Path, default_model: Path) -> None:
    # htslib takes the mark for part of the first line: the VCF read as one without #CHROM.
    source = tmp_path / "bom.vcf"
    source.write_bytes(
        b"\xef\xbb\xbf" + "\n".join([*HANDMADE[:2], HANDMADE[2].split("\tFORMAT")[0]]).encode() + b"\n"
    )
    done = cli(["annotate", "-m", default_model, "-i", source, "-o", tmp_path / "out.vcf"])
    said = _refused_alone(done, tmp_path, tmp_path / "out.vcf")
    assert "bom.vcf, row 1: begins with a UTF-8 byte-order mark" in said


def _many_keys(path: Path, keys: int) -> Path:
    """A sites-only VCF whose one record (line 3) uses ``keys`` INFO keys its header never declares."""
    info = ";".join(f"K{i}={i}" for i in range(keys))
    return _write(
        path,
        [
            "##fileformat=VCFv4.2",
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
            f"7\t1\t.\tA\tT\t.\t.\t{info}",
        ],
    )


def test_a_record_with_more_info_keys_than_htslib_holds_is_refused_by_its_line(
    tmp_path: Path, monkeypatch
) -> None:
    """70,000 keys in one record failed after 25 s as a record htslib "cannot read" (its count is
    16 bits); the scan refuses it first, naming the line."""
    from oncoclass.data import vcf

    monkeypatch.setattr(vcf, "MAX_INFO_KEYS", 30)
    assert vcf._scan_text(_many_keys(tmp_path / "ok.vcf", 30), "ok.vcf") is not None
    with pytest.raises(InputError, match=r"row 3: the record has 31 INFO fields, past the limit of 30"):
        vcf._scan_text(_many_keys(tmp_path / "many.vcf", 31), "many.vcf")


def test_the_note_on_undeclared_keys_names_the_first_and_counts_the_rest(tmp_path: Path) -> None:
    """40,000 undeclared keys made a 509 KB note; it names the first few and counts the others."""
    from oncoclass.data import vcf

    (note,) = vcf._undeclared_note(vcf._scan_text(_many_keys(tmp_path / "k.vcf", 500), "k.vcf"), "k.vcf")
    named = ", ".join(f"INFO K{i}" for i in range(vcf.NOTE_KEYS))
    assert note.startswith(f"k.vcf: {named} and {500 - vcf.NOTE_KEYS:,} more used without a ##INFO")
    assert "K499" not in note and len(note) < 600
    (note,) = vcf._undeclared_note(vcf._scan_text(_many_keys(tmp_path / "two.vcf", 2), "two.vcf"), "two.vcf")
    assert note.startswith("two.vcf: INFO K0, INFO K1 used without")
