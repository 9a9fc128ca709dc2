"""GET /templates and /templates/{name}: the installed skeletons, for any valid key."""

from __future__ import annotations

from conftest import ApiServer
from skeletons.registry import list_templates


def test_templates_are_listed_and_shown_for_any_key(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        narrow = admin.post("/keys", json={"name": "narrow", "scopes": ["webhooks:read"]}).json()
    with api_server.client(narrow["token"]) as client:
        listed = client.get("/templates")
        assert listed.status_code == 200
        assert [t["name"] for t in listed.json()] == [t.name for t in list_templates()]
        shown = client.get("/templates/go-api").json()
        assert shown["kind"] == "project"
        assert "module_path" in [v["name"] for v in shown["variables"]]
        missing = client.get("/templates/nope")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NOT_FOUND"
        assert "unknown template 'nope'" in missing.json()["error"]["message"]
        traversal = client.get("/templates/..%2Fsdlc")
        assert traversal.status_code == 404
    with api_server.client() as anonymous:
        assert anonymous.get("/templates").status_code == 401
