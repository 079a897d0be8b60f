from insurdesk.products.tests.apiclient import as_user, error_codes


def test_everyone_reads_the_catalogue(make_user, catalogue):
    api = as_user(make_user("cs"))
    r = api.get("/products", {"line": "group"})
    assert r.status_code == 200 and r.json()["count"] == 2
    g = r.json()["items"][0]
    assert (
        g["code"] == "G801"
        and g["line_label"] == "团险"
        and [p["code"] for p in g["plan_levels"]] == ["A", "B", "C"]
    )
    r = api.get("/products/r201")
    assert r.status_code == 200 and r.json()["attaches_to"] == ["L101", "L102"] and r.json()["is_rider"]
    assert api.get("/products/NOPE").status_code == 404
    assert api.get("/products", {"page_size": 2, "page": 2}).json()["count"] == len(catalogue)


def test_admins_create_and_change_products(make_user, catalogue):
    api = as_user(make_user("admin"))
    body = {
        "code": "A402",
        "name": "交通意外保险",
        "line": "accident",
        "coverage_terms": ["1y"],
        "payment_modes": ["single"],
        "payment_terms": ["single"],
        "death_cover": True,
        "required_documents": ["投保单"],
        "occupation_classes": [1, 2],
    }
    r = api.post("/products", body)
    assert r.status_code == 201 and r.json()["grace_days"] == 60 and r.json()["version"] == 1
    r = api.post("/products", body)
    assert r.status_code == 409 and error_codes(r) == {("code", "duplicate")}
    r = api.patch("/products/A402", {"cooling_off_days": 10, "version": 1})
    assert r.status_code == 200 and r.json()["cooling_off_days"] == 10
    r = api.patch("/products/A402", {"name": None})
    assert r.status_code == 422 and error_codes(r) == {("name", "type")}
    r = api.patch("/products/A402", {"coverage_terms": ["forever"]})
    assert r.status_code == 422 and ("coverage_terms", "format") in error_codes(r)


def test_other_roles_may_not_change_the_catalogue(make_user, catalogue):
    api = as_user(make_user("clerk"))
    r = api.patch("/products/L101", {"grace_days": 1})
    assert r.status_code == 403 and error_codes(r) == {("", "forbidden")}
