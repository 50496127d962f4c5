"""The /review routes through FastAPI's test client: tokens and roles, the loop (queue, next,
decide, history, stats), the 409 on a stale version on both backends, and the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oncoclass.kb.store import open_store
from oncoclass.persist import load_bundle
from oncoclass.review.users import add_user
from oncoclass.service import ServiceSettings, create_app

ITEMS = [
    {"id": "s1", "gene": "BRAF", "variation": "V600E", "text": "BRAF V600E activates MEK signalling.",
     "disease": "Melanoma"},
    {"id": "s2", "gene": "TP53", "variation": "R175H", "text": "R175H abolishes DNA binding."},
]  # fmt: skip


@pytest.fixture(scope="module")
def bundle(fast_model: Path):
    return load_bundle(fast_model)


def _app(bundle, url: str, **settings) -> tuple[TestClient, dict[str, dict[str, str]]]:
    with open_store(url) as store:
        tokens = {name: add_user(store, name, role)[1] for name, role in
                  (("ada", "curator"), ("bob", "curator"), ("root", "admin"))}  # fmt: skip
    client = TestClient(create_app(bundle, ServiceSettings(kb=url, **settings)))
    return client, {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}


@pytest.fixture
def app(bundle, tmp_path):
    return _app(bundle, f"sqlite:///{tmp_path}/kb.sqlite", api_key="shared-secret")


def test_every_review_route_needs_a_token_and_admin_routes_an_admin(app) -> None:
    client, auth = app
    routes = [("get", "/review/next"), ("get", "/review/stats"), ("get", "/review/items/1/history"),
              ("post", "/review/items/1/decision"), ("get", "/review/me")]  # fmt: skip
    for method, path in routes:
        response = client.request(method.upper(), path, json={"action": "skip", "version": 1})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/review/me", headers={"Authorization": "Bearer oc_nope"}).status_code == 401
    refused = client.post("/review/items", json={"items": ITEMS}, headers=auth["ada"])
    assert refused.status_code == 403 and "needs an admin" in refused.json()["error"]
    assert client.get("/review/me", headers=auth["ada"]).json() == {"name": "ada", "role": "curator"}
    # The shared API key still guards the prediction routes; review tokens are their own.
    assert client.post("/predict", json={"gene": "BRAF", "variation": "V600E"}).status_code == 401
    assert client.get("/review", headers={}).status_code == 200  # the page itself is open


def test_the_loop_queue_next_decide_history_stats(app, bundle) -> None:
    client, auth = app
    added = client.post("/review/items", json={"items": ITEMS}, headers=auth["root"]).json()
    assert added == {"added": 2, "already_queued": 0, "model_id": bundle.model_id, "notes": []}
    item = client.get("/review/next?order=date", headers=auth["ada"]).json()
    assert (item["external_id"], item["version"], item["remaining"]) == ("s1", 1, 2)
    assert item["prediction"] in item["probabilities"] and item["explanation"]["toward"]
    assert item["disease"] == "Melanoma"
    saved = client.post(f"/review/items/{item['id']}/decision", headers=auth["ada"],
                        json={"action": "correct", "label": "7", "version": 1,
                              "changes": {"drugs": "Dabrafenib"}})  # fmt: skip
    assert saved.status_code == 200
    assert (saved.json()["label"], saved.json()["version"], saved.json()["drugs"]) == ("7", 2, "Dabrafenib")
    stale = client.post(f"/review/items/{item['id']}/decision", headers=auth["bob"],
                        json={"action": "accept", "version": 1})  # fmt: skip
    assert stale.status_code == 409
    assert stale.json()["current"]["version"] == 2 and stale.json()["current"]["label"] == "7"
    steps = client.get(f"/review/items/{item['id']}/history", headers=auth["bob"]).json()
    assert [(s["curator"], s["action"], s["label"]) for s in steps] == [("ada", "correct", "7")]
    assert steps[0]["changes"] == {"drugs": "Dabrafenib"}
    second = client.get("/review/next?order=date", headers=auth["ada"]).json()
    assert second["external_id"] == "s2"
    assert client.post(f"/review/items/{second['id']}/decision", headers=auth["ada"],
                       json={"action": "skip", "version": 1}).status_code == 200  # fmt: skip
    assert client.get("/review/next", headers=auth["ada"]).status_code == 204
    stats = client.get("/review/stats", headers=auth["root"]).json()
    assert (stats["pending"], stats["reviewed"], stats["decisions"]) == (1, 1, 2)
    assert stats["by_curator"][0]["curator"] == "ada"
    assert client.get("/review/items/999/history", headers=auth["ada"]).status_code == 404
    assert client.put("/review/settings", json={"order": "gene"}, headers=auth["ada"]).status_code == 403
    assert client.put("/review/settings", json={"order": "gene"}, headers=auth["root"]).json() == {
        "order": "gene"
    }
    assert client.get("/review/settings", headers=auth["ada"]).json() == {"order": "gene"}


@pytest.mark.parametrize(
    "body",
    [
        {"action": "approve", "version": 1},
        {"action": "accept"},
        {"action": "accept", "version": "1"},
        {"action": "correct", "version": 1, "label": "7", "changes": {"id": "x"}},
        {"action": "correct", "version": 1},
    ],
)
def test_a_malformed_decision_is_422(app, body) -> None:
    client, auth = app
    client.post("/review/items", json={"items": ITEMS[:1]}, headers=auth["root"])
    response = client.post("/review/items/1/decision", headers=auth["ada"], json=body)
    assert response.status_code == 422 and response.json()["error"]


def test_more_items_than_the_batch_limit_is_413(bundle, tmp_path) -> None:
    client, auth = _app(bundle, f"sqlite:///{tmp_path}/kb.sqlite", max_batch=1)
    response = client.post("/review/items", json={"items": ITEMS}, headers=auth["root"])
    assert response.status_code == 413 and "the limit is 1" in response.json()["error"]


def test_a_stale_version_is_409_on_each_backend(bundle, kb_url: str) -> None:
    client, auth = _app(bundle, kb_url)
    client.post("/review/items", json={"items": ITEMS[:1]}, headers=auth["root"])
    first = client.post(
        "/review/items/1/decision", headers=auth["ada"], json={"action": "accept", "version": 1}
    )
    second = client.post(
        "/review/items/1/decision",
        headers=auth["bob"],
        json={"action": "correct", "label": "1", "version": 1},
    )
    assert (first.status_code, second.status_code) == (200, 409)
    assert len(client.get("/review/items/1/history", headers=auth["bob"]).json()) == 1


def test_the_schema_shows_bearer_auth_on_review_routes_and_no_review_routes_without_a_store(
    app, bundle
) -> None:
    client, _ = app
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ReviewToken"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]
        ["ReviewToken"]["description"]}  # fmt: skip
    decision = schema["paths"]["/review/items/{item_id}/decision"]["post"]
    assert decision["security"] == [{"ReviewToken": []}] and "409" in decision["responses"]
    # The library's result types are the response schemas; their field docstrings describe them.
    item = schema["components"]["schemas"]["ItemView"]["properties"]
    assert "grows with each decision" in item["version"]["description"]
    assert item["status"]["enum"] == ["open", "reviewed"]
    bare = TestClient(create_app(bundle, ServiceSettings()))
    assert bare.get("/review/next").status_code == 404
    assert "/review/next" not in bare.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action": "correct", "label": "7", "version": 1, "changes": {"gene": "=cmd|x!A0"}},
         "changes.gene: "),
        ({"action": "correct", "label": "7", "version": 1, "changes": {"variation": "\u0000x"}},
         "changes.variation: "),
        ({"action": "correct", "label": '=HYPERLINK("http://evil")', "version": 1}, "label: "),
        ({"action": "correct", "label": "99", "version": 1}, "allowed: 1, 2"),
    ],
)  # fmt: skip
def test_a_decision_is_held_to_the_row_rule_and_the_models_classes(app, body, message) -> None:
    client, auth = app
    client.post("/review/items", json={"items": ITEMS[:1]}, headers=auth["root"])
    response = client.post("/review/items/1/decision", headers=auth["ada"], json=body)
    assert response.status_code == 422 and message in response.json()["error"]
    assert client.get("/review/items/1/history", headers=auth["ada"]).json() == []


def test_a_lone_surrogate_in_an_item_or_a_decision_is_a_422_naming_the_field(app) -> None:
    client, auth = app
    json_headers = {"content-type": "application/json"}
    item = b'{"items": [{"gene": "BRAF", "variation": "V600E", "text": "a \\ud800"}]}'
    queued = client.post("/review/items", content=item, headers={**auth["root"], **json_headers})
    assert queued.status_code == 422 and queued.json()["details"][0].startswith("items.0.text: holds a lone")
    client.post("/review/items", json={"items": ITEMS[:1]}, headers=auth["root"])
    for field, body in [
        (
            "changes.text",
            b'{"action": "correct", "label": "7", "version": 1, "changes": {"text": "\\udfff"}}',
        ),
        ("comment", b'{"action": "comment", "comment": "\\ud800", "version": 1}'),
    ]:
        response = client.post(
            "/review/items/1/decision", content=body, headers={**auth["ada"], **json_headers}
        )
        assert response.status_code == 422 and response.json()["details"][0].startswith(
            f"{field}: holds a lone"
        )
