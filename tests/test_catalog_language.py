"""/catalog speaks the page's language, the shipped layers' licences included."""
from __future__ import annotations


def test_catalog_licences_follow_the_language(client):
    """/catalog in English shows the shipped layers' licences in English (a licence staff typed
    stays as typed); in Japanese as stored."""
    from layers.catalog import SHIPPED_LICENSES, license_text

    assert license_text("国土地理院コンテンツ利用規約", "en") == "GSI Japan content terms of use"
    assert license_text("国土地理院コンテンツ利用規約", "ja") == "国土地理院コンテンツ利用規約"
    assert license_text("CC BY 4.0（加賀市）", "en") == "CC BY 4.0（加賀市）"
    en = client.get("/catalog?lang=en").get_data(as_text=True)
    ja = client.get("/catalog?lang=ja").get_data(as_text=True)
    assert en and ja  # the page itself is drawn by Dash in the browser: check the service it draws from
    from pages import catalog

    with client.application.test_request_context("/catalog?lang=en"):
        page = str(catalog.layout(lang="en"))
    assert "GSI Japan content terms of use" in page and not any(ja_text in page for ja_text in SHIPPED_LICENSES)


def test_ogcapi_pages_default_to_japanese_like_every_page(client):
    """An English browser opening /ogcapi gets the Japanese page with the English switch, as on
    every other page; ?lang=en gives English; the JSON answers keep the API's Accept-Language rule."""
    browser = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-US,en;q=0.9"}
    page = client.get("/ogcapi/collections", headers=browser).get_data(as_text=True)
    assert '<html lang="ja">' in page and "コレクション" in page
    assert '<html lang="en">' in client.get("/ogcapi/collections?lang=en", headers=browser).get_data(as_text=True)
    doc = client.get("/ogcapi/collections", headers={"Accept": "application/json", "Accept-Language": "en"}).json
    assert any(c["title"] == "AED locations" for c in doc["collections"])
