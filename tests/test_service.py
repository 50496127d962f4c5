"""The HTTP service through FastAPI's test client, and once as a real server process."""

from __future__ import annotations

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


def test_bad_model_folder_stops_start_up(tmp_path, server) -> None:
    process = server.start(tmp_path / "missing")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 2
    assert "does not exist" in output and "Traceback" not in output
