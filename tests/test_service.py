"""The HTTP service through FastAPI's test client, and once as a real server process."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from oncoclass.persist import load_bundle
from oncoclass.service import ServiceSettings, create_app

SECRET_TEXT = "The BRAF V600E variant showed constitutive kinase activation in zebra-unique-marker cells."


@pytest.fixture(scope="module")
def bundle(default_model):
    return load_bundle(default_model)


@pytest.fixture(scope="module")
def client(bundle):
    return TestClient(create_app(bundle, ServiceSettings(max_batch=4, max_body_bytes=50_000)))


def test_health_and_model(client, bundle) -> None:
    assert client.get("/health").json() == {
        "status": "ok", "model_id": bundle.model_id, "oncoclass_version": client.app.version,
    }  # fmt: skip
    body = client.get("/model").json()
    assert body["metadata"]["model_id"] == bundle.model_id
    assert "Model card" in body["model_card"] or body["model_card"].startswith("#")


def test_predict_one(client, bundle) -> None:
    response = client.post("/predict", json={"gene": "BRAF", "variation": "V600E", "text": SECRET_TEXT})
    assert response.status_code == 200
    body = response.json()
    assert set(body["probabilities"]) == set(bundle.labels)
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert body["top_class"] == max(body["probabilities"], key=body["probabilities"].get)
    assert body["model_id"] == bundle.model_id
    assert body["meanings"]["7"] == "Gain-of-function"


def test_batch_matches_single_predictions(client) -> None:
    variants = [{"gene": "BRAF", "variation": "V600E", "id": "a"}, {"gene": "TP53", "variation": "R175H"}]
    body = client.post("/predict/batch", json={"variants": variants}).json()
    assert [p["id"] for p in body["predictions"]] == ["a", None]
    single = client.post("/predict", json=variants[1]).json()
    assert body["predictions"][1]["probabilities"] == pytest.approx(single["probabilities"])


def test_explain(client) -> None:
    body = client.post("/explain", json={"gene": "BRAF", "variation": "V600E", "text": SECRET_TEXT}).json()
    assert body["method"] == "exact"
    top = body["classes"][0]
    assert top["label"] == body["predicted"]
    assert top["sentences"] and "V600E" in top["sentences"][0]["text"]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"gene": "BRAF"}, "variation"),
        ({"gene": "", "variation": "V600E"}, "gene"),
        ({"gene": "BRAF", "variation": "V600E", "colour": "red"}, "colour"),
        ({"gene": ["BRAF"], "variation": "V600E"}, "gene"),
        # A NUL or a terminal escape in JSON: the row rule's control characters (a file's NUL is
        # refused as it is read; white space in a variation is read as one space).
        ({"gene": "BR\x00AF", "variation": "V600E"}, "record 1: a gene holding a control character"),
        ({"gene": "BRAF", "variation": "V600E\x1b[2J"}, "record 1: a variation holding a control character"),
    ],
)
def test_invalid_input_is_422_with_the_field(client, payload, needle) -> None:
    response = client.post("/predict", json=payload)
    assert response.status_code == 422
    assert needle in response.json()["error"]


def test_malformed_json_is_422(client) -> None:
    response = client.post("/predict", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_limits_give_413(client) -> None:
    big = {"gene": "BRAF", "variation": "V600E", "text": "x" * 60_000}
    assert client.post("/predict", json=big).status_code == 413
    many = {"variants": [{"gene": "BRAF", "variation": "V600E"}] * 5}
    response = client.post("/predict/batch", json=many)
    assert response.status_code == 413 and "limit is 4" in response.json()["error"]


def test_unknown_class_in_explain_is_422(client) -> None:
    response = client.post("/explain", json={"gene": "BRAF", "variation": "V600E", "classes": ["42"]})
    assert response.status_code == 422 and "unknown class" in response.json()["error"]


def test_api_key(bundle) -> None:
    client = TestClient(create_app(bundle, ServiceSettings(api_key="s3cret")))
    payload = {"gene": "BRAF", "variation": "V600E"}
    assert client.post("/predict", json=payload).status_code == 401
    assert client.post("/predict", json=payload, headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.post("/predict", json=payload, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/").status_code == 200


def test_page_docs_and_schema_come_from_the_package(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    for path in ("/static/app.js", "/static/style.css", "/static/swagger/swagger-ui-bundle.js"):
        assert client.get(path).status_code == 200, path
    docs = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs
    for text in (page.text, client.get("/static/app.js").text):
        assert "https://" not in text and "http://" not in text
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/predict/batch", "/explain", "/model", "/health"} <= set(schema["paths"])


def test_logs_name_the_model_and_never_the_text(client, bundle, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="oncoclass.service"):
        client.post("/predict", json={"gene": "BRAF", "variation": "V600E", "text": SECRET_TEXT})
    assert any(bundle.model_id in r.getMessage() for r in caplog.records)
    assert all("zebra-unique-marker" not in r.getMessage() for r in caplog.records)


def test_real_server_process(default_model, server) -> None:
    with server(default_model) as live:
        response = httpx.post(
            live.url + "/predict", json={"gene": "BRAF", "variation": "V600E", "text": SECRET_TEXT}
        )
        assert response.status_code == 200 and response.json()["model_id"]
    assert "zebra-unique-marker" not in live.output
    assert "model=" in live.output


@pytest.mark.slow  # starts real server processes that must fail (~4 s)
def test_bad_model_folder_stops_start_up(tmp_path, server) -> None:
    live = server.start(tmp_path / "missing")
    output = live.read_output(timeout=60)
    assert live.process.returncode == 2
    assert "does not exist" in output and "Traceback" not in output


# --- The service's edges (hardening): each family of fault found by trying it as an attacker. ----


def test_a_chunked_body_over_the_limit_is_413_not_400(client) -> None:
    def chunks():  # no Content-Length: the body streams in chunks
        yield b'{"gene": "BRAF", "variation": "V600E", "text": "'
        for _ in range(20):
            yield b"x" * 5_000
        yield b'"}'

    response = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "limit" in response.json()["error"]


def test_a_chunked_body_under_the_limit_is_read_whole(client) -> None:
    def chunks():
        yield b'{"gene": "BRAF", '
        yield b'"variation": "V600E"}'

    response = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_a_non_ascii_api_key_matches_byte_for_byte(bundle) -> None:
    client = TestClient(create_app(bundle, ServiceSettings(api_key="clé-✓")))
    payload = {"gene": "BRAF", "variation": "V600E"}
    good = "clé-✓".encode()
    assert client.post("/predict", json=payload, headers=[(b"x-api-key", good)]).status_code == 200
    latin = "clé-✓".encode().decode("latin-1")  # what a Latin-1 decoder would have made of it
    assert client.post("/predict", json=payload, headers=[(b"x-api-key", latin.encode())]).status_code == 401


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_api_key_is_refused(monkeypatch, key: str) -> None:
    from oncoclass.errors import ConfigError

    monkeypatch.setenv("ONCOCLASS_API_KEY", key)
    with pytest.raises(ConfigError, match="empty"):
        ServiceSettings.from_env()


def test_control_characters_in_the_path_cannot_forge_log_lines(bundle, caplog) -> None:
    client = TestClient(create_app(bundle, ServiceSettings(api_key="s3cret")))
    with caplog.at_level(logging.INFO, logger="oncoclass.service"):
        client.get("/predict%0a2026-01-01 forged line%1b[31m%00")
    messages = [r.getMessage() for r in caplog.records]
    assert messages and all("\n" not in m and "\x1b" not in m and "\x00" not in m for m in messages)
    assert any("\\n2026-01-01 forged line\\x1b[31m\\x00" in m for m in messages)


def test_security_headers_on_the_page_and_the_api(client) -> None:
    for path in ("/", "/health", "/docs", "/static/app.js"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
    assert "'unsafe-inline'" not in client.get("/").headers["content-security-policy"]
    refused = client.post("/predict", json={})
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_head_is_answered_on_get_routes(client) -> None:
    for path in ("/", "/health", "/model", "/static/app.js"):
        response = client.head(path)
        assert response.status_code == 200 and response.content == b"", path
    assert client.head("/predict").status_code == 405


@pytest.mark.parametrize(
    "payload",
    [
        {"gene": "BRAF", "variation": "V600E", "top_sentences": False},
        {"gene": "BRAF", "variation": "V600E", "top": "3"},
        {"gene": 7, "variation": "V600E"},
    ],
)
def test_request_types_are_strict(client, payload) -> None:
    assert client.post("/explain", json=payload).status_code == 422


def test_a_body_that_is_not_utf8_is_a_documented_422(client) -> None:
    response = client.post(
        "/predict",
        content=b'{"gene": "\xff", "variation": "V600E"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422 and "UTF-8" in response.json()["error"]
    schema = client.get("/openapi.json").json()
    assert {"401", "413", "422"} <= set(schema["paths"]["/predict"]["post"]["responses"])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/predict", '{"gene": "BRAF", "variation": "V600E", "text": "a \\ud800"}', "text"),
        ("/predict", '{"gene": "BRAF", "variation": "V600E", "context": "\\udc00"}', "context"),
        ("/predict", '{"gene": "\\ud800", "variation": "V600E"}', "gene"),
        ("/predict/batch", '{"variants": [{"gene": "BRAF", "variation": "V600E", "text": "\\ud800"}]}',
         "variants.0.text"),
        ("/explain", '{"gene": "BRAF", "variation": "V600E", "text": "a \\ud800"}', "text"),
        ("/explain", '{"gene": "BRAF", "variation": "V600E", "classes": ["\\ud800"]}', "classes"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_in_any_field_is_a_422_naming_it(client, path: str, body: str, field: str) -> None:
    # JSON's \\ud800 escape decodes to no character; text or context once reached the model (a 500).
    response = client.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["details"][0].startswith(f"{field}: holds a lone surrogate")


def test_a_pair_of_surrogate_escapes_is_one_character(client) -> None:
    body = '{"gene": "BRAF", "variation": "V600E", "text": "\\ud83d\\ude00 activates"}'
    response = client.post("/predict", content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 200


@pytest.mark.parametrize("depth", [1_500, 5_000])  # the client allows bodies of 50 kB
def test_json_nested_too_deeply_is_a_422_saying_so(client, depth: int) -> None:
    # Python's JSON parser stops at its recursion limit; that is no encoding problem.
    for body in (b"[" * depth + b"]" * depth, b'{"gene": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"):
        response = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422
        assert response.json()["error"].startswith("the body's JSON is nested too deeply")


def test_disease_and_drugs_are_fields_of_their_own(client) -> None:
    joined = client.post(
        "/predict", json={"gene": "BRAF", "variation": "V600E", "context": "disease: Melanoma"}
    )
    separate = client.post("/predict", json={"gene": "BRAF", "variation": "V600E", "disease": "Melanoma"})
    assert separate.status_code == 200
    assert separate.json()["probabilities"] == pytest.approx(joined.json()["probabilities"])
    assert (
        client.post("/explain", json={"gene": "BRAF", "variation": "V600E", "drugs": "x"}).status_code == 200
    )


@pytest.mark.parametrize("gene", ["\x1f", " \x1c "])
def test_a_gene_that_strips_to_nothing_is_refused_per_record(client, gene: str) -> None:
    response = client.post("/predict", json={"gene": gene, "variation": "V600E"})
    assert response.status_code == 422 and "gene" in response.json()["error"]


def test_evidence_route_and_predictions_that_cite_the_store(kb_bundle_app) -> None:
    client, known = kb_bundle_app
    hits = client.get("/evidence", params={"gene": known["Gene"], "variation": known["Variation"]}).json()
    assert hits[0]["tier"] == "variant" and hits[0]["source"] == "kaggle:training_variants"
    assert client.get("/evidence", params={"gene": " "}).status_code == 422
    body = client.post("/predict", json={"gene": known["Gene"], "variation": known["Variation"]}).json()
    assert body["text_source"] == "retrieved" and body["evidence_ids"][0].startswith("kaggle:")
    explained = client.post("/explain", json={"gene": known["Gene"], "variation": known["Variation"]}).json()
    assert explained["similar"] and explained["text_source"] == "retrieved"
    assert "/evidence" in client.get("/openapi.json").json()["paths"]


def test_without_a_store_evidence_is_404_and_predictions_say_none(client) -> None:
    response = client.get("/evidence", params={"gene": "BRAF"})
    assert response.status_code == 404 and "--kb" in response.json()["hint"]
    body = client.post("/predict", json={"gene": "BRAF", "variation": "V600E"}).json()
    assert (body["text_source"], body["evidence_ids"]) == ("none", [])


@pytest.fixture(scope="module")
def kb_bundle_app(tmp_path_factory, synth_files, bundle):
    import pandas as pd

    from oncoclass.kb.load import import_path
    from oncoclass.kb.store import open_store

    kb = tmp_path_factory.mktemp("servicekb") / "kb.sqlite"
    with open_store(kb) as store:
        import_path(store, synth_files["training_variants"], text=synth_files["training_text"])
    known = pd.read_csv(synth_files["training_variants"], dtype=str).iloc[0]
    return TestClient(create_app(bundle, ServiceSettings(kb=str(kb)))), known


def test_annotate_an_uploaded_maf(client) -> None:
    maf = "#version 2.4\nHugo_Symbol\tVariant_Classification\tHGVSp_Short\nBRAF\tMissense_Mutation\tp.V600E\n"
    response = client.post("/annotate", content=maf.encode(), headers={"content-type": "text/plain"})
    assert response.status_code == 200, response.text
    lines = response.text.split("\n")
    assert lines[0] == "#version 2.4" and "oncoclass_prediction" in lines[1]
    assert lines[2].startswith("BRAF\tMissense_Mutation\tp.V600E\t")
    assert "1 predicted" in response.headers["x-oncoclass-summary"]
    assert "annotated.maf" in response.headers["content-disposition"]


def test_an_uploaded_multi_allelic_vcf_is_summed_up_in_alleles(client) -> None:
    vcf = (
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="VEP. Format: Allele|SYMBOL|HGVSp">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "7\t140453136\t.\tA\tT,C\t50\tPASS\tCSQ=T|BRAF|p.Val600Glu,C|BRAF|p.Val600Gly\n"
    )
    response = client.post("/annotate", content=vcf.encode(), headers={"content-type": "text/plain"})
    assert response.status_code == 200, response.text
    assert response.headers["x-oncoclass-summary"].startswith("2 alleles in 1 records, 2 distinct variants")
    assert "ONCOCLASS_PROTEIN_CHANGE=V600E,V600G" in response.text


def test_annotate_refuses_what_it_cannot_read(client) -> None:
    response = client.post("/annotate", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
    assert response.status_code == 422 and "no gene column" in response.json()["error"]
    assert response.json()["error"].startswith("the upload: ") and "/tmp" not in response.json()["error"]
    big = client.post("/annotate", content=b"x" * 60_000, headers={"content-type": "text/plain"})
    assert big.status_code == 413


def test_annotate_writes_a_header_alone_back_with_a_note(client) -> None:
    # A sample with no mutations (a header-only MAF) is annotated as the CLI annotates it (exit 0
    # there): the header back with the added columns, and the note saying it held no rows.
    alone = client.post(
        "/annotate",
        content=b"#version 2.4\nHugo_Symbol\tHGVSp_Short\n",
        headers={"content-type": "text/plain"},
    )
    assert alone.status_code == 200, alone.text
    lines = alone.text.splitlines()
    assert lines[0] == "#version 2.4" and lines[1].startswith(
        "Hugo_Symbol\tHGVSp_Short\toncoclass_prediction"
    )
    assert len(lines) == 2
    assert any("the file held no rows (0 rows)" in n for n in json.loads(alone.headers["x-oncoclass-notes"]))


def test_annotate_gives_the_notes_and_reasons_the_cli_reports(client) -> None:
    """The route reports what `oncoclass annotate` reports, from the same AnnotateResult: the
    rows not predicted with why, and the notes (here a VCF's INFO key without a header line, and
    its record without ALT), the server's temporary path named as the upload."""
    import json

    vcf = (
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="VEP. Format: Allele|SYMBOL|HGVSp">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "7\t140453136\t.\tA\tT\t50\tPASS\tDP=4;CSQ=T|BRAF|p.Val600Glu\n"
        "7\t140453137\t.\tA\t.\t50\tPASS\tCSQ=-|BRAF|p.Val600Glu\n"
    )
    response = client.post("/annotate", content=vcf.encode(), headers={"content-type": "text/plain"})
    assert response.status_code == 200, response.text
    summary = response.headers["x-oncoclass-summary"]
    assert summary.startswith("2 alleles in 2 records, 1 distinct variants, 1 predicted")
    assert summary.endswith("not predicted: 1 no alternate allele")
    notes = json.loads(response.headers["x-oncoclass-notes"])
    assert len(notes) == 1 and notes[0].startswith("the upload: INFO DP used without a ##INFO")
    assert "/tmp" not in response.headers["x-oncoclass-notes"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        # The row rule /predict applies to a record's gene and variation.
        ("gene=JAK2&variation=V617F%00", "query.variation: a variation holding a control character"),
        ("gene=JAK2&variation=%3D1%2B1", "query.variation: a variation that begins as a spreadsheet formula"),
        ("gene=%3DHYPERLINK(1)", "query.gene: "),
        # FastAPI keeps the last of a repeated parameter: the search would be for BRAF, silently.
        ("gene=JAK2&gene=BRAF", "query.gene: given twice (JAK2, BRAF): give it once"),
        ("gene=JAK2&limit=1&limit=5", "query.limit: given twice (1, 5)"),
    ],
)
def test_evidence_refuses_what_predict_refuses_and_a_repeated_parameter(
    kb_bundle_app, params, needle
) -> None:
    client, _ = kb_bundle_app
    response = client.get(f"/evidence?{params}")
    assert response.status_code == 422 and needle in response.json()["error"], response.text


def test_a_batch_with_an_id_twice_is_422_naming_it(client) -> None:
    """As a file with duplicate IDs is refused: two results answered "a" could not be told apart."""
    variants = [
        {"gene": "BRAF", "variation": "V600E", "id": "a"},
        {"gene": "BRAF", "variation": "V600K"},
        {"gene": "KRAS", "variation": "G12D", "id": "a"},
    ]
    response = client.post("/predict/batch", json={"variants": variants})
    assert response.status_code == 422, response.text
    assert "variants: duplicate id 'a' (records 1 and 3)" in response.json()["error"]
    # Records without an id are answered without one: several are no duplicate.
    del variants[2]["id"]
    assert client.post("/predict/batch", json={"variants": variants}).status_code == 200
